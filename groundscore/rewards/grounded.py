"""The ``grounded`` policy (and ``auto``, the default): ground truth known, IoU shaped so that
hallucination < "not found" < correct; without ground truth, as ``confidence``."""

from __future__ import annotations

from collections.abc import Callable

from groundscore.model import Report
from groundscore.plugins.hookspecs import hookimpl
from groundscore.rewards.base import RewardResult, Solution
from groundscore.rewards.confidence import ConfidenceFallback
from groundscore.rewards.context import RewardContext
from groundscore.rewards.options import GroundedOptions
from groundscore.rewards.truth import score_with_truth


class GroundedPolicy(ConfidenceFallback):
    """Ground truth known: IoU, shaped so that hallucination < "not found" < correct."""

    name = "grounded"
    description = "ground truth known: matched IoU, shaped so that hallucination < 'not found' < correct"
    Options = GroundedOptions
    options: GroundedOptions

    def score(self, report: Report, solution: Solution | None, context: RewardContext) -> RewardResult:
        if solution is None:
            return self.without_ground_truth.score(report, None, context)
        return score_with_truth(report, solution, context, self.options, self.name)


class AutoPolicy(GroundedPolicy):
    """``grounded`` with ground truth, ``confidence`` without (the default)."""

    name = "auto"
    description = "grounded with ground truth, confidence without"


@hookimpl
def register_reward_policies(register: Callable[..., None]) -> None:
    register(AutoPolicy)
    register(GroundedPolicy)
