"""Every issue code groundscore itself emits, with what it means and what it feeds.

Parsers, the R1 splitter, the sample readers and the chain attach
:class:`~groundscore.model.Issue` entries to a parse; the ``schema`` gate and the reward policies then decide
what they mean. Both read that decision here, so a code is defined once: its
severity, a one-line meaning, and ``schema_check``, the ``schema`` failure it
feeds (``None``: informational, it never fails the gate by itself).

``schema_check`` values:

* ``answer.invalid``: no structured answer could be read; fails the gate when
  the parse also holds no box, point or "no object" answer.
* ``r1.tags``: the ``<think>/<answer>`` tags are malformed; fails the gate when
  tags are required (``require_tags``), and the R1 format reward reads it too.
* ``box.bad_arity`` / ``box.too_many``: the parser saw a broken box or too many;
  fails the gate on its own.

An answer whose issues feed a ``schema_check`` is *malformed* in the sense of
the reward policies. Plugins may emit other codes: :func:`lookup` returns
``None`` for them, and they feed no check. The table on the docs page
``docs/verifiers/schema.md`` is compared with this registry by a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["info", "warning", "error"]
SchemaCheck = Literal["answer.invalid", "r1.tags", "box.bad_arity", "box.too_many"]


@dataclass(frozen=True, slots=True)
class IssueCode:
    """One issue code: what it means and which ``schema`` failure (if any) it feeds."""

    code: str
    severity: Severity
    meaning: str
    schema_check: SchemaCheck | None = None
    penalty: float = 0.0
    """Default deduction from the ``schema`` score of an answer that passes (``SchemaOptions.penalties``)."""

    @property
    def malformed(self) -> bool:
        """True when this code can make an answer fail the ``schema`` gate."""
        return self.schema_check is not None


_CODES = (
    # input
    IssueCode("sample.invalid", "error", "the sample could not be read or validated"),
    IssueCode("input.unreadable", "error", "an input line or record could not be read"),
    IssueCode("text.too_long", "warning", "the completion was cut to `max_chars`"),
    IssueCode("text.nul", "warning", "NUL characters were removed"),
    IssueCode("text.replaced", "warning", "lone surrogates or invalid UTF-8 were replaced by U+FFFD"),
    IssueCode("text.padding", "warning", "whitespace runs of 256 or more characters in a long completion were folded to one"),
    IssueCode("sample.unknown_key", "warning", "a key that is no Sample field was ignored (an error with `strict`)"),
    IssueCode("sample.no_query", "warning", "the sample has no query, so nothing can check the answer against it"),
    IssueCode("query.too_long", "warning", "the query is longer than 4,096 characters; the verifiers read the first 4,096"),
    # R1 tags
    IssueCode("r1.duplicate_think", "warning", "`<think>` appears more than once; the first is used", "r1.tags"),
    IssueCode("r1.duplicate_answer", "warning", "`<answer>` appears more than once; the last is used", "r1.tags"),
    IssueCode("r1.unclosed_think", "warning", "`<think>` is never closed", "r1.tags"),
    IssueCode("r1.unclosed_answer", "warning", "`<answer>` is never closed; the answer runs to the end", "r1.tags"),
    IssueCode("r1.unopened_think", "warning", "`</think>` without `<think>`", "r1.tags"),
    IssueCode("r1.unopened_answer", "warning", "`</answer>` without `<answer>`", "r1.tags"),
    IssueCode("r1.misordered", "warning", "`<answer>` comes before `<think>`", "r1.tags"),
    IssueCode("r1.overlapping", "warning", "`<answer>` starts inside `<think>`", "r1.tags"),
    IssueCode("r1.missing_answer", "warning", "no `<answer>` tag; the answer is the text outside `<think>`", "r1.tags", 0.1),
    IssueCode("r1.missing_think", "info", "`<answer>` without `<think>`"),
    # format choice
    IssueCode("format.detected", "info", "the format read, its confidence, and the formats rejected"),
    IssueCode("format.ambiguous", "info", "a format reading another coordinate space was nearly as plausible"),
    IssueCode("format.declared", "info", "read in the format the sample declares"),
    IssueCode("format.unknown", "error", "the sample declares a format no parser has", "answer.invalid"),
    IssueCode("format.undetected", "error", "no known grounding format found in the answer", "answer.invalid"),
    IssueCode("parser.error", "error", "a parser raised or returned something that is not a RawParse", "answer.invalid"),
    # where the box was found
    IssueCode("answer.outside_tags", "warning", "the box was found outside `<answer>`", penalty=0.1),
    IssueCode("answer.in_think", "warning", "no box in the answer; it was read inside `<think>`", penalty=0.3),
    IssueCode("answer.whole_text", "warning", "no box in the answer; it was read from the whole completion", penalty=0.3),
    # clarifying questions (groundscore.parse.clarify)
    IssueCode("clarify.asked", "info", "the answer asks which object is meant instead of giving one (`Parsed.clarify`)"),
    IssueCode("clarify.hedge", "warning", "the answer gives a box and also asks which object is meant: the box is read"),
    # JSON
    IssueCode("json.missing", "error", "no JSON found in the answer", "answer.invalid"),
    IssueCode("json.invalid", "error", "the JSON could not be read or repaired", "answer.invalid"),
    IssueCode("json.too_deep", "error", "the JSON nests too deep to read safely", "answer.invalid"),
    IssueCode("json.too_long", "error", "the JSON text is over the length limit", "answer.invalid"),
    IssueCode("json.no_boxes", "error", "the JSON holds no box or point under any known key", "answer.invalid"),
    IssueCode("json.repaired", "warning", "the JSON was malformed and was repaired", penalty=0.2),
    IssueCode("json.later_block", "info", "the box was read from a later JSON block"),
    IssueCode("json.quoted", "warning", "JSON objects written inside quotes (`[\"{\"bbox_2d\": ..}\"]`) were read unquoted", penalty=0.2),
    IssueCode("json.repair_changed", "warning", "repair read other boxes than the complete ones the text holds; the complete ones were kept", penalty=0.2),
    IssueCode("json.duplicate_key", "info", "a key is written twice with the same value; read once"),
    # hedges: several candidates for one target, every one kept in `Parsed.candidates`
    IssueCode("hedge.duplicate_key", "warning", "one object holds a box key twice with different values"),
    IssueCode("hedge.lists", "warning", "the answer holds several JSON values with different boxes"),
    IssueCode("hedge.answers", "warning", "several `<answer>` blocks with different boxes"),
    IssueCode("hedge.calls", "warning", "several action calls, at different places, where one click is asked for"),
    # boxes and points
    IssueCode("box.bad_arity", "error", "a box without exactly 4 numbers", "box.bad_arity"),
    IssueCode("point.bad_arity", "error", "a point without exactly 2 numbers", "box.bad_arity"),
    IssueCode("box.too_many", "error", "more boxes than a parser reads (`MAX_BOXES`)", "box.too_many"),
    IssueCode("point.too_many", "error", "more points than a parser reads (`MAX_BOXES`)"),
    IssueCode("box.lenient", "info", "the box was read under another key than `bbox_2d`, or from a bare list"),
    IssueCode("box.missing", "error", "a box marker with no box after it"),
    IssueCode("box.unclosed", "warning", "a box token sequence is never closed"),
    IssueCode("box.bad_patch", "error", "a Kosmos-2 patch index outside the grid"),
    IssueCode("label.other_key", "info", "the label was read under another key than `label`"),
    IssueCode("text.no_boxes", "error", "a text format's markers are present but no box could be read"),
    IssueCode("xml.no_points", "error", "a `<points>` tag without readable coordinates"),
    # coordinates
    IssueCode("coords.coco_xywh", "info", "boxes were read as COCO x, y, width, height"),
    IssueCode("coords.no_image_size", "info", "image size unknown: boxes stay in the model's space"),
    IssueCode("image.unreadable", "warning", "the sample names an image that is missing or cannot be read as one"),
    IssueCode("coords.error", "error", "the coordinate space is unknown or cannot convert these boxes", "answer.invalid"),
    # the chain's verdict on the verdicts
    IssueCode("chain.gate_error", "warning", "a gate failed to run on this sample, so the answer is not accepted"),
    IssueCode("chain.unverified", "warning", "no verifier could check that the answer is the query's target: not accepted"),
)

NOT_ACCEPTED: frozenset[str] = frozenset({"chain.gate_error", "chain.unverified"})
"""Codes with which the chain caps an answer at abstain; the reward host caps its reward at ``abstain`` too."""

# What the reward's hacking guards reject by default (``GuardOptions`` in the reward code), in one place:
# the ``agreement`` verifier reads the same lists, so that an answer the reward rejects does not vote.
GUARD_ISSUES: tuple[str, ...] = (
    "r1.duplicate_answer", "r1.misordered", "r1.overlapping", "r1.unopened_answer",
    "answer.in_think", "answer.whole_text",
)
"""Parser issue codes (prefixes) that make an answer malformed: not read from one well-placed <answer>."""
GUARD_FINDINGS: tuple[str, ...] = (
    "absent_but_boxed", "label_obfuscated", "label_hedged", "label_to_grader", "label_too_long",
    "thinking_to_grader", "count_excess", "target_is_other",
)
"""``consistency`` findings that make an answer wrong whatever its IoU (the thinking contradicts the box,
text written for the grader)."""
GUARD_DUPLICATE_IOU = 0.7
"""Two answer boxes overlapping this much are one object boxed twice."""

ISSUES: dict[str, IssueCode] = {c.code: c for c in _CODES}
"""Every issue code groundscore emits, by code."""


def lookup(code: str) -> IssueCode | None:
    """The registry entry of ``code``; None for a code groundscore does not define (a plugin's)."""
    return ISSUES.get(code)


def codes_feeding(check: SchemaCheck) -> frozenset[str]:
    """The codes that feed one ``schema`` failure (``answer.invalid``, ``r1.tags``, ...)."""
    return frozenset(c.code for c in _CODES if c.schema_check == check)


def default_penalties() -> dict[str, float]:
    """Default ``schema`` deductions for answers that pass, per code (a fresh dict each call)."""
    return {c.code: c.penalty for c in _CODES if c.penalty}


@dataclass(frozen=True, slots=True)
class SchemaFailure:
    """One failure code of the ``schema`` gate's verdict (``Verdict.code``)."""

    code: str
    meaning: str


_FAILURES = (
    SchemaFailure("text.empty", "the completion is empty"),
    SchemaFailure("r1.tags", "the <think>/<answer> tags are missing or malformed"),
    SchemaFailure("answer.invalid", "no structured answer could be read"),
    SchemaFailure("box.none", "the answer has no box and does not say the object is absent"),
    SchemaFailure("box.bad_arity", "a box does not have exactly 4 numbers"),
    SchemaFailure("box.non_finite", "a box has NaN or infinite coordinates"),
    SchemaFailure("box.unordered", "a box has x1 >= x2 or y1 >= y2"),
    SchemaFailure("box.degenerate", "a box is too small to be an object"),
    SchemaFailure("box.outside", "a box lies outside the image"),
    SchemaFailure("box.too_many", "the answer has more boxes than allowed"),
    SchemaFailure("label.missing", "a box has no label"),
)

SCHEMA_FAILURES: dict[str, SchemaFailure] = {f.code: f for f in _FAILURES}
"""The ``schema`` gate's failure codes, in the order the gate checks them."""
