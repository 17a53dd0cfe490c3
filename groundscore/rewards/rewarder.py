"""The host of the reward policies: a chain plus a policy, and the rules every policy obeys.

:class:`Rewarder` verifies samples with the chain, asks the configured policy
for each report's base reward, then applies :func:`apply_contract` (the format
term and the caps that no policy can lift) and never raises.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from groundscore.inputs.samples import coerce_samples
from groundscore.issues import NOT_ACCEPTED
from groundscore.model import Issue, Report
from groundscore.rewards.base import RewardPolicy, RewardResult, Solution
from groundscore.rewards.clarify import clarification_result, guess_result
from groundscore.rewards.confidence import ConfidencePolicy
from groundscore.rewards.context import RewardContext
from groundscore.rewards.evidence import NO_CONFIRMING_EVIDENCE, has_confirming_evidence
from groundscore.rewards.format import FormatPolicy
from groundscore.rewards.grounded import AutoPolicy, GroundedPolicy
from groundscore.rewards.guards import hedge
from groundscore.rewards.iou import IouPolicy
from groundscore.rewards.options import RewardConfig, load_reward_config
from groundscore.rewards.reading import format_score, is_abstention, unchecked, unscorable
from groundscore.rewards.solution import parse_solution

if TYPE_CHECKING:
    from groundscore.chain import Chain

log = logging.getLogger("groundscore.rewards")

def build_policy(config: RewardConfig, policy: type[RewardPolicy] | None = None) -> RewardPolicy:
    """The configured policy with its options validated; a :class:`ValueError` names a bad key.

    Options that came from old top-level keys and mean nothing to this
    policy (``iou_threshold`` for ``format``) are dropped, as they were
    ignored before; a key written under ``options`` must be the policy's.
    """
    cls = policy or get_policy(config.policy)
    fields = cls.Options.model_fields
    options = {k: v for k, v in config.options.items() if k in fields or k not in config.legacy_options}
    try:
        return cls(cls.Options.model_validate(options))
    except ValidationError as exc:
        from groundscore.config import describe_errors

        raise ValueError(f"bad options for reward policy {cls.name!r}: {describe_errors(exc, 'reward.options')}") from exc


BUILTIN_POLICIES: dict[str, type[RewardPolicy]] = {
    cls.name: cls for cls in (AutoPolicy, GroundedPolicy, ConfidencePolicy, IouPolicy, FormatPolicy)
}


def get_policy(name: str) -> type[RewardPolicy]:
    """The policy class registered as ``name`` (built-ins work even with plugins blocked)."""
    try:
        from groundscore.plugins.manager import get_registry

        registered = get_registry().reward_policies
    except Exception:  # noqa: BLE001
        registered = {}
    cls = registered.get(name) or BUILTIN_POLICIES.get(name)
    if cls is None:
        known = sorted({*registered, *BUILTIN_POLICIES})
        raise ValueError(f"unknown reward policy {name!r}; registered: {', '.join(known)}")
    return cls


def apply_contract(
    result: RewardResult, report: Report, context: RewardContext, policy: RewardPolicy | None = None
) -> RewardResult:
    """What the host does to every policy's result: the format term, then the caps no policy can lift.

    The format score is recorded on every result; ``format_weight * format``
    is added to a non-None reward. A clarifying question is then paid by
    the clarification rule (:mod:`groundscore.rewards.clarify`), whatever
    the policy, iou and format included, unless a malformed-answer gate
    failed on it (``schema`` with ``require_tags``: it stays malformed).
    Otherwise, unless ``policy`` reads no verdict
    (:attr:`RewardPolicy.uses_gates`: VLM-R1's ``iou`` and ``format``):

    - **evidence** (:mod:`groundscore.rewards.evidence`): without ground
      truth, an answer that no confirming verifier scored is paid at most
      ``abstain`` (outcome ``unverified``);
    - **refutation**: an answer (not an abstention) with a failed gate is
      paid below ``abstain``, unless the policy's ``use_gates`` is off; a
      hedge (several candidates for one target, :func:`~groundscore.rewards.guards.hedge`)
      is paid ``wrong``, no more than its worst candidate alone;
    - a ``correct`` answer that a ``require_checked`` verifier could not
      check, or that the chain would not accept (``chain.gate_error``, and
      without ground truth ``chain.unverified``), earns at most ``abstain``.

    Last, for every policy: an answer still paid above ``abstain`` on a
    query known to be ambiguous (ground truth with several targets, or the
    group's verdict) is a guess, paid below the clarifying question
    (:func:`~groundscore.rewards.clarify.guess_result`, ``ambiguous_box``).
    """
    config = context.config
    if result.outcome == "unscorable":
        return result
    fmt = format_score(report.parsed, config.format_require_think)
    bonus = config.format_weight * fmt if config.format_weight else 0.0
    reward = result.reward + bonus if result.reward is not None else None
    out = dataclasses.replace(result, reward=reward, format=fmt)
    if out.reward is None:
        return out
    if report.parsed.clarify is not None and not context.malformed(report.failed_gates):
        return clarification_result(out, report, context, bonus)  # a question back to the user: one rule for every policy
    ceiling = config.abstain + bonus
    missing = unchecked(report, config)
    if missing and out.outcome == "correct":
        out = _capped(out, ceiling, f"{', '.join(missing)} could not check this answer", unchecked=missing)
    if policy is None or policy.uses_gates:
        out = _refuted(out, report, context, policy, bonus)
    return guess_result(out, report, context, bonus)  # a box on one target of an ambiguous query: below asking


def _refuted(out: RewardResult, report: Report, context: RewardContext, policy: RewardPolicy | None,
             bonus: float) -> RewardResult:
    """The caps of a policy that reads verdicts: not accepted, no confirming evidence, hedges, failed gates."""
    config = context.config
    ceiling = config.abstain + bonus
    if out.reward is None:
        return out
    refused = not_accepted(report, context)
    if refused is not None and (out.outcome in ("correct", "unverified") or out.reward > ceiling):
        out = _capped(out, ceiling, f"{refused.code}: {refused.message}", not_accepted=refused.code)
    if out.reward > ceiling and not has_confirming_evidence(report, context.confirming, context.grounded):
        out = _capped(out, ceiling, NO_CONFIRMING_EVIDENCE, evidence="none")
    hedged = hedge(report) if getattr(getattr(policy, "options", None), "reject_hedges", True) else None
    if hedged and out.reward > config.wrong + bonus and not is_abstention(report.parsed):
        out = dataclasses.replace(
            out, reward=config.wrong + bonus, outcome="wrong", details={**out.details, "hedge": hedged},
            reason=f"{out.reason}; a hedge ({hedged}): several candidates for one target are paid no more than the worst",
        )
    gates = report.failed_gates
    if gates and out.reward >= ceiling and getattr(getattr(policy, "options", None), "use_gates", True) \
            and not is_abstention(report.parsed):
        out = dataclasses.replace(
            out, reward=config.wrong + bonus, outcome="malformed" if context.malformed(gates) else "hallucination",
            reason=f"{out.reason}; refuted: failed gate(s) {', '.join(gates)}", details={**out.details, "gates": gates},
        )
    return out


def _capped(out: RewardResult, ceiling: float, why: str, **details: Any) -> RewardResult:
    return dataclasses.replace(
        out, reward=min(out.reward if out.reward is not None else ceiling, ceiling), outcome="unverified",
        reason=f"{out.reason}; capped at abstain: {why}", details={**out.details, **details},
    )


def not_accepted(report: Report, context: RewardContext) -> Issue | None:
    """The chain's issue saying this answer may not be paid above ``abstain``, or None.

    ``chain.gate_error`` always counts (the gate might have failed the
    answer); ``chain.unverified`` only without ground truth, where nothing
    else checks the answer (with it, the IoU does).
    """
    for issue in report.parsed.issues:
        if issue.code in NOT_ACCEPTED and (issue.code == "chain.gate_error" or not context.grounded):
            return issue
    return None


def _share_voter_guards(policy: RewardPolicy, chain: Chain) -> None:
    """Give the chain's ``agreement`` verifier the guard options of a policy that pays by the group's vote.

    Why: the vote is taken inside the chain, before the policy runs; without
    this the voters would be judged by the verifier's default lists, and a
    member the policy's custom guards pay wrong would still weigh in the
    consensus that pays the others. A policy opts in with ``voter_guards()``.
    """
    guards = getattr(policy, "voter_guards", None)
    if not callable(guards):
        return
    wanted = guards()
    for verifier in chain.verifiers:
        options = getattr(verifier, "options", None)
        if verifier.name == "agreement" and options is not None and "guards" in type(options).model_fields:
            verifier.options = options.model_copy(update={"guards": wanted})


# -- the rewarder -------------------------------------------------------------------
class Rewarder:
    """A chain plus a reward policy: samples in, one reward per sample out.

    Build once (verifier models load here), call per batch. Never raises on
    any input: a sample that cannot be scored gets ``config.unscorable``.

    >>> from groundscore.rewards.rewarder import Rewarder
    >>> rewarder = Rewarder(chain_config={"verifiers": ["schema"]})
    >>> rewarder.rewards([{"query": "dog", "completion": '[{"bbox_2d": [10, 10, 50, 50], "label": "dog"}]',
    ...                    "coords": "original", "solution": [10, 10, 50, 50]}])
    [1.0]
    """

    def __init__(
        self,
        config: RewardConfig | Mapping[str, Any] | str | Path | None = None,
        *,
        chain: Chain | None = None,
        chain_config: Any = None,
    ) -> None:
        from groundscore.chain import Chain

        self.config = load_reward_config(config)
        self.policy = build_policy(self.config)
        self.chain = chain if chain is not None else Chain(chain_config)
        _share_voter_guards(self.policy, self.chain)
        self.context = RewardContext(
            self.config,
            frozenset(v.name for v in self.chain.verifiers if getattr(v, "malformed_gate", False)),
            frozenset(v.name for v in self.chain.verifiers if getattr(v, "evidence", None) == "confirming"))

    @property
    def verifier_names(self) -> list[str]:
        return self.chain.names

    def score(self, samples: Iterable[Any]) -> list[RewardResult]:
        """One :class:`RewardResult` per sample, in order.

        Args:
            samples: Samples or mappings of their fields (a ``solution`` may be
                a JSON string, as dataset columns hold it), read by
                :func:`groundscore.inputs.samples.coerce_samples`.

        Returns:
            One result per sample; a sample that cannot be read or scored gets
            ``config.unscorable`` with the reason, never an exception.

        Raises:
            TypeError: ``samples`` is a bare ``str``, ``None`` or a number.
        """
        coerced = coerce_samples(samples, solution_parser=parse_solution, strict=self.chain.config.strict)
        valid = [(i, s) for i, (s, issue) in enumerate(coerced) if issue is None]
        results: list[RewardResult | None] = [None] * len(coerced)
        for i, (_, issue) in enumerate(coerced):
            if issue is not None:
                results[i] = unscorable(issue.message, self.config, None, self.config.policy)
        if valid:
            try:
                reports = self.chain.verify([s for _, s in valid])
            except Exception as exc:
                log.warning("the chain failed on a batch of %d: %s: %s", len(valid), type(exc).__name__, exc, exc_info=True)
                reports = None
            for k, (i, sample) in enumerate(valid):
                if reports is None:
                    results[i] = unscorable("the verifier chain failed on this batch", self.config, None, self.config.policy)
                    continue
                results[i] = self._apply(reports[k], sample.solution, sample.image_size, sample.alternatives)
        return [r if r is not None else unscorable("internal error", self.config, None, self.config.policy) for r in results]

    def _apply(
        self, report: Report, solution: Solution | None, image_size: tuple[int, int] | None = None,
        alternatives: list[Solution] | None = None,
    ) -> RewardResult:
        name = self.policy.name
        context = self.context
        ambiguous = bool(alternatives and len(alternatives) > 1)
        if image_size or solution is not None:
            context = dataclasses.replace(context, image_size=image_size, grounded=solution is not None,
                                          ambiguous=ambiguous if solution is not None else None,
                                          targets=len(alternatives) if ambiguous and alternatives else None)
        try:
            if ambiguous and alternatives:  # any one acceptable target is a right answer: the best of them
                scored = [self.policy.score(report, alternative, context) for alternative in alternatives]
                base = max(scored, key=lambda r: -math.inf if r.reward is None else r.reward)
            else:
                base = self.policy.score(report, solution, context)
            result = apply_contract(base, report, context, self.policy)
            if result.reward is not None and not math.isfinite(result.reward):
                return unscorable(f"policy returned a non-finite reward ({result.reward})", self.config, report, name)
        except Exception as exc:
            log.warning("reward policy %r failed: %s: %s", name, type(exc).__name__, exc, exc_info=True)
            return unscorable(f"policy failed: {type(exc).__name__}: {exc}", self.config, report, name)
        report.reward = result.reward
        result.grounded = solution is not None
        return result

    def rewards(self, samples: Iterable[Any]) -> list[float | None]:
        """Just the rewards."""
        return [r.reward for r in self.score(samples)]

    __call__ = rewards

    def close(self) -> None:
        self.chain.close()
