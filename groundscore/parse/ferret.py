"""Ferret's inline boxes: ``a dog [120, 340, 560, 780] sitting on a bench``.

Integers in 0..999 relative to the image (``norm999``), written right after
the phrase they ground, in running prose. Syntax alone cannot tell this from
a bare ``[x1, y1, x2, y2]`` in pixels, so detection asks for prose: words
before the first box, and no JSON or R1 answer around it. Anything else
is left to the JSON parsers; an explicit ``format="ferret"`` always reads
here.
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse.base import Parser, RawParse
from groundscore.parse.detection import BOX_IN_PROSE, NONE
from groundscore.parse.phrases import BRACKETED_BOX, phrase_before, read_boxes
from groundscore.plugins.hookspecs import hookimpl

_BOX = re.compile(BRACKETED_BOX)
_WORD_BEFORE = re.compile(r"[A-Za-z]{2,}[^\[\]{}\"]{0,40}$")


class FerretParser(Parser):
    name = "ferret"
    description = "Ferret: phrase [x1, y1, x2, y2] in running text, 0..999"
    default_coords = "norm999"
    example = "There is a dog [120, 340, 560, 780] on the bench [0, 500, 999, 999]."

    def detect(self, text: str) -> float:
        if "[" not in text or "{" in text or '"' in text or "```" in text:
            return NONE
        match = _BOX.search(text)
        if match is None or _WORD_BEFORE.search(text, max(0, match.start() - 80), match.start()) is None:
            return NONE
        return BOX_IN_PROSE

    def parse(self, text: str) -> RawParse:
        return read_boxes(text, _BOX, _phrase_before_box, "no [x1, y1, x2, y2] found")


def _phrase_before_box(text: str, match: re.Match[str], floor: int, previous: str | None) -> str | None:
    return phrase_before(text, match.start(), floor)


@hookimpl
def register_parsers(register: Any) -> None:
    register(FerretParser())
