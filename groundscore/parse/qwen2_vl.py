"""Qwen2-VL / Qwen3-VL grounding: ``<|object_ref_start|>label<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>``.

The same answer decoded with ``skip_special_tokens=True`` (what most serving
stacks return) loses the tokens and leaves ``label(x1,y1),(x2,y2)``; both are
read here. Coordinates are integers in 0..1000 relative to the image
(``norm1000``), whatever the input resolution. R1-style models trained from
Qwen2-VL (Visual-RFT, early VLM-R1) write the same pairs inside
``<answer>``, in the same space. OS-Atlas-Base-7B, trained on Qwen2-VL, at
times writes InternVL's ``[[x1, y1, x2, y2]]`` inside the box tokens (its
authors, OS-Copilot/OS-Atlas issue #25); that is read too, same space.
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse.base import Parser, RawParse
from groundscore.parse.detection import BARE_PAIRS, NONE, RESERVED_TOKEN
from groundscore.parse.phrases import SPACED_NUMBER, clean_label, phrase_before, read_boxes
from groundscore.plugins.hookspecs import hookimpl

_N = SPACED_NUMBER
_PAIR = re.compile(rf"\({_N},{_N}\)\s*,?\s*\({_N},{_N}\)")
_BRACKETED = re.compile(rf"<\|box_start\|>\s*\[\[{_N},{_N},{_N},{_N}\]\]")
_REF = re.compile(r"<\|object_ref_start\|>(.{0,300}?)<\|object_ref_end\|>", re.DOTALL)


class Qwen2VLParser(Parser):
    name = "qwen2_vl"
    description = "Qwen2-VL / Qwen3-VL special-token boxes, with or without the tokens"
    default_coords = "norm1000"
    example = "<|object_ref_start|>the dog<|object_ref_end|><|box_start|>(221,423),(569,886)<|box_end|>"

    def detect(self, text: str) -> float:
        if "|>" in text and ("<|box_start|>" in text or "<|object_ref_start|>" in text):
            return RESERVED_TOKEN
        if ")," in text and _PAIR.search(text) is not None:
            return BARE_PAIRS
        return NONE

    def parse(self, text: str) -> RawParse:
        raw = read_boxes(text, _PAIR, _ref_or_phrase_before, "no (x1,y1),(x2,y2) pair found")
        if not raw.found and "<|box_start|>" in text:
            bracketed = read_boxes(text, _BRACKETED, _ref_or_phrase_before, "no (x1,y1),(x2,y2) pair found")
            if bracketed.found:
                return bracketed
        return raw


def _ref_or_phrase_before(text: str, match: re.Match[str], floor: int, previous: str | None) -> str | None:
    """The last ``<|object_ref_start|>`` label before the box, else the words before it."""
    label = None
    segment = text[max(floor, match.start() - 300) : match.start()]
    if "<|object_ref_end|>" in segment:
        refs = _REF.findall(segment)
        label = clean_label(refs[-1]) if refs else None
    if label is None:
        label = phrase_before(text, match.start(), floor)
    return label


@hookimpl
def register_parsers(register: Any) -> None:
    register(Qwen2VLParser())
