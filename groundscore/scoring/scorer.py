"""Verdicts -> one confidence in [0, 1] -> a decision.

The default combination is a weighted geometric mean of the applicable scores:
one very low score drags the confidence down (a box that is well-formed but on
the wrong object must not average out to "fine"), and a score of exactly 0
from any verifier gives 0. A failed gate gives 0 whatever the rest says.
Verdicts that are None (not applicable, skipped, failed to run) do not count.

A calibrator (see ``groundscore calibrate``) can replace the raw combination by
a fitted probability; it is any object with ``predict(verdicts, raw) -> float``.

The chain's default is neither: a confidence model (:mod:`groundscore.confidence`)
fitted on labelled answers of many models, which reads the text verifiers'
scores together with the answer's parse, its box geometry, the query and the
thinking, and (in a group) what the agreement verdict shows, and returns
P(correct). Verifiers it was not fitted on (clip, a plugin's) can only lower
that probability, to their own geometric mean: their scores were never
measured against ground truth here, so they may refute but not confirm.

When the decision abstains, :func:`missing_evidence` says which confirming
evidence (ground truth, pixels, a group) the answer lacked.
Everything here is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from groundscore.config import Thresholds
from groundscore.model import Decision, Parsed, Sample, Verdict

if TYPE_CHECKING:
    from groundscore.confidence.model import ConfidenceFile


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


GROUP_EVIDENCE = frozenset({"agreement"})
"""Confirming verifiers that read the group (independent sampled answers); every other confirming one reads the image."""


def confirming_verifiers() -> frozenset[str]:
    """The registered verifiers that declare ``evidence = "confirming"`` (a plugin's included).

    Read from the plugin registry, so a third-party pixel check counts as
    the image's evidence without being listed here; a broken host falls back
    to the built-in ones.
    """
    try:
        from groundscore.plugins.manager import get_registry

        verifiers = get_registry().verifiers
    except Exception:  # noqa: BLE001 - a broken host: the built-in roles
        return frozenset({"clip", "ocr", *GROUP_EVIDENCE})
    return frozenset(name for name, cls in verifiers.items() if getattr(cls, "evidence", None) == "confirming")


def missing_evidence(sample: Sample | None, verdicts: Sequence[Verdict]) -> str:
    """Which confirming evidence this answer lacked, in one phrase (for an abstention's reason).

    Confirming evidence is ground truth, pixels (clip, OCR) and agreement
    among independently sampled answers; the text verifiers can only refute.
    """
    confirming = confirming_verifiers()
    applied = {"group" if v.verifier in GROUP_EVIDENCE else "image"
               for v in verdicts if v.score is not None and v.verifier in confirming}
    missing = []
    if sample is None or not sample.solution:
        missing.append("ground truth")
    if "image" not in applied:
        missing.append("image")
    if "group" not in applied:
        missing.append("group")
    if len(missing) == 3:
        return "no confirming evidence: no ground truth, image or group"
    if not missing:
        return "the confirming evidence did not settle it"
    have = sorted(x for x in ("image", "group") if x in applied)
    lacks = " or ".join(missing)
    return (f"confirming evidence from {' and '.join(have)} did not settle it; no {lacks}" if have
            else f"no confirming evidence: no {lacks}")


class Scorer:
    """Turns one sample's verdicts into (confidence, decision)."""

    def __init__(
        self,
        thresholds: Thresholds | None = None,
        weights: Mapping[str, float] | None = None,
        default_weights: Mapping[str, float] | None = None,
        calibrator: Calibrator | None = None,
        model: ConfidenceFile | None = None,
    ) -> None:
        self.thresholds = thresholds or Thresholds()
        self.weights = dict(weights or {})
        self.default_weights = dict(default_weights or {})
        self.calibrator = calibrator
        self.model = model

    def score(self, verdicts: Sequence[Verdict], query: str | None = None,
              parsed: Parsed | None = None) -> tuple[float, Decision]:
        """(confidence, decision) of one answer.

        With a calibrator, it maps the combined score. Else, with a
        confidence model and the answer's ``parsed`` (and ``query``), the
        model's P(correct). Else the combined score itself.
        """
        raw, applicable = combine(verdicts, self.weights, self.default_weights)
        conf = raw
        gated = any(v.gate is False for v in verdicts)
        if self.calibrator is not None and applicable and not gated:
            calibrated = float(self.calibrator.predict(verdicts, raw))
            conf = min(1.0, max(0.0, calibrated)) if math.isfinite(calibrated) else 0.0
        elif self.model is not None and parsed is not None and applicable and not gated:
            conf = self.model_confidence(verdicts, query or "", parsed)
        return conf, decide(conf, self.thresholds, applicable)

    def model_confidence(self, verdicts: Sequence[Verdict], query: str, parsed: Parsed) -> float:
        """P(correct) from the confidence model, capped by the verifiers it was not fitted on."""
        from groundscore.confidence.features import TEXT_VERIFIERS, group_features, single_features

        assert self.model is not None
        grouped = group_features(query, parsed, verdicts) if self.model.group is not None else None
        if grouped is not None and self.model.group is not None:
            p = self.model.group.predict(grouped)
        else:
            p = self.model.single.predict(single_features(query, parsed, verdicts))
        known = {*TEXT_VERIFIERS, "agreement"}
        others = [v for v in verdicts if v.verifier not in known]
        if others:
            cap, any_applied = combine(others, self.weights, self.default_weights)
            if any_applied:
                p = min(p, cap)
        return min(1.0, max(0.0, p)) if math.isfinite(p) else 0.0
