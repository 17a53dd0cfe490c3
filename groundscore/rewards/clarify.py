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
