"""Text normalisation and fuzzy matching, the part of the verifier that needs no OCR.

Both sides are folded the same way: Unicode NFKD with the combining marks
dropped (so "Résumé" reads as "resume"), case-folded, every run of
non-alphanumerics one space. The score is the mean of two similarities in
[0, 1]: ``partial`` (the best alignment of the shorter string inside the
longer: the instruction's words are there) and ``ratio`` (the whole strings:
there is not much else). A box that covers the whole page contains the
words but is mostly other text, so it gets the first and not the second.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

try:  # rapidfuzz is a dependency; difflib is the fallback when it is missing
    from rapidfuzz import fuzz as _fuzz
except ImportError:  # pragma: no cover - exercised only without rapidfuzz
    _fuzz = None

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
# Leading verbs of GUI instructions ("click the Save button"): they name the action, not the target's text.
_LEADING = re.compile(
    r"^(?:please\s+)?(?:(?:left|right|double)[- ]?)?(?:click|tap|press|select|open|choose|go to|navigate to|view|"
    r"show|check|find|locate|hover over|type in|focus)\s+(?:on\s+)?(?:the\s+|a\s+|an\s+)?",
    re.IGNORECASE,
)
# Starts only where a run of spaces starts (linear: ``\s+`` alone rescans a long run from each space).
_TRAILING = re.compile(r"(?<!\s)\s+(?:button|link|icon|tab|menu|option|field|heading|entry|item)$", re.IGNORECASE)


def fold(text: str) -> str:
    """Accent-, case- and punctuation-insensitive form of ``text``."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", stripped.casefold()).strip()


def target_words(instruction: str) -> str:
    """The words of the instruction that should be on screen: without a leading verb or a trailing widget noun."""
    text = instruction.strip().strip("\"'“”‘’ .")
    text = _LEADING.sub("", text, count=1)
    text = _TRAILING.sub("", text)
    quoted = re.findall(r"[\"“']([^\"”']{2,80})[\"”']", instruction)
    return fold(quoted[0] if quoted else text)


def _partial(a: str, b: str) -> float:
    if _fuzz is not None:
        return float(_fuzz.partial_ratio(a, b)) / 100.0
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if not short:
        return 0.0
    matcher = SequenceMatcher(None, short, long_, autojunk=False)
    best = 0.0
    for block in matcher.get_matching_blocks():
        start = max(0, block.b - block.a)
        window = long_[start : start + len(short)]
        best = max(best, SequenceMatcher(None, short, window, autojunk=False).ratio())
    return best


def _ratio(a: str, b: str) -> float:
    if _fuzz is not None:
        return float(_fuzz.ratio(a, b)) / 100.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def match_score(words: str, text: str) -> float:
    """How well on-screen ``text`` matches the instruction's ``words`` (both already folded).

    Spaces are left out of the comparison: PP-OCR's recogniser often drops
    the space between words ("tableofcontents"), and a missing space is not
    a different text.
    """
    a, b = words.replace(" ", ""), text.replace(" ", "")
    if not a or not b:
        return 0.0
    return 0.5 * _partial(a, b) + 0.5 * _ratio(a, b)


def match_at(words: str, text: str, where: float) -> float:
    """How well ``text`` (one on-screen line) holds the instruction's words AT relative position ``where``.

    A click names a place on a line, not the whole line: the score is the
    best alignment of the words in the line (rapidfuzz's
    ``partial_ratio_alignment``), times how close the click (``where`` in
    0..1 along the line) is to that aligned span (1 inside it, falling to 0
    one query-length away), times how much of the words the line can hold
    (a line "float" does not show "floating point arithmetic").
    """
    a, b = words.replace(" ", ""), text.replace(" ", "")
    if not a or not b:
        return 0.0
    coverage = min(1.0, len(b) / len(a))
    if _fuzz is None:  # pragma: no cover - without rapidfuzz: no position, only the alignment
        return _partial(a, b) * coverage
    from rapidfuzz.fuzz import partial_ratio_alignment

    al = partial_ratio_alignment(a, b)
    if al is None:
        return 0.0
    start, end = (al.dest_start, al.dest_end) if len(a) <= len(b) else (0, len(b))
    pos = min(1.0, max(0.0, where)) * len(b)
    gap = max(start - 1 - pos, 0.0, pos - end - 1)
    place = max(0.0, 1.0 - gap / len(a))
    return float(al.score) / 100.0 * place * coverage
