"""GUI-R1 / UI-R1 action lists: ``[{"action": "click", "point": [x, y]}]``.

GUI-R1 answers ``<answer>[{'action': 'click', 'point': [123, 300], 'input_text':
'no input text'}]</answer>``; UI-R1 writes ``coordinate`` for the same, and
grounding variants give a ``bbox`` ``[x1, y1, x2, y2]``. Both are trained from
Qwen2.5-VL and write absolute pixels of its resized input (``qwen25``); when
the images were fed at a size smart_resize leaves alone, that is the same as
original pixels. Python-style quotes are accepted (the models write them).
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse import detection
from groundscore.parse.base import Parser, RawParse
from groundscore.parse.gui_common import action_name, add_place, numbers
from groundscore.plugins.hookspecs import hookimpl

_ITEM = re.compile(r"\{[^{}]{0,600}\}")
_ACTION = re.compile(r"[\"']action[\"']\s*:\s*[\"']([A-Za-z_ ]{1,30})[\"']")
_PLACE = re.compile(r"[\"'](point|coordinate|bbox)[\"']\s*:\s*\[([-\d\s,.]{1,100})\]")


class ActionListParser(Parser):
    name = "gui_action_list"
    description = "GUI-R1 / UI-R1 action lists: [{'action': 'click', 'point'|'coordinate'|'bbox': [...]}] (resized pixels)"
    default_coords = "qwen25"
    example = "[{'action': 'click', 'point': [123, 300], 'input_text': 'no input text'}]"

    def detect(self, text: str) -> float:
        if "action" not in text or "computer_use" in text:
            return detection.NONE
        for item in _ITEM.finditer(text[:20000]):
            body = item.group()
            if _ACTION.search(body) and _PLACE.search(body):
                return detection.ACTION_RECORD
        return detection.NONE

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        for item in _ITEM.finditer(text[:65536]):
            body = item.group()
            found = _ACTION.search(body)
            if found is None:
                continue
            for _key, value in _PLACE.findall(body):
                if not add_place(raw, numbers(value, 5), action_name(found.group(1))):
                    return raw
        if not raw.found:
            raw.issue("gui.no_coordinate", "no action item with a point, coordinate or bbox", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(ActionListParser())
