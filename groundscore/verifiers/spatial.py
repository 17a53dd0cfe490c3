"""The ``spatial`` verifier: is the box where the query's position words put it?

Absolute position words in the referring expression ("left", "far right",
"upper left", "top", "bottom", "middle", "centre") are checked against the
box's centre in the image frame. Relative terms that need another object
("left of the plate", "behind the man", "second from left") and depth words
("front", "back") are out of scope here and make the verdict None when they
are all the query has.

Each term scores 1 inside a generous zone and falls linearly to 0 where
the box clearly sits on the other side: for "left", a centre up to 55% of the
width scores 1 and one at 75% or beyond scores 0 ("far left"/"leftmost":
40% and 60%). Two people side by side, the left one wide, still pass; a box
in the right third for "left" does not. No spaCy needed.

None when the query has no absolute position word, the image size is
unknown, or the boxes are still in the model's coordinate space.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from groundscore.model import Box, Verdict
from groundscore.nlp.positions import PositionTerm, find_positions
from groundscore.plugins.hookspecs import hookimpl
from groundscore.verifiers.base import Context, Verifier, VerifierOptions


class SpatialOptions(VerifierOptions):
    full: float = Field(default=0.55, gt=0.0, lt=1.0, description="Centre position (fraction of width/height) up to which 'left'/'top' scores 1.")
    zero: float = Field(default=0.75, gt=0.0, le=1.0, description="Centre position from which 'left'/'top' scores 0.")
    extreme_full: float = Field(default=0.40, gt=0.0, lt=1.0, description="As `full`, for 'far left', 'leftmost', ...")
    extreme_zero: float = Field(default=0.60, gt=0.0, le=1.0, description="As `zero`, for 'far left', 'leftmost', ...")
    middle_full: float = Field(default=0.20, gt=0.0, lt=0.5, description="Distance from the centre up to which 'middle' scores 1.")
    middle_zero: float = Field(default=0.40, gt=0.0, le=0.5, description="Distance from the centre from which 'middle' scores 0.")


class SpatialVerifier(Verifier):
    name = "spatial"
    description = "absolute position words of the query (left, top right, middle) vs where the box sits in the image"
    Options = SpatialOptions
    is_gate = False
    default_weight = 1.0
    options: SpatialOptions

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        return [self._one(ctx) for ctx in contexts]

    def _one(self, ctx: Context) -> Verdict:
        positions = find_positions(ctx.referring_expression)
        # one of each term: a query that repeats a word ("left left left ...") is scored as saying it once, and
        # the position vocabulary is small, so the work per box stays bounded whatever the query's length
        terms = list({(t.text, t.axis, t.value, t.extreme): t for t in positions.terms if t.axis in {"x", "y", "c"}}.values())
        if not terms:
            why = "the query has no absolute position word"
            if positions.relative or positions.ordinal or positions.terms:
                why += " (only relative, ordinal or depth terms, which need other objects)"
            return Verdict.skip(self.name, "skipped.no_position", why, relative=list(positions.relative))
        if ctx.image_size is None:
            return Verdict.skip(self.name, "skipped.no_image_size", "the image size is unknown, so positions cannot be placed in the frame")
        if not ctx.parsed.in_original:
            return Verdict.skip(self.name, "skipped.model_space", "the boxes are in the model's coordinate space, not the image's")
        boxes = [b for b in ctx.parsed.boxes if b.is_finite and b.x2 > b.x1 and b.y2 > b.y1]
        if not boxes:
            return Verdict.skip(self.name, "skipped.no_box", "the answer has no valid box")
        w, h = ctx.image_size
        capped = len(boxes) > MAX_BOXES
        # the work per answer is bounded: the first MAX_BOXES boxes are placed (an answer with more is refuted
        # by the count and duplicate checks anyway), and the details list at most MAX_DETAIL_BOXES of them
        per_box = [self._box(b, terms, w, h) for b in boxes[:MAX_BOXES]]
        score = min(p["score"] for p in per_box)
        worst = min(per_box, key=lambda p: p["score"])
        bad = [t for t, s in worst["terms"].items() if s < 0.5]
        if bad:
            reason = f"the box (centre at {worst['center'][0]:.0%} across, {worst['center'][1]:.0%} down) is not where {', '.join(repr(b) for b in bad)} puts it"
            code = "position.conflict"
        else:
            reason = "the box sits where the query's position words put it"
            code = "ok"
        details: dict[str, Any] = {"terms": [t.text for t in terms], "boxes": per_box[:MAX_DETAIL_BOXES], "image_size": [w, h]}
        if capped or len(per_box) > MAX_DETAIL_BOXES:
            details["capped"] = {"code": "cap.boxes", "boxes": len(boxes), "placed": len(per_box)}
            if capped:
                reason += f"; only the first {MAX_BOXES} of {len(boxes)} boxes were placed (cap.boxes)"
        return Verdict(verifier=self.name, score=score, code=code, reason=reason, details=details)

    def _box(self, box: Box, terms: list[PositionTerm], w: int, h: int) -> dict[str, Any]:
        cx = (box.x1 + box.x2) / 2.0 / w
        cy = (box.y1 + box.y2) / 2.0 / h
        has_x = any(t.axis == "x" for t in terms)
        has_y = any(t.axis == "y" for t in terms)
        scores: dict[str, float] = {}
        for t in terms:
            if t.axis == "c":
                # "middle": horizontal unless the query already fixes the side ("middle left": vertical middle)
                d = abs((cy if has_x and not has_y else cx) - 0.5)
                s = _ramp(d, self.options.middle_full, self.options.middle_zero)
            else:
                c = cx if t.axis == "x" else cy
                pos = c if t.value == 0.0 else 1.0 - c
                full, zero = (self.options.extreme_full, self.options.extreme_zero) if t.extreme else (self.options.full, self.options.zero)
                s = _ramp(pos, full, zero)
            scores[t.text] = round(min(scores.get(t.text, 1.0), s), 3)
        return {"center": [round(cx, 3), round(cy, 3)], "terms": scores, "score": min(scores.values())}


MAX_BOXES = 100
"""Boxes of one answer placed against the query's position words; more are not (``cap.boxes``)."""
MAX_DETAIL_BOXES = 32
"""Boxes listed in the verdict's details."""


def _ramp(value: float, full: float, zero: float) -> float:
    if value <= full:
        return 1.0
    if value >= zero:
        return 0.0
    return (zero - value) / (zero - full)


@hookimpl
def register_verifiers(register: Any) -> None:
    register(SpatialVerifier)
