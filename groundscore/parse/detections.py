"""Detector outputs: lists of dicts with a box, a label and a score.

Covers what detectors and their wrappers print or serialise:

- ``[{"box": [x1, y1, x2, y2], "label": "cat", "score": 0.9}, ...]`` (also
  ``bbox``, ``bboxes``; labels under ``label``/``class``/``name``/``phrase``/
  ``category``; scores under ``score``/``confidence``/``conf``/``logit``);
- the Hugging Face ``object-detection`` pipeline:
  ``[{"score": 0.99, "label": "cat", "box": {"xmin": .., "ymin": .., "xmax": .., "ymax": ..}}]``;
- ``post_process_object_detection`` / Grounding DINO's
  ``post_process_grounded_object_detection``, printed as lists:
  ``{"scores": [...], "labels": [...], "boxes": [[...], ...]}``;
- Florence-2's post-processed answers: ``{"<OD>": {"bboxes": [...], "labels": [...]}}``;
- COCO result files: ``[{"image_id": 1, "category_id": 18, "bbox": [x, y, w, h], "score": 0.9}]``
  (x, y, w, h: read as ``original:xywh``, with an issue saying so).

Python ``repr`` output (single quotes) is read with ``ast.literal_eval`` after
the same size and depth limits as JSON. The space defaults to original
pixels, xyxy; declare another with ``Sample.coords`` (``"norm1:cxcywh"`` for
raw DETR/Grounding DINO outputs, ``"original:xywh"``...).
"""

from __future__ import annotations

import ast
import json
import warnings
from typing import Any

from groundscore.model import Issue
from groundscore.parse.base import Parser, RawParse
from groundscore.parse.detection import KEYED_RECORD, NONE
from groundscore.parse.jsontext import (
    MAX_JSON_CHARS,
    MAX_JSON_DEPTH,
    _bracket_depth,
    iter_dicts,
    load_answer_json,
    load_json,
    to_float,
    to_numbers,
)
from groundscore.plugins.hookspecs import hookimpl

BOX_KEYS = ("box", "bbox", "bboxes", "boxes", "xyxy")
LABEL_KEYS = ("label", "labels", "class", "class_name", "name", "phrase", "category", "bboxes_labels", "text")
# Words that only detector dumps put next to a box (a bare "label" is not enough:
# Qwen2.5-VL writes {"bbox": [...], "label": ...} too, in its own space).
_EVIDENCE = ("score", "confidence", "xmin", "category_id", "logit")
SCORE_KEYS = ("score", "scores", "confidence", "conf", "logit", "logits", "probability")


def _load(candidate: str, issues: list[Issue]) -> Any:
    try:
        return json.loads(candidate)
    except (ValueError, RecursionError):
        pass
    if "'" in candidate and len(candidate) <= MAX_JSON_CHARS and _bracket_depth(candidate, MAX_JSON_DEPTH) <= MAX_JSON_DEPTH:
        value = literal(candidate)
        if value is not None:
            return value
    return load_json(candidate, issues)


def literal(text: str) -> Any:
    """``ast.literal_eval(text)``, or None; silent on any model text.

    Python's compiler warns about what a model may well write in a repr
    (``'\\d'``: invalid escape, ``[1 is 1]``, ``[(1)(2)]``), printing to stderr
    from inside a reward function, or raising where warnings are errors
    (``-W error``). The warnings are ignored for this one call.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # invalid escapes before Python 3.12
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None


def _first(item: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        if key in item:
            return key, item[key]
    return None, None


def _box(value: Any) -> list[float] | None:
    if isinstance(value, dict) and "xmin" in value:
        value = [value.get(k) for k in ("xmin", "ymin", "xmax", "ymax")]
    nums = to_numbers(value)
    return nums if nums is not None and len(nums) == 4 else None


def _label(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text[:200] or None


def _read(item: dict[str, Any], raw: RawParse) -> bool:
    """Read one dict; False when the box cap is reached."""
    _, box_value = _first(item, BOX_KEYS)
    _, label_value = _first(item, LABEL_KEYS)
    _, score_value = _first(item, SCORE_KEYS)
    if isinstance(box_value, list) and box_value and isinstance(box_value[0], list | tuple | dict):
        # parallel lists: boxes[i], labels[i], scores[i]
        labels = label_value if isinstance(label_value, list) else []
        scores = score_value if isinstance(score_value, list) else []
        for i, one in enumerate(box_value):
            nums = _box(one)
            if nums is None:
                raw.issue("box.bad_arity", f"box {i} is not 4 numbers", "error")
                continue
            label = _label(labels[i]) if i < len(labels) else None
            score = to_float(scores[i]) if i < len(scores) else None
            if not raw.add_box(*nums, label=label, score=score):
                return False
        raw.found = True
        return True
    nums = _box(box_value)
    if nums is None:
        raw.issue("box.bad_arity", "a detection's box is not 4 numbers", "error")
        return True
    if "category_id" in item and "image_id" in item and "bbox" in item and raw.coords is None:
        raw.coords = "original:xywh"
        raw.issue("coords.coco_xywh", "COCO result dicts: bbox read as x, y, width, height", "info")
    label = _label(label_value)
    if label is None and "category_id" in item:
        label = _label(item["category_id"])
    return raw.add_box(*nums, label=label, score=to_float(score_value))


class DetectionsParser(Parser):
    name = "detections"
    description = "detector dict lists: box/bbox + label + score (HF pipelines, Grounding DINO, Florence-2 post-processed, COCO results)"
    default_coords = "original"
    example = '[{"score": 0.98, "label": "cat", "box": {"xmin": 12, "ymin": 40, "xmax": 310, "ymax": 400}}]'

    def detect(self, text: str) -> float:
        if "bbox_2d" in text or "point_2d" in text:
            return NONE
        if "bboxes" in text or ("box" in text and any(k in text for k in _EVIDENCE)):
            return KEYED_RECORD
        return NONE

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        value = load_answer_json(text, raw, "no list or dict of detections found", _load)
        if value is None:
            return raw
        for item in iter_dicts(value):
            key, _ = _first(item, BOX_KEYS)
            if key is None:
                continue
            if not _read(item, raw):
                break
        if not raw.found and not any(i.severity == "error" for i in raw.issues):
            raw.issue("json.no_boxes", "no dict with a box/bbox key", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(DetectionsParser())
