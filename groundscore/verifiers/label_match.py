"""The ``label_match`` verifier: does each answer label name the query's target?

R1-style training made grounding models answer with a label that names
another object ("locate the metal pole" -> label "man wearing blue shirt and
shorts"). This verifier reads the referring expression and every label,
finds each one's head noun, attributes, position words and negations
(:mod:`groundscore.nlp`), and looks for a *contradiction*:

=============  ===========================================================
``category``   the heads name different kinds of thing ("pole" / "man")
``gender``     a man for a woman
``color``      conflicting colours on the same thing ("white shirt" / "blue shirt")
``position``   opposite sides, heights or depths, other ordinal
``size``       "big" / "small" on the same thing
``negation``   "with hat" / "without hat", "not the red car" / "red car"
``count``      several for one ("three buses" for "bus in the middle")
``unreadable`` a label made unreadable: made-up words or head noun, damaged, cut
=============  ===========================================================

A label that copies, truncates or re-tokenises the query scores 1.0; a
synonym or hypernym ("guy" for "man", "animal" for "dog") scores high; a
label whose head the lexicon does not know scores 0.7 (unknown, not wrong).
A contradiction scores at most 0.1 and, by default, fails the gate. No
label at all is not applicable (None): the schema verifier owns that.

A label written so that the checks cannot read it (its head noun is no word
and no misspelling of one, it is cut, or half its letters were removed) is
never a pass: it fails the gate as a contradiction does (``unreadable``),
because a disguise of a wrong label ("a geeraffee was eting in grass" for
"the zebra") must not be paid more than the plain wrong label. A label with
no word in a script the checks read ("12345", another script) supports
nothing and refutes nothing (``skipped.unreadable``), as no label does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from groundscore.model import Verdict
from groundscore.plugins.hookspecs import hookimpl
from groundscore.verifiers.base import Context, VerifierOptions
from groundscore.verifiers.language import LanguageVerifier

if TYPE_CHECKING:
    from groundscore.nlp.canonical import Canonical

ConflictKind = Literal["category", "gender", "color", "position", "size", "negation", "count", "unreadable"]


class LabelMatchOptions(VerifierOptions):
    gate: bool = Field(default=True, description="A clear mismatch fails the gate (confidence 0).")
    gate_on: list[ConflictKind] = Field(
        default_factory=lambda: ["category", "gender", "color", "position", "size", "negation", "count", "unreadable"],
        description="Which contradictions count as a clear mismatch (``unreadable``: a label made unreadable).",
    )
    sibling_gates: bool = Field(default=False, description="Also gate on a sibling category of one group ('cat' for 'dog').")


class LabelMatchVerifier(LanguageVerifier):
    name = "label_match"
    description = "each answer label names the query's target (head noun, synonyms, attributes, negation); a gate"
    Options = LabelMatchOptions
    is_gate = True
    default_weight = 1.0
    options: LabelMatchOptions

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        from groundscore.nlp.analyzer import default_analyzer
        from groundscore.nlp.batch import (
            label_expressions,
            labels_capped,
            labels_of,
            prepare,
            query_expression,
        )

        todo = [c for c in contexts if labels_of(c) and c.referring_expression.strip()]
        if todo:
            prepare(todo, default_analyzer())
        out: list[Verdict] = []
        for ctx in contexts:
            if not labels_of(ctx):
                out.append(Verdict.skip(self.name, "skipped.no_label", "the answer has no label to compare with the query"))
                continue
            if not ctx.referring_expression.strip():
                out.append(self.skip_no_query())
                continue
            verdict = self._one(query_expression(ctx), label_expressions(ctx), labels_of(ctx))
            if labels_capped(ctx):  # the work per answer is bounded: the labels past the cap were not read
                read = len(labels_of(ctx))
                verdict.details["capped"] = {"code": "cap.labels", "read": read}
                verdict.reason += f"; only the first {read} distinct label(s) were read (cap.labels)"
            out.append(verdict)
        return out

    def _one(self, query: Any, labels: list[Any], raw: list[str] | None = None) -> Verdict:
        from groundscore.nlp.canonical import canonical_short
        from groundscore.nlp.compare import compare
        from groundscore.nlp.lexicon import RELATION_SCORES, default_lexicon

        lexicon = default_lexicon()
        english = _english()
        gate_kinds = set(self.options.gate_on)
        worst_score = 1.0
        failed = False
        per_label: list[dict[str, Any]] = []
        codes: list[str] = []
        unreadable: list[dict[str, Any]] = []
        for k, label in enumerate(labels):
            m = damaged_head_stand_in(query, label, compare(query, label, lexicon), lexicon, english)
            kinds = {c.kind for c in m.conflicts}
            clear = bool(kinds & gate_kinds) or (self.options.sibling_gates and m.relation == "sibling")
            failed = failed or clear
            entry: dict[str, Any] = {"label": label.text, "head": label.head, "relation": m.relation, "score": round(m.score, 3)}
            canon = canonical_short(raw[k]) if raw is not None and k < len(raw) else None
            if canon is not None and canon.codes:
                entry["text"] = list(canon.codes)
            if m.copy:
                entry["copy"] = True
            if m.matched:
                entry["matched"] = list(m.matched)
            if m.conflicts:
                entry["conflicts"] = [c.as_dict() for c in m.conflicts]
                codes.extend(f"mismatch.{c.kind}" for c in m.conflicts)
            elif m.relation == "sibling":
                codes.append("mismatch.sibling")
                entry["kind"] = lexicon.kind(query.head, label.head)
            else:
                why = unreadable_because(label, m, canon, english, query, lexicon)
                if why is not None and why.refutes:
                    # made unreadable (made up, damaged, cut): never a pass, or a disguise beats the plain wrong label
                    entry["unreadable"] = why.why
                    entry["score"] = RELATION_SCORES["different"]
                    codes.append("mismatch.unreadable")
                    failed = failed or "unreadable" in gate_kinds
                    worst_score = min(worst_score, RELATION_SCORES["different"])
                    per_label.append(entry)
                    continue
                if why is not None:
                    # no word a check reads (digits, another script): refutes nothing and supports nothing
                    entry["unreadable"] = why.why
                    unreadable.append(entry)
                    per_label.append(entry)
                    continue
            worst_score = min(worst_score, m.score)
            per_label.append(entry)
        details = {"query": query.evidence(), "labels": per_label}
        gate = (not failed) if self.options.gate else None
        if codes:
            first = next(e for e in per_label if e.get("conflicts") or e["relation"] == "sibling"
                         or (e.get("unreadable") and e not in unreadable))
            if first.get("unreadable"):
                reason = (f"label {first['label']!r} cannot be read ({first['unreadable']}): a label made unreadable "
                          "is never a pass")
            elif first.get("conflicts"):
                what = first["conflicts"][0]
                reason = f"label {first['label']!r} contradicts the query ({what['kind']}: {what['query']!r} vs {what['label']!r})"
            else:
                kind = first.get("kind")
                reason = (f"label {first['label']!r} names another {kind or 'object'} ({first['head']!r}) than the query's "
                          f"{query.head!r}")
            return Verdict(verifier=self.name, score=worst_score, gate=gate, code=codes[0], reason=reason, details=details)
        if len(unreadable) == len(per_label):
            return Verdict(verifier=self.name, score=None, gate=None, code="skipped.unreadable",
                           reason=f"the label cannot be read ({unreadable[0]['unreadable']}): it neither supports nor "
                                  "contradicts the answer", details=details)
        readable_entries = [e for e in per_label if "unreadable" not in e]
        if all(e.get("copy") for e in readable_entries):
            reason = "the label repeats the query"
        elif all(e["relation"] in {"same", "hypernym", "related"} for e in readable_entries):
            reason = "the label names the query's target"
        else:
            reason = "no contradiction found, but the label's head noun is not one the lexicon knows"
        if unreadable:
            reason += f"; {len(unreadable)} label(s) could not be read and do not count"
        code = "ok" if worst_score >= 0.8 else "ok.unknown"
        return Verdict(verifier=self.name, score=worst_score, gate=True if self.options.gate else None, code=code, reason=reason, details=details)


def damaged_head_stand_in(query: Any, label: Any, match: Any, lexicon: Any, english: frozenset[str]) -> Any:
    """A head noun no lexicon and no dictionary knows (a misspelling the corrector could not place) hides
    nothing: the last known noun before it stands in for it.

    Why: "a zebra standign in front of another" is tagged with the head
    ``standign``, so the label compared as an unknown thing and passed,
    while "a zebra standing ..." names another animal than the query's
    woman and is refuted. Only a known noun *before* the damaged head
    stands in (it is then the head the tagger missed or its modifier), and
    only when it names another kind of thing: the conflict is added, nothing
    is ever made to agree.
    """
    import dataclasses

    from groundscore.nlp.compare import Conflict
    from groundscore.nlp.lexicon import RELATION_SCORES

    head = label.head
    if match.relation != "unknown" or match.conflicts or match.copy or not head or not query.head:
        return match
    if head in english or lexicon.knows(head) or head not in label.nouns:
        return match
    before = [n for n in _nouns_before(label, head) if lexicon.knows(n)]
    if not before or lexicon.relation(query.head, before[-1]) != "different":
        return match
    return dataclasses.replace(match, relation="different", score=RELATION_SCORES["different"],
                               conflicts=(Conflict("category", query.head, before[-1]),))


DAMAGED_SHARE = 0.5
"""A label whose removed or replaced characters (invisible, U+FFFD, combining marks, look-alikes) reach this
share of its letters is too damaged to support anything."""


def _english() -> frozenset[str]:
    from groundscore.nlp.analyzer import default_analyzer

    return default_analyzer().english


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Why a label cannot count as support, and whether that refutes the answer.

    ``refutes`` is True for text *made* unreadable (made-up words or head
    noun, damage, a cut): paying it as no label would pay a disguised wrong
    label more than the plain one. It is False for text with no word the
    checks read at all (digits, punctuation, another script), which is no
    disguise of an English label and is read as no label.
    """

    why: str
    refutes: bool


