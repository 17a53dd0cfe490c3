"""Does one expression name what another names? Contradiction, not mere difference.

Two human descriptions of one object often share no word ("man in white
shirt" / "guy on phone"), so difference is no evidence of a wrong label.
:func:`compare` looks for *contradictions*: a head noun of another category
("pole" vs "man"), a conflicting colour on the same thing ("white shirt" vs
"blue shirt"), opposite sides ("left" vs "right"), opposite sizes, opposite
polarity ("with hat" vs "without hat"), a man for a woman. Everything else is
compatible, with a score that says how sure the match is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher

from groundscore.nlp.expression import Expression, colors_conflict
from groundscore.nlp.lexicon import RELATION_SCORES, Lexicon
from groundscore.nlp.positions import conflicting

CONFLICT_SCORE = 0.1


@dataclass(frozen=True, slots=True)
class Conflict:
    """One contradiction: its kind and the two spans that disagree."""

    kind: str  # "category", "gender", "color", "position", "size", "negation", "count"
    a: str
    b: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "query": self.a, "label": self.b}


@dataclass(frozen=True, slots=True)
class Match:
    """How ``b`` relates to ``a``: the head relation, contradictions, matched terms, a score in [0, 1]."""

    relation: str
    score: float
    conflicts: tuple[Conflict, ...] = ()
    matched: tuple[str, ...] = field(default=())
    copy: bool = False

    @property
    def contradicts(self) -> bool:
        return bool(self.conflicts)


def is_copy(a: Expression, b: Expression) -> bool:
    """``b`` is ``a`` verbatim, or a truncation of it, after normalisation ("man ' s" == "man's")."""
    if not a.text or not b.text:
        return False
    if a.text == b.text:
        return True
    aw, bw = a.words, b.words
    if not bw or not aw:
        return False
    # a truncated label: a prefix of the query that keeps the head
    if len(bw) < len(aw) and aw[: len(bw)] == bw and (a.head is None or a.head_text in bw or b.head == a.head):
        return True
    # the query with a few extra words at the end ("zebra on left side of image")
    return len(aw) < len(bw) <= len(aw) + 3 and bw[: len(aw)] == aw


def _typo_of(x: Expression, y: Expression) -> bool:
    """``x``'s head was a misspelling that is as close to ``y``'s head ("truk": "trunk" or "truck")."""
    return bool(x.corrected and y.head and SequenceMatcher(None, x.corrected, y.head).ratio() >= 0.75)


def compare(a: Expression, b: Expression, lexicon: Lexicon) -> Match:
    """Compare expression ``b`` (a label) against ``a`` (the query)."""
    if is_copy(a, b):
        return Match("same", 1.0, (), tuple(sorted(a.content & b.content)), copy=True)
    conflicts: list[Conflict] = []
    matched = sorted(a.content & b.content)
    relation = "same" if _typo_of(a, b) or _typo_of(b, a) else lexicon.relation(a.head, b.head)
    if relation == "different":
        conflicts.append(Conflict("category", a.head or "", b.head or ""))
    elif relation == "gender":
        conflicts.append(Conflict("gender", a.head or "", b.head or ""))
    same_thing = relation in {"same", "hypernym"} or (relation == "unknown" and (a.head is None or b.head is None))

    # colours on the same noun (or on the two heads when they name one thing)
    for noun, ca in a.colors.items():
        cb = b.colors.get(noun)
        if cb is None and same_thing and noun == a.head and b.head is not None:
            cb = b.colors.get(b.head)
        if cb is None and noun == "":
            cb = frozenset().union(*b.colors.values()) if b.colors else None
        if cb is not None and colors_conflict(ca, cb):
            conflicts.append(Conflict("color", f"{' '.join(sorted(ca))} {noun}".strip(), f"{' '.join(sorted(cb))} {noun if noun in b.colors else (b.head or '')}".strip()))
    if "" in b.colors and a.colors and "" not in a.colors:
        ca_all = frozenset().union(*a.colors.values())
        if colors_conflict(ca_all, b.colors[""]):
            conflicts.append(Conflict("color", " ".join(sorted(ca_all)), " ".join(sorted(b.colors[""]))))

    # sizes on the same noun
    for noun, sa in a.sizes.items():
        sb = b.sizes.get(noun)
        if sb is None and same_thing and noun == a.head and b.head is not None:
            sb = b.sizes.get(b.head)
        if sb is not None and sa * sb < 0:
            conflicts.append(Conflict("size", f"{'big' if sa > 0 else 'small'} {noun}", f"{'big' if sb > 0 else 'small'} {noun}"))

    # sides, heights, depth, ordinals
    if same_thing or relation in {"related", "unknown"}:
        for x, y in conflicting(a.positions, b.positions):
            conflicts.append(Conflict("position", x, y))

    # "three buses" for "bus in middle": the label counts several where the query names one
    if b.count and b.count >= 2 and b.head_plural and a.head and not a.head_plural and not a.count and same_thing:
        conflicts.append(Conflict("count", a.head_text or a.head, f"{b.count}+ {b.head_text or b.head}"))

    # with / without / not
    for noun in sorted(a.without_nouns & b.with_nouns):
        conflicts.append(Conflict("negation", f"without {noun}", f"with {noun}"))
    for noun in sorted(a.with_nouns & b.without_nouns):
        conflicts.append(Conflict("negation", f"with {noun}", f"without {noun}"))
    if a.negated_head != b.negated_head and relation == "same" and a.head is not None:
        conflicts.append(Conflict("negation", a.text, b.text))

    score = RELATION_SCORES.get(relation, 0.7)
    if relation == "unknown" and matched:
        score = min(1.0, 0.7 + 0.3 * len(matched) / max(1, len(a.content | b.content)))
    if conflicts:
        score = min(score, CONFLICT_SCORE if any(c.kind != "category" for c in conflicts) or relation == "different" else score)
    return Match(relation, score, tuple(conflicts), tuple(matched))
