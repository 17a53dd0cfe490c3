"""What a trainer logs about the rewards: batch means and per-sample numbers.

Two shapes, because trainers log in two ways:

- :func:`batch_metrics`: one number per name for the whole batch (TRL's
  ``log_metric``): the mean reward, confidence and IoU, the mean score of
  each verifier over the samples it applied to, and the share of each
  outcome.
- :func:`sample_logs`: the same names per sample, always present and always
  finite (verl's ``reward_extra_info`` and OpenRLHF's ``extra_logs`` turn
  them into arrays and tensors, which need the same keys on every sample and
  no None). A verifier that did not apply reads 0 in its ``<name>_failed``
  flag, and its score is left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from groundscore.rewards.base import RewardResult

OUTCOMES = ("correct", "abstain", "clarify", "wrong", "hallucination", "malformed", "unscorable", "unverified")


def batch_metrics(results: Sequence[RewardResult], verifiers: Sequence[str]) -> dict[str, float]:
    """Means over a batch, for a trainer's scalar logger."""
    if not results:
        return {}
    n = len(results)
    out: dict[str, float] = {}
    rewards = [r.reward for r in results if r.reward is not None]
    if rewards:
        out["reward"] = sum(rewards) / len(rewards)
    out["confidence"] = sum(r.confidence for r in results) / n
    ious = [r.iou for r in results if r.iou is not None]
    if ious:
        out["iou"] = sum(ious) / len(ious)
    out["format"] = sum(r.format for r in results) / n
    for outcome in OUTCOMES:
        out[f"rate/{outcome}"] = sum(1 for r in results if r.outcome == outcome) / n
    for name in verifiers:
        scores: list[float] = []
        failed = 0
        for r in results:
            verdict = r.report.verdict(name) if r.report is not None else None
            if verdict is None:
                continue
            if verdict.score is not None:
                scores.append(verdict.score)
            failed += verdict.gate is False
        if scores:
            out[f"verifier/{name}"] = sum(scores) / len(scores)
        out[f"gate_failed/{name}"] = failed / n
    return out


def sample_logs(result: RewardResult, verifiers: Sequence[str]) -> dict[str, float]:
    """Finite numbers with the same keys for every sample."""
    out: dict[str, float] = {
        "confidence": float(result.confidence),
        "iou": float(result.iou) if result.iou is not None else 0.0,
        "format": float(result.format),
    }
    for outcome in OUTCOMES:
        out[outcome] = 1.0 if result.outcome == outcome else 0.0
    for name in verifiers:
        verdict = result.report.verdict(name) if result.report is not None else None
        out[f"{name}_failed"] = 1.0 if verdict is not None and verdict.gate is False else 0.0
    return out
