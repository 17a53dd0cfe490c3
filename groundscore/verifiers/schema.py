"""The ``schema`` gate: is the answer well-formed enough to mean anything?

Checks, each with its own machine-readable code (``details["failures"]``
lists every failure; ``code`` is the first). The codes, and which parser
issues feed each of them, are defined in :mod:`groundscore.issues`:

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
from typing import Any, NamedTuple

from pydantic import Field

from groundscore.issues import SCHEMA_FAILURES, codes_feeding, default_penalties
from groundscore.model import Box, Point, Verdict
from groundscore.plugins.hookspecs import hookimpl
from groundscore.verifiers.base import Context, Verifier, VerifierOptions

REASONS = {code: failure.meaning for code, failure in SCHEMA_FAILURES.items()}

# which parser issues feed which failure: read from the one registry of issue codes
_ANSWER_ISSUES = codes_feeding("answer.invalid")
_TAG_ISSUES = codes_feeding("r1.tags")
_ARITY_ISSUES = codes_feeding("box.bad_arity")
_TOO_MANY_ISSUES = codes_feeding("box.too_many")


class SchemaOptions(VerifierOptions):
    require_tags: bool = Field(default=False, description="Require <think>...</think><answer>...</answer> (as an RL format reward does).")
    require_label: bool = Field(default=False, description="Require a non-empty label on every box.")
    max_boxes: int = Field(default=100, gt=0)
    tolerance_px: float = Field(default=4.0, ge=0, description="How far (original pixels) a box may overshoot the image.")
    min_size_px: float = Field(default=1.0, ge=0, description="Smallest width and height of a real box.")
    penalties: dict[str, float] = Field(
        default_factory=default_penalties,
        description="Score deducted per parser issue code, for answers that pass.",
    )


class SchemaVerifier(Verifier):
    name = "schema"
    description = "tags, JSON, box validity, count and labels (a gate)"
    Options = SchemaOptions
    is_gate = True
    malformed_gate = True  # a failed schema gate means the answer cannot be read, not that it is wrong
    options: SchemaOptions

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        o = self.options
        # the options read once per batch, not once per sample: this gate runs on every completion
        limits = _Limits(o.require_tags, o.require_label, o.max_boxes, o.tolerance_px, o.min_size_px, o.penalties)
        one = self._one
        return [one(ctx, limits) for ctx in contexts]

    def _one(self, ctx: Context, limits: _Limits) -> Verdict:
        parsed = ctx.parsed
        failures: list[dict[str, Any]] = []
        codes = [issue.code for issue in parsed.issues]
        boxes, points = parsed.boxes, parsed.points
        answered = bool(boxes or points or parsed.no_object or parsed.clarify)  # a clarifying question is an answer

        text = ctx.sample.completion
        if not text or text.isspace():
            failures.append({"code": "text.empty"})
        else:
            if limits.require_tags:
                bad_tags = [c for c in codes if c in _TAG_ISSUES]
                if not (parsed.has_think_tags and parsed.has_answer_tags) or bad_tags:
                    failures.append({"code": "r1.tags", "has_think": parsed.has_think_tags, "has_answer": parsed.has_answer_tags, "issues": bad_tags})
            bad_arity = not _ARITY_ISSUES.isdisjoint(codes)
            if not answered:
                answer_issues = [c for c in codes if c in _ANSWER_ISSUES]
                if answer_issues:
                    failures.append({"code": "answer.invalid", "issues": answer_issues})
                elif not bad_arity:  # a box with 5 numbers is a box.bad_arity, not a missing box
                    failures.append({"code": "box.none"})
            if bad_arity:
                failures.append({"code": "box.bad_arity"})
        if len(boxes) > limits.max_boxes or not _TOO_MANY_ISSUES.isdisjoint(codes):
            failures.append({"code": "box.too_many", "count": len(boxes), "max": limits.max_boxes})
        if boxes or points:
            _check_boxes(boxes, points, ctx.image_size if parsed.in_original else None, limits, failures)

        if failures:
            first = failures[0]["code"]
            extra = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
            return Verdict(
                verifier=self.name, score=0.0, gate=False, code=first, reason=REASONS.get(first, first) + extra,
                details={"failures": failures, "issues": codes},
            )
        penalties = limits.penalties
        # most answers need no repair: one C-level test instead of a comprehension
        deductions = {} if penalties.keys().isdisjoint(codes) else {c: penalties[c] for c in codes if c in penalties}
        if deductions:
            score = max(0.0, 1.0 - sum(deductions.values()))
            reason = "well-formed after repair: " + ", ".join(deductions)
        else:
            score, reason = 1.0, "well-formed answer"
        if parsed.clarify is not None:  # said as such: a question back to the user, not a box
            named = f" (candidates: {'; '.join(parsed.clarify.candidates)})" if parsed.clarify.candidates else ""
            reason = f"{reason}: a clarifying question, asking which object is meant{named}"
        code = "ok"
        if parsed.no_object and not boxes and not points:
            reason, code = "explicit 'no object' answer", "ok.no_object"
        return Verdict(
            verifier=self.name, score=score, gate=True, code=code, reason=reason,
            details={"boxes": len(boxes), "points": len(points), "deductions": deductions, "issues": codes},
        )


class _Limits(NamedTuple):
    require_tags: bool
    require_label: bool
    max_boxes: int
    tolerance_px: float
    min_size_px: float
    penalties: dict[str, float]


def _check_boxes(
    boxes: list[Box], points: list[Point], size: tuple[int, int] | None, limits: _Limits, failures: list[dict[str, Any]]
) -> None:
    """Append a failure for each box or point that is not finite, ordered, big enough and inside ``size``."""
    t = limits.tolerance_px
    min_size = limits.min_size_px
    require_label = limits.require_label
    isfinite = math.isfinite
    if size is not None:
        w, h = size
        lo_x = lo_y = -t
        hi_x, hi_y = w + t, h + t
    for i, box in enumerate(boxes):
        x1, y1, x2, y2 = box.x1, box.y1, box.x2, box.y2
        if not (isfinite(x1) and isfinite(y1) and isfinite(x2) and isfinite(y2)):
            failures.append({"code": "box.non_finite", "box": i})
            continue
        if x1 >= x2 or y1 >= y2:
            failures.append({"code": "box.unordered", "box": i, "xyxy": [x1, y1, x2, y2]})
            continue
        if x2 - x1 < min_size or y2 - y1 < min_size:
            failures.append({"code": "box.degenerate", "box": i, "width": x2 - x1, "height": y2 - y1})
        if size is not None and (x1 < lo_x or y1 < lo_y or x2 > hi_x or y2 > hi_y):
            failures.append({"code": "box.outside", "box": i, "xyxy": [round(v, 2) for v in (x1, y1, x2, y2)], "image_size": [w, h], "tolerance_px": t})
        if require_label and not (box.label and box.label.strip()):
            failures.append({"code": "label.missing", "box": i})
    for i, point in enumerate(points):
        if not (isfinite(point.x) and isfinite(point.y)):
            failures.append({"code": "box.non_finite", "point": i})
        elif size is not None and not (lo_x <= point.x <= hi_x and lo_y <= point.y <= hi_y):
            failures.append({"code": "box.outside", "point": i})


@hookimpl
def register_verifiers(register: Any) -> None:
    register(SchemaVerifier)
