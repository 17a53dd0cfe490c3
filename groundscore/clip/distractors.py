"""The alternatives a query must beat: labels, phrases from the thinking, generic captions.

A CLIP similarity means little alone; what the verifier asks is whether the
region matches the query *better than the plausible alternatives*. The most
telling alternatives are the ones the model itself considered: a label that
drifted to another object, and the other objects it named while thinking.
Generic captions ("background", ...) catch boxes on nothing in particular.

An alternative that says the same as the query would split the probability
of a correct box, so phrases whose content words are a subset or a superset
of the query's ("the man" for "man in red shirt", or "metal pole on the
left" for "pole") are dropped: only phrases that add a different word can
contradict the query.

Noun phrases come from a small determiner-led chunker (no spaCy needed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

GENERIC_CAPTIONS: tuple[str, ...] = ("background", "an empty area", "something blurry")

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Spaces around an apostrophe. A match starts where a run of spaces starts (or at a bare
# apostrophe): ``\s*'\s*`` alone rescanned a long run from each of its spaces (quadratic).
_APOSTROPHE = re.compile(r"(?<!\s)\s*'\s*|'\s*")
_STOP = frozenset(
    "a an the this that these those its his her their my your our of to in on at by for with from and or but "
    "is are was were be been being it there here which who whom whose what where when image picture photo "
    "region area box bounding coordinates coordinate answer question object objects thing one".split()
)
# Words that end a noun phrase: verbs, prepositions, conjunctions, punctuation-like words.
_BOUNDARY = frozenset(
    "is are was were be been being has have had do does did can could should would will may might must "
    "and or but so because since while which who that whose where when than then as if "
    "of in on at by for with from to into onto over under near next behind above below beside between "
    "left right top bottom middle front back up down out about".split()
)
_DETERMINERS = frozenset("the a an this that another".split())
MAX_PHRASE_WORDS = 4


def content_words(text: str) -> frozenset[str]:
    """Lower-cased words without stop words; "man ' s" and "man's" give the same set."""
    joined = _APOSTROPHE.sub("'", text.lower())
    return frozenset(w for w in _WORD.findall(joined) if w not in _STOP)


def noun_phrases(text: str, limit: int = 32) -> list[str]:
    """Determiner-led noun phrases: "the man wearing a blue shirt" -> ["man", "blue shirt"].

    Words after a determiner up to the first boundary word, an -ing/-ed verb
    form or punctuation, at most ``MAX_PHRASE_WORDS``; bounded work for any input.
    """
    out: list[str] = []
    seen: set[str] = set()
    for sentence in re.split(r"[.,;:!?()\[\]{}\"\n]+", (text or "")[:20000].lower()):
        words = sentence.split()
        i = 0
        while i < len(words) and len(out) < limit:
            if words[i] in _DETERMINERS:
                j = i + 1
                phrase: list[str] = []
                while j < len(words) and len(phrase) < MAX_PHRASE_WORDS:
                    w = words[j].strip("'`*_-")
                    if not w or w in _BOUNDARY or w in _DETERMINERS or (len(w) > 4 and w.endswith(("ing", "ed"))):
                        break
                    phrase.append(w)
                    j += 1
                candidate = " ".join(phrase)
                if phrase and content_words(candidate) and candidate not in seen:
                    seen.add(candidate)
                    out.append(candidate)
                i = j
            else:
                i += 1
    return out


def same_meaning(a: frozenset[str], b: frozenset[str]) -> bool:
    """True when neither phrase adds a word the other lacks (one's words contain the other's)."""
    return bool(a) and bool(b) and (a <= b or b <= a)


def distractors(
    query: str,
    labels: Iterable[str | None],
    think: str | None,
    generic: Iterable[str],
    max_count: int,
    use_think: bool = True,
) -> list[str]:
    """Alternatives for ``query``, most telling first: labels, thinking phrases, generic captions."""
    generic = tuple(generic)
    q_words = content_words(query)
    out: list[str] = []
    seen: list[frozenset[str]] = []
    specific: list[str] = [lab for lab in labels if lab]
    if use_think and think:
        specific += noun_phrases(think)
    for phrase in specific:
        words = content_words(phrase)
        if not words or same_meaning(words, q_words) or any(words == s for s in seen):
            continue
        seen.append(words)
        out.append(phrase.strip())
    out = out[: max(0, max_count - len(generic))] if max_count else out
    for caption in generic:
        if caption.strip() and caption.strip().lower() != query.strip().lower():
            out.append(caption.strip())
    return out[:max_count] if max_count else out
