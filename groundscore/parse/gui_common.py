"""Shared pieces of the GUI-action parsers: points and boxes that keep their action.

GUI agents answer with an action at a place (``left_click`` at ``(x, y)``,
``type`` into a box). The parsers of :mod:`groundscore.parse` keep the place;
these helpers keep the action too, on :attr:`Point.action` / :attr:`Box.action`,
built with the plain pydantic constructors (the values are floats we made, so
validation cannot fail) and bounded by :data:`MAX_BOXES` like every parser.
"""

from __future__ import annotations

import math
import re

from groundscore.parse.base import MAX_BOXES, RawParse

NUMBER = r"-?\d{1,7}(?:\.\d{1,12})?"
"""A bounded decimal number: GUI formats write plain integers or short decimals."""

_ACTION_NAMES = {
    "click": "click", "left_click": "click", "leftclick": "click", "left_single": "click", "tap": "click",
    "double_click": "double_click", "doubleclick": "double_click", "left_double": "double_click",
    "right_click": "right_click", "rightclick": "right_click", "right_single": "right_click",
    "middle_click": "middle_click", "mouse_move": "hover", "moveto": "hover", "hover": "hover",
    "left_click_drag": "drag", "drag": "drag", "dragto": "drag", "select": "drag",
    "type": "type", "input": "type", "scroll": "scroll", "long_press": "long_press", "longpress": "long_press",
}


def action_name(raw: str | None) -> str | None:
    """The model's action name, lower-cased, with the common synonyms of each family merged.

    ``left_click`` (Qwen computer-use), ``left_single`` (UI-TARS), ``CLICK``
    (CogAgent, ShowUI) and ``pyautogui.click`` (Aguvis) all become ``click``:
    the click rule and the OCR verifier treat them alike. Unknown names are
    kept as written (lower case), so nothing the model said is lost.
    """
    if not raw:
        return None
    key = raw.strip().lower().replace(" ", "_")
    key = key.rsplit(".", 1)[-1]
    return _ACTION_NAMES.get(key, key) or None


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def add_point(raw: RawParse, x: float, y: float, action: str | None, label: str | None = None) -> bool:
    """Append a point carrying its action; a non-finite one is an issue; False past :data:`MAX_BOXES`."""
    if len(raw.points) < MAX_BOXES and not _finite(x, y):
        raw.issue("point.not_finite", f"point ({x}, {y}) is not finite; ignored", "error")
        return True
    return raw.add_point(x, y, label, action=action)


def add_box(
    raw: RawParse, x1: float, y1: float, x2: float, y2: float, action: str | None, label: str | None = None
) -> bool:
    """Append a box carrying its action; False (with one issue) past :data:`MAX_BOXES`."""
    return raw.add_box(x1, y1, x2, y2, label, action=action)


def add_place(raw: RawParse, numbers: list[float], action: str | None, label: str | None = None) -> bool:
    """Two numbers are a point, four a box; anything else is an issue. False past the cap."""
    if len(numbers) == 2:
        return add_point(raw, numbers[0], numbers[1], action, label)
    if len(numbers) == 4:
        return add_box(raw, *numbers, action, label)
    raw.issue("gui.bad_coordinates", f"{len(numbers)} numbers where a point (2) or a box (4) was expected", "error")
    return True


_NUMBERS = re.compile(NUMBER)


def numbers(text: str, most: int = 8) -> list[float]:
    """The first ``most`` numbers in ``text`` (bounded: GUI coordinates are short)."""
    out = []
    for match in _NUMBERS.finditer(text[:400]):
        out.append(float(match.group()))
        if len(out) >= most:
            break
    return out
