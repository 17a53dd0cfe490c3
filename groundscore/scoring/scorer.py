"""Verdicts -> one confidence in [0, 1] -> a decision.

The default combination is a weighted geometric mean of the applicable scores:
one very low score drags the confidence down (a box that is well-formed but on
the wrong object must not average out to "fine"), and a score of exactly 0
from any verifier gives 0. A failed gate gives 0 whatever the rest says.
Verdicts that are None (not applicable, skipped, failed to run) do not count.

A calibrator (see ``groundscore calibrate``) can replace the raw combination by
a fitted probability; it is any object with ``predict(verdicts, raw) -> float``.
Everything here is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Protocol

from groundscore.config import Thresholds
from groundscore.model import Decision, Verdict


class Calibrator(Protocol):
    def predict(self, verdicts: Sequence[Verdict], raw: float) -> float: ...


def combine(
    verdicts: Sequence[Verdict],
    weights: Mapping[str, float] | None = None,
    default_weights: Mapping[str, float] | None = None,
) -> tuple[float, bool]:
    """(confidence, whether any verdict applied). Gates first, then the mean.

    A verdict with weight 0 does not count; an applicable score of exactly 0
    gives 0 (the geometric mean's limit), whatever the others say.
    """
    weights = weights or _EMPTY
    default_weights = default_weights or _EMPTY
    total_w = 0.0
    log_sum = 0.0
    zero = False
    for v in verdicts:
        if v.gate is False:
            return 0.0, True
        score = v.score
        if score is None:
            continue
        name = v.verifier
        w = weights.get(name)
        if w is None:
            w = default_weights.get(name, 1.0)
        if w <= 0:
            continue
        total_w += w
        if score <= 0.0:
            zero = True
        elif score != 1.0:  # log(1) is 0: a perfect score adds nothing (and costs no call)
            log_sum += w * math.log(score)
    if total_w == 0:
        return 0.0, False
    if zero:
        return 0.0, True
    if log_sum == 0.0:
        return 1.0, True
    return min(1.0, math.exp(log_sum / total_w)), True


_EMPTY: Mapping[str, float] = {}


def decide(confidence: float, thresholds: Thresholds, applicable: bool = True) -> Decision:
    """accept / reject / abstain. Nothing applicable means abstain."""
    if not applicable:
        return "abstain"
    if confidence >= thresholds.accept:
        return "accept"
    if confidence < thresholds.reject:
        return "reject"
    return "abstain"


class Scorer:
    """Turns one sample's verdicts into (confidence, decision)."""

    def __init__(
        self,
        thresholds: Thresholds | None = None,
        weights: Mapping[str, float] | None = None,
        default_weights: Mapping[str, float] | None = None,
        calibrator: Calibrator | None = None,
    ) -> None:
        self.thresholds = thresholds or Thresholds()
        self.weights = dict(weights or {})
        self.default_weights = dict(default_weights or {})
        self.calibrator = calibrator

    def score(self, verdicts: Sequence[Verdict]) -> tuple[float, Decision]:
        raw, applicable = combine(verdicts, self.weights, self.default_weights)
        conf = raw
        if self.calibrator is not None and applicable and not any(v.gate is False for v in verdicts):
            calibrated = float(self.calibrator.predict(verdicts, raw))
            conf = min(1.0, max(0.0, calibrated)) if math.isfinite(calibrated) else 0.0
        return conf, decide(conf, self.thresholds, applicable)
