"""Caseless patterns (case-sensitive on lower-cased text) find exactly what the case-insensitive pattern finds."""

from __future__ import annotations

import random
import re

import pytest

from groundscore.nlp import tampering, thinking
from groundscore.nlp.caseless import Caseless, caseless

WORDS = ("There is NO dog . I cannot FIND it , nothing resembling the Dog ; this refers to the Brown dog which is "
         "actually a Cat İstanbul \u017fign \u0131t K\u212a ignore previous INSTRUCTIONS full marks score = 1 a/b "
         "either or \n system :").split(" ")


def _patterns() -> list[Caseless]:
    found = [v for module in (thinking, tampering) for v in vars(module).values() if isinstance(v, Caseless)]
    assert len(found) >= 10
    return found


@pytest.mark.parametrize("seed", range(3))
def test_caseless_matches_are_those_of_the_case_insensitive_pattern(seed: int) -> None:
    rng = random.Random(seed)
    patterns = _patterns()
    for _ in range(400):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 25)))
        for p in patterns:
            assert [m.span() for m in p.finditer(text)] == [m.span() for m in p.any_case.finditer(text)], (p.pattern, text)
            found, expected = p.search(text), p.any_case.search(text)
            assert (found and found.span()) == (expected and expected.span())


def test_letters_that_fold_to_ascii_are_read_as_the_case_insensitive_pattern_reads_them() -> None:
    p = caseless(r"\bno [a-z]+ here\b")
    for text in ("No \u017fign here", "no \u0131t here", "NO K\u212a here", "İ: no dog HERE"):
        assert p.search(text) is not None and p.search(text).span() == p.any_case.search(text).span()


def test_a_pattern_with_upper_case_letters_is_refused() -> None:
    with pytest.raises(ValueError):
        Caseless(re.compile(r"\bDog\b", re.IGNORECASE))
    caseless(r"(?P<span>\bdog\S*)")  # escapes and named groups are not letters to match
