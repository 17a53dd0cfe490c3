"""The ``box_call`` format: ``BOX(x1, y1, x2, y2, "label")``, one call per object, in original pixels.

A made-up but typical tool-call style answer. The parser says once what it
recognises (the ``BOX(`` marker), reads every call with one bounded regex,
and reports what it could not read as issues instead of raising.
"""

from __future__ import annotations

import re
from typing import Any

from groundscore import hookimpl
from groundscore.parse.base import Parser, RawParse

# Bounded: at most 4 numbers of at most 20 characters and a label of at most 200; no nested quantifiers.
CALL = re.compile(
    r'BOX\(\s*(-?[\d.]{1,20})\s*,\s*(-?[\d.]{1,20})\s*,\s*(-?[\d.]{1,20})\s*,\s*(-?[\d.]{1,20})'
    r'(?:\s*,\s*"([^"\n]{0,200})")?\s*\)'  # the label's comma takes its own spaces: linear
)


class BoxCallParser(Parser):
    name = "box_call"
    description = 'tool-call boxes: BOX(x1, y1, x2, y2, "label"), original pixels'
    default_coords = "original"
    example = 'BOX(10, 20, 110, 220, "dog")'

    def detect(self, text: str) -> float:
        return 0.9 if "BOX(" in text else 0.0

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        for match in CALL.finditer(text):
            try:
                x1, y1, x2, y2 = (float(v) for v in match.group(1, 2, 3, 4))
            except ValueError:
                raw.issue("box.not_numbers", f"not numbers: {match.group(0)[:60]}", "error")
                continue
            if not raw.add_box(x1, y1, x2, y2, match.group(5) or None):
                break
        if not raw.found:
            raw.issue("box_call.unreadable", "BOX( found, but no complete BOX(x1, y1, x2, y2) call", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(BoxCallParser())
