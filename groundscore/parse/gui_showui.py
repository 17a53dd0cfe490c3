"""ShowUI answers: a bare normalised point ``[0.73, 0.21]``, or an action dict with ``position``.

ShowUI-2B's grounding prompt asks for "the [x,y] coordinates ... relative to
the image", scaled 0..1, and the model answers with the bare list; in
navigation mode it writes ``{'action': 'CLICK', 'value': None, 'position':
[0.49, 0.42]}``. Both are ``norm1`` (multiply by the image size). Only a
whole answer that is the list is read, so a bracketed pair inside prose is
not mistaken for a point.
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse import detection
from groundscore.parse.base import Parser, RawParse
from groundscore.parse.gui_common import action_name, add_place, numbers
from groundscore.plugins.hookspecs import hookimpl

_F = r"(?:0?\.\d{1,8}|[01](?:\.0{0,8})?)"
_BARE = re.compile(rf"^\s*(?:```\w*\s*)?\[\s*{_F}\s*,\s*{_F}\s*\]\s*(?:```)?\s*$")
_DICT = re.compile(
    r"[\"']action[\"']\s*:\s*[\"']([A-Za-z_]{1,30})[\"'][^{}]{0,200}?[\"']position[\"']\s*:\s*\[([\d\s,.]{1,60})\]"
)


class ShowUIParser(Parser):
    name = "showui"
    description = "ShowUI: a bare normalised point [0.73, 0.21], or {'action': 'CLICK', 'position': [x, y]} (0-1)"
    default_coords = "norm1"
    example = "[0.73, 0.21]"

    def detect(self, text: str) -> float:
        if "[" not in text:
            return detection.NONE
        if "position" in text and _DICT.search(text[:4000]) is not None:
            return detection.DOCUMENTED_SYNTAX
        if len(text) <= 80 and _BARE.match(text) is not None:
            return detection.NORMALISED_POINT
        return detection.NONE

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        for match in _DICT.finditer(text):
            if not add_place(raw, numbers(match.group(2), 5), action_name(match.group(1))):
                return raw
        if not raw.found and len(text) <= 80 and _BARE.match(text):
            add_place(raw, numbers(text, 3), None)
        if not raw.found:
            raw.issue("gui.no_coordinate", "no [x, y] point in 0..1 found", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(ShowUIParser())
