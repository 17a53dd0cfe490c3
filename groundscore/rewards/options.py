"""Policy options and :class:`RewardConfig`: the values every policy shares, validated.

A typo in ``[reward]`` or ``[reward.options]`` names the bad key; the
honesty order ``wrong < abstain < correct_floor <= correct`` is checked here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from groundscore.config import plain_data
from groundscore.issues import GUARD_DUPLICATE_IOU, GUARD_FINDINGS, GUARD_ISSUES
from groundscore.rewards.base import PolicyOptions

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


class PointOptions(PolicyOptions):
    """Whether a point answer counts: shared by every policy that compares answers with ground-truth boxes."""

    accept_points: bool = Field(default=False, description="A point_2d answer counts (GUI clicks; the click policy is "
                                "the GUI reward); off: a point answer to a box task earns at most the abstain reward.")


class IouOptions(PointOptions):
    """How answered boxes are compared with the solution."""

    iou_threshold: float = Field(default=0.5, gt=0.0, lt=1.0, description="IoU at and above which a box counts as correct.")
    iou_formula: Literal["area", "vlm_r1"] = Field(default="area", description="area: plain IoU; vlm_r1: VLM-R1's inclusive-pixel formula.")
    matching: Literal["hungarian", "greedy", "first"] = Field(default="hungarian", description="How answered boxes are paired with solution boxes.")


class IouPolicyOptions(IouOptions):
    """The ``iou`` policy's settings: VLM-R1's IoU on the honesty scale, or exactly VLM-R1's (``plain``)."""

    plain: bool = Field(
        default=False,
        description="Exactly VLM-R1's accuracy reward: the IoU in [0, 1] for any box, 0 for 'not found'. Off (default): a "
                    "box under iou_threshold is paid below abstain (wrong + (abstain - wrong) * wrong_shaping * IoU / "
                    "iou_threshold) and 'not found' is paid abstain, so that a policy never learns to prefer a wrong box "
                    "that half-covers the target to saying it found nothing.")
    wrong_shaping: float = Field(default=0.5, ge=0.0, lt=1.0, description="Share of the wrong..abstain gap a near miss can earn (not plain).")


# Parser issue codes that mean the answer was not read from one well-placed <answer>: two
# <answer> blocks (or one nested in another), <answer> before or inside <think>, a closing tag
# without its opening one, or a box found only in the thinking or elsewhere in the text.
DEFAULT_REJECT_ISSUES: tuple[str, ...] = GUARD_ISSUES  # one list, read by the agreement verifier too


class GuardOptions(PointOptions):
    """Checks against reward hacking, shared by ``confidence`` and ``grounded`` (docs/reward-hacking.md).

    Each makes an answer *wrong* (below "not found") whatever its IoU or
    confidence, because it is a way to reach a high reward without a
    checkable answer.
    """

    min_side: float = Field(default=0.01, ge=0.0, lt=1.0,
                            description="Without ground truth: a box narrower than this share of the image (width, or height scaled) is wrong.")
    reject_issues: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REJECT_ISSUES),
        description="Parser issue codes (prefixes) that make the answer malformed: the answer was not read from one well-placed <answer>.")
    reject_outside: list[str] = Field(
        default_factory=lambda: ["answer.outside_tags"],
        description="Issue codes rejected only where the completion has an <answer> tag (a box outside the <answer> the model wrote).")
    reject_hedges: bool = Field(
        default=True,
        description="A hedge (several candidates for one target: duplicate keys, several JSON lists or <answer> blocks, "
                    "clicks at different places) is paid wrong, no more than its worst candidate alone (applied by the host "
                    "to every policy whose options do not turn it off).")
    duplicate_iou: float = Field(default=GUARD_DUPLICATE_IOU, gt=0.0, le=1.0, description="Two answer boxes overlapping this much (IoU) are one object boxed twice: wrong.")
    reject_findings: list[str] = Field(
        default_factory=lambda: list(GUARD_FINDINGS),
        description="consistency findings that make the answer wrong (the thinking contradicts the box, text written for the grader).")
    reject_findings_without_truth: list[str] = Field(
        # With ground truth the IoU is the check and these stay scores: the original Qwen2.5-VL
        # often restates the query as its thinking and still boxes the right object (0.6% of the
        # IoU-correct answers of the REC logs). Without ground truth the thinking is the only evidence.
        default_factory=lambda: ["thinking_copies_query", "thinking_repetitive"],
        description="consistency findings that make the answer wrong only where there is no ground truth.")
    max_coverage: float = Field(default=0.6, gt=0.0, le=1.0,
                                description="Without ground truth: a box covering this share of the image or more localises nothing checkable: wrong.")
    qualified_absence: Literal["cap", "reject"] = Field(
        # On the REC logs 40% of the IoU-correct answers flagged absent_but_boxed deny a description
        # ("no bus in the background on the right") after saying such an object is there ("only one
        # bus visible, in the foreground"): the model found the object and doubts the query's wording.
        default="cap",
        description="With ground truth, an absent_but_boxed whose thinking affirms elsewhere that such an object is there "
                    "(it denies a description, not the object): cap: paid by IoU, at most correct_floor; reject: wrong. "
                    "A flat absence is always wrong, and without ground truth every absent_but_boxed is.")


