"""What a policy reads besides the report: the shared values, the malformed-answer gates, the sample's setting."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from groundscore.rewards.options import RewardConfig


def _registered_with(attribute: str, value: object) -> frozenset[str]:
    try:
        from groundscore.plugins.manager import get_registry

        verifiers = get_registry().verifiers
    except Exception:  # noqa: BLE001 - a broken host: no verifier is known
        return frozenset()
    return frozenset(name for name, cls in verifiers.items() if getattr(cls, attribute, None) == value)


def builtin_malformed_gates() -> frozenset[str]:
    """Names of the registered verifiers whose failed gate means a malformed answer."""
    return _registered_with("malformed_gate", True)


def builtin_confirming() -> frozenset[str]:
    """Names of the registered verifiers whose score is confirming evidence (``evidence = "confirming"``)."""
    return _registered_with("evidence", "confirming")


@dataclass(frozen=True)
class RewardContext:
    """What a policy reads besides the report: the shared values and the malformed-answer gates.

    ``malformed_gates`` names the verifiers (of the chain in use) whose
    failed gate makes an answer *malformed*, read from each verifier's
    :attr:`~groundscore.verifiers.base.Verifier.malformed_gate`;
    ``confirming`` names those whose score is confirming evidence
    (:attr:`~groundscore.verifiers.base.Verifier.evidence`).
    """

    config: RewardConfig = field(default_factory=RewardConfig)
    malformed_gates: frozenset[str] = field(default_factory=builtin_malformed_gates)
    confirming: frozenset[str] = field(default_factory=builtin_confirming)
    image_size: tuple[int, int] | None = None  # this sample's (width, height), where known
    grounded: bool = False  # this sample has ground truth (its IoU checks the answer)
    ambiguous: bool | None = None  # ground truth lists several acceptable targets (True), one target set (False), none (None)
    targets: int | None = None  # how many acceptable targets the ground truth lists, where it lists several

    def malformed(self, gates: Iterable[str]) -> bool:
        """True when one of the failed ``gates`` says the answer is malformed."""
        return any(g in self.malformed_gates for g in gates)
