"""Reading numbers and the phrase a box belongs to out of free model text.

Shared by the parsers of inline formats (Qwen2-VL, CogVLM, Shikra, Ferret,
Florence-2, ...), where a box follows the words it grounds: ``a man
[[097,514,283,996]] riding a horse``. :func:`read_boxes` and
:func:`read_box_groups` are the reading loops those parsers share; each
parser brings its own pattern and label rule. Everything here is bounded:
look-backs are capped in characters and labels in length, so a parser stays
linear in the text whatever it is fed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from groundscore.parse.base import RawParse

NUMBER = r"-?\d+(?:\.\d+)?"
SPACED_NUMBER = rf"\s*({NUMBER})\s*"
"""One number as a regex group, with the white space around it."""
BRACKETED_BOX = rf"\[{SPACED_NUMBER},{SPACED_NUMBER},{SPACED_NUMBER},{SPACED_NUMBER}\]"
"""``[x1, y1, x2, y2]`` as four regex groups (Ferret's boxes, R1 answers' bare boxes)."""
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


LabelRule = Callable[[str, "re.Match[str]", int, "str | None"], "str | None"]
"""How a format finds a box's label: ``(text, match, floor, previous label) -> label``."""


def read_boxes(
    text: str, pattern: re.Pattern[str], label_of: LabelRule, no_boxes: str, *, y_first: bool = False
) -> RawParse:
    """One box per match of ``pattern``, whose first four groups are the coordinates.

    The loop every format of one-box-per-match shares: ``label_of`` is the
    format's own rule for the label (the phrase before the box, a tag, the
    text after it), given where the previous box ended (``floor``) and the
    previous box's label. ``y_first``: the groups are ``y1, x1, y2, x2``.
    Stops at the box cap; ``no_boxes`` is the ``text.no_boxes`` message when
    nothing matched.
    """
    raw = RawParse()
    floor = 0
    label: str | None = None
    for match in pattern.finditer(text):
        label = label_of(text, match, floor, label)
        a, b, c, d = (float(v) for v in match.groups()[:4])
        added = raw.add_box(b, a, d, c, label) if y_first else raw.add_box(a, b, c, d, label)
        if not added:
            break
        floor = match.end()
    if not raw.found:
        raw.issue("text.no_boxes", no_boxes, "error")
    return raw


def read_box_groups(text: str, pattern: re.Pattern[str], bad_arity: str, no_boxes: str) -> RawParse:
    """Bracket groups of ``;``-separated boxes (or points), each after the phrase it grounds.

    ``pattern``'s first group is the inside of one bracket group
    (``097,514,283,996;100,200,300,400``); four numbers make a box, two a
    point, anything else a ``box.bad_arity`` issue whose message is
    ``bad_arity`` formatted with ``part`` (the offending text, cut to 40
    characters) and ``count``. Every box of a group gets the phrase before
    the group. ``no_boxes`` is the ``text.no_boxes`` message when nothing
    was read and nothing went wrong. CogVLM and Shikra write this shape.
    """
    raw = RawParse()
    floor = 0
    for match in pattern.finditer(text):
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
                raw.issue("box.bad_arity", bad_arity.format(part=part.strip()[:40], count=len(values)), "error")
        floor = match.end()
    if not raw.found and not raw.issues:
        raw.issue("text.no_boxes", no_boxes, "error")
    return raw
