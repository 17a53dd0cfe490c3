"""The ``consensus`` reward policy: the group's verified majority as pseudo ground truth.

Why: test-time RL pays the majority answer when there is no label; for math
answers that is known, for boxes nobody offers it. Here the consensus of the
group's voters (members that gave a box or "not found" and failed no gate,
see :mod:`groundscore.verifiers.agreement`) plays the part of the solution,
and the usual honesty order holds::

    a box against the consensus  <  "not found"  <  agreeing with the consensus

- A failed gate is wrong (``config.wrong``), whatever the group says.
- An explicit "not found" earns ``config.abstain``; ``config.correct`` when
  the consensus itself is "not found".
- A box is scored against the consensus boxes as the ``grounded`` policy
  scores it against a solution: at IoU >= ``iou_threshold`` from
  ``correct_floor`` rising to ``correct``; below it a near-miss credit that
  never reaches the "not found" reward.
- When the consensus is weak (it holds under ``min_support`` of the voters,
  or fewer than two of them) nobody is paid more than the abstain reward:
  a box earns at most ``wrong + (abstain - wrong) * wrong_shaping`` scaled by
  its agreement, so a split group teaches "say you are unsure", never "guess".
- An answer without an agreement verdict (ungrouped, group of one) falls
  back to the ``confidence`` policy.

Ground truth is ignored even when the sample carries it: this policy is for
training without labels. Its failure mode is a confidently wrong majority:
when most members agree on the wrong object, the right minority is paid as
wrong; docs/groups.md gives the measured rates on the REC logs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from groundscore.model import Report
from groundscore.plugins.hookspecs import hookimpl
from groundscore.verifiers.agreement import _is_absent, matched_iou

MIN_SUPPORT = 0.5
"""Consensus share of the voters below which nobody earns more than the abstain reward."""


def _cfg(config: Any, name: str, default: float) -> float:
    value = getattr(config, name, default)
    return float(value) if isinstance(value, int | float) else default


def make_consensus_policy(min_support: float = MIN_SUPPORT, name: str = "consensus") -> Callable[..., Any]:
    """A consensus policy with its own minimum support share (register it under another name to use it)."""
    if not 0.0 < min_support <= 1.0:
        raise ValueError(f"min_support must be in (0, 1], got {min_support!r}")

    def consensus_policy(report: Report, solution: Any, config: Any) -> Any:
        from groundscore.reward import RewardResult, format_score, get_policy

        agreement = report.verdict("agreement")
        if agreement is None or agreement.score is None:
            fallback = get_policy("confidence")(report, None, config)
            fallback.details = {**fallback.details, "consensus": "no agreement verdict: confidence policy"}
            return fallback
        wrong, abstain = _cfg(config, "wrong", 0.0), _cfg(config, "abstain", 0.25)
        floor, correct = _cfg(config, "correct_floor", 0.5), _cfg(config, "correct", 1.0)
        shaping, t = _cfg(config, "wrong_shaping", 0.5), _cfg(config, "iou_threshold", 0.5)
        fmt = format_score(report.parsed, bool(getattr(config, "format_require_think", True)))
        bonus = _cfg(config, "format_weight", 0.0) * fmt
        details = agreement.details
        consensus = details.get("consensus") or {}
        share = float(consensus.get("share", 0.0))
        size = int(consensus.get("size", 0))
        info = {"support": details.get("support"), "consensus_share": share, "voters": details.get("voters"),
                "ambiguous": details.get("ambiguous", False)}

        def result(reward: float, outcome: str, reason: str, iou: float | None = None) -> Any:
            return RewardResult(reward=reward + bonus, outcome=outcome, reason=reason, policy=name, iou=iou,  # type: ignore[arg-type]
                                confidence=report.confidence, format=fmt, report=report, details=info)

        gates = report.failed_gates
        if gates:
            return result(wrong, "malformed" if "schema" in gates else "hallucination", f"failed gate(s): {', '.join(gates)}")
        strong = share >= min_support and size >= 2
        if _is_absent(report.parsed):
            if strong and consensus.get("absent"):
                return result(correct, "correct", f"'not found', as {share:.0%} of the group says")
            return result(abstain, "abstain", "explicit 'not found'")
        boxes = [b.xyxy for b in report.parsed.boxes]
        if not boxes:
            return result(wrong, "malformed", "no box and no 'not found' answer")
        near_miss = abstain - wrong
        if not strong:
            reward = wrong + near_miss * shaping * float(agreement.score)
            return result(reward, "abstain", f"no consensus (the largest cluster holds {share:.0%} of the voters, "
                          f"under {min_support:.0%}): paid below 'not found'")
        if consensus.get("absent"):
            return result(wrong, "wrong", f"a box where {share:.0%} of the group says 'not found'", iou=0.0)
        iou = matched_iou(boxes, [tuple(b) for b in consensus.get("boxes") or []])
        if iou < t:
            return result(wrong + near_miss * shaping * (iou / t), "wrong", f"IoU {iou:.3f} with the consensus, below {t}", iou=iou)
        reward = floor + (correct - floor) * ((iou - t) / (1.0 - t))
        return result(reward, "correct", f"IoU {iou:.3f} with the consensus of {share:.0%} of the group", iou=iou)

    consensus_policy.__name__ = f"{name}_policy"
    return consensus_policy


consensus_policy = make_consensus_policy()


@hookimpl
def register_reward_policies(register: Callable[..., None]) -> None:
    register("consensus", consensus_policy)
