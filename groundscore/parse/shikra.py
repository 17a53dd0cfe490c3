"""Shikra's inline boxes: ``the man [0.102,0.238,0.514,0.826] is ...``, in fractions of the image.

Several boxes of one phrase share the brackets, separated by ``;``
(``[0.1,0.2,0.3,0.4;0.5,0.6,0.7,0.8]``); a point is two numbers
(PointQA). Every number is between 0 and 1 with a decimal point, which is
what tells this format from the integer lists of other families.
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse.base import Parser, RawParse
from groundscore.parse.detection import BRACKETED_DECIMALS, NONE
from groundscore.parse.phrases import read_box_groups
from groundscore.plugins.hookspecs import hookimpl

_GROUP = re.compile(r"\[((?:\s*[01]?\.\d+\s*[,;]){1,63}\s*[01]?\.\d+\s*)\]")


class ShikraParser(Parser):
    name = "shikra"
    description = "Shikra: [x1,y1,x2,y2] in 0..1, several ;-separated"
    default_coords = "norm1"
    example = "A man [0.102,0.238,0.514,0.826] riding a horse"

    def detect(self, text: str) -> float:
        # a valid box's x1 is below 1, so its text starts "[0."
        if "[0." in text and _GROUP.search(text) is not None:
            return BRACKETED_DECIMALS
        return NONE

    def parse(self, text: str) -> RawParse:
        return read_box_groups(text, _GROUP, "a Shikra box has {count} numbers, expected 4", "no [x1,y1,x2,y2] in 0..1 found")


@hookimpl
def register_parsers(register: Any) -> None:
    register(ShikraParser())
