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
from groundscore.parse.phrases import numbers, phrase_before
from groundscore.plugins.hookspecs import hookimpl

_GROUP = re.compile(r"\[((?:\s*[01]?\.\d+\s*[,;]){1,63}\s*[01]?\.\d+\s*)\]")


class ShikraParser(Parser):
    name = "shikra"
    description = "Shikra: [x1,y1,x2,y2] in 0..1, several ;-separated"
    default_coords = "norm1"
    markers = ("[0.",)
    example = "A man [0.102,0.238,0.514,0.826] riding a horse"

    def detect(self, text: str) -> float:
        # a valid box's x1 is below 1, so its text starts "[0."
        if "[0." in text and _GROUP.search(text) is not None:
            return 0.8
        return 0.0

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        floor = 0
        for match in _GROUP.finditer(text):
            label = phrase_before(text, match.start(), floor)
            for part in match.group(1).split(";"):
                values = numbers(part, 8)
                if len(values) == 4:
                    if not raw.add_box(*values, label=label):
                        return raw
                elif len(values) == 2:
                    if not raw.add_point(values[0], values[1], label):
                        return raw
                else:
                    raw.issue("box.bad_arity", f"a Shikra box has {len(values)} numbers, expected 4", "error")
            floor = match.end()
        if not raw.found and not raw.issues:
            raw.issue("text.no_boxes", "no [x1,y1,x2,y2] in 0..1 found", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(ShikraParser())
