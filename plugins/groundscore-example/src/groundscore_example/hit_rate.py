"""The ``hit_rate`` reward policy: 1 for a box at or above an IoU threshold, ``miss`` below it.

A deliberately plain policy (a success-rate reward) with its own options, to
show the shape: an ``Options`` model, validated by the host (a typo in
``[reward.options]`` names the key), and a ``score`` that returns the base
reward only. The host adds ``format_weight * format`` and applies
``require_checked`` to it as to every policy, so it does neither.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from groundscore import hookimpl
from groundscore.model import Report
from groundscore.rewards import (
    PolicyOptions,
    RewardContext,
    RewardPolicy,
    RewardResult,
    Solution,
    answer_boxes,
    input_problem,
    is_abstention,
    match_boxes,
    result,
    unscorable,
)


class HitRateOptions(PolicyOptions):
    threshold: float = Field(default=0.5, gt=0.0, le=1.0, description="IoU at and above which the answer is a hit.")
    miss: float = Field(default=0.0, description="Reward of a box below the threshold (and of a malformed answer).")
    not_found: float = Field(default=0.0, description="Reward of an explicit 'not found' while the target is present.")


class HitRatePolicy(RewardPolicy):
    name = "hit_rate"
    description = "1 for a box at or above an IoU threshold, `miss` below it (needs ground truth)"
    Options = HitRateOptions
    options: HitRateOptions

    def score(self, report: Report, solution: Solution | None, context: RewardContext) -> RewardResult:
        if solution is None:
            return unscorable("hit_rate needs ground truth (solution)", context.config, report, self.name)
        problem = input_problem(report, solution)
        if problem:
            return unscorable(problem, context.config, report, self.name)
        opts = self.options
        if is_abstention(report.parsed):
            reward = 1.0 if not solution else opts.not_found
            return result(reward, "correct" if not solution else "abstain", "explicit 'not found'", report, self.name)
        if not solution or not report.parsed.boxes or context.malformed(report.failed_gates):
            return result(opts.miss, "wrong" if report.parsed.boxes else "malformed", "no usable box", report, self.name)
        iou, pairs = match_boxes(answer_boxes(report.parsed), solution)
        hit = iou >= opts.threshold
        return result(1.0 if hit else opts.miss, "correct" if hit else "wrong", f"IoU {iou:.3f}", report, self.name,
                      iou=iou, pairs=pairs)


@hookimpl
def register_reward_policies(register: Any) -> None:
    register(HitRatePolicy)
