"""The ``confidence`` policy: no ground truth; paid by evidence, wrong < "not found" < confirmed.

Its name is older than its rule: it does not read ``Report.confidence`` (a
probability that may use priors such as box size, which a policy could move
without being right). A refuted answer (a failed gate, a guard, refuting
checks scoring under ``reject_below``) is paid below ``abstain``; an answer
no confirming verifier scored is paid exactly ``abstain`` (``unverified``);
above that, the reward rises with the confirming evidence (``clip``, ``ocr``,
``agreement`` in a group). See :mod:`groundscore.rewards.evidence`.

A sample that carries ground truth is paid by it, as ``grounded`` pays it
(:mod:`groundscore.rewards.truth`): ground truth is the strongest evidence,
and a pixel check or a group that disagrees with it must not lift a wrong box
above "not found".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from groundscore.model import Report
from groundscore.plugins.hookspecs import hookimpl
from groundscore.rewards.base import Outcome, PolicyOptions, RewardPolicy, RewardResult, Solution
from groundscore.rewards.context import RewardContext
from groundscore.rewards.evidence import (
    NO_CONFIRMING_EVIDENCE,
    confirmation,
    confirming_verdicts,
    refuting_verdicts,
    support,
)
from groundscore.rewards.guards import hack
from groundscore.rewards.options import ConfidenceOptions
from groundscore.rewards.reading import applicable, input_problem, is_abstention, result, unscorable
from groundscore.rewards.truth import grounded_options, score_with_truth


class ConfidencePolicy(RewardPolicy):
    """Paid by evidence: refuted < "not found" = unverified < confirmed; with ground truth, as ``grounded``."""

    name = "confidence"
    description = "no ground truth: refuted < 'not found' = nothing confirmed < confirmed by pixels or agreement"
    Options = ConfidenceOptions
    options: ConfidenceOptions

    def __init__(self, options: PolicyOptions | Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.with_ground_truth = grounded_options(self.options)

    def score(self, report: Report, solution: Solution | None, context: RewardContext) -> RewardResult:
        config, name = context.config, self.name
        if solution is not None:  # ground truth outranks every other evidence (a negative sample included)
            return score_with_truth(report, solution, context, self.with_ground_truth, name)
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
        t, wrong_gap = self.options.reject_below, (config.abstain - config.wrong) * self.options.wrong_shaping
        refuting = support(refuting_verdicts(report, context.confirming))
        if refuting is not None and refuting < t:
            reward = config.wrong + wrong_gap * (refuting / t if t > 0 else 0.0)
            return result(reward, "wrong", f"refuted: the refuting checks score {refuting:.3f}, below {t}", report, name,
                          refuting=refuting)
        confirming = confirming_verdicts(report, context.confirming)
        if not confirming:
            return result(config.abstain, "unverified", NO_CONFIRMING_EVIDENCE, report, name, evidence="none")
        c = confirmation(confirming)
        names = ", ".join(v.verifier for v in confirming)
        if c < t:
            reward = config.wrong + wrong_gap * (c / t if t > 0 else 0.0)
            return result(reward, "wrong", f"the confirming evidence is against the answer ({names}: {c:.3f} < {t})",
                          report, name, evidence=c)
        m = max(self.options.confirm_at, t)
        if c < m:
            return result(config.abstain, "unverified", f"the confirming evidence is too weak to pay ({names}: {c:.3f}, "
                          f"under {m})", report, name, evidence=c)
        # refuting checks only lower: a doubt they raise (a sibling category, say) scales the confirmed part down
        doubt = 1.0 if refuting is None else refuting
        reward = config.abstain + (config.correct - config.abstain) * c * doubt
        why = f"confirmed by {names} ({c:.3f})" + (f", scaled by the refuting checks ({refuting:.3f})" if doubt < 1.0 else "")
        return result(reward, "correct", why, report, name, evidence=c, refuting=refuting)

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


class ConfidenceFallback(RewardPolicy):
    """Base of the policies that need ground truth: a sample without it is scored as ``confidence`` scores it.

    The fallback gets every :class:`ConfidenceOptions` field the policy's
    options have (:func:`confidence_fallback`), so the guards and shaping a
    configuration sets reach it.
    """

    def __init__(self, options: PolicyOptions | Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.without_ground_truth = confidence_fallback(self.options)