class ConfidenceOptions(GuardOptions):
    """The ``confidence`` policy's settings."""

    reject_below: float = Field(default=0.25, ge=0.0, lt=1.0, description="Without ground truth: refuting checks (or confirming evidence) scoring under this refute the answer, paid below abstain.")
    wrong_shaping: float = Field(default=0.5, ge=0.0, lt=1.0, description="Share of the wrong..abstain gap a near miss can earn.")
    confirm_at: float = Field(
        default=0.25, gt=0.0, lt=1.0,
        description="Without ground truth: confirming evidence (the share of a group that gives the answer, itself included; "
                    "a pixel check's score) must reach this to pay above abstain, and then pays abstain + (correct - abstain) "
                    "* evidence; from reject_below up to it the answer is paid exactly abstain (by default, and whenever it is below reject_below, the band is empty).")


class GroundedOptions(IouOptions, ConfidenceOptions):
    """The ``grounded`` (and ``auto``) policy's settings; ``reject_below`` applies to samples without ground truth."""

    iou_mode: Literal["continuous", "binary"] = Field(default="continuous", description="binary: every correct box earns `correct`.")
    use_gates: bool = Field(default=True, description="A failed gate verdict makes the answer wrong whatever its IoU.")
    confidence_weight: float = Field(default=0.0, ge=0.0, le=1.0, description="With ground truth: scale correct rewards by (1-w) + w * the verdicts' combined score (never Report.confidence, which may read priors).")


# Keys that RewardConfig accepted at its top level before policies had their own options.
_LEGACY_OPTION_KEYS = frozenset({*GroundedOptions.model_fields})


