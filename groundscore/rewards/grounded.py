"""The ``grounded`` policy (and ``auto``, the default): ground truth known, IoU shaped so that
hallucination < "not found" < correct; without ground truth, as ``confidence``."""

from __future__ import annotations

from collections.abc import Callable

from groundscore.model import Report
from groundscore.plugins.hookspecs import hookimpl
from groundscore.rewards.base import Outcome, RewardResult, Solution
from groundscore.rewards.confidence import ConfidenceFallback
from groundscore.rewards.context import RewardContext
from groundscore.rewards.evidence import support
from groundscore.rewards.guards import hack, qualified_absence
from groundscore.rewards.matching import match_boxes
from groundscore.rewards.options import GroundedOptions
from groundscore.rewards.reading import (
    answer_boxes,
    input_problem,
    is_abstention,
    negative_sample,
    point_hits,
    result,
    unscorable,
)


class GroundedPolicy(ConfidenceFallback):
    """Ground truth known: IoU, shaped so that hallucination < "not found" < correct."""

    name = "grounded"
    description = "ground truth known: matched IoU, shaped so that hallucination < 'not found' < correct"
    Options = GroundedOptions
    options: GroundedOptions

    def score(self, report: Report, solution: Solution | None, context: RewardContext) -> RewardResult:
        if solution is None:
            return self.without_ground_truth.score(report, None, context)
        config, opts, name = context.config, self.options, self.name
        problem = input_problem(report, solution)
        if problem:
            return unscorable(problem, config, report, name)
        if not solution:
            return negative_sample(report, context, name)
        parsed = report.parsed
        gates = report.failed_gates
        if is_abstention(parsed):
            return result(config.abstain, "abstain", "explicit 'not found' while the target is present", report, name, iou=0.0)
        if context.malformed(gates) or (not parsed.boxes and not parsed.points):
            why = "no well-formed answer" + (f" (failed gate(s): {', '.join(gates)})" if gates else "")
            return result(config.wrong, "malformed", why, report, name, iou=0.0)
        if parsed.boxes:
            iou, pairs = match_boxes(answer_boxes(parsed), solution, opts.matching, opts.iou_formula)
        else:
            iou, pairs = point_hits(parsed, solution), []
        if opts.use_gates and gates:
            return result(config.wrong, "hallucination", f"failed gate(s): {', '.join(gates)}", report, name, iou=iou, gates=gates)
        exploit = hack(report, opts, grounded=True)
        if exploit:
            outcome: Outcome = "malformed" if exploit[0] == "hack.tags" else "wrong"
            return result(config.wrong, outcome, exploit[1], report, name, iou=iou, hack=exploit[0])
        t = opts.iou_threshold
        if iou < t:
            reward = config.wrong + (config.abstain - config.wrong) * opts.wrong_shaping * (iou / t)
            return result(reward, "wrong", f"IoU {iou:.3f} is below {t}", report, name, iou=iou, pairs=pairs)
        if opts.iou_mode == "binary":
            reward = config.correct
        else:
            reward = config.correct_floor + (config.correct - config.correct_floor) * ((iou - t) / (1.0 - t))
        if opts.confidence_weight:
            # Shrink towards a floor that stays above "not found": the verifiers
            # can lower a correct box's reward, never below honesty.
            floor = (config.abstain + config.correct_floor) / 2
            w = opts.confidence_weight
            # the verdicts' own combined score, not Report.confidence: that may read priors (box size) a policy could move
            checked = support(report.verdicts)
            reward = floor + (reward - floor) * ((1.0 - w) + w * (1.0 if checked is None else checked))
        affirmed = qualified_absence(report, opts)
        if affirmed:  # the thinking doubts the query's wording of an object it found: correct, not full marks
            reward = min(reward, config.correct_floor)
            return result(reward, "correct", f"IoU {iou:.3f}; capped at correct_floor: the thinking denies a description "
                          f"of an object it says is there ({affirmed[:80]!r})", report, name, iou=iou, pairs=pairs,
                          capped="qualified_absence")
        return result(reward, "correct", f"IoU {iou:.3f}", report, name, iou=iou, pairs=pairs)


class AutoPolicy(GroundedPolicy):
    """``grounded`` with ground truth, ``confidence`` without (the default)."""

    name = "auto"
    description = "grounded with ground truth, confidence without"


@hookimpl
def register_reward_policies(register: Callable[..., None]) -> None:
    register(AutoPolicy)
    register(GroundedPolicy)
