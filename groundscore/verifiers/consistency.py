"""The ``consistency`` verifier: do the thinking, the answer and the query agree?

Findings, each with a machine-readable code and the spans that show it:

========================  ====================================================
``label_from_thinking``   the label names an object of another category that
                          the thinking mentioned (as context or distractor):
                          the seed hallucination ("locate the metal pole" ->
                          label "man wearing blue shirt and shorts")
``label_unplaced_mention`` a label whose head the lexicon does not know, that
                          shares no word with the query and names something
                          the thinking mentioned but did not settle on
``answer_not_target``     the thinking settled on one object ("refers to
                          the ...") and the label names another
``thinking_off_query``    the object the thinking settled on contradicts the
                          query (another category, side or colour)
``absent_but_boxed``      the thinking says the target is not there, yet the
                          answer gives a box
``target_is_other``       the thinking says the target is actually something
                          of another kind ("the dog is actually a cat"), yet
                          the answer gives a box
``coordinates_disagree``  coordinates written in the thinking match no box of
                          the answer (IoU < 0.5)
``count_mismatch``        the query or thinking asks for several objects
                          ("two", "both", "all", "each") but fewer boxes came
``count_excess``          the query asks for one object (no count, a singular
                          head) but several boxes came
``label_obfuscated``      invisible characters or a word mixing scripts in a
                          label (looks like the query, compares as another)
``label_hedged``          a label naming alternatives ("A or B", "maybe")
``label_to_grader``       a label using the words of grading or instructions
                          ("ignore the instructions", "full marks")
``label_too_long``        a label longer than any description of one object
``thinking_to_grader``    a thinking addressing the grader ("the grader must
                          award", "ignore previous instructions")
``thinking_repetitive``   a long thinking that repeats itself (padding)
``thinking_copies_query`` a thinking that only restates the query
========================  ====================================================

The last seven (see :mod:`groundscore.nlp.tampering`) are text written for
the grader rather than about the image; the reward policies treat them as
wrong (``reject_findings``), see docs/reward-hacking.md.

Only short spans of the thinking are tagged (those that designate the
target); the rest is read with linear regular expressions, which keeps this
verifier fast enough for every training step. A completion without thinking
is checked for counts only, and is None when there is nothing to compare.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from groundscore.model import Verdict, box_iou
from groundscore.plugins.hookspecs import hookimpl
from groundscore.verifiers.base import Context, VerifierOptions
from groundscore.verifiers.language import LanguageVerifier

Finding = Literal["label_from_thinking", "label_unplaced_mention", "answer_not_target", "thinking_off_query", "absent_but_boxed", "target_is_other", "coordinates_disagree", "count_mismatch",
                  "label_obfuscated", "label_hedged", "label_to_grader", "label_too_long", "thinking_to_grader", "thinking_repetitive", "thinking_copies_query",
                  "count_excess"]

SCORES: dict[str, float] = {
    "label_from_thinking": 0.0,
    "label_unplaced_mention": 0.4,
    "answer_not_target": 0.3,
    "thinking_off_query": 0.3,
    "absent_but_boxed": 0.45,
    "target_is_other": 0.3,
    "coordinates_disagree": 0.4,
    "count_mismatch": 0.6,
    "count_excess": 0.6,
    "label_obfuscated": 0.2,
    "label_hedged": 0.3,
    "label_to_grader": 0.1,
    "label_too_long": 0.3,
    "thinking_to_grader": 0.1,
    "thinking_repetitive": 0.3,
    "thinking_copies_query": 0.4,
}
TAMPERING: tuple[str, ...] = ("label_obfuscated", "label_hedged", "label_to_grader", "label_too_long",
                              "thinking_to_grader", "thinking_repetitive", "thinking_copies_query")
"""Findings about text written for the grader rather than about the image (see groundscore.nlp.tampering)."""
_BAD = {"different", "gender"}
# Coordinates written in the thinking that are compared with the answer: a
# thinking rarely states more than a few boxes, and each one is compared with
# every answered box, so a thinking full of numbers is read up to here.
MAX_WRITTEN_BOXES = 32
MAX_ANSWER_BOXES = 100  # and the answered boxes they are compared with
_PRONOUNS = frozenset({"he", "him", "she", "her", "it", "they", "them", "one"})


class ConsistencyOptions(VerifierOptions):
    gate: bool = Field(default=True, description="Findings listed in gate_on fail the gate (confidence 0).")
    gate_on: list[Finding] = Field(
        # absent_but_boxed is scored, not gated, by default: on the VLM-R1 GRPO
        # logs 61-90% of the answers it flags are right (IoU >= 0.5), so a gate
        # would zero mostly-correct answers. RL users who want to punish
        # self-contradicting reasoning add it here.
        default_factory=lambda: ["label_from_thinking"],
        description="Findings that fail the gate.",
    )
    scores: dict[str, float] = Field(default_factory=lambda: dict(SCORES), description="Score of each finding (the verdict takes the lowest).")
    coordinate_iou: float = Field(default=0.5, ge=0.0, le=1.0, description="IoU at which a box in the thinking matches an answer box.")


class ConsistencyVerifier(LanguageVerifier):
    name = "consistency"
    description = "thinking vs answer vs query: settled target, mentioned distractors, absence, coordinates, counts"
    Options = ConsistencyOptions
    is_gate = True
    default_weight = 1.0
    options: ConsistencyOptions

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        from groundscore.nlp.analyzer import default_analyzer
        from groundscore.nlp.batch import prepare

        todo = [c for c in contexts if c.referring_expression.strip()]
        if todo:
            prepare(todo, default_analyzer(), thinking=True)
        absent = dict(zip(map(id, todo), _absences(todo), strict=True))
        return [self._one(c, absent[id(c)]) if c.referring_expression.strip() else self.skip_no_query()
                for c in contexts]

    def _one(self, ctx: Context, absent: str | None) -> Verdict:
        """The verdict of one answer; ``absent`` is the sentence of its thinking that denies the target (see
        :func:`_absences`, which reads it for the whole batch at once)."""
        from groundscore.nlp import thinking as th
        from groundscore.nlp.batch import TARGETS, label_expressions, query_expression, think_codes, think_text
        from groundscore.nlp.compare import compare
        from groundscore.nlp.lexicon import default_lexicon
        from groundscore.nlp.positions import conflicting, find_positions

        lexicon = default_lexicon()
        parsed = ctx.parsed
        query = query_expression(ctx)
        labels = label_expressions(ctx)
        think = think_text(ctx)  # canonical: look-alike letters, fullwidth forms, invisible characters undone
        findings: list[dict[str, Any]] = []
        checks: list[str] = []
        n_boxes = len(parsed.boxes) + len(parsed.points)

        # counts: the query (or the thinking's target) asks for several objects
        targets = ctx.cache.get(TARGETS, [])
        designations = th.designations(think) if think else []
        settled = targets[-1] if targets else None
        wanted = max(query.count or 0, (settled.count or 0) if settled else 0)
        if wanted >= 2 and (n_boxes or not parsed.no_object):
            checks.append("count")
            if n_boxes < wanted:
                findings.append({"code": "count_mismatch", "expected_at_least": wanted, "boxes": n_boxes,
                                 "span": query.text if (query.count or 0) >= wanted else (settled.text if settled else "")})

        # one object asked for (no count, a singular head), several boxes given: a spread of guesses
        if (n_boxes >= 2 and not wanted and query.head and not query.head_plural
                and not (settled is not None and (settled.count or settled.head_plural))):
            checks.append("count")
            findings.append({"code": "count_excess", "expected": 1, "boxes": n_boxes, "span": query.text})
        if n_boxes:
            _tampering(ctx.referring_expression, [b.label for b in parsed.boxes if b.label] +
                       [p.label for p in parsed.points if getattr(p, "label", None)], think, checks, findings,
                       think_codes(ctx))

        if think.strip():
            # absence said, box given
            checks.append("absence")
            query_forms = _query_forms(query)
            if absent and n_boxes and not parsed.no_object:
                findings.append({"code": "absent_but_boxed", "span": absent, "boxes": n_boxes})
            elif n_boxes and not parsed.no_object and query.head:
                other = _other_kind(th.other_target(think, query_forms), query.head, lexicon)
                if other:
                    findings.append({"code": "target_is_other", "span": other[0], "other": other[1], "query_head": query.head})

            # coordinates written in the thinking
            written = th.coordinates(think)[:MAX_WRITTEN_BOXES]
            answer_boxes = [b.xyxy for b in (parsed.model_boxes or parsed.boxes)[:MAX_ANSWER_BOXES]]
            if written and answer_boxes:
                checks.append("coordinates")
                best = max(box_iou(w, a) for w in written for a in answer_boxes)
                if best < self.options.coordinate_iou:
                    findings.append({"code": "coordinates_disagree", "thinking": [list(w) for w in written[:4]],
                                     "answer": [list(a) for a in answer_boxes[:4]], "best_iou": round(best, 3)})

            # the settled target vs the query (category, side, colour)
            if settled is not None and _concrete(settled, lexicon) and query.part is None:
                checks.append("target")
                full_span = designations[-1].span if designations else settled.text
                # left/right only: heights and depths in the thinking often describe the scene, not the target
                pos_conf = [] if query.positions.ordinal else [
                    (a, b) for a, b in conflicting(query.positions, find_positions(full_span)) if _side(a) and _side(b)
                ]
                # A category difference alone is no contradiction here: RefCOCO+ queries name the target by
                # an attribute ("blue shirt", "purple label") that the thinking resolves to its owner.
                if pos_conf:
                    what = [{"kind": "position", "query": a, "thinking": b} for a, b in pos_conf]
                    findings.append({"code": "thinking_off_query", "target_span": full_span, "target_head": settled.head,
                                     "query_head": query.head, "conflicts": what})

            # each label vs the query and vs the thinking
            for label in labels:
                checks.append("label")
                m_ql = compare(query, label, lexicon)
                if m_ql.relation in _BAD and label.head:
                    forms = _forms(label)
                    seen = th.mentions(think, forms)
                    if seen:
                        findings.append({"code": "label_from_thinking", "label": label.text, "label_head": label.head,
                                         "query_head": query.head, "mentioned_in": seen})
                        continue
                # A label the lexicon cannot place, sharing no word with the query, naming something the
                # thinking mentioned but did not settle on: probably another object of the scene.
                if (m_ql.relation == "unknown" and label.head and query.head and label.head != query.head
                        and not (label.content & query.content)
                        and (settled is None or label.head not in settled.nouns)):
                    seen = th.mentions(think, _forms(label))
                    if seen:
                        findings.append({"code": "label_unplaced_mention", "label": label.text, "label_head": label.head,
                                         "query_head": query.head, "mentioned_in": seen})
                        continue
                if settled is not None and settled.head and label.head:
                    m_tl = compare(settled, label, lexicon)
                    if m_tl.relation in _BAD and m_ql.relation not in {"same", "hypernym"}:
                        findings.append({"code": "answer_not_target", "label": label.text, "label_head": label.head,
                                         "target_span": settled.text, "target_head": settled.head})
        if not checks:
            return Verdict.skip(self.name, "skipped.nothing_to_compare", "no thinking to compare and no count in the query")

        details: dict[str, Any] = {"query": query.evidence(), "checks": sorted(set(checks)), "findings": findings}
        capped = _caps(ctx, think)
        if capped:
            details["capped"] = capped
        if settled is not None:
            details["settled_target"] = settled.evidence()
        if not findings:
            return Verdict(verifier=self.name, score=1.0, gate=True if self.options.gate else None, code="ok",
                           reason=_ok_reason(query, labels, lexicon, bool(think.strip())), details=details)
        scores = self.options.scores
        worst = min(findings, key=lambda f: scores.get(f["code"], SCORES[f["code"]]))
        score = scores.get(worst["code"], SCORES[worst["code"]])
        gate_fail = any(f["code"] in self.options.gate_on for f in findings)
        gate = (not gate_fail) if self.options.gate else None
        return Verdict(verifier=self.name, score=score, gate=gate, code=worst["code"], reason=_reason(worst), details=details)


def _absences(contexts: Sequence[Context]) -> list[str | None]:
    """Per context, the sentence of its thinking that says the target is absent, or None.

    The phrases first (cheap), then the grammar of the few sentences that may deny a query noun, parsed for
    the whole batch in one pass (:func:`groundscore.nlp.denial.denied_many`): the parser's cost per call is
    most of what a sentence or two cost alone."""
    from groundscore.nlp import thinking as th
    from groundscore.nlp.batch import query_expression, think_text
    from groundscore.nlp.denial import denied_many

    out: list[str | None] = [None] * len(contexts)
    ask: list[tuple[int, tuple[str, set[str], str]]] = []
    for k, ctx in enumerate(contexts):
        think = think_text(ctx)
        if not think.strip():
            continue
        query = query_expression(ctx)
        forms = _query_forms(query)
        out[k] = th.absence(think, forms, query.text)
        if out[k] is None:
            ask.append((k, (think, forms, query.text)))
    for (k, _), sentence in zip(ask, denied_many([item for _, item in ask]), strict=True):
        out[k] = sentence
    return out


LABEL_SCRIPT_CHARS = 400
"""Characters of a label whose words are checked for mixed scripts (a per-character Unicode lookup)."""
MAX_TAMPER_LABELS = 32
"""Distinct labels whose text is read for tampering; more are not read (the answer is long anyway)."""


def _tampering(query: str, labels: list[str], think: str, checks: list[str], findings: list[dict[str, Any]],
               think_changes: tuple[str, ...] = ()) -> None:
    """Labels and thinking written for the grader rather than about the image (one finding per kind).

    Obfuscation is read from the raw label (invisible characters, a word
    mixing scripts) and from what making it canonical had to undo (look-alike
    letters, invisible characters); the other checks read the canonical text,
    so that "ｆｕｌｌ ｍａｒｋｓ" is the grading vocabulary it looks like.
    """
    from groundscore.nlp import tampering as tp
    from groundscore.nlp.canonical import canonical_short

    # "label_text" counts as a check only where it found something: a completion without thinking
    # stays "nothing to compare" (None) for require_checked when its labels are plain descriptions.
    before = len(findings)
    canonical_query = canonical_short(query).text
    for raw in list(dict.fromkeys(labels))[:MAX_TAMPER_LABELS]:
        canon = canonical_short(raw)
        label = canon.text[:LABEL_SCRIPT_CHARS]  # a longer label is label_too_long: its first words tell
        # scripts per word, on the label's start (a Unicode name lookup per character); the canonical codes cover the rest
        why = None if raw.isascii() else tp.obfuscated(raw[:LABEL_SCRIPT_CHARS // 4])
        if not why and {"text.confusable", "text.invisible"} & set(canon.codes):
            why = "look-alike letters of another script or invisible characters (" + ", ".join(canon.codes) + ")"
        if why:
            findings.append({"code": "label_obfuscated", "label": raw[:200], "why": why})
        hedge = tp.hedged(label)
        if hedge and not tp.hedged(canonical_query):
            findings.append({"code": "label_hedged", "label": label[:200], "word": hedge})
        word = tp.addressed_to_grader(label, canonical_query)
        if word:
            findings.append({"code": "label_to_grader", "label": label[:200], "word": word})
        words = tp.too_long(label, canonical_query)
        if words:
            findings.append({"code": "label_too_long", "label": label[:200], "words": words})
    if len(findings) > before:
        checks.append("label_text")
    if think.strip():
        checks.append("thinking_text")
        phrase = tp.grader_phrase(think)
        if phrase:
            findings.append({"code": "thinking_to_grader", "span": phrase})
        share = tp.repetitive(think)
        if share is not None:
            findings.append({"code": "thinking_repetitive", "distinct_ngrams": round(share, 3)})
        if tp.copies_query(think, canonical_query):
            findings.append({"code": "thinking_copies_query", "span": think[:200]})
        if "text.invisible" in think_changes:
            findings.append({"code": "label_obfuscated", "label": "(thinking)", "why": "invisible characters in the thinking"})


def _caps(ctx: Any, think: str) -> list[str]:
    """Which per-answer work caps this answer hit (the rest was not read), as ``cap.*`` codes."""
    from groundscore.nlp import thinking as th
    from groundscore.nlp.batch import labels_capped

    out = []
    if labels_capped(ctx):
        out.append("cap.labels")
    if len(ctx.parsed.boxes) > MAX_ANSWER_BOXES:
        out.append("cap.boxes")
    if len(think) > th.MAX_THINK_CHARS:
        out.append("cap.thinking")
    return out


def _other_kind(claims: list[tuple[str, str]], query_head: str, lexicon: Any) -> tuple[str, str] | None:
    """The first ``(sentence, span)`` whose span names a thing of another kind than the query's head, or None."""
    for sentence, span in claims:
        for word in span.lower().split()[:6]:
            for form in (word, word[:-1] if word.endswith("s") else word):
                if lexicon.knows(form) and form not in lexicon.generic:
                    if lexicon.relation(query_head, form) in {"different", "gender", "sibling"}:
                        return sentence, span
                    break
            else:
                continue
            break
    return None


