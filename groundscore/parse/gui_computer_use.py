"""Qwen2.5-VL / Qwen3-VL function calls: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``.

The Qwen2.5-VL computer-use cookbook declares a ``computer_use`` function
whose ``action`` is ``left_click``, ``right_click``, ``double_click``,
``mouse_move``, ``left_click_drag``, ``type``, ``key``, ``scroll``, ... and
whose ``coordinate`` is ``[x, y]`` in pixels of the image the model saw,
that is, the smart_resize'd input (``qwen25``): the cookbook maps it back by
the resize ratio. Qwen3-VL writes the same calls with coordinates in 0-1000
(declare ``Sample.coords = "norm1000"``: the text alone cannot tell).

Real models and harnesses write every variant of that call, all read here:

- the action as the function's name, with no ``action`` key:
  ``{"name": "left_click", "arguments": {"coordinate": [467, 109]}}``;
- a wrapper with only the place: ``{"name": "computer_use", "arguments": {"coordinate": [x, y]}}``
  (an action-less call is a click: the grounding prompts ask for one);
- the place under ``coordinate``, ``start_box`` (UI-TARS' name, also as a
  ``"(x,y)"`` string), ``box`` / ``bbox`` (four numbers: a box), ``point``,
  ``position``, or ``x`` and ``y``; ``args`` / ``parameters`` for ``arguments``;
- the arguments as the place alone: ``{"name": "left_click", "arguments": [1026, 345]}``
  (a harness scored these ``wrong_format``; a person reads one click);
- the call inside ``<tool_call>`` tags, unclosed (a stop sequence ate
  ``</tool_call>``), or bare JSON, alone or as a list of calls;
- several calls in one answer: each is read in order. Calls at two
  different places, neither the end of a drag, are two guesses for one
  target: a ``hedge.calls`` issue, every place kept.

Drags keep both ends: ``start_coordinate`` / ``start_box`` of a drag is the
``drag_start``, ``coordinate2`` / ``end_box`` the ``drag_end``. Actions
without a place (``type``, ``key``, ``wait``, ``terminate``) are an info issue.
"""

from __future__ import annotations

import json
import re
from typing import Any

from groundscore.parse import detection
from groundscore.parse.base import MAX_BOXES, Parser, RawParse
from groundscore.parse.gui_common import action_name, add_place, add_point
from groundscore.parse.jsontext import iter_dicts, iter_json_texts, load_json, to_numbers
from groundscore.parse.r1 import tag_blocks
from groundscore.plugins.hookspecs import hookimpl

MAX_CALL_CHARS = 4000  # longest tool call read; a longer one is not a click
MAX_CALLS = MAX_BOXES + 1  # every call is read, past the parsers' common cap on places (which says so)
ARG_KEYS = ("arguments", "args", "parameters", "params", "input")
START_KEYS = ("start_coordinate", "start_box", "start_point")
PLACE_KEYS = ("coordinate", "coordinates", "box", "bbox", "bbox_2d", "point", "point_2d", "position", "start_box",
              "start_coordinate", "start_point")
END_KEYS = ("coordinate2", "end_coordinate", "end_box", "end_point")
_DETECT_KEYS = ('"coordinate', '"x"', '"start_box', '"box', '"bbox', '"point', '"position', "'coordinate", "'start_box")
_LIST_ARGS = re.compile(r'"arguments"\s{0,8}:\s{0,8}\[\s{0,8}-?\d')
_WRAPPERS = frozenset({"computer", "mobile", "browser", "desktop", "gui", "phone", "tool", "function", "action"})
_ACTION = re.compile(r"[\"']action[\"']\s*:\s*[\"']([A-Za-z_]{1,40})[\"']")
_NAME = re.compile(r"[\"']name[\"']\s*:\s*[\"']([A-Za-z_]{1,40})[\"']")
_COORD = re.compile(
    r"[\"'](start_coordinate|coordinate|start_box)[\"']\s*:\s*[\[\"'(]\s*([-\d.]{1,20})\s*,\s*([-\d.]{1,20})\s*[\])\"']"
)


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _calls(text: str) -> list[str]:
    """The JSON text inside each ``<tool_call>...</tool_call>``, found in one linear scan.

    Why not ``<tool_call>\\s*(\\{.{0,4000}?\\})\\s*</tool_call>``: from every
    ``<tool_call>`` the lazy scan ran 4,000 characters (65,536 characters of
    openings: seconds). An unclosed last call (a stop sequence, or
    ScreenSpot-Pro's Qwen2.5-VL runner, which keeps the response up to its
    last ``}``, drops ``</tool_call>``) is read to the end of the text.
    """
    calls = []
    for block in tag_blocks(text, "tool_call", ignore_case=False)[:MAX_CALLS]:
        body = block.strip()
        if body[:1] in "{[" and len(body) <= MAX_CALL_CHARS + 2:
            calls.append(body)
    last_open, last_close = text.rfind("<tool_call>"), text.rfind("</tool_call>")
    if last_open > last_close and len(calls) < MAX_CALLS:
        rest = text[last_open + len("<tool_call>"):].replace("<|im_end|>", "").strip()
        if rest[:1] in "{[":
            calls.append(rest[: MAX_CALL_CHARS + 2])
    return calls


