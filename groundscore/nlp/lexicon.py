"""Lexical knowledge: which object nouns name the same thing, a kind of it, or something else.

The source is a compact table shipped as package data
(``groundscore/data/lexicon/objects.json``, ~25 KB): about 130 object
categories built from the public COCO-80 category list and its
supercategories, ScreenSpot UI element kinds, and the head nouns most
frequent in RefCOCO/+/g, each with its synonyms, plural forms and common
misspellings, under a group path such as ``animal/mammal`` or
``person/male``. Why a table and not WordNet: it installs everywhere with the
package (no corpus download, no network), it is fast (dict lookups), and it
encodes the distinctions referring expressions need (a "guy" is a "man", a
"shirt" stands for the person wearing it, a "cat" is not a "dog") rather
than WordNet's fine senses ("man" is also a chess piece). Its limit: a noun
it does not know is ``unknown``, never a mismatch, so rare objects are not
checked by category (attributes, sides and negation still are).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

Relation = Literal["same", "hypernym", "related", "unknown", "sibling", "gender", "different"]

#: How compatible each relation is, best first; the label verifiers score with these.
RELATION_SCORES: dict[str, float] = {
    "same": 1.0,
    "hypernym": 0.9,
    "related": 0.8,
    "unknown": 0.7,
    "sibling": 0.15,
    "gender": 0.1,
    "different": 0.0,
}
_ORDER = ("same", "hypernym", "related", "unknown", "sibling", "gender", "different")


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    group: str  # "animal/mammal"

    @property
    def top(self) -> str:
        return self.group.split("/", 1)[0]


class Lexicon:
    """Term -> categories; relations between two head nouns."""

    def __init__(self, data: dict) -> None:
        self.categories: dict[str, Category] = {}
        self.terms: dict[str, list[Category]] = {}
        for name, (group, terms) in data["categories"].items():
            cat = Category(name, group)
            self.categories[name] = cat
            for term in {name, *terms}:
                bucket = self.terms.setdefault(term.lower(), [])
                if cat not in bucket:
                    bucket.append(cat)
        self.hypernyms: dict[str, list[str]] = {}
        for group, words in data.get("hypernyms", {}).items():
            for w in words:
                self.hypernyms.setdefault(w.lower(), []).append(group)
        self.generic = frozenset(w.lower() for w in data.get("generic", []))
        self.parts = frozenset(w.lower() for w in data.get("parts", []))
        self.related_groups = [tuple(p) for p in data.get("related_groups", [])]
        # one tuple for the life of the lexicon, sorted: the fuzzy matcher breaks ties by order (alphabetical)
        self._vocabulary: tuple[str, ...] = tuple(sorted(set(self.terms) | set(self.hypernyms)))
        # SymSpell's index: every term under each string it becomes with up to two letters deleted, so that the
        # terms within two edits of a word are found by looking up the word's own deletions (built once)
        # (built on the first correction: most processes never correct a word)
        self._deletions: dict[str, tuple[str, ...]] | None = None
        # every answer of correct(), bounded (a trainer sees novel words in every batch); the only cache of it
        self._corrections: dict[str, str | None] = {}

    # -- lookup ---------------------------------------------------------------
    def knows(self, word: str) -> bool:
        return word in self.terms or word in self.hypernyms

    def lookup(self, word: str) -> list[Category]:
        return self.terms.get(word, [])

    def correct(self, word: str) -> str | None:
        """The known term a misspelt word most likely meant ("giraffee" -> "giraffe", "trezz" -> "tree"), or None.

        The nearest term by optimal-string-alignment distance (an insertion,
        deletion, replacement or swap of two neighbours counts one): one edit
        for words of four letters, two from five letters on ("trezz" for
        "tree", a misspelling a policy can use to turn a refuted label into an
        unknown one). Ties go to the term keeping more of the word's letters,
        then to the first in alphabetical order. The
        candidates come from a SymSpell deletion index (the word's own
        deletions looked up), each checked with rapidfuzz's OSA distance: tens
        of microseconds a word, where ``difflib`` over the ~1,000-term
        vocabulary took milliseconds, so a completion full of made-up words
        stays cheap.
        """
        # no term is longer than MAX_TERM_CHARS letters; a longer "word" (model garbage) is no misspelling,
        # and matching it would cost time in proportion to its length
        if not 4 <= len(word) <= MAX_TERM_CHARS or not word.isalpha():
            return None
        if word in self._corrections:
            return self._corrections[word]
        fixed = self._nearest(word)
        if len(self._corrections) < MAX_CORRECTIONS:
            self._corrections[word] = fixed
        return fixed

    def _nearest(self, word: str) -> str | None:
        """The term nearest to ``word`` within :func:`max_edits` (OSA distance, then Indel, then alphabetical), or None."""
        from rapidfuzz.distance import OSA, Indel

        limit = max_edits(word)
        if self._deletions is None:
            index: dict[str, list[str]] = {}
            for term in self._vocabulary:
                if term.isalpha() and len(term) >= 3:  # correct() reads words of 4+ letters, one edit at four
                    for k in _deletions(term):
                        index.setdefault(k, []).append(term)
            self._deletions = {k: tuple(v) for k, v in index.items()}
        candidates: set[str] = set()
        for k in _deletions(word):
            candidates.update(self._deletions.get(k, ()))
        best: tuple[int, int, str] | None = None
        for term in candidates:
            d = OSA.distance(word, term, score_cutoff=limit)
            if d <= limit:
                # nearest first; then the term that keeps more of the word's letters ("trezz": "tree", not "treat")
                key = (d, Indel.distance(word, term), term)
                if best is None or key < best:
                    best = key
        if best is None or (best[0] > 1 and not _plausible(word, best[2])):
            return None
        return best[2]

    def kind(self, a: str | None, b: str | None) -> str | None:
        """The group two head nouns share at the top ("animal" for "cat" and "dog"), or None."""
        tops_a = {c.top for c in self.lookup(a or "")}
        for c in self.lookup(b or ""):
            if c.top in tops_a:
                return c.top
        return None

    # -- relations ------------------------------------------------------------
    def relation(self, a: str | None, b: str | None) -> Relation:
        """How head noun ``b`` relates to head noun ``a`` (symmetric).

        ``same``: one category or the same word; ``hypernym``: one names a
        group the other belongs to ("animal"/"dog"); ``related``: a part or
        clothing of the other ("shirt"/"man"); ``unknown``: either word is
        not in the table or is generic ("one", "thing"); ``sibling``: same
        group, other category ("cat"/"dog"); ``gender``: a man and a woman;
        ``different``: different groups ("pole"/"man").
        """
        if not a or not b:
            return "unknown"
        if a == b:
            return "same"
        if a in self.generic or b in self.generic:
            return "unknown"
        best = "different"
        ha, hb = self.hypernyms.get(a, []), self.hypernyms.get(b, [])
        ca, cb = self.lookup(a), self.lookup(b)
        if not (ca or ha) or not (cb or hb):
            return "unknown"
        for group in ha:
            for c in cb:
                if _under(c.group, group):
                    return "hypernym"
        for group in hb:
            for c in ca:
                if _under(c.group, group):
                    return "hypernym"
        if ha and hb and set(ha) & set(hb):
            return "same"
        for x in ca:
            for y in cb:
                best = _better(best, self._category_relation(x, y))
                if best == "same":
                    return best
        for group in ha:
            for y in cb:
                best = _better(best, self._group_relation(group, y.group))
        for group in hb:
            for x in ca:
                best = _better(best, self._group_relation(group, x.group))
        return best  # type: ignore[return-value]

    def _category_relation(self, x: Category, y: Category) -> str:
        if x.name == y.name:
            return "same"
        gx, gy = x.group, y.group
        if {gx, gy} == {"person/male", "person/female"}:
            return "gender"
        if _under(gx, "person") and _under(gy, "person"):
            return _person_relation(x, y)
        rel = self._group_relation(gx, gy)
        if rel != "different":
            return rel
        if x.top == y.top:
            return "sibling"
        return "different"

    def _group_relation(self, gx: str, gy: str) -> str:
        for p, q in self.related_groups:
            if (_under(gx, p) and _under(gy, q)) or (_under(gx, q) and _under(gy, p)):
                return "related"
        return "different"


def _person_relation(x: Category, y: Category) -> str:
    """People: gender conflicts; two different roles ("batter"/"umpire") or a child for an adult are siblings.

    A role is compatible with any gender or age ("man"/"batter"), "player"
    with every sport role, "boy" with "man" and "kid".
    """
    gx, gy = x.group, y.group
    if (_under(gx, "person/male") and _under(gy, "person/female")) or (_under(gx, "person/female") and _under(gy, "person/male")):
        return "gender"
    if gx == gy == "person/role":
        return "hypernym" if "player" in (x.name, y.name) else "sibling"
    young = {g for g in (gx, gy) if g.endswith("young")}
    adult = {g for g in (gx, gy) if g in ("person/male", "person/female")}
    if young and adult and not ({gx, gy} <= {"person/male", "person/male/young"} or {gx, gy} <= {"person/female", "person/female/young"}):
        return "sibling"  # "kid" for "woman"
    return "hypernym"


def _under(group: str, ancestor: str) -> bool:
    return group == ancestor or group.startswith(ancestor + "/")


def _better(a: str, b: str) -> str:
    return a if _ORDER.index(a) <= _ORDER.index(b) else b


MAX_TERM_CHARS = 30
MAX_CORRECTIONS = 50_000  # words whose correction Lexicon.correct remembers (about 100 bytes each)


def max_edits(word: str) -> int:
    """How many edits a misspelling of ``word``'s length may hold: 1 at four letters, 2 from five."""
    return 1 if len(word) < 5 else 2


def _deletions(word: str, depth: int = 2) -> set[str]:
    """``word`` and every string it becomes with up to ``depth`` letters deleted (SymSpell's keys)."""
    out = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w)) if len(w) > 2}
        out |= frontier
    return out


def _plausible(word: str, term: str) -> bool:
    """A two-edit correction keeps the term's first letter and all but two of its letters in order.

    Two edits reach many terms from a short word ("bear" from "beer" and
    "pear"); a misspelling rarely changes its first letter, and most of it
    must still spell the term.
    """
    from rapidfuzz.distance import Indel

    return word[0] == term[0] and len(term) >= 4 and Indel.distance(word, term) <= 4


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The lexicon shipped with groundscore (read once per process)."""
    text = resources.files("groundscore").joinpath("data/lexicon/objects.json").read_text(encoding="utf-8")
    return Lexicon(json.loads(text))