def _ok_reason(query: Any, labels: list[Any], lexicon: Any, has_think: bool) -> str:
    """The reason of a verdict with no finding: "agree" only where every label names the query's kind of thing."""
    for label in labels:
        if not (label.head and query.head):
            continue
        rel = lexicon.relation(query.head, label.head)
        if rel in {"sibling", "different", "gender"}:
            kind = lexicon.kind(query.head, label.head)
            what = f"another {kind}" if kind and rel == "sibling" else "another object"
            return (f"no contradiction within the thinking, but the label {label.text!r} names {what} "
                    f"({label.head!r}) than the query's {query.head!r} (label_match judges that)")
    return "thinking, answer and query agree" if has_think else "the answer's count agrees with the query"


_SCENE = frozenset("image picture photo photograph perspective view scene frame pattern setting background foreground area region space context".split())


def _concrete(expr: Any, lexicon: Any) -> bool:
    """The thinking's target names an object (not "the lower part of the image")."""
    head = expr.head
    return bool(head) and expr.part is None and head not in _SCENE and head not in lexicon.generic and head not in lexicon.parts


def _side(term: str) -> bool:
    return term.split()[-1] in {"left", "right", "leftmost", "rightmost"}


def _query_forms(query: Any) -> set[str]:
    """The words by which a sentence of the thinking names the query's target.

    Its nouns and head, and the head as the query spells it when that was a
    misspelling ("zepra" beside "zebra": a thinking restates the query as
    written). A query with no noun ("right", "top right corner", "largest")
    is named by the query itself, restated whole: without it, "there is no
    sign of top right corner" could deny nothing.
    """
    forms = {w for noun in query.nouns for w in _forms_of(noun)} | ({query.head} if query.head else set())
    if query.corrected and query.head_text:
        forms |= _forms_of(query.head_text)
    if not forms:
        whole = " ".join(query.words)
        if len(whole) >= 4 and any(w.isalpha() for w in query.words):
            forms = {whole}
    return forms


