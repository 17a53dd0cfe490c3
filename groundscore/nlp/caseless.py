"""Case-insensitive patterns run fast: case-sensitively, on text lower-cased once.

Why: Python's regular expression engine skips ahead to the positions where a
pattern's first characters occur, except under ``re.IGNORECASE``, where it
tries the whole pattern at every position. The refuting checks scan up to
8,000 characters of thinking with alternations of dozens of phrases; read
this way they cost three to five times less, with the same matches.

A text whose lower-cased form has another length (a few characters, such as
``"İ"``, lower-case to two) is read with the case-insensitive pattern itself,
so that match positions always index the text the caller holds; so is a text
holding a letter the case-insensitive pattern folds to an ASCII letter that
lower-casing keeps (``"ſ"``, ``"ı"``): the matches are the same in every case.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_ESCAPE = re.compile(r"\\.|\(\?P[<=]")  # escapes and named groups: not letters to match
_UPPER = re.compile(r"[A-Z]")
_FOLDS_TO_ASCII = frozenset("\u017f\u0131")
"""Lower-case letters that ``re.IGNORECASE`` matches to an ASCII letter (long s to ``s``, dotless i to ``i``)
but that lower-casing leaves as they are: text holding one is read with the case-insensitive pattern."""


class Caseless:
    """A pattern compiled with ``re.IGNORECASE`` whose ``search``/``finditer``/``match`` read lower-cased text.

    Match objects index the caller's text, but their groups hold the
    lower-cased characters: slice the caller's text by ``m.start()`` and
    ``m.end()`` where the original case matters.
    """

    __slots__ = ("any_case", "lower", "pattern")

    def __init__(self, pattern: re.Pattern[str]) -> None:
        if _UPPER.search(_ESCAPE.sub("", pattern.pattern)):
            raise ValueError(f"a caseless pattern must be written in lower case: {pattern.pattern[:60]!r}")
        self.any_case = pattern
        self.lower = re.compile(pattern.pattern, pattern.flags & ~re.IGNORECASE)
        self.pattern = pattern.pattern

    def _pick(self, text: str) -> tuple[re.Pattern[str], str]:
        low = text.lower()
        if len(low) == len(text) and not (_FOLDS_TO_ASCII & set(low) if not low.isascii() else False):
            return self.lower, low
        return self.any_case, text

    def search(self, text: str) -> re.Match[str] | None:
        pattern, subject = self._pick(text)
        return pattern.search(subject)

    def match(self, text: str) -> re.Match[str] | None:
        pattern, subject = self._pick(text)
        return pattern.match(subject)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        pattern, subject = self._pick(text)
        return pattern.finditer(subject)


def caseless(source: str, flags: int = 0) -> Caseless:
    """``re.compile(source, re.IGNORECASE | flags)``, read as :class:`Caseless`."""
    return Caseless(re.compile(source, re.IGNORECASE | flags))
