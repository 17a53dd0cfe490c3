"""Scoring against ground truth: matched IoU shaped so that hallucination < "not found" < correct.

Ground truth is the strongest evidence there is, so every policy that pays
evidence pays by it when a sample carries it: ``grounded``/``auto`` always,
``confidence`` and ``consensus`` too (their own rules are for samples
without it; a consensus or a pixel check that disagrees with the ground
truth must not lift a wrong box above "not found"). One function, so that
the three pay a labelled answer alike.
"""

from __future__ import annotations

from groundscore.model import Report
from groundscore.rewards.base import Outcome, PolicyOptions, RewardResult, Solution
from groundscore.rewards.context import RewardContext
from groundscore.rewards.evidence import support
from groundscore.rewards.guards import hack, qualified_absence
from groundscore.rewards.matching import match_boxes
from groundscore.rewards.options import GroundedOptions, RewardConfig
from groundscore.rewards.reading import (
    answer_boxes,
    input_problem,
    is_abstention,
    negative_sample,
    point_hits,
    result,
    unscorable,
)


def grounded_options(options: PolicyOptions) -> GroundedOptions:
    """:class:`GroundedOptions` with every field ``options`` shares with them (the guards, the threshold, the shaping)."""
    if isinstance(options, GroundedOptions):
        return options
    shared = {k: getattr(options, k) for k in GroundedOptions.model_fields if k in type(options).model_fields}
    return GroundedOptions(**shared)


def near_miss(iou: float, threshold: float, shaping: float, config: RewardConfig) -> float:
    """A box under the IoU threshold: below ``abstain``, rising with the overlap (``shaping`` of the wrong..abstain gap)."""
    return config.wrong + (config.abstain - config.wrong) * shaping * (iou / threshold)


def score_with_truth(report: Report, solution: Solution, context: RewardContext, opts: GroundedOptions,
                     name: str) -> RewardResult:
    """The ``grounded`` policy's reward of ``report`` against ``solution`` (``[]``: the target is absent)."""
    config = context.config
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
        return result(near_miss(iou, t, opts.wrong_shaping, config), "wrong", f"IoU {iou:.3f} is below {t}", report, name, iou=iou, pairs=pairs)
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
