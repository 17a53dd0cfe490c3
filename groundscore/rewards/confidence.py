"""The ``confidence`` policy: no ground truth, the chain's confidence, wrong < "not found" < confident."""

from __future__ import annotations

from collections.abc import Callable

from groundscore.model import Report
from groundscore.plugins.hookspecs import hookimpl
from groundscore.rewards.base import Outcome, PolicyOptions, RewardPolicy, RewardResult, Solution
from groundscore.rewards.context import RewardContext
from groundscore.rewards.guards import hack
from groundscore.rewards.options import ConfidenceOptions
from groundscore.rewards.reading import applicable, input_problem, is_abstention, negative_sample, result, unscorable


class ConfidencePolicy(RewardPolicy):
    """No ground truth: the chain's confidence, with wrong < "not found" < confident."""

    name = "confidence"
    description = "no ground truth: the chain's confidence, shaped so that wrong < 'not found' < confident"
    Options = ConfidenceOptions
    options: ConfidenceOptions

    def score(self, report: Report, solution: Solution | None, context: RewardContext) -> RewardResult:
        config, name = context.config, self.name
        if solution is not None and not solution:  # a negative sample still knows the right answer is "none"
            return negative_sample(report, context, name)
        problem = input_problem(report, None)
        if problem:
            return unscorable(problem, config, report, name)
        gates = report.failed_gates
        if is_abstention(report.parsed):
            return result(config.abstain, "abstain", "explicit 'not found'", report, name)
        if gates:
            outcome: Outcome = "malformed" if context.malformed(gates) else "hallucination"
            return result(config.wrong, outcome, f"failed gate(s): {', '.join(gates)}", report, name, gates=gates)
        exploit = hack(report, self.options, grounded=False, image_size=context.image_size)
        if exploit:
            return result(config.wrong, "malformed" if exploit[0] == "hack.tags" else "wrong", exploit[1], report, name, hack=exploit[0])
        if not applicable(report):
            return unscorable("no verifier applied to this sample", config, report, name)
        c, r = report.confidence, self.options.reject_below
        if c < r:
            reward = config.wrong + (config.abstain - config.wrong) * self.options.wrong_shaping * (c / r if r > 0 else 0.0)
            return result(reward, "wrong", f"confidence {c:.3f} is below {r}", report, name)
        reward = config.abstain + (config.correct - config.abstain) * ((c - r) / (1.0 - r))
        return result(reward, "correct", f"confidence {c:.3f}", report, name)


def confidence_fallback(options: PolicyOptions) -> ConfidencePolicy:
    """The ``confidence`` policy with every :class:`ConfidenceOptions` field that ``options`` has.

    For policies that score samples without ground truth (or without a
    group) as ``confidence`` does: the settings they share, the guards
    included where the options have them, reach that fallback.
    """
    shared = {name: getattr(options, name) for name in ConfidenceOptions.model_fields if name in type(options).model_fields}
    return ConfidencePolicy(ConfidenceOptions(**shared))


@hookimpl
def register_reward_policies(register: Callable[..., None]) -> None:
    register(ConfidencePolicy)
