"""The ``consensus`` reward policy: the group's verified majority as pseudo ground truth.

Why: test-time RL pays the majority answer when there is no label; for math
answers that is known, for boxes nobody offers it. Here the consensus of the
group's voters (members that gave a box or "not found" and failed no gate,
see :mod:`groundscore.verifiers.agreement`) plays the part of the solution,
and the usual honesty order holds::

    a box against the consensus  <  "not found"  <  agreeing with the consensus

- A failed gate is wrong (``config.wrong``), whatever the group says; so is
  an answer the ``grounded`` policy's guards reject without ground truth
  (:func:`groundscore.rewards.rewarder.hack`: several ``<answer>`` blocks, duplicate
  boxes, a thinking that says the object is absent, a whole-image box...):
  a group that copies a trick must not make it the consensus that pays.
- An explicit "not found" earns ``config.abstain``, even when the group
  agrees on "not found": a policy that always abstains must not be paid in
  full, so "not found" is the safe answer, never the winning one.
- A box is scored against the consensus boxes as the ``grounded`` policy
  scores it against a solution: at IoU >= ``iou_threshold`` from
  ``correct_floor`` rising to ``correct``; below it a near-miss credit that
  never reaches the "not found" reward. A point answer (GUI) is scored the
  same way with the agreement verifier's point similarity in place of the
  IoU (1 on the consensus point or inside the consensus box).
- Every voter is one vote, copies included: the members of a group are
  independent samples of the policy, and an exact copy and a copy a few
  pixels apart must count alike (else jittering coordinates would buy
  votes). When the consensus is weak (it holds under ``min_support`` of the
  voters, or fewer than two) nobody is paid more than the abstain reward:
  a box earns at most ``wrong + (abstain - wrong) * wrong_shaping`` scaled by
  its agreement, so a split group teaches "say you are unsure", never "guess".
- An answer without an agreement verdict (ungrouped, group of one) falls
  back to the ``confidence`` policy.

This policy is for training without labels. A sample that carries ground
truth is paid by it, as ``grounded`` pays it (:mod:`groundscore.rewards.truth`):
a majority that disagrees with the ground truth must not pay a wrong box
above "not found". Its failure mode without labels is a confidently wrong majority:
when most members agree on the wrong object, the right minority is paid as
wrong; docs/groups.md gives the measured rates on the REC logs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import Field

from groundscore.model import Report
from groundscore.plugins.hookspecs import hookimpl
from groundscore.rewards.base import Outcome, PolicyOptions, RewardPolicy, RewardResult, Solution
from groundscore.rewards.confidence import confidence_fallback
from groundscore.rewards.context import RewardContext
from groundscore.rewards.evidence import refuting_verdicts, support
from groundscore.rewards.guards import hack
from groundscore.rewards.options import GuardOptions, RewardConfig
from groundscore.rewards.reading import result
from groundscore.rewards.rewarder import apply_contract
from groundscore.rewards.truth import grounded_options, score_with_truth
from groundscore.verifiers.agreement import _is_absent, matched_iou, shape_similarity

MIN_SUPPORT = 0.5
"""Consensus share of the voters below which nobody earns more than the abstain reward."""


def is_strong(consensus: Mapping[str, Any], min_support: float = MIN_SUPPORT) -> bool:
    """Whether a consensus (the agreement verdict's ``consensus``) is strong enough to pay above "not found".

    It must hold ``min_support`` of the voters, and at least two of them.
    Every voter counts, copies included: the members of a group are
    independent samples, and an exact copy and a copy a few pixels apart are
    the same vote (one rule for copies; docs/what-optimising-does.md).
    """
    share = float(consensus.get("share", 0.0))
    return share >= min_support and int(consensus.get("size", 0)) >= 2


class ConsensusOptions(GuardOptions):
    """The ``consensus`` policy's settings: the guards of the ``grounded`` policy without ground truth, and the vote.

    ``accept_points`` is off by default, as in every policy: a point answer to
    a box task is wrong; set it for click tasks (GUI), where a click is
    compared with the consensus point or box.
    """

    min_support: float = Field(default=MIN_SUPPORT, gt=0.0, le=1.0, description="Consensus share of the voters below which nobody earns more than the abstain reward.")
    iou_threshold: float = Field(default=0.5, gt=0.0, lt=1.0, description="IoU with the consensus at and above which a box agrees.")
    wrong_shaping: float = Field(default=0.5, ge=0.0, lt=1.0, description="Share of the wrong..abstain gap a near miss can earn.")
    reject_below: float = Field(default=0.25, ge=0.0, lt=1.0, description="Ungrouped samples (confidence policy): confidence under this is wrong.")


class ConsensusPolicy(RewardPolicy):
    """Without ground truth: the consensus of the group's verified answers is the pseudo ground truth.

    Returns the base reward; the host adds the format term and the
    ``require_checked`` cap, as for every policy. Samples without an
    agreement verdict (ungrouped, a group of one) are scored by the
    ``confidence`` policy.
    """

    name = "consensus"
    description = "no ground truth: the group's consensus box as pseudo ground truth; below min_support nobody beats 'not found'"
    Options = ConsensusOptions
    options: ConsensusOptions

    def __init__(self, options: PolicyOptions | Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.without_group = confidence_fallback(self.options)
        self.with_ground_truth = grounded_options(self.options)

    def voter_guards(self) -> dict[str, Any]:
        """This policy's guard options, which decide who votes (``AgreementOptions.guards``).

        The :class:`~groundscore.rewards.rewarder.Rewarder` hands them to its
        chain's ``agreement`` verifier: a member these guards pay wrong (a
        custom ``min_side``, ``max_coverage``, ``reject_issues`` ...) must not
        be part of the consensus that pays the others.
        """
        return {name: getattr(self.options, name) for name in GuardOptions.model_fields}

    def score(self, report: Report, solution: Solution | None, context: RewardContext) -> RewardResult:
        config, opts, name = context.config, self.options, self.name
        if solution is not None:  # ground truth outranks the group's vote
            return score_with_truth(report, solution, context, self.with_ground_truth, name)
        agreement = report.verdict("agreement")
        if agreement is None or agreement.score is None:
            fallback = self.without_group.score(report, None, context)
            return dataclasses.replace(fallback, details={**fallback.details, "consensus": "no agreement verdict: confidence policy"})
        wrong, abstain, floor, correct = config.wrong, config.abstain, config.correct_floor, config.correct
        shaping, t, min_support = opts.wrong_shaping, opts.iou_threshold, opts.min_support
        details = agreement.details
        consensus = details.get("consensus") or {}
        share = float(consensus.get("share", 0.0))
        distinct = int(consensus.get("distinct", consensus.get("size", 0)))
        info = {"support": details.get("support"), "consensus_share": share, "voters": details.get("voters"),
                "consensus_distinct": distinct, "distinct_voters": details.get("distinct_voters"),
                "ambiguous": details.get("ambiguous", False)}

        def done(reward: float, outcome: Outcome, reason: str, iou: float | None = None) -> RewardResult:
            return result(reward, outcome, reason, report, name, iou=iou, **info)

        gates = report.failed_gates
        if gates:
            return done(wrong, "malformed" if context.malformed(gates) else "hallucination", f"failed gate(s): {', '.join(gates)}")
        strong = is_strong(consensus, min_support)
        if _is_absent(report.parsed):
            agreed = f", as {share:.0%} of the group says (never more: always abstaining must not pay)" if (
                strong and consensus.get("absent")) else ""
            return done(abstain, "abstain", f"explicit 'not found'{agreed}")
        boxes: list[tuple[float, ...]] = [b.xyxy for b in report.parsed.boxes]
        points = [(p.x, p.y) for p in report.parsed.points]
        if not boxes and not points:
            return done(wrong, "malformed", "no box, no point and no 'not found' answer")
        exploit = hack(report, opts, grounded=False, image_size=context.image_size)
        if exploit:
            outcome: Outcome = "malformed" if exploit[0] == "hack.tags" else "wrong"
            return result(wrong, outcome, exploit[1], report, name, hack=exploit[0], **info)
        near_miss = abstain - wrong
        if not strong:
            reward = wrong + near_miss * shaping * float(details.get("mean_iou", 0.0))
            return done(reward, "abstain", f"no consensus (the largest cluster holds {share:.0%} of the voters; it needs "
                        f"{min_support:.0%} and two voters): paid below 'not found'")
        if consensus.get("absent"):
            return done(wrong, "wrong", f"a box where {share:.0%} of the group says 'not found'", iou=0.0)
        target = [tuple(b) for b in (consensus.get("boxes") or []) + (consensus.get("points") or [])]
        radius = details.get("point_radius")
        if (points or consensus.get("points")) and radius:
            # point answers: the agreement verifier's similarity (1 on the point or inside the box, t at the radius)
            iou = shape_similarity(boxes + points, target, float(radius), t)
        else:
            iou = matched_iou(boxes, target)
        if iou < t:
            return done(wrong + near_miss * shaping * (iou / t), "wrong", f"IoU {iou:.3f} with the consensus, below {t}", iou=iou)
        reward = floor + (correct - floor) * ((iou - t) / (1.0 - t))
        # the refuting checks only lower: a doubt they raise (a sibling-category label) scales the part above abstain
        doubt = support(refuting_verdicts(report, context.confirming))
        if doubt is not None and doubt < 1.0:
            reward = abstain + (reward - abstain) * doubt
        return done(reward, "correct", f"IoU {iou:.3f} with the consensus of {share:.0%} of the group"
                    + (f", scaled by the refuting checks ({doubt:.3f})" if doubt is not None and doubt < 1.0 else ""), iou=iou)


@hookimpl
def register_reward_policies(register: Callable[..., None]) -> None:
    register(ConsensusPolicy)


def consensus_policy(report: Report, solution: Solution | None, config: RewardConfig) -> RewardResult:
    """One report scored as the Rewarder scores it with ``policy = "consensus"`` (default options)."""
    ambiguous = len(getattr(solution, "alternatives", None) or []) > 1 if solution is not None else None
    context = RewardContext(config=config, grounded=solution is not None, ambiguous=ambiguous)
    return apply_contract(ConsensusPolicy().score(report, solution, context), report, context)