def _forms_of(word: str) -> set[str]:
    if not word or word in _PRONOUNS or len(word) < 3:
        return set()
    out = {word}
    if word.isalpha():
        out.add(word + "s")
    return out


def _forms(label: Any) -> set[str]:
    """Surface forms of a label's head noun to look for in the thinking."""
    forms = {w for w in (label.head, label.head_text) if w and w not in _PRONOUNS and len(w) >= 2}
    for w in list(forms):
        if w.isalpha():
            forms.add(w + "s")
            if w.endswith("man"):
                forms.add(w[:-3] + "men")
    return forms


def _reason(f: dict[str, Any]) -> str:
    code = f["code"]
    if code == "label_from_thinking":
        return f"the label {f['label']!r} names a {f['label_head']!r}, which the thinking mentioned, not the query's {f['query_head']!r}"
    if code == "label_unplaced_mention":
        return f"the label {f['label']!r} shares nothing with the query and names a {f['label_head']!r} the thinking mentioned"
    if code == "answer_not_target":
        return f"the thinking settled on {f['target_span']!r} but the label names {f['label']!r}"
    if code == "thinking_off_query":
        return f"the object the thinking settled on ({f['target_span']!r}) contradicts the query"
    if code == "target_is_other":
        return f"the thinking says the target is something else ({f['span'][:80]!r}) yet the answer gives a box"
    if code == "absent_but_boxed":
        return f"the thinking says the target is not there ({f['span'][:80]!r}) yet the answer gives a box"
    if code == "coordinates_disagree":
        return f"coordinates written in the thinking match no answer box (best IoU {f['best_iou']})"
    if code in TAMPERING:
        extra = f['label'] if 'label' in f else f.get('span', '')
        return f"{code.replace('_', ' ')}: {str(extra)[:80]!r}"
    if code == "count_excess":
        return f"the query asks for one object but the answer has {f['boxes']} boxes"
    if code == "count_mismatch":
        return f"the query asks for at least {f['expected_at_least']} objects but the answer has {f['boxes']}"
    return code


@hookimpl
def register_verifiers(register: Any) -> None:
    register(ConsistencyVerifier)
