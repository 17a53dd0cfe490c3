"""Gemini's JSON boxes: ``[{"box_2d": [ymin, xmin, ymax, xmax], "label": "cat"}]``, in 0..1000.

Google's image-understanding docs ask Gemini 2.x for ``box_2d`` with the
**y coordinate first**, normalised to 0..1000 of the image; points are
``{"point": [y, x]}``. The parser swaps each pair into x-first order, so the
boxes it hands on are ordinary ``x1, y1, x2, y2`` in ``norm1000``.
(Qwen2.5-VL writes ``bbox_2d``, x first, in its own pixels: a different key,
read by ``qwen25_json``.)
"""

from __future__ import annotations

from typing import Any

from groundscore.parse.base import Parser, RawParse
from groundscore.parse.detection import FAMILY_KEY
from groundscore.parse.jsontext import iter_dicts, load_answer_json, to_numbers
from groundscore.plugins.hookspecs import hookimpl

LABEL_KEYS = ("label", "name", "text", "object")


def _label(item: dict[str, Any]) -> str | None:
    for key in LABEL_KEYS:
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None


class GeminiParser(Parser):
    name = "gemini"
    description = "Gemini JSON: box_2d [ymin, xmin, ymax, xmax] and point [y, x], 0..1000"
    default_coords = "norm1000"
    # "box_2d" right after a quote: Qwen's "bbox_2d" contains the word too, and does not wake this parser
    example = '```json\n[{"box_2d": [61, 22, 160, 95], "label": "cat"}]\n```'

    def detect(self, text: str) -> float:
        return FAMILY_KEY if '"box_2d' in text or "'box_2d" in text else 0.0

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        value = load_answer_json(text, raw, "no JSON found in the answer")
        if value is None:
            return raw
        for item in iter_dicts(value):
            if "box_2d" in item:
                nums = to_numbers(item["box_2d"])
                if nums is None or len(nums) != 4:
                    raw.issue("box.bad_arity", "box_2d is not 4 numbers", "error")
                    continue
                y1, x1, y2, x2 = nums
                if not raw.add_box(x1, y1, x2, y2, _label(item)):
                    break
            elif "point" in item:
                nums = to_numbers(item["point"])
                if nums is None or len(nums) != 2:
                    raw.issue("point.bad_arity", "point is not 2 numbers", "error")
                    continue
                if not raw.add_point(nums[1], nums[0], _label(item)):
                    break
        if not raw.found and not any(i.severity == "error" for i in raw.issues):
            raw.issue("json.no_boxes", "the JSON has no box_2d or point", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(GeminiParser())
