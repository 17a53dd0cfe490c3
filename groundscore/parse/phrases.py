"""Reading numbers and the phrase a box belongs to out of free model text.

Shared by the parsers of inline formats (Qwen2-VL, CogVLM, Shikra, Ferret,
Florence-2, ...), where a box follows the words it grounds: ``a man
[[097,514,283,996]] riding a horse``. Everything here is bounded: look-backs
are capped in characters and labels in length, so a parser stays linear in
the text whatever it is fed.
"""

from __future__ import annotations

import re

NUMBER = r"-?\d+(?:\.\d+)?"
_NUMBER = re.compile(NUMBER)
MAX_LABEL_CHARS = 200
MAX_LOOKBACK = 300

# Special tokens and tags that are syntax, never part of a label.
_SYNTAX = re.compile(
    r"<\|[a-z_]+\|>|</?(?:ref|box|p|phrase|object|answer|think|delim|quad|poly)>|</delimiter_of_multi_objects/>",
    re.IGNORECASE,
)
# Where a new phrase starts when looking back from a box.
_BREAK = re.compile(r"[\n.;:!?\]\)>}，。；：]")
_EDGE = " \t\r\n,.;:!?\"'`*-_=([{)]}"


def numbers(text: str, limit: int = 4096) -> list[float]:
    """Every number in ``text`` (at most ``limit``), as floats."""
    out: list[float] = []
    for match in _NUMBER.finditer(text):
        out.append(float(match.group()))
        if len(out) >= limit:
            break
    return out


def clean_label(text: str | None) -> str | None:
    """A label without syntax tokens, surrounding punctuation or runaway length; None if empty."""
    if not text:
        return None
    if "<" in text:
        text = _SYNTAX.sub(" ", text)
    text = " ".join(text.split()).strip(_EDGE)
    if not text:
        return None
    return text[:MAX_LABEL_CHARS]


def phrase_before(text: str, start: int, floor: int = 0) -> str | None:
    """The phrase that ends just before ``start``: the words after the last break.

    ``floor`` is where the previous box ended, so a label never reaches back
    into the previous grounded phrase.
    """
    lo = max(floor, start - MAX_LOOKBACK)
    segment = text[lo:start]
    if "<" in segment:
        segment = _SYNTAX.sub(" ", segment)
    segment = segment.rstrip(_EDGE)
    cut = 0
    for match in _BREAK.finditer(segment):
        cut = match.end()
    return clean_label(segment[cut:])
