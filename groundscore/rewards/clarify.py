"""The clarification rule: what a question back to the user ("do you mean A or B?") is paid, in every policy.

A clarifying question (:attr:`Parsed.clarify <groundscore.model.Parsed.clarify>`,
read by :mod:`groundscore.parse.clarify`) is neither a box nor "not found".
Asking is the right move only when the query does not single out one object,
so the host (:func:`groundscore.rewards.rewarder.apply_contract`) pays it by
what is *known* about the query, from evidence only:

- **known ambiguous**: the ground truth lists several acceptable targets
  (``{"ambiguous": [A, B]}``, :class:`~groundscore.rewards.solution.AmbiguousSolution`),
  or, without ground truth, the group's answers split between well-supported
  objects (the ``agreement`` verdict's ``ambiguous`` detail): paid
  ``clarify_ambiguous``, above ``abstain`` and below ``correct_floor``
  (halfway between them by default);
- **known unambiguous**: the ground truth gives one target (a box, the boxes
  of a multi-object query, or ``[]``: the target is absent): paid
  ``clarify_unambiguous``, below ``abstain`` (halfway between ``wrong`` and
  ``abstain`` by default);
- **unknown** (no ground truth, no group verdict of ambiguity): exactly ``abstain``.

A box (or point) answer to a known-ambiguous query is a **guess**
(:func:`guess_result`, ``ambiguous_box = "guess"``, the default): it lands
on one acceptable target but cannot know which object the user meant, so
whatever the policy paid it above ``abstain`` is mapped, monotonically, into
:attr:`RewardConfig.guess_range <groundscore.rewards.options.RewardConfig.guess_range>`:
above ``abstain`` (it is not refuted) and below ``clarify_ambiguous``
(asking is the better move). Without ground truth the group's verdict of
ambiguity makes the box a guess too: an agreement-confirmed box on one of
two well-supported objects. ``ambiguous_box = "correct"`` pays such a box
as a correct answer (the behaviour before).

``clarify_ambiguous < correct_floor`` (checked by
:class:`~groundscore.rewards.options.RewardConfig`) means asking on every
question is never better than answering right; ``clarify_unambiguous <
abstain`` means asking where the query is clear is worse than admitting
"not found". The format term is added as for every answer. A clarifying
question that fails a malformed-answer gate (``schema`` with ``require_tags``
and no tags) is not paid by this rule: it is malformed, as a box would be.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from groundscore.model import Report
from groundscore.rewards.base import RewardResult
from groundscore.rewards.context import RewardContext
from groundscore.rewards.reading import is_abstention

Ambiguity = Literal["ambiguous", "unambiguous", "unknown"]


def group_ambiguous(report: Report) -> bool:
    """The group's answers split between well-supported objects (the ``agreement`` verdict says ``ambiguous``)."""
    verdict = report.verdict("agreement")
    return verdict is not None and verdict.details.get("ambiguous") is True


def ambiguity(report: Report, context: RewardContext) -> tuple[Ambiguity, str]:
    """What the evidence says about the query: ambiguous, unambiguous or unknown, and from what."""
    if context.grounded:
        if context.ambiguous:
            return "ambiguous", "the ground truth lists several acceptable targets"
        return "unambiguous", "the ground truth gives one target"
    if group_ambiguous(report):
        return "ambiguous", "the group's answers split between well-supported objects"
    return "unknown", "no ground truth and no group verdict of ambiguity"


def clarification_result(result: RewardResult, report: Report, context: RewardContext, bonus: float) -> RewardResult:
    """The rule's reward for a clarifying question (whatever the policy computed), with the format ``bonus`` added."""
    config = context.config
    clarify = report.parsed.clarify
    known, why = ambiguity(report, context)
    value = {"ambiguous": config.clarify_ambiguous_reward, "unambiguous": config.clarify_unambiguous_reward}.get(
        known, config.abstain)
    candidates = list(clarify.candidates) if clarify is not None else []
    named = f" (candidates: {'; '.join(candidates)})" if candidates else ""
    return dataclasses.replace(
        result, reward=value + bonus, outcome="clarify",
        reason=f"asks which object is meant{named}; {known}: {why}",
        details={**result.details, "clarify": known, "candidates": candidates, "policy_outcome": result.outcome},
    )


def _targets(report: Report, context: RewardContext) -> int | None:
    """How many objects the query could mean: the ground truth's targets, or the group's candidate objects."""
    if context.grounded:
        return context.targets
    verdict = report.verdict("agreement")
    candidates = verdict.details.get("candidates") if verdict is not None else None
    return len(candidates) if isinstance(candidates, list) and candidates else None


def guess_result(result: RewardResult, report: Report, context: RewardContext, bonus: float) -> RewardResult:
    """A box answer to a known-ambiguous query, paid as a guess: in ``guess_range``, monotone in the policy's reward.

    Applies to an answer (not a clarification, not an abstention: in
    practice a box or a point) that the policy and the host's caps left above ``abstain``
    (``bonus``, the format term, is set aside and added back); anything
    else is returned unchanged, and so is everything with
    ``ambiguous_box = "correct"``. ``t = (reward - abstain) / (correct -
    abstain)``, clipped to 1, places the answer in ``guess_range``: a better
    box is still a better guess, but the best is paid below asking.
    """
    config = context.config
    parsed = report.parsed
    if config.ambiguous_box != "guess" or result.reward is None or parsed.clarify is not None:
        return result
    base = result.reward - bonus
    if base <= config.abstain or is_abstention(parsed):
        return result
    known, why = ambiguity(report, context)
    if known != "ambiguous":
        return result
    low, high = config.guess_range
    t = min(1.0, (base - config.abstain) / (config.correct - config.abstain))
    value = low + (high - low) * t
    k = _targets(report, context)
    among = f"{k} targets" if k else "several targets"
    return dataclasses.replace(
        result, reward=value + bonus,
        reason=f"{result.reason}; a guess among {among} ({why}): the answer cannot know which object was meant, "
               f"paid {value:.3f} (below asking, {config.clarify_ambiguous_reward:.3f})",
        details={**result.details, "guess": {"targets": k, "policy_reward": base, "ambiguity": why}},
    )
