"""The reward-policy contract: what a policy plugin implements and returns.

Low in the package on purpose: the plugin host imports :func:`as_policy` from
here to register policies, so nothing in this module may import the host, the
chain or any policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from groundscore.model import Report

if TYPE_CHECKING:
    from groundscore.rewards.context import RewardContext

Outcome = Literal["correct", "abstain", "clarify", "wrong", "hallucination", "malformed", "unscorable", "unverified"]
Solution = list[list[float]]


class PolicyOptions(BaseModel):
    """Options every policy accepts; a policy's ``Options`` subclasses this.

    ``extra="forbid"`` makes a typo in ``[reward.options]`` an error naming
    the bad key, as verifier options do.
    """

    model_config = ConfigDict(extra="forbid")


@dataclass
class RewardResult:
    """One completion's reward and why.

    ``outcome`` is ``correct``, ``abstain`` (explicit "not found"),
    ``wrong`` (IoU below threshold, or a box on a negative sample),
    ``hallucination`` (a gate failed), ``malformed`` (a malformed-answer gate
    such as schema failed), ``unverified`` (right by IoU or confidence, but a
    verifier listed in ``require_checked`` could not check it, so the reward
    is capped at ``abstain``), ``clarify`` (the answer asks which object is
    meant: paid by the host's clarification rule,
    :mod:`groundscore.rewards.clarify`) or ``unscorable``. ``iou`` is the matched IoU
    (None without ground truth), ``format`` the format score, ``grounded``
    whether ground truth was known.
    """

    reward: float | None
    outcome: Outcome
    reason: str
    policy: str
    iou: float | None = None
    confidence: float = 0.0
    format: float = 0.0
    report: Report | None = None
    details: dict[str, Any] = field(default_factory=dict)
    grounded: bool = False  # ground truth was known (``correct`` was checked against it)

    @property
    def correct(self) -> bool:
        return self.outcome == "correct"


class RewardPolicy:
    """Base class of reward policies. Subclass, set ``name``, implement :meth:`score`.

    ``Options`` is a pydantic model (subclass :class:`PolicyOptions`) of the
    policy's own settings; the policy is built with the validated
    ``RewardConfig.options`` as ``self.options``. :meth:`score` returns the
    *base* reward: the host adds the format term and applies
    ``require_checked`` afterwards (see the ``register_reward_policies``
    hookspec), so a policy never does either.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Options: ClassVar[type[PolicyOptions]] = PolicyOptions
    uses_gates: ClassVar[bool] = True
    """False for a policy that reads no verdict (VLM-R1's ``iou`` and ``format``): the host does not cap
    its rewards for what the verifiers could not check."""

    def __init__(self, options: PolicyOptions | Mapping[str, Any] | None = None) -> None:
        if options is None:
            options = self.Options()
        elif not isinstance(options, self.Options):
            options = self.Options.model_validate(dict(options) if isinstance(options, Mapping) else options.model_dump())
        self.options = options

    def score(self, report: Report, solution: Solution | None, context: RewardContext) -> RewardResult:
        """One completion's base reward (``context.config`` holds the shared values)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} options={self.options!r}>"


def as_policy(policy: Any, *legacy: Any) -> type[RewardPolicy]:
    """What ``register`` accepts -> a policy class.

    A :class:`RewardPolicy` subclass (or instance: its class) is the form
    to use. The older ``register(name, fn)`` with ``fn(report, solution,
    config) -> RewardResult`` is still read, as a policy without options.
    """
    if isinstance(policy, RewardPolicy):
        policy = type(policy)
    if isinstance(policy, type) and issubclass(policy, RewardPolicy):
        if not policy.name:
            raise ValueError(f"reward policy {policy!r} has no name")
        return policy
    if isinstance(policy, str) and len(legacy) == 1 and callable(legacy[0]):
        fn = legacy[0]

        def score(self: RewardPolicy, report: Report, solution: Solution | None, context: RewardContext) -> RewardResult:
            return fn(report, solution, context.config)  # type: ignore[no-any-return]

        return type(f"FunctionPolicy_{policy}", (RewardPolicy,), {
            "name": policy, "description": (fn.__doc__ or "").strip().split("\n")[0], "score": score,
            "__module__": getattr(fn, "__module__", __name__),
        })
    raise TypeError(f"register_reward_policies: {policy!r} is not a groundscore.rewards.RewardPolicy subclass")
