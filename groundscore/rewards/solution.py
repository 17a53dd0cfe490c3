"""Ground truth in any common shape -> a list of xyxy boxes (``[]``: the target is absent).

An ambiguous query (two men, "the man") has several acceptable targets, any
one of which is a right answer; its ground truth is written
``{"ambiguous": [A, B]}`` or ``{"targets": [A, B], "ambiguous": true}``, each
of ``A``, ``B`` one box or a list of boxes. It is read into an
:class:`AmbiguousSolution`: the list of all their boxes (so that readers of a
plain solution still see ground truth) that also carries the alternatives.
A plain list of boxes keeps meaning "all of these" (a multi-object query).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from groundscore.parse.r1 import tag_blocks
from groundscore.rewards.base import Solution

_MAX_SOLUTION_BOXES = 100
_MAX_SOLUTION_CHARS = 100_000
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _as_list(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)  # numpy arrays, torch tensors
    if callable(tolist) and not isinstance(value, str | bytes):
        try:
            return tolist()
        except Exception:  # noqa: BLE001
            return value
    return value


def _finite_box(values: Sequence[Any]) -> list[float] | None:
    try:
        box = [float(v) for v in values]
    except (TypeError, ValueError):
        return None
    return box if len(box) == 4 and all(math.isfinite(v) for v in box) else None


class AmbiguousSolution(list):  # type: ignore[type-arg]
    """The boxes of every acceptable target of an ambiguous query, with :attr:`alternatives`, one per target.

    The reward host scores an answer against each alternative and keeps the
    best (a box on either man is right), and pays a clarifying question as
    asked about an ambiguous query (:mod:`groundscore.rewards.clarify`).
    """

    alternatives: list[Solution]

    def __init__(self, alternatives: list[Solution]) -> None:
        super().__init__(box for alternative in alternatives for box in alternative)
        self.alternatives = alternatives


def _ambiguous(value: Mapping[str, Any], depth: int) -> Solution | None:
    """``{"ambiguous": [A, B]}`` / ``{"targets": [A, B], "ambiguous": true}`` -> the solution (None: unreadable)."""
    flag = value.get("ambiguous")
    listed = flag if isinstance(flag, list | tuple) else value.get("targets")
    listed = _as_list(listed)
    if not isinstance(listed, list | tuple) or not listed:
        return None
    if isinstance(flag, bool) and not flag:  # targets written out, but not ambiguous: all of these
        return _parse_solution(list(listed), depth + 1)
    alternatives: list[Solution] = []
    for item in list(listed)[:_MAX_SOLUTION_BOXES]:
        one = _parse_solution(item, depth + 1)
        if not one:  # an unreadable or empty target makes the whole ground truth unusable
            return None
        alternatives.append(one)
    if len(alternatives) == 1:
        return alternatives[0]
    if sum(len(a) for a in alternatives) > _MAX_SOLUTION_BOXES:
        return None
    return AmbiguousSolution(alternatives)


def parse_solution(value: Any) -> Solution | None:
    """Ground truth in any common shape -> a list of xyxy boxes, ``[]``, or None.

    Accepts one box ``[x1, y1, x2, y2]``, a list of boxes, numpy/torch arrays,
    dicts with ``bbox_2d``/``bbox``/``box``/``boxes``/``solution``, the
    ambiguous shapes (an :class:`AmbiguousSolution`), JSON text,
    VLM-R1's ``"<answer>[x1, y1, x2, y2]</answer>"`` text, and plain text
    holding a multiple of four numbers. ``[]`` (or ``"[]"``) means the target
    is absent: a negative sample. None means no (usable) ground truth.
    """
    try:
        return _parse_solution(value, depth=0)
    except Exception:  # noqa: BLE001 - ground truth we cannot read is no ground truth
        return None


def _parse_solution(value: Any, depth: int) -> Solution | None:
    if depth > 4 or value is None:
        return None
    value = _as_list(value)
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, str):
        text = value.strip()[:_MAX_SOLUTION_CHARS]
        if not text:
            return None
        tagged = tag_blocks(text, "answer")
        if tagged:
            text = tagged[-1].strip()
        try:
            return _parse_solution(json.loads(text), depth + 1)
        except (ValueError, RecursionError):
            pass
        numbers = _NUMBER.findall(text)
        if numbers and len(numbers) % 4 == 0 and len(numbers) <= 4 * _MAX_SOLUTION_BOXES:
            boxes = [_finite_box(numbers[i : i + 4]) for i in range(0, len(numbers), 4)]
            return [b for b in boxes if b is not None] if all(boxes) else None
        return None
    if isinstance(value, Mapping):
        if "ambiguous" in value or "targets" in value:
            return _ambiguous(value, depth)
        for key in ("solution", "boxes", "bbox_2d", "bbox", "box", "ground_truth"):
            if key in value:
                return _parse_solution(value[key], depth + 1)
        return None
    if isinstance(value, list | tuple):
        if not value:
            return []
        if len(value) == 4 and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            box = _finite_box(value)
            return [box] if box is not None else None
        boxes: Solution = []
        for item in list(value)[:_MAX_SOLUTION_BOXES]:
            item = _as_list(item)
            if isinstance(item, Mapping):
                sub = _parse_solution(item, depth + 1)
                if not sub:
                    return None
                boxes.extend(sub)
                continue
            if not isinstance(item, list | tuple):
                return None
            box = _finite_box(item)
            if box is None:
                return None
            boxes.append(box)
        return boxes
    return None