class RewardConfig(BaseModel):
    """How reports become rewards: the values every policy shares, the policy, its options.

    Validated: a typo names the bad key. The values must keep the honesty
    order ``wrong < abstain < correct_floor <= correct``, and for answers to
    ambiguous queries ``abstain < guess < clarify_ambiguous < correct_floor``
    (``ambiguous_box = "guess"``); the validator refuses a configuration
    that breaks it. The policy's own settings go in
    ``options`` (``[reward.options]`` in TOML) and are validated against the
    policy's ``Options`` when a :class:`Rewarder` is built; the old top-level
    spellings (``iou_threshold = 0.7``) are still read into ``options``.
    """

    model_config = ConfigDict(extra="forbid")

    policy: str = Field(default="auto", description="Registered policy name: auto, grounded, confidence, iou, format, or a plugin's.")
    options: dict[str, Any] = Field(default_factory=dict, description="The policy's own options, validated against its Options model.")
    correct: float = Field(default=1.0, description="Reward of a perfect answer (IoU 1, or confidence 1).")
    correct_floor: float = Field(default=0.5, description="Reward of a correct answer exactly at the IoU threshold.")
    abstain: float = Field(default=0.25, description="Reward of an explicit 'not found' / empty answer when the target is present or unknown.")
    wrong: float = Field(default=0.0, description="Reward of a wrong, hallucinated or malformed answer.")
    clarify_ambiguous: float | None = Field(
        default=None, description="Reward of a clarifying question ('do you mean A or B?') where the query is known to be "
        "ambiguous (ground truth lists several acceptable targets, or the group's answers split): above abstain, below "
        "correct_floor. None: halfway between them (0.375 with the defaults).")
    clarify_unambiguous: float | None = Field(
        default=None, description="Reward of a clarifying question where ground truth shows one target: below abstain, "
        "at least wrong. None: halfway between wrong and abstain (0.125 with the defaults). Where nothing is known "
        "about the query, a clarifying question earns exactly abstain.")
    ambiguous_box: Literal["guess", "correct"] = Field(
        default="guess", description="A box (or point) on one target of a query known to be ambiguous (ground truth "
        "lists several acceptable targets, or the group's answers split): guess: it cannot know which object the user "
        "meant, so the host pays it between abstain and clarify_ambiguous (monotone in what the policy paid), below "
        "asking; correct: paid as a correct answer, as before.")
    format_weight: float = Field(default=0.0, ge=0.0, description="The host adds format_weight * format score (0 or 1) to every reward.")
    format_require_think: bool = Field(default=True, description="The format score needs <think> as well as <answer>.")
    unscorable: float | None = Field(default=None, description="Returned where a sample cannot be scored (None where the host accepts it).")
    require_checked: list[str] = Field(
        default_factory=list,
        description=(
            "Verifiers that must give a score on a box answer. Where one gives None (no label for "
            "label_match, no <think> for consistency), the host caps the reward at `abstain`, so a policy "
            "cannot dodge a check by leaving out what it checks."
        ),
    )
    legacy_options: list[str] = Field(default_factory=list, exclude=True, repr=False,
                                      description="Which `options` came from old top-level keys (read, not written).")

    @model_validator(mode="before")
    @classmethod
    def _legacy_keys(cls, data: Any) -> Any:
        """``iou_threshold = 0.7`` at the top level, as before policies had options: moved into ``options``."""
        if not isinstance(data, Mapping):
            return data
        legacy = [k for k in data if k in _LEGACY_OPTION_KEYS]
        if not legacy:
            return data
        data = dict(data)
        options = dict(data.get("options") or {})
        for key in legacy:
            value = data.pop(key)
            options.setdefault(key, value)
        data["options"] = options
        data["legacy_options"] = [*data.get("legacy_options", []), *legacy]
        return data

    @model_validator(mode="after")
    def _honest_order(self) -> RewardConfig:
        values = {"wrong": self.wrong, "abstain": self.abstain, "correct_floor": self.correct_floor, "correct": self.correct}
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if bad:
            raise ValueError(f"reward values must be finite, got {bad}")
        if not (self.wrong < self.abstain < self.correct_floor <= self.correct):
            raise ValueError(
                "rewards must keep wrong < abstain < correct_floor <= correct "
                f"(hallucination costs more than honesty), got {values}"
            )
        asks = {"clarify_unambiguous": self.clarify_unambiguous_reward, "clarify_ambiguous": self.clarify_ambiguous_reward}
        if not all(math.isfinite(v) for v in asks.values()) or not (
                self.wrong <= asks["clarify_unambiguous"] < self.abstain < asks["clarify_ambiguous"] < self.correct_floor):
            raise ValueError(
                "clarifying questions must keep wrong <= clarify_unambiguous < abstain < clarify_ambiguous < correct_floor "
                f"(asking is never better than answering right), got {({**values, **asks})}"
            )
        # abstain < clarify_ambiguous (checked just above) is what makes guess_range non-empty and below asking
        return self

    @property
    def guess_range(self) -> tuple[float, float]:
        """The rewards a box on one target of a known-ambiguous query is mapped into (``ambiguous_box = "guess"``).

        From just above ``abstain`` to halfway between ``abstain`` and
        ``clarify_ambiguous``: the best guess stays as far below asking as
        the worst stays above "not found", so GRPO sees asking win in every
        group where the query is known ambiguous, whatever the guess's IoU.
        """
        return self.abstain, (self.abstain + self.clarify_ambiguous_reward) / 2

    @property
    def clarify_ambiguous_reward(self) -> float:
        """A clarifying question's reward where the query is known ambiguous (``clarify_ambiguous`` or its default)."""
        value = self.clarify_ambiguous
        return (self.abstain + self.correct_floor) / 2 if value is None else value

    @property
    def clarify_unambiguous_reward(self) -> float:
        """A clarifying question's reward where ground truth shows one target (``clarify_unambiguous`` or its default)."""
        value = self.clarify_unambiguous
        return (self.wrong + self.abstain) / 2 if value is None else value

    @classmethod
    def from_file(cls, path: str | Path) -> RewardConfig:
        """Load a TOML file (its ``[reward]`` table when there is one) or a JSON file."""
        p = Path(path)
        text = p.read_text(encoding="utf-8")
        data = json.loads(text) if p.suffix == ".json" else tomllib.loads(text)
        if "reward" in data and isinstance(data["reward"], dict):
            data = data["reward"]
        elif "tool" in data:
            data = data.get("tool", {}).get("groundscore", {}).get("reward", {})
        return cls.model_validate(data)


def load_reward_config(config: RewardConfig | Mapping[str, Any] | str | Path | None) -> RewardConfig:
    """Any accepted form (None, dict, path, JSON text) -> :class:`RewardConfig`."""
    if config is None:
        return RewardConfig()
    if isinstance(config, RewardConfig):
        return config
    if isinstance(config, Mapping):
        return RewardConfig.model_validate(plain_data(config))
    text = str(config).strip()
    if text.startswith("{"):
        return RewardConfig.model_validate(json.loads(text))
    return RewardConfig.from_file(text)
