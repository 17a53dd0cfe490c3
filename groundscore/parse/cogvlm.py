"""CogVLM / CogAgent grounding: ``a man [[097,514,283,996]] riding a horse``.

Several boxes of one phrase share the brackets, separated by ``;``
(``[[x1,y1,x2,y2;x1,y1,x2,y2]]``). CogAgent's GUI answers write points the
same way (``[[x,y]]``). The numbers are three-digit proportions of the image
times 1000; the CogVLM maintainers decode them as ``value / 1000 * size``, so
the default space is ``norm1000``.
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse.base import Parser, RawParse
from groundscore.parse.detection import NESTED_BRACKETS, NONE, WEAK
from groundscore.parse.phrases import read_box_groups
from groundscore.plugins.hookspecs import hookimpl

_GROUP = re.compile(r"\[\[([-\d\s,;.]{1,2000})\]\]")


class CogVLMParser(Parser):
    name = "cogvlm"
    description = "CogVLM / CogAgent: [[x1,y1,x2,y2]], several as [[a;b]], points as [[x,y]]"
    default_coords = "norm1000"
    example = "A man [[097,514,283,996]] standing on the beach"

    def detect(self, text: str) -> float:
        if "[[" in text and _GROUP.search(text) is not None:
            # inside <box>...</box> the same brackets are InternVL's
            return WEAK if "<box>" in text else NESTED_BRACKETS
        return NONE

    def parse(self, text: str) -> RawParse:
        return read_box_groups(
            text, _GROUP, "[[{part}]] is {count} numbers, expected 4 (or 2 for a point)", "no [[x1,y1,x2,y2]] found"
        )


@hookimpl
def register_parsers(register: Any) -> None:
    register(CogVLMParser())
