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

_EPS = 1e-6


class Calibrator(Protocol):
    def predict(self, verdicts: Sequence[Verdict], raw: float) -> float: ...


def combine(
    verdicts: Sequence[Verdict],
    weights: Mapping[str, float] | None = None,
    default_weights: Mapping[str, float] | None = None,
) -> tuple[float, bool]:
    """(confidence, whether any verdict applied). Gates first, then the mean."""
    weights = weights or {}
    default_weights = default_weights or {}
    if any(v.gate is False for v in verdicts):
        return 0.0, True
    total_w = 0.0
    log_sum = 0.0
    for v in verdicts:
        if v.score is None:
            continue
        w = weights.get(v.verifier, default_weights.get(v.verifier, 1.0))
        if w <= 0:
            continue
        total_w += w
        log_sum += w * math.log(max(v.score, _EPS))
    if total_w == 0:
        return 0.0, False
    conf = math.exp(log_sum / total_w)
    return (0.0 if conf <= _EPS * 1.0001 else min(1.0, conf)), True


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
            conf = min(1.0, max(0.0, float(self.calibrator.predict(verdicts, raw))))
        return conf, decide(conf, self.thresholds, applicable)
