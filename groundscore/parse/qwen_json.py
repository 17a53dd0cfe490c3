"""Qwen2.5-VL's JSON grounding answers: ``[{"bbox_2d": [...], "label": ...}]``.

Covers a list or a single object, ``point_2d`` points, fenced or bare JSON,
prose around it, the wrong closing fence seen in GRPO logs, truncated or
slightly broken JSON (repaired by json-repair), numbers as strings, boxes
nested under other keys (``{"final_answer": {"bbox_2d": ...}}``), and labels
under other keys (``text_content``). Coordinates default to Qwen2.5-VL's
smart_resize'd input pixels.
"""

from __future__ import annotations

from typing import Any

from groundscore.model import Box, Point
from groundscore.parse.base import Parser, RawParse
from groundscore.parse.jsontext import find_json_text, iter_dicts, load_json, to_numbers
from groundscore.plugins.hookspecs import hookimpl

BOX_KEYS = ("bbox_2d", "bbox", "box_2d")
POINT_KEYS = ("point_2d",)
LABEL_KEYS = ("label", "text_content", "name", "object", "description", "text")
MAX_BOXES = 1000


def _label(item: dict[str, Any], raw: RawParse) -> str | None:
    for key in LABEL_KEYS:
        value = item.get(key)
        if isinstance(value, str):
            if key != "label" and "label" not in item:
                raw.issue("label.other_key", f"label read from {key!r}", "info")
            return value
        if value is not None and key == "label":
            return str(value)
    return None


def read_items(value: Any, raw: RawParse) -> None:
    """Collect boxes and points from any JSON value into ``raw``."""
    if value == [] or value == {}:
        raw.found = True
        raw.no_object = True
        return
    for item in iter_dicts(value):
        box_key = next((k for k in BOX_KEYS if k in item), None)
        point_key = next((k for k in POINT_KEYS if k in item), None)
        if box_key is None and point_key is None:
            continue
        raw.found = True
        label = _label(item, raw)
        if box_key is not None:
            nums = to_numbers(item[box_key])
            if nums is None or len(nums) != 4:
                n = "non-numeric" if nums is None else f"{len(nums)} numbers"
                raw.issue("box.bad_arity", f"{box_key} is {n}, expected 4 numbers", "error")
                continue
            if len(raw.boxes) >= MAX_BOXES:
                raw.issue("box.too_many", f"more than {MAX_BOXES} boxes; the rest are ignored", "error")
                return
            raw.boxes.append(Box(x1=nums[0], y1=nums[1], x2=nums[2], y2=nums[3], label=label))
        elif point_key is not None:
            nums = to_numbers(item[point_key])
            if nums is None or len(nums) != 2:
                raw.issue("point.bad_arity", f"{point_key} is not 2 numbers", "error")
                continue
            raw.points.append(Point(x=nums[0], y=nums[1], label=label))


class QwenJsonParser(Parser):
    name = "qwen25_json"
    description = "Qwen2.5-VL JSON: bbox_2d / point_2d / label, fenced or bare"
    default_coords = "qwen25"
    example = '```json\n[{"bbox_2d": [45, 36, 137, 209], "label": "water left"}]\n```'

    def detect(self, text: str) -> float:
        if "bbox_2d" in text or "point_2d" in text:
            return 0.95
        if "```json" in text and ('"bbox"' in text or '"box_2d"' in text):
            return 0.6
        return 0.0

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        candidate, _fenced = find_json_text(text)
        if candidate is None:
            raw.issue("json.missing", "no JSON found in the answer", "error")
            return raw
        value = load_json(candidate, raw.issues)
        if value is None:
            return raw
        read_items(value, raw)
        if not raw.found:
            raw.issue("json.no_boxes", "the JSON has no bbox_2d or point_2d", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(QwenJsonParser())
