"""The ``box_area`` verifier: is the box a plausible size for one object?

A box covering almost none of the image is a degenerate guess; a box covering
almost all of it is the "whole image" answer that a recall-rewarded policy
learns. Neither is a malformed answer (the ``schema`` gate passes both), so
this verifier lowers the score instead of gating, and skips samples whose
image size is unknown (the box cannot be related to the image).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from groundscore import Verdict, hookimpl
from groundscore.verifiers.base import Context, Verifier, VerifierOptions


class BoxAreaOptions(VerifierOptions):
    min_fraction: float = Field(default=0.0005, ge=0.0, le=1.0, description="Smaller boxes score lower.")
    max_fraction: float = Field(default=0.9, ge=0.0, le=1.0, description="Larger boxes score lower.")


class BoxAreaVerifier(Verifier):
    name = "box_area"
    description = "box area as a fraction of the image: neither a speck nor the whole image"
    Options = BoxAreaOptions
    evidence = "refuting"  # a prior: it can flag a speck or the whole image, never confirm a box
    options: BoxAreaOptions

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        return [self._one(ctx) for ctx in contexts]

    def _one(self, ctx: Context) -> Verdict:
        size = ctx.image_size
        boxes = ctx.parsed.boxes
        if size is None or not ctx.parsed.in_original:
            return Verdict.skip(self.name, "skipped.no_image_size", "the image size is unknown")
        if not boxes:
            return Verdict.skip(self.name, "skipped.no_box", "the answer has no box")
        image_area = float(size[0] * size[1])
        fractions = [min(1.0, b.area / image_area) for b in boxes]
        lo, hi = self.options.min_fraction, self.options.max_fraction
        scores = []
        for f in fractions:
            if f < lo:
                scores.append(f / lo if lo > 0 else 1.0)
            elif f > hi:
                scores.append(max(0.0, (1.0 - f) / (1.0 - hi)) if hi < 1.0 else 1.0)
            else:
                scores.append(1.0)
        score = min(scores)
        worst = fractions[scores.index(score)]
        reason = "box size is plausible" if score == 1.0 else f"a box covers {worst:.2%} of the image"
        return Verdict(
            verifier=self.name, score=score, code="ok" if score == 1.0 else "box_area.implausible",
            reason=reason, details={"fractions": [round(f, 6) for f in fractions]},
        )


@hookimpl
def register_verifiers(register: Any) -> None:
    register(BoxAreaVerifier)
