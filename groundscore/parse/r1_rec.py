"""R1-style REC answers that are not Qwen2.5-VL's JSON: Visual-RFT's Position/Confidence lists.

Visual-RFT's detection prompt asks for
``<answer>[{'Position': [x1, y1, x2, y2], 'Confidence': number}, ...]</answer>``
(single quotes, as the prompt shows them); models copy that, with or
without quotes, sometimes truncated. Each Position with the Confidence that
follows it in the same dict becomes a box with a score. A bare list of
``[x1, y1, x2, y2]`` lists (several boxes in one answer) is read too, at a
lower detection confidence than the Qwen2.5-VL JSON parser, which reads
the single bare box the VLM-R1 logs hold. A bracketed list of the wrong
length (``[0,32,118,154,156]``, seen in those logs) is detected here and
reported as ``box.bad_arity`` rather than left undetected. The default space is Qwen2.5-VL's
(VLM-R1 and UniVG-R1 train Qwen2.5-VL); a run trained from Qwen2-VL
declares ``coords="norm1000"``.

The ``<think>``/``<answer>`` tags themselves are split off before any parser
runs (:mod:`groundscore.parse.r1`), so every format gets them for free.
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse.base import Parser, RawParse
from groundscore.parse.detection import BARE_BOX_FALLBACK, NONE, TAGGED_ANSWER, WEAK
from groundscore.parse.phrases import BRACKETED_BOX, NUMBER
from groundscore.plugins.hookspecs import hookimpl

_BOX = BRACKETED_BOX
_POSITION = re.compile(
    rf"""['"]?position['"]?\s*:\s*{_BOX}(?:\s*,\s*['"]?confidence['"]?\s*:\s*['"]?({NUMBER}))?""",
    re.IGNORECASE,
)
# (detection looks for the capitalised key of the prompt; lower-case "position"
# is a JSON key that the Qwen2.5-VL JSON parser reads in its own space)
_BARE = re.compile(_BOX)
# A bracketed list of 2..16 numbers: a box with the wrong arity (VLM-R1 logs hold
# answers such as <answer>[0,32,118,154,156]</answer>), reported, never guessed at.
_NUMBER_LIST = re.compile(rf"\[\s*{NUMBER}(?:\s*,\s*{NUMBER}){{1,15}}\s*\]")


class R1RecParser(Parser):
    name = "r1_rec"
    description = "R1-style REC: [{'Position': [x1,y1,x2,y2], 'Confidence': c}] (Visual-RFT), lists of bare boxes"
    default_coords = "qwen25"
    example = "[{'Position': [254, 60, 371, 358], 'Confidence': 0.92}]"

    def detect(self, text: str) -> float:
        if "Position" in text and _POSITION.search(text) is not None:
            return TAGGED_ANSWER
        if "[" in text and "{" not in text:
            if _BARE.search(text) is not None:
                return BARE_BOX_FALLBACK
            if _NUMBER_LIST.search(text) is not None:
                return WEAK
        return NONE

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        for match in _POSITION.finditer(text):
            x1, y1, x2, y2 = (float(v) for v in match.groups()[:4])
            score = float(match.group(5)) if match.group(5) is not None else None
            if not raw.add_box(x1, y1, x2, y2, None, score):
                return raw
        if raw.found:
            return raw
        for match in _BARE.finditer(text):
            x1, y1, x2, y2 = (float(v) for v in match.groups())
            if not raw.add_box(x1, y1, x2, y2):
                break
        if not raw.found:
            wrong = _NUMBER_LIST.search(text)
            if wrong is not None:
                count = wrong.group().count(",") + 1
                raw.issue("box.bad_arity", f"the answer's coordinate list has {count} numbers, expected 4", "error")
            else:
                raw.issue("text.no_boxes", "no Position list or [x1, y1, x2, y2] found", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(R1RecParser())
