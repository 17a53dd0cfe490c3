"""Qwen2.5-VL computer-use tool calls: ``<tool_call>{"name": "computer_use", "arguments": {...}}</tool_call>``.

The Qwen2.5-VL computer-use cookbook declares a ``computer_use`` function
whose ``action`` is ``left_click``, ``right_click``, ``double_click``,
``mouse_move``, ``left_click_drag``, ``type``, ``key``, ``scroll``, ... and
whose ``coordinate`` is ``[x, y]`` in pixels of the image the model saw,
that is, the smart_resize'd input (``qwen25``): the cookbook maps it back by
the resize ratio. ``left_click_drag`` takes ``coordinate`` as the drop point
and ``start_coordinate`` as the start, when written. Actions without a place
(``type``, ``key``, ``wait``, ``terminate``) are kept as an info issue.
"""

from __future__ import annotations

import json
import re
from typing import Any

from groundscore.parse import detection
from groundscore.parse.base import Parser, RawParse
from groundscore.parse.gui_common import action_name, add_place, add_point
from groundscore.plugins.hookspecs import hookimpl

_CALL = re.compile(r"<tool_call>\s*(\{.{0,4000}?\})\s*</tool_call>", re.DOTALL)
_ACTION = re.compile(r"[\"']action[\"']\s*:\s*[\"']([A-Za-z_]{1,40})[\"']")
_COORD = re.compile(r"[\"'](start_coordinate|coordinate)[\"']\s*:\s*\[\s*([-\d.]{1,20})\s*,\s*([-\d.]{1,20})\s*\]")


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


class ComputerUseParser(Parser):
    name = "qwen25_computer_use"
    description = "Qwen2.5-VL computer_use tool calls: {action: left_click, coordinate: [x, y]} (resized pixels)"
    default_coords = "qwen25"
    example = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [1240, 783]}}\n</tool_call>'

    def detect(self, text: str) -> float:
        if ("computer_use" in text or "<tool_call>" in text) and "coordinate" in text and "action" in text:
            return detection.ACTION_CALL
        return detection.NONE

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        bodies = [m.group(1) for m in _CALL.finditer(text)]
        if not bodies:
            # An unclosed call: a stop sequence or a harness (ScreenSpot-Pro's Qwen2.5-VL runner keeps the
            # response up to its last '}') drops '</tool_call>'; the JSON after the tag is still whole.
            _, tag, rest = text.rpartition("<tool_call>")
            bodies = [rest.replace("<|im_end|>", "").strip()] if tag else [text]
        for body in bodies:
            if not self._one(raw, body):
                return raw
        if not raw.found:
            raw.issue("gui.no_coordinate", "no computer_use call with a coordinate", "error")
        return raw

    def _one(self, raw: RawParse, body: str) -> bool:
        args: Any = None
        try:
            data = json.loads(body)
            args = data.get("arguments") if isinstance(data, dict) else None
            if isinstance(args, str):  # some servers send the arguments as a JSON string
                args = json.loads(args)
        except (ValueError, AttributeError):
            args = None
        if isinstance(args, dict):
            action = action_name(str(args.get("action") or "")) if args.get("action") else None
            coord = args.get("coordinate")
            start = args.get("start_coordinate")
            if isinstance(start, list) and len(start) == 2 and all(isinstance(v, int | float) for v in start):
                if not add_point(raw, float(start[0]), float(start[1]), "drag_start"):
                    return False
            if isinstance(coord, list) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in coord):
                return add_place(raw, [float(v) for v in coord], action)
            if action:
                raw.issue("gui.action_without_place", f"action {action!r} has no coordinate", "info")
            return True
        # not valid JSON: read the action and coordinates with bounded patterns
        found = _ACTION.search(body)
        action = action_name(found.group(1)) if found else None
        for key, xs, ys in _COORD.findall(body):
            x, y = _float(xs), _float(ys)
            if x is not None and y is not None:
                raw.issue("json.repaired", "the tool call is not valid JSON; its coordinate was read by pattern")
                if not add_point(raw, x, y, "drag_start" if key == "start_coordinate" else action):
                    return False
        return True


@hookimpl
def register_parsers(register: Any) -> None:
    register(ComputerUseParser())
