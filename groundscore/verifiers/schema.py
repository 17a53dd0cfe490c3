"""The ``schema`` gate: is the answer well-formed enough to mean anything?

Checks, each with its own machine-readable code (``details["failures"]``
lists every failure; ``code`` is the first):

==================  ==========================================================
``text.empty``      the completion is empty
``r1.tags``         R1 tags missing or malformed (only with ``require_tags``)
``answer.invalid``  no structured answer could be read (JSON broken beyond
                    repair, unknown format, too deep, too long)
``box.none``        no box or point, and not an explicit "no object" answer
``box.bad_arity``   a box without exactly 4 numbers
``box.non_finite``  NaN or infinite coordinates
``box.unordered``   x1 >= x2 or y1 >= y2
``box.degenerate``  width or height under ``min_size_px``
``box.outside``     beyond the image by more than ``tolerance_px``
``box.too_many``    more than ``max_boxes`` boxes
``label.missing``   a box without a label (only with ``require_label``)
==================  ==========================================================

A passing answer scores 1.0, less a small penalty for each repair the parser
had to make (repaired JSON, box outside ``<answer>``), so that an RL format
reward prefers clean output without failing repaired output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from groundscore.model import Verdict
from groundscore.plugins.hookspecs import hookimpl
from groundscore.verifiers.base import Context, Verifier, VerifierOptions

REASONS = {
    "text.empty": "the completion is empty",
    "r1.tags": "the <think>/<answer> tags are missing or malformed",
    "answer.invalid": "no structured answer could be read",
    "box.none": "the answer has no box and does not say the object is absent",
    "box.bad_arity": "a box does not have exactly 4 numbers",
    "box.non_finite": "a box has NaN or infinite coordinates",
    "box.unordered": "a box has x1 >= x2 or y1 >= y2",
    "box.degenerate": "a box is too small to be an object",
    "box.outside": "a box lies outside the image",
    "box.too_many": "the answer has more boxes than allowed",
    "label.missing": "a box has no label",
}

_ANSWER_ISSUES = {"json.missing", "json.invalid", "json.too_deep", "json.too_long", "json.no_boxes", "format.undetected", "format.unknown", "parser.error", "coords.error"}
_TAG_ISSUES = {"r1.duplicate_think", "r1.duplicate_answer", "r1.unclosed_think", "r1.unclosed_answer", "r1.unopened_think", "r1.unopened_answer", "r1.misordered", "r1.overlapping", "r1.missing_answer"}


class SchemaOptions(VerifierOptions):
    require_tags: bool = Field(default=False, description="Require <think>...</think><answer>...</answer> (as an RL format reward does).")
    require_label: bool = Field(default=False, description="Require a non-empty label on every box.")
    max_boxes: int = Field(default=100, gt=0)
    tolerance_px: float = Field(default=4.0, ge=0, description="How far (original pixels) a box may overshoot the image.")
    min_size_px: float = Field(default=1.0, ge=0, description="Smallest width and height of a real box.")
    penalties: dict[str, float] = Field(
        default_factory=lambda: {"json.repaired": 0.2, "answer.outside_tags": 0.1, "r1.missing_answer": 0.1},
        description="Score deducted per parser issue code, for answers that pass.",
    )


class SchemaVerifier(Verifier):
    name = "schema"
    description = "tags, JSON, box validity, count and labels (a gate)"
    Options = SchemaOptions
    is_gate = True
    options: SchemaOptions

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        return [self._one(ctx) for ctx in contexts]

    def _one(self, ctx: Context) -> Verdict:
        o = self.options
        parsed = ctx.parsed
        failures: list[dict[str, Any]] = []

        def fail(code: str, **evidence: Any) -> None:
            failures.append({"code": code, **evidence})

        codes = parsed.issue_codes()
        if not ctx.sample.completion.strip():
            fail("text.empty")
        else:
            if o.require_tags:
                bad_tags = [c for c in codes if c in _TAG_ISSUES]
                if not (parsed.has_think_tags and parsed.has_answer_tags) or bad_tags:
                    fail("r1.tags", has_think=parsed.has_think_tags, has_answer=parsed.has_answer_tags, issues=bad_tags)
            answer_issues = [c for c in codes if c in _ANSWER_ISSUES]
            if answer_issues and not parsed.boxes and not parsed.points and not parsed.no_object:
                fail("answer.invalid", issues=answer_issues)
            elif not parsed.boxes and not parsed.points and not parsed.no_object:
                fail("box.none")
        if "box.bad_arity" in codes or "point.bad_arity" in codes:
            fail("box.bad_arity")
        if len(parsed.boxes) > o.max_boxes or "box.too_many" in codes:
            fail("box.too_many", count=len(parsed.boxes), max=o.max_boxes)
        self._check_boxes(ctx, fail)

        if failures:
            first = failures[0]["code"]
            extra = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
            return Verdict(
                verifier=self.name, score=0.0, gate=False, code=first,
                reason=REASONS.get(first, first) + extra,
                details={"failures": failures, "issues": codes},
            )
        deductions = {c: o.penalties[c] for c in codes if c in o.penalties}
        score = max(0.0, 1.0 - sum(deductions.values()))
        reason = "well-formed answer" if not deductions else "well-formed after repair: " + ", ".join(deductions)
        if parsed.no_object:
            reason = "explicit 'no object' answer"
        return Verdict(
            verifier=self.name, score=score, gate=True, code="ok" if not parsed.no_object else "ok.no_object",
            reason=reason, details={"boxes": len(parsed.boxes), "points": len(parsed.points), "deductions": deductions, "issues": codes},
        )

    def _check_boxes(self, ctx: Context, fail: Any) -> None:
        o = self.options
        size = ctx.image_size if ctx.parsed.in_original else None
        for i, box in enumerate(ctx.parsed.boxes):
            if not box.is_finite:
                fail("box.non_finite", box=i)
                continue
            if box.x1 >= box.x2 or box.y1 >= box.y2:
                fail("box.unordered", box=i, xyxy=list(box.xyxy))
                continue
            if box.width < o.min_size_px or box.height < o.min_size_px:
                fail("box.degenerate", box=i, width=box.width, height=box.height)
            if size is not None:
                w, h = size
                t = o.tolerance_px
                if box.x1 < -t or box.y1 < -t or box.x2 > w + t or box.y2 > h + t:
                    fail("box.outside", box=i, xyxy=[round(v, 2) for v in box.xyxy], image_size=[w, h], tolerance_px=t)
            if o.require_label and not (box.label and box.label.strip()):
                fail("label.missing", box=i)
        for i, point in enumerate(ctx.parsed.points):
            if not (math.isfinite(point.x) and math.isfinite(point.y)):
                fail("box.non_finite", point=i)
            elif size is not None and not (-o.tolerance_px <= point.x <= size[0] + o.tolerance_px and -o.tolerance_px <= point.y <= size[1] + o.tolerance_px):
                fail("box.outside", point=i)


@hookimpl
def register_verifiers(register: Any) -> None:
    register(SchemaVerifier)
