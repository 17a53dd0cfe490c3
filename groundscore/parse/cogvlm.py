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
from groundscore.parse.phrases import numbers, phrase_before
from groundscore.plugins.hookspecs import hookimpl

_GROUP = re.compile(r"\[\[([-\d\s,;.]{1,2000})\]\]")


class CogVLMParser(Parser):
    name = "cogvlm"
    description = "CogVLM / CogAgent: [[x1,y1,x2,y2]], several as [[a;b]], points as [[x,y]]"
    default_coords = "norm1000"
    markers = ("[[",)
    example = "A man [[097,514,283,996]] standing on the beach"

    def detect(self, text: str) -> float:
        if "[[" in text and _GROUP.search(text) is not None:
            # inside <box>...</box> the same brackets are InternVL's
            return 0.3 if "<box>" in text else 0.75
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
                    raw.issue("box.bad_arity", f"[[{part.strip()[:40]}]] is {len(values)} numbers, expected 4 (or 2 for a point)", "error")
            floor = match.end()
        if not raw.found and not raw.issues:
            raw.issue("text.no_boxes", "no [[x1,y1,x2,y2]] found", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(CogVLMParser())
