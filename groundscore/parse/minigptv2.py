"""MiniGPT-v2's boxes: ``<p>a man</p> {<12><34><56><78>}``, integers in 0..100.

Several boxes of one phrase follow each other, joined by ``<delim>``. The
label is the last ``<p>...</p>`` before the box (the phrase-grounding
tasks), else the words before it.
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse.base import Parser, RawParse
from groundscore.parse.detection import DOCUMENTED_SYNTAX
from groundscore.parse.phrases import clean_label, phrase_before, read_boxes
from groundscore.plugins.hookspecs import hookimpl

_BOX = re.compile(r"\{\s*<(-?\d{1,4})>\s*<(-?\d{1,4})>\s*<(-?\d{1,4})>\s*<(-?\d{1,4})>\s*\}")
_PHRASE = re.compile(r"<p>([^<]{0,300})</p>")


class MiniGPTv2Parser(Parser):
    name = "minigptv2"
    description = "MiniGPT-v2: <p>label</p>{<x1><y1><x2><y2>}, 0..100"
    default_coords = "norm100"
    example = "<p>a man</p> {<12><34><56><78>}"

    def detect(self, text: str) -> float:
        return DOCUMENTED_SYNTAX if "{<" in text and _BOX.search(text) is not None else 0.0

    def parse(self, text: str) -> RawParse:
        return read_boxes(text, _BOX, _phrase_label, "no {<x1><y1><x2><y2>} found")


def _phrase_label(text: str, match: re.Match[str], floor: int, previous: str | None) -> str | None:
    """The last ``<p>...</p>`` before the box; a box joined by ``<delim>`` keeps the previous label."""
    segment = text[floor : match.start()]
    phrases = _PHRASE.findall(segment[-2000:]) if "<p>" in segment else []
    if phrases:
        return clean_label(phrases[-1])
    if segment.strip(" <>delim\t\n") or previous is None:
        return phrase_before(text, match.start(), floor)
    return previous


@hookimpl
def register_parsers(register: Any) -> None:
    register(MiniGPTv2Parser())