def _is_wrapper(name: str) -> bool:
    """``computer_use``, ``mobile_use``, ``computer``: a function that carries an action, not an action."""
    key = name.strip().lower()
    return key.endswith("_use") or key in _WRAPPERS


def _arguments(call: dict[str, Any]) -> dict[str, Any] | None:
    for key in ARG_KEYS:
        args = call.get(key)
        if isinstance(args, str):  # some servers send the arguments as a JSON string
            try:
                args = json.loads(args)
            except ValueError:
                args = None
        if isinstance(args, dict):
            return args
        if isinstance(args, list) and len(args) in (2, 4) and to_numbers(args) is not None:
            # {"name": "left_click", "arguments": [1026, 345]}: the place alone (ScreenSpot-Pro logs)
            return {"coordinate": args}
    return None


def _place(value: Any) -> list[float] | None:
    nums = to_numbers(value)
    return nums if nums is not None and len(nums) in (2, 4) else None


class ComputerUseParser(Parser):
    name = "qwen25_computer_use"
    description = "Qwen2.5-VL / Qwen3-VL function calls: {name, arguments: {action?, coordinate|start_box|box}} (resized pixels)"
    default_coords = "qwen25"
    example = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [1240, 783]}}\n</tool_call>'

    def detect(self, text: str) -> float:
        if ("<tool_call>" in text or "arguments\"" in text or "arguments'" in text or '"args"' in text) and any(
            k in text for k in _DETECT_KEYS
        ):
            return detection.ACTION_CALL
        if "computer_use" in text and "coordinate" in text:
            return detection.ACTION_CALL
        if '"arguments"' in text and _LIST_ARGS.search(text) is not None:
            return detection.ACTION_CALL  # {"name": "left_click", "arguments": [x, y]}
        return detection.NONE

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        bodies = _calls(text)
        if not bodies:
            bodies = [candidate for candidate, _ in iter_json_texts(text)][:MAX_CALLS] or [text]
        calls: list[tuple[int, int, str | None]] = []  # (first point, points after, action) per call with a place
        for body in bodies:
            if not self._body(raw, body, calls):
                return raw
        if not raw.found:
            raw.issue("gui.no_coordinate", "no function call with a coordinate", "error")
        _flag_hedge(raw, calls)
        return raw

    def _body(self, raw: RawParse, body: str, calls: list[tuple[int, int, str | None]]) -> bool:
        """Read every call in one body; False past the point cap."""
        issues: list[Any] = []
        value = None
        if len(body) <= MAX_CALL_CHARS + 2:
            try:
                value = json.loads(body)
            except ValueError:
                value = load_json(body, issues)
        found = False
        if value is not None:
            for item in iter_dicts(value, max_items=200):
                args = _arguments(item)
                if args is None:
                    continue
                found = True
                name = item.get("name") or item.get("function")
                if not self._one(raw, str(name) if isinstance(name, str) else "", args, calls):
                    return False
        if found:
            raw.issues.extend(i for i in issues if i.code == "json.repaired")
            return True
        return self._by_pattern(raw, body, calls)

    def _one(self, raw: RawParse, name: str, args: dict[str, Any], calls: list[tuple[int, int, str | None]]) -> bool:
        written = args.get("action")
        if not isinstance(written, str) or not written:
            kind = args.get("type")  # {"name": "Deny", "arguments": {"type": "left_click", ...}}
            written = kind if isinstance(kind, str) and "click" in kind else None
        if written is None and name and not _is_wrapper(name):
            written = name
        action = action_name(written) if written else None
        if action is None:
            action = "click"  # a call with only a place: the grounding prompts ask for a click
            if not any(k in args for k in (*PLACE_KEYS, "x")):
                return True
        start = len(raw.points) + len(raw.boxes)
        end_place = next((p for k in END_KEYS if (p := _place(args.get(k))) is not None), None)
        start_place = next((p for k in START_KEYS if (p := _place(args.get(k))) is not None), None)
        place = next((p for k in ("coordinate", "coordinates", "box", "bbox", "bbox_2d", "point", "point_2d", "position")
                      if (p := _place(args.get(k))) is not None), None)
        if place is None and "x" in args and "y" in args:
            place = _place([args.get("x"), args.get("y")])
        if place is None and isinstance(args.get("x"), list):  # {"x": [906, 1059]}
            place = _place(args.get("x"))
        drag = action == "drag" or end_place is not None
        if start_place is not None and (drag or place is not None):
            if not add_point(raw, start_place[0], start_place[1], "drag_start"):
                return False
        elif start_place is not None:
            place = start_place  # UI-TARS: click(start_box='(x,y)') is the click itself
        if place is not None and not add_place(raw, place, action):
            return False
        if end_place is not None and not add_place(raw, end_place, "drag_end"):
            return False
        placed = len(raw.points) + len(raw.boxes) - start
        if placed:
            calls.append((start, placed, action))
        elif written:
            raw.issue("gui.action_without_place", f"action {action!r} has no coordinate", "info")
        return True

    def _by_pattern(self, raw: RawParse, body: str, calls: list[tuple[int, int, str | None]]) -> bool:
        """Not JSON even after repair: the action and coordinates, read with bounded patterns."""
        found = _ACTION.search(body)
        named = _NAME.search(body)
        written = found.group(1) if found else (named.group(1) if named and not _is_wrapper(named.group(1)) else None)
        action = action_name(written) if written else "click"
        for key, xs, ys in _COORD.findall(body[: MAX_CALL_CHARS + 2]):
            x, y = _float(xs), _float(ys)
            if x is not None and y is not None:
                raw.issue("json.repaired", "the function call is not valid JSON; its coordinate was read by pattern")
                start = len(raw.points) + len(raw.boxes)
                if not add_point(raw, x, y, "drag_start" if key == "start_coordinate" else action):
                    return False
                calls.append((start, 1, action))
        return True


