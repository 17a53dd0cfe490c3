"""Qwen2.5-VL's JSON grounding answers: ``[{"bbox_2d": [...], "label": ...}]``.

Covers a list or a single object, ``point_2d`` points, fenced or bare JSON,
prose around it, the wrong closing fence seen in GRPO logs, truncated or
slightly broken JSON (repaired by json-repair), numbers as strings, boxes
nested under other keys (``{"final_answer": {"bbox_2d": ...}}``), and labels
under other keys (``text_content``). Coordinates default to Qwen2.5-VL's
smart_resize'd input pixels.

The same model, asked for a box without the cookbook's JSON prompt (the R1
prompts of VLM-R1), also writes variants that carry the same coordinates:
a bare list ``[x1, y1, x2, y2]``, ``{"bounding_box": [...]}``,
``{"answer": "[x1, y1, x2, y2]"}``, ``{"top_left": [x, y], "bottom_right":
[x, y]}`` or a box under a descriptive key (``{"left front cake": [...]}``).
These are read by a lenient second pass that runs only when the strict
``bbox_2d`` pass finds nothing, and each says so in an issue, so that a
reward can prefer the documented format.
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse.base import Parser, RawParse
from groundscore.parse.detection import BARE_BOX, DOCUMENTED_SYNTAX, LENIENT_KEYS, NONE, WEAK
from groundscore.parse.jsontext import iter_dicts, iter_json_texts, load_json, to_numbers
from groundscore.plugins.hookspecs import hookimpl

BOX_KEYS = ("bbox_2d", "bbox", "box_2d")
POINT_KEYS = ("point_2d",)
LABEL_KEYS = ("label", "text_content", "name", "object", "description", "text")

# Keys under which the lenient pass accepts a box (lower-cased, spaces as "_").
LENIENT_BOX_KEYS = frozenset({
    "bbox_2d", "bbox", "box_2d", "box", "bounding_box", "bounding_box_2d", "bounding_boxes",
    "bounding_box_coordinates", "bbox_coordinates", "coordinates", "coords", "position", "region",
    "answer", "final_answer", "output", "result",
})
# One box inside a short string: "[0, 35, 102, 209]", "<answer>[...]</answer>", "The person at [...]".
_NUM = r"\s*(-?\d+(?:\.\d+)?)\s*"
_BOX_IN_STRING = re.compile(r"[\[(]" + r",".join([_NUM] * 4) + r"[\])]")
_MAX_BOX_STRING = 500
# Cheap detection of a bare coordinate list such as [398,314,644,470].
_BARE_BOX = re.compile(r"\[" + r",".join([r"\s*-?\d+(?:\.\d+)?\s*"] * 4) + r"\]")
_EMPTY_JSON = re.compile(r"^\s*(?:```(?:json)?\s*)?(?:\[\s*\]|\{\s*\})\s*(?:```)?\s*$")
_LENIENT_HINTS = ('"bounding_box', '"coordinates"', '"bbox"', '"box"', '"top_left"', '"answer"', '"final_answer"')


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
    """Collect boxes and points from any JSON value into ``raw`` (strict keys)."""
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
            if not raw.add_box(nums[0], nums[1], nums[2], nums[3], label):
                return
        elif point_key is not None:
            nums = to_numbers(item[point_key])
            if nums is None or len(nums) != 2:
                raw.issue("point.bad_arity", f"{point_key} is not 2 numbers", "error")
                continue
            if not raw.add_point(nums[0], nums[1], label):
                return


def _box_numbers(value: Any) -> list[float] | None:
    """Four numbers from a list, or from a short string that holds exactly one box; else None."""
    if isinstance(value, str):
        if len(value) > _MAX_BOX_STRING or "," not in value:
            return None
        found = _BOX_IN_STRING.findall(value)
        return [float(g) for g in found[0]] if len(found) == 1 else None
    if isinstance(value, list) and len(value) == 4:
        return to_numbers(value)
    return None


def _norm_key(key: Any) -> str:
    return str(key).strip().lower().replace(" ", "_").replace("-", "_")


def read_lenient(value: Any, raw: RawParse, max_items: int = 10_000) -> None:
    """Second pass: boxes under other keys, bare lists, box strings, corner pairs."""
    found_keys: list[str] = []
    stack: list[tuple[Any, str | None]] = [(value, None)]
    seen = 0
    ordered: list[tuple[list[float], str | None]] = []
    while stack and seen < max_items:
        item, parent = stack.pop()
        seen += 1
        nums = _box_numbers(item) if not isinstance(item, dict) else None
        if nums is not None:
            ordered.append((nums, parent))
            continue
        if isinstance(item, list):
            stack.extend((v, parent) for v in reversed(item))
        elif isinstance(item, dict):
            label = _label(item, raw)
            tl, br = to_numbers(item.get("top_left")), to_numbers(item.get("bottom_right"))
            if tl and br and len(tl) == 2 and len(br) == 2:
                ordered.append(([tl[0], tl[1], br[0], br[1]], label or parent))
                found_keys.append("top_left/bottom_right")
                continue
            children: list[tuple[Any, str | None]] = []
            for key, child in item.items():
                norm = _norm_key(key)
                if norm in LENIENT_BOX_KEYS:
                    # {"bounding_box": [...], "label": ...}: the label is a sibling or the parent key
                    if _box_numbers(child) is not None:
                        found_keys.append(norm)
                    children.append((child, label or parent))
                elif isinstance(child, str):
                    continue  # prose such as "thinking process" is not a box
                else:
                    # {"left front cake": [...]} or {"standing_person": {...}}: the key names the object
                    children.append((child, str(key)))
            stack.extend(reversed(children))
    for nums, label in ordered:
        if not raw.add_box(nums[0], nums[1], nums[2], nums[3], label):
            break
    if raw.boxes:
        keys = ", ".join(sorted(set(found_keys))) or "a bare coordinate list"
        raw.issue("box.lenient", f"box read from {keys} rather than bbox_2d", "info")


class QwenJsonParser(Parser):
    name = "qwen25_json"
    description = "Qwen2.5-VL JSON: bbox_2d / point_2d / label, fenced or bare; lenient on keys and bare lists"
    default_coords = "qwen25"
    example = '```json\n[{"bbox_2d": [45, 36, 137, 209], "label": "water left"}]\n```'

    def detect(self, text: str) -> float:
        if "bbox_2d" in text or "point_2d" in text:
            return DOCUMENTED_SYNTAX
        if ("{" in text or "```json" in text) and any(h in text for h in _LENIENT_HINTS):
            return LENIENT_KEYS
        if "[" in text and _BARE_BOX.search(text) is not None:
            return BARE_BOX
        if len(text) < 64 and _EMPTY_JSON.match(text):
            return WEAK  # "[]" or "```json\n[]\n```": Qwen's way of saying nothing is there
        return NONE

    def parse(self, text: str) -> RawParse:
        """Every shape this format takes: fences, prose, repair, lenient keys (see the module)."""
        raw = RawParse()
        values: list[Any] = []
        for candidate, _fenced in iter_json_texts(text):
            value = load_json(candidate, raw.issues)
            if value is None:
                continue
            values.append(value)
            read_items(value, raw)
            if raw.boxes or raw.points or raw.no_object:
                if len(values) > 1:
                    raw.issue("json.later_block", "the box was read from a later JSON block", "info")
                return raw
        if not values:
            if not raw.issues:
                raw.issue("json.missing", "no JSON found in the answer", "error")
            return raw
        if raw.found:  # bbox_2d keys present but unreadable (issues say why)
            return raw
        for value in values:
            read_lenient(value, raw)
            if raw.boxes:
                return raw
        raw.issue("json.no_boxes", "the JSON has no bbox_2d or point_2d", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(QwenJsonParser())
