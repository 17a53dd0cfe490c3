"""SeeClick answers: ``(0.73,0.21)``, a click point as fractions of the image.

SeeClick (Qwen-VL based) is prompted "What is the position of the element
corresponding to ...? (with point)" and answers ``(x,y)`` with two decimals
in 0..1; asked "(with bbox)" it writes ``(x1,y1,x2,y2)`` in the same space.
The space is ``norm1``. Only a whole answer that is the tuple is read (a
parenthesised pair inside prose is too common to be taken for a point).
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse import detection
from groundscore.parse.base import Parser, RawParse
from groundscore.parse.gui_common import add_place, numbers
from groundscore.plugins.hookspecs import hookimpl

_F = r"(?:0?\.\d{1,8}|[01](?:\.0{0,8})?)"
_TUPLE = re.compile(rf"^\s*\(\s*{_F}\s*,\s*{_F}\s*(?:,\s*{_F}\s*,\s*{_F}\s*)?\)\s*\.?\s*$")


class SeeClickParser(Parser):
    name = "seeclick"
    description = "SeeClick: (x,y) or (x1,y1,x2,y2) as fractions 0-1 of the image"
    default_coords = "norm1"
    example = "(0.73,0.21)"

    def detect(self, text: str) -> float:
        if "(" in text and len(text) <= 120 and _TUPLE.match(text) is not None:
            return detection.NORMALISED_POINT
        return detection.NONE

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        if len(text) <= 120 and _TUPLE.match(text):
            add_place(raw, numbers(text, 5), "click")
        else:
            raw.issue("gui.no_coordinate", "the answer is not a (x,y) or (x1,y1,x2,y2) tuple in 0..1", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(SeeClickParser())
