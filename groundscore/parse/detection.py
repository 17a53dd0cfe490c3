"""Which parser reads a completion: the confidences, detection, and the issue that records the choice.

Every registered parser's :meth:`~groundscore.parse.base.Parser.detect` is
asked, in a plain loop, how sure it is that the text is in its format; the
most confident wins, ties going to the parser registered first. ``detect`` is
the one place a parser says what it recognises (a substring test, with any
regex only behind it), and it answers with one of the confidences below.

The confidences rank how specific the syntax seen is: a token that only one
model family emits beats a JSON key several families share, which beats a
bare list of four numbers that almost any format could hold. Only the order
matters; it is what decides between two formats that both match.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from groundscore.model import Issue
from groundscore.parse.base import Parser

ACTION_CALL = 1.0
"""A GUI agent's action call (``pyautogui.click(...)``, ``click(start_box=...)``, a ``computer_use`` tool call): code, not prose."""
RESERVED_TOKEN = 0.99
"""A model's reserved special token (Qwen2-VL's ``<|box_start|>``): nothing else writes it."""
LOCATION_TOKEN = 0.97
"""A family's own location token (Florence-2 ``<loc_``, PaliGemma ``<loc0``, Kosmos-2 ``<patch_index_``)."""
ACTION_RECORD = 0.97
"""JSON action records (GUI-R1 / UI-R1 ``{"action": "click", "point": [..]}``): an action key next to a place."""
FAMILY_KEY = 0.96
"""A JSON key one family documents and the others do not (Gemini's ``"box_2d"``)."""
DOCUMENTED_SYNTAX = 0.95
"""A format's documented syntax (Qwen2.5-VL ``bbox_2d`` / ``point_2d``, MiniGPT-v2 ``{<..>}``)."""
FAMILY_TAG = 0.92
"""A family's box tag (InternVL ``<box>``), which others sometimes borrow."""
TAGGED_ANSWER = 0.9
"""A named wrapper around numbers (``<points x1=..>``, VLM-R1's ``Position`` dicts)."""
NORMALISED_POINT = 0.9
"""A lone 0-1 point (SeeClick ``(0.73,0.21)``, ShowUI ``[0.73, 0.21]``): a short answer that is nothing but the point."""
KEYED_RECORD = 0.85
"""Records with meaningful keys or layout (detector dicts with ``box`` and ``score``, ``x1,y1,x2,y2 label`` lines)."""
BRACKETED_DECIMALS = 0.8
"""0-1 decimals in square brackets (Shikra)."""
NESTED_BRACKETS = 0.75
"""``[[x1,y1,x2,y2]]`` groups (CogVLM)."""
BARE_PAIRS = 0.7
"""``(x,y),(x,y)`` pairs without tokens (Qwen2-VL text decoded with the special tokens skipped)."""
LENIENT_KEYS = 0.6
"""JSON holding a box under another key (``"bounding_box"``, ``"answer"``, ...)."""
BOX_IN_PROSE = 0.5
"""``[x1, y1, x2, y2]`` inside prose, no JSON around it (Ferret)."""
BARE_BOX = 0.4
"""A bare ``[x1, y1, x2, y2]``: read as Qwen2.5-VL JSON, the likeliest writer."""
BARE_BOX_FALLBACK = 0.35
"""The same bare list, for a format that reads it too but is less likely (``r1_rec``)."""
WEAK = 0.3
"""A weak hint: an empty JSON list, a list of the wrong length, ``[[..]]`` inside ``<box>``."""
NONE = 0.0
"""Not this format."""

AMBIGUITY_MARGIN = 0.2
"""An alternative this close to the chosen format's confidence, reading another coordinate space, is ambiguous."""


def parser_table(parsers: Mapping[str, Parser]) -> Mapping[str, Parser]:
    """A read-only snapshot of ``parsers``: registering a parser later does not change a batch in flight."""
    return MappingProxyType(dict(parsers))


def detect_format(text: str, parsers: Mapping[str, Parser]) -> tuple[Parser | None, float, list[tuple[str, float]]]:
    """The most confident parser, its confidence, and the others that scored above 0 (best first).

    Ties go to the parser registered first. A ``detect`` that raises or
    returns something that is not a number counts as 0: a plugin's bug must
    not break parsing.
    """
    scored: list[tuple[float, Parser]] = []
    for parser in parsers.values():
        try:
            conf = float(parser.detect(text))
        except Exception:  # noqa: BLE001 - a plugin's detect must not break parsing
            continue
        if conf > 0:
            scored.append((conf, parser))
    if not scored:
        return None, 0.0, []
    best_conf, best = max(scored, key=lambda item: item[0])  # max keeps the first of equals
    others = sorted(((p.name, c) for c, p in scored if p is not best), key=lambda item: item[1], reverse=True)
    return best, best_conf, others


def detection_issue(
    parser: Parser, confidence: float, others: list[tuple[str, float]], where: str, parsers: Mapping[str, Parser]
) -> Issue:
    """One info issue: the format read, its confidence, and the formats rejected.

    ``format.ambiguous`` only when a rejected format came within
    :data:`AMBIGUITY_MARGIN` *and* would have read the numbers in another
    coordinate space, that is, when the choice changes the boxes.
    """
    text = f"read as {parser.name} ({confidence:.2f}) from the {where}"
    if not others:
        return Issue(code="format.detected", message=text + "; no other format matched", severity="info")
    rejected = ", ".join(f"{n} ({c:.2f})" for n, c in others)
    space = parser.default_coords
    close = [
        n for n, c in others
        if c >= confidence - AMBIGUITY_MARGIN and getattr(parsers.get(n), "default_coords", None) != space
    ]
    code = "format.ambiguous" if close else "format.detected"
    return Issue(code=code, message=f"{text}; rejected: {rejected}", severity="info")
