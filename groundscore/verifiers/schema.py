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
import operator
from collections.abc import Sequence
from typing import Any, NamedTuple

from pydantic import Field

from groundscore.model import Box, Point, Verdict
from groundscore.parse.base import trusted
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


_CODE = operator.attrgetter("code")
_XYXY = operator.itemgetter("x1", "y1", "x2", "y2")
# the parser issues that fail the gate by themselves
_FAILURE_CODES = frozenset({"box.bad_arity", "point.bad_arity", "box.too_many"})


class SchemaOptions(VerifierOptions):
    require_tags: bool = Field(default=False, description="Require <think>...</think><answer>...</answer> (as an RL format reward does).")
    require_label: bool = Field(default=False, description="Require a non-empty label on every box.")
    max_boxes: int = Field(default=100, gt=0)
    tolerance_px: float = Field(default=4.0, ge=0, description="How far (original pixels) a box may overshoot the image.")
    min_size_px: float = Field(default=1.0, ge=0, description="Smallest width and height of a real box.")
    penalties: dict[str, float] = Field(
        default_factory=lambda: {
            "json.repaired": 0.2, "answer.outside_tags": 0.1, "r1.missing_answer": 0.1,
            "answer.in_think": 0.3, "answer.whole_text": 0.3,
        },
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
        # Fields read from the instance dict: an attribute read on a pydantic model costs
        # several times a dict lookup, and this runs for every completion.
        fields = parsed.__dict__
        failures: list[dict[str, Any]] = []
        codes = list(map(_CODE, fields["issues"]))
        failing = _FAILURE_CODES.intersection(codes)  # one pass over the codes for the three checks below
        boxes, points = fields["boxes"], fields["points"]
        answered = bool(boxes or points or fields["no_object"])

        text = ctx.sample.completion
        if not text or text.isspace():
            failures.append({"code": "text.empty"})
        else:
            if limits.require_tags:
                bad_tags = [c for c in codes if c in _TAG_ISSUES]
                if not (parsed.has_think_tags and parsed.has_answer_tags) or bad_tags:
                    failures.append({"code": "r1.tags", "has_think": parsed.has_think_tags, "has_answer": parsed.has_answer_tags, "issues": bad_tags})
            bad_arity = "box.bad_arity" in failing or "point.bad_arity" in failing
            if not answered:
                answer_issues = [c for c in codes if c in _ANSWER_ISSUES]
                if answer_issues:
                    failures.append({"code": "answer.invalid", "issues": answer_issues})
                elif not bad_arity:  # a box with 5 numbers is a box.bad_arity, not a missing box
                    failures.append({"code": "box.none"})
            if bad_arity:
                failures.append({"code": "box.bad_arity"})
        if len(boxes) > limits.max_boxes or "box.too_many" in failing:
            failures.append({"code": "box.too_many", "count": len(boxes), "max": limits.max_boxes})
        if boxes or points:
            _check_boxes(boxes, points, ctx.image_size if fields["in_original"] else None, limits, failures)

        if failures:
            first = failures[0]["code"]
            extra = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
            return trusted(Verdict, {
                "verifier": self.name, "score": 0.0, "gate": False, "code": first,
                "reason": REASONS.get(first, first) + extra,
                "details": {"failures": failures, "issues": codes}, "elapsed_ms": 0.0,
            })
        penalties = limits.penalties
        # most answers need no repair: one C-level test instead of a comprehension
        deductions = {} if penalties.keys().isdisjoint(codes) else {c: penalties[c] for c in codes if c in penalties}
        if deductions:
            score = max(0.0, 1.0 - sum(deductions.values()))
            reason = "well-formed after repair: " + ", ".join(deductions)
        else:
            score, reason = 1.0, "well-formed answer"
        code = "ok"
        if fields["no_object"] and not boxes and not points:
            reason, code = "explicit 'no object' answer", "ok.no_object"
        return trusted(Verdict, {
            "verifier": self.name, "score": score, "gate": True, "code": code, "reason": reason,
            "details": {"boxes": len(boxes), "points": len(points), "deductions": deductions, "issues": codes},
            "elapsed_ms": 0.0,
        })


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
        x1, y1, x2, y2 = _XYXY(box.__dict__)  # one C call instead of four model attribute reads
        # v - v is 0.0 for every finite float and NaN for NaN and both infinities: one test, no calls
        if (x1 - x1) + (y1 - y1) + (x2 - x2) + (y2 - y2) != 0.0:
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
