"""The ``format`` policy: VLM-R1's format reward, 1 for a tagged, readable answer, else 0.

The one documented exception to "rewards pay evidence": it pays the shape of
the answer, and is meant to be combined with a policy that checks the box.
"""

from __future__ import annotations

from collections.abc import Callable

from groundscore.model import Report
from groundscore.plugins.hookspecs import hookimpl
from groundscore.rewards.base import RewardPolicy, RewardResult, Solution
from groundscore.rewards.context import RewardContext
from groundscore.rewards.reading import format_score, result


class FormatPolicy(RewardPolicy):
    """VLM-R1's format reward: 1.0 for a tagged, readable answer, else 0.0."""

    name = "format"
    description = "VLM-R1's format reward: 1 for <think>...</think><answer>...</answer> around a readable answer"
    uses_gates = False

    def score(self, report: Report, solution: Solution | None, context: RewardContext) -> RewardResult:
        fmt = format_score(report.parsed, context.config.format_require_think)
        return result(fmt, "correct" if fmt else "malformed", "format ok" if fmt else "format not followed", report, self.name)


@hookimpl
def register_reward_policies(register: Callable[..., None]) -> None:
    register(FormatPolicy)