def unreadable_because(label: Any, match: Any, canon: Canonical | None, english: frozenset[str],
                       query: Any, lexicon: Any) -> Unreadable | None:
    """Why a label that contradicts nothing cannot count as support, or None when it can.

    - no word a check can read (only digits, punctuation, another script): not refuting;
    - cut: longer than a check reads (:data:`groundscore.nlp.batch.LABEL_CHARS`);
    - damaged: removed characters reach :data:`DAMAGED_SHARE` of its letters;
    - made up: no word of it is an English word, a lexicon term or a
      misspelling of one;
    - made-up head: its head noun is none of those, no known noun stands
      before it, and the query does not use it ("blue shrin", "a geeraffee
      was eting in grass"). A word is a WordNet lemma or a word written in
      English (wordfreq: "screenshot", "ipad"), so brand and GUI words read.

    A copy of the query is always readable (a truncated or re-tokenised
    query is what RL models write).
    """
    from groundscore.nlp.batch import LABEL_CHARS
    from groundscore.nlp.canonical import readable

    if match.copy:
        return None
    text = label.text or ""
    if not readable(text):
        return Unreadable("no readable word", refutes=False)
    if canon is not None and ("text.cut" in canon.codes or len(canon.text) > LABEL_CHARS):
        return Unreadable("cut: longer than the checks read", refutes=True)
    letters = sum(ch.isalpha() for ch in text)
    removed = canon.removed if canon is not None else 0
    if removed and removed >= DAMAGED_SHARE * max(letters, 1):
        return Unreadable(f"damaged: {removed} characters removed or replaced for {letters} letters", refutes=True)
    if match.relation != "unknown" or match.matched or not english or label.corrected:
        return None
    words = [w for w in label.words if w.isalpha() and len(w) >= 3]
    if words and not any(_is_word(w, english) for w in words):
        return Unreadable(f"made-up words: {' '.join(words[:4])!r} are no English words or known terms", refutes=True)
    head = label.head
    if (head and head.isalpha() and len(head) >= 3 and not _is_word(head, english) and not lexicon.knows(head)
            and head not in query.words and not _known_noun_before(label, head, english, lexicon)):
        return Unreadable(f"made-up head noun: {head!r} is no English word or known term", refutes=True)
    return None


def _is_word(word: str, english: frozenset[str]) -> bool:
    """A dictionary word (or its plural), or a word written often enough to be no invention
    (:func:`groundscore.nlp.words.in_use`: "screenshot", "spotify", "ipad")."""
    from groundscore.nlp.words import in_use  # lazily, as every language import here: start-up stays light

    return word in english or (word.endswith("s") and word[:-1] in english) or in_use(word)


def _nouns_before(label: Any, head: str) -> tuple[str, ...]:
    """The label's nouns before its head (none when the head is not one of its nouns)."""
    return label.nouns[: label.nouns.index(head)] if head in label.nouns else ()


def _known_noun_before(label: Any, head: str, english: frozenset[str], lexicon: Any) -> bool:
    """A known noun before a made-up head is what the label names (the tagger took a misspelled verb or
    modifier for the head: "a woman standign in front of a car")."""
    return any(_is_word(n, english) or lexicon.knows(n) for n in _nouns_before(label, head))


@hookimpl
def register_verifiers(register: Any) -> None:
    register(LabelMatchVerifier)
