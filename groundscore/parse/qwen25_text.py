"""Qwen2.5-VL's plain-text boxes: one ``x1,y1,x2,y2 label`` per line.

What Qwen2.5-VL writes when the system prompt asks for "plain text format
'x1,y1,x2,y2 object'" (the official spatial-understanding cookbook). Absolute
pixels of the smart_resize'd input, like its JSON.
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse.base import Parser, RawParse
from groundscore.parse.detection import KEYED_RECORD, NONE
from groundscore.parse.phrases import NUMBER, SPACED_NUMBER, clean_label, read_boxes
from groundscore.plugins.hookspecs import hookimpl

_N = SPACED_NUMBER
# The first number takes no spaces of its own: ``^[ \t]*\s*`` was quadratic on a run of tabs.
_LINE = re.compile(rf"^[ \t]*({NUMBER})\s*,{_N},{_N},{_N}(?:[ \t]+([^\n]*))?$", re.MULTILINE)


class QwenTextParser(Parser):
    name = "qwen25_text"
    description = "Qwen2.5-VL plain text: x1,y1,x2,y2 label, one box per line"
    default_coords = "qwen25"
    example = "43,378,996,957 cakes"

    def detect(self, text: str) -> float:
        head = text[:64].lstrip()
        if head[:1].isdigit() and _LINE.match(text.lstrip()) is not None:
            return KEYED_RECORD
        return NONE

    def parse(self, text: str) -> RawParse:
        return read_boxes(text, _LINE, _label_after_box, "no 'x1,y1,x2,y2 label' line found")


def _label_after_box(text: str, match: re.Match[str], floor: int, previous: str | None) -> str | None:
    return clean_label(match.group(5))


@hookimpl
def register_parsers(register: Any) -> None:
    register(QwenTextParser())