_NOT_PLACES = frozenset({"drag_start", "drag_end", "drag", "scroll", "hover"})


def _flag_hedge(raw: RawParse, calls: list[tuple[int, int, str | None]]) -> None:
    """Two calls that click (or box) at different places: a hedge, every place a candidate.

    A drag's two ends, a move before a click at the same spot, and a click
    followed by typing are one target; two clicks at two places are two
    guesses. Only points and boxes of clicking actions count.
    """
    if len(calls) < 2 or (raw.boxes and raw.points):
        return
    groups: list[tuple[list[int], list[int], str]] = []
    places: set[tuple[object, ...]] = set()
    for n, (start, count, action) in enumerate(calls):
        if action in _NOT_PLACES:
            continue
        items = list(range(start, start + count))
        if raw.boxes and not raw.points:
            where = tuple(raw.boxes[i].xyxy for i in items if i < len(raw.boxes))
            group: tuple[list[int], list[int], str] = (items, [], f"call {n + 1}")
        else:
            where = tuple((raw.points[i].x, raw.points[i].y) for i in items if i < len(raw.points))
            group = ([], items, f"call {n + 1}")
        if where and where not in places:
            places.add(where)
            groups.append(group)
    if len(groups) > 1:
        raw.hedge("hedge.calls", groups, "several calls act at different places")


@hookimpl
def register_parsers(register: Any) -> None:
    register(ComputerUseParser())
