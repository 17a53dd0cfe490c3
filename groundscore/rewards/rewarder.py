"""Reports (and ground truth) -> one reward per completion, shaped for grounding RL.

A reward policy is a :class:`RewardPolicy` subclass registered by name through
the ``register_reward_policies(register)`` hook, so a plugin can add its own.
Each policy has its own pydantic ``Options`` model: the ``[reward.options]``
table of a configuration is validated against it, and a typo names the bad
key. The built-in policies:

``auto`` (default)
    ``grounded`` when the sample has ground truth, else ``confidence``.
``grounded``
    Ground truth known. IoU of the answered box(es) with the solution, shaped
    so that *hallucination costs more than honesty*::

        wrong (0.0)  <  explicit "not found" (0.25)  <  correct (0.5 .. 1.0)

    A failed gate (schema, label_match, consistency, ...) or an IoU below
    ``iou_threshold`` is *wrong*; a small IoU-proportional credit below the
    threshold (``wrong_shaping``) keeps a gradient but never reaches the
    "not found" reward. A correct box earns ``correct_floor`` at the threshold
    rising to ``correct`` at IoU 1 (with the defaults the reward *is* the IoU).
    Negative samples (``solution == []``: the target is absent) reward an
    explicit "not found" as correct and any box as wrong. Without ground
    truth it scores as ``confidence`` does.
``confidence``
    No ground truth. A failed gate or a confidence below ``reject_below`` is
    wrong (below "not found"); otherwise the reward rises linearly from the
    "not found" reward at ``reject_below`` to ``correct`` at confidence 1.
``iou``
    VLM-R1's accuracy reward: the matched IoU in [0, 1], 0 for no answer, no
    shaping and no gates. With ``iou_formula="vlm_r1"`` and ``matching="first"``
    it reproduces VLM-R1's ``iou_reward`` number for number.
``format``
    VLM-R1's format reward: 1 when ``<think>...</think><answer>...</answer>``
    wraps a readable grounding answer, else 0.

The host (:class:`Rewarder`), not the policy, applies what every policy
shares: ``format_weight * format`` is added to every reward, an answer that
a ``require_checked`` verifier could not check is capped at ``abstain``, so
is an answer the chain would not accept because a gate errored on it
(``chain.gate_error``) or, without ground truth, because nothing could check
it against the query (``chain.unverified``), and an exception or a
non-finite reward becomes ``unscorable``. Every policy
returns one float per completion, or None (``unscorable``) when the sample
cannot be scored; nothing here raises.

Which failed gate makes an answer *malformed* (rather than a hallucination)
is a property of the verifier (:attr:`Verifier.malformed_gate`, True for
``schema``), not a name written here.

Multi-box answers are matched to the solution boxes one-to-one, maximising the
total IoU (an exact Hungarian assignment in pure Python), and the matched IoUs
are summed and divided by ``max(#answered, #solution)``: a missing box and an
extra box both cost.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from groundscore.config import plain_data
from groundscore.inputs.samples import coerce_samples
from groundscore.issues import NOT_ACCEPTED, codes_feeding
from groundscore.model import Issue, Parsed, Report, box_iou
from groundscore.parse.r1 import tag_blocks
from groundscore.plugins.hookspecs import hookimpl

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

if TYPE_CHECKING:
    from groundscore.chain import Chain

log = logging.getLogger("groundscore.rewards.rewarder")

Outcome = Literal["correct", "abstain", "wrong", "hallucination", "malformed", "unscorable", "unverified"]
Solution = list[list[float]]

_MAX_SOLUTION_BOXES = 100
_MAX_SOLUTION_CHARS = 100_000
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_R1_TAG_ISSUES = codes_feeding("r1.tags")  # the one registry of issue codes says which are tag problems


# -- options -------------------------------------------------------------------
class PolicyOptions(BaseModel):
    """Options every policy accepts; a policy's ``Options`` subclasses this.

    ``extra="forbid"`` makes a typo in ``[reward.options]`` an error naming
    the bad key, as verifier options do.
    """

    model_config = ConfigDict(extra="forbid")


class PointOptions(PolicyOptions):
    """Whether a point answer counts: shared by every policy that compares answers with ground-truth boxes."""

    accept_points: bool = Field(default=False, description="A point_2d answer counts (GUI clicks; the click policy is "
                                "the GUI reward); off: a point answer to a box task earns at most the abstain reward.")


class IouOptions(PointOptions):
    """How answered boxes are compared with the solution."""

    iou_threshold: float = Field(default=0.5, gt=0.0, lt=1.0, description="IoU at and above which a box counts as correct.")
    iou_formula: Literal["area", "vlm_r1"] = Field(default="area", description="area: plain IoU; vlm_r1: VLM-R1's inclusive-pixel formula.")
    matching: Literal["hungarian", "greedy", "first"] = Field(default="hungarian", description="How answered boxes are paired with solution boxes.")


# Parser issue codes that mean the answer was not read from one well-placed <answer>: two
# <answer> blocks (or one nested in another), <answer> before or inside <think>, a closing tag
# without its opening one, or a box found only in the thinking or elsewhere in the text.
DEFAULT_REJECT_ISSUES: tuple[str, ...] = (
    "r1.duplicate_answer", "r1.misordered", "r1.overlapping", "r1.unopened_answer",
    "answer.in_think", "answer.whole_text",
)


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
    duplicate_iou: float = Field(default=0.7, gt=0.0, le=1.0, description="Two answer boxes overlapping this much (IoU) are one object boxed twice: wrong.")
    reject_findings: list[str] = Field(
        default_factory=lambda: ["absent_but_boxed", "label_obfuscated", "label_hedged", "label_to_grader", "label_too_long",
                                 "thinking_to_grader", "count_excess"],
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

    reject_below: float = Field(default=0.25, ge=0.0, lt=1.0, description="Without ground truth: confidence under this is a confidently wrong answer.")
    wrong_shaping: float = Field(default=0.5, ge=0.0, lt=1.0, description="Share of the wrong..abstain gap a near miss can earn.")


class GroundedOptions(IouOptions, ConfidenceOptions):
    """The ``grounded`` (and ``auto``) policy's settings; ``reject_below`` applies to samples without ground truth."""

    iou_mode: Literal["continuous", "binary"] = Field(default="continuous", description="binary: every correct box earns `correct`.")
    use_gates: bool = Field(default=True, description="A failed gate verdict makes the answer wrong whatever its IoU.")
    confidence_weight: float = Field(default=0.0, ge=0.0, le=1.0, description="With ground truth: scale correct rewards by (1-w) + w*confidence.")


# Keys that RewardConfig accepted at its top level before policies had their own options.
_LEGACY_OPTION_KEYS = frozenset({*GroundedOptions.model_fields})


class RewardConfig(BaseModel):
    """How reports become rewards: the values every policy shares, the policy, its options.

    Validated: a typo names the bad key. The values must keep the honesty
    order ``wrong < abstain < correct_floor <= correct``; the validator
    refuses a configuration that breaks it. The policy's own settings go in
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
        return self

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


@dataclass
class RewardResult:
    """One completion's reward and why.

    ``outcome`` is ``correct``, ``abstain`` (explicit "not found"),
    ``wrong`` (IoU below threshold, or a box on a negative sample),
    ``hallucination`` (a gate failed), ``malformed`` (a malformed-answer gate
    such as schema failed), ``unverified`` (right by IoU or confidence, but a
    verifier listed in ``require_checked`` could not check it, so the reward
    is capped at ``abstain``) or ``unscorable``. ``iou`` is the matched IoU
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


def builtin_malformed_gates() -> frozenset[str]:
    """Names of the registered verifiers whose failed gate means a malformed answer."""
    try:
        from groundscore.plugins.manager import get_registry

        verifiers = get_registry().verifiers
    except Exception:  # noqa: BLE001 - a broken host: no verifier is known
        return frozenset()
    return frozenset(name for name, cls in verifiers.items() if getattr(cls, "malformed_gate", False))


@dataclass(frozen=True)
class RewardContext:
    """What a policy reads besides the report: the shared values and the malformed-answer gates.

    ``malformed_gates`` names the verifiers (of the chain in use) whose
    failed gate makes an answer *malformed*, read from each verifier's
    :attr:`~groundscore.verifiers.base.Verifier.malformed_gate`.
    """

    config: RewardConfig = field(default_factory=RewardConfig)
    malformed_gates: frozenset[str] = field(default_factory=builtin_malformed_gates)
    image_size: tuple[int, int] | None = None  # this sample's (width, height), where known
    grounded: bool = False  # this sample has ground truth (its IoU checks the answer)

    def malformed(self, gates: Iterable[str]) -> bool:
        """True when one of the failed ``gates`` says the answer is malformed."""
        return any(g in self.malformed_gates for g in gates)


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
    raise TypeError(f"register_reward_policies: {policy!r} is not a groundscore.rewards.rewarder.RewardPolicy subclass")


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


# -- ground truth --------------------------------------------------------------
def _as_list(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)  # numpy arrays, torch tensors
    if callable(tolist) and not isinstance(value, str | bytes):
        try:
            return tolist()
        except Exception:  # noqa: BLE001
            return value
    return value


def _finite_box(values: Sequence[Any]) -> list[float] | None:
    try:
        box = [float(v) for v in values]
    except (TypeError, ValueError):
        return None
    return box if len(box) == 4 and all(math.isfinite(v) for v in box) else None


def parse_solution(value: Any) -> Solution | None:
    """Ground truth in any common shape -> a list of xyxy boxes, ``[]``, or None.

    Accepts one box ``[x1, y1, x2, y2]``, a list of boxes, numpy/torch arrays,
    dicts with ``bbox_2d``/``bbox``/``box``/``boxes``/``solution``, JSON text,
    VLM-R1's ``"<answer>[x1, y1, x2, y2]</answer>"`` text, and plain text
    holding a multiple of four numbers. ``[]`` (or ``"[]"``) means the target
    is absent: a negative sample. None means no (usable) ground truth.
    """
    try:
        return _parse_solution(value, depth=0)
    except Exception:  # noqa: BLE001 - ground truth we cannot read is no ground truth
        return None


def _parse_solution(value: Any, depth: int) -> Solution | None:
    if depth > 4 or value is None:
        return None
    value = _as_list(value)
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, str):
        text = value.strip()[:_MAX_SOLUTION_CHARS]
        if not text:
            return None
        tagged = tag_blocks(text, "answer")
        if tagged:
            text = tagged[-1].strip()
        try:
            return _parse_solution(json.loads(text), depth + 1)
        except (ValueError, RecursionError):
            pass
        numbers = _NUMBER.findall(text)
        if numbers and len(numbers) % 4 == 0 and len(numbers) <= 4 * _MAX_SOLUTION_BOXES:
            boxes = [_finite_box(numbers[i : i + 4]) for i in range(0, len(numbers), 4)]
            return [b for b in boxes if b is not None] if all(boxes) else None
        return None
    if isinstance(value, Mapping):
        for key in ("solution", "boxes", "bbox_2d", "bbox", "box", "ground_truth"):
            if key in value:
                return _parse_solution(value[key], depth + 1)
        return None
    if isinstance(value, list | tuple):
        if not value:
            return []
        if len(value) == 4 and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            box = _finite_box(value)
            return [box] if box is not None else None
        boxes: Solution = []
        for item in list(value)[:_MAX_SOLUTION_BOXES]:
            item = _as_list(item)
            if isinstance(item, Mapping):
                sub = _parse_solution(item, depth + 1)
                if not sub:
                    return None
                boxes.extend(sub)
                continue
            if not isinstance(item, list | tuple):
                return None
            box = _finite_box(item)
            if box is None:
                return None
            boxes.append(box)
        return boxes
    return None


# -- IoU and matching ------------------------------------------------------------
def vlm_r1_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU as VLM-R1's ``iou_reward`` computes it (inclusive pixel ends).

    The intersection counts ``x2 - x1 + 1`` pixels while the areas count
    ``x2 - x1``; kept exactly so that ``iou_formula="vlm_r1"`` gives VLM-R1's
    numbers. 0.0 where VLM-R1 would divide by zero or see non-finite input.
    """
    try:
        ax1, ay1, ax2, ay2 = (float(v) for v in a)
        bx1, by1, bx2, by2 = (float(v) for v in b)
    except (TypeError, ValueError):
        return 0.0
    if not all(math.isfinite(v) for v in (ax1, ay1, ax2, ay2, bx1, by1, bx2, by2)):
        return 0.0
    ix1, iy1 = max(ax1, bx1), max(ay1, by1)
    ix2, iy2 = min(ax2 - 1, bx2 - 1), min(ay2 - 1, by2 - 1)
    inter = (ix2 - ix1 + 1) * (iy2 - iy1 + 1) if ix1 < ix2 and iy1 < iy2 else 0.0
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    if union == 0 or not math.isfinite(union):
        return 0.0
    return float(inter) / union


def _iou_fn(formula: str) -> Callable[[Sequence[float], Sequence[float]], float]:
    return vlm_r1_iou if formula == "vlm_r1" else box_iou


def hungarian(matrix: Sequence[Sequence[float]]) -> list[tuple[int, int]]:
    """Pairs ``(row, column)`` that maximise the total of ``matrix`` (one-to-one, rectangular allowed).

    The exact Hungarian algorithm (Kuhn-Munkres with potentials, O(n^2 m)),
    in pure Python so that a reward never depends on whether SciPy is
    installed; a test checks it against ``scipy.optimize.linear_sum_assignment``.
    Matrices here are small (answered boxes x solution boxes, at most 100 each).
    """
    rows = len(matrix)
    cols = len(matrix[0]) if rows else 0
    if not rows or not cols:
        return []
    transposed = rows > cols
    cost = [[-float(matrix[i][j]) for i in range(rows)] for j in range(cols)] if transposed else [
        [-float(v) for v in row] for row in matrix]
    n, m = len(cost), len(cost[0])  # n <= m
    inf = float("inf")
    u = [0.0] * (n + 1)
    v = [0.0] * (m + 1)
    owner = [0] * (m + 1)  # owner[j]: the row (1-based) assigned to column j, 0 for none
    way = [0] * (m + 1)
    for i in range(1, n + 1):
        owner[0] = i
        j0 = 0
        minv = [inf] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[j0] = True
            i0 = owner[j0]
            delta = inf
            j1 = 0
            row = cost[i0 - 1]
            for j in range(1, m + 1):
                if used[j]:
                    continue
                cur = row[j - 1] - u[i0] - v[j]
                if cur < minv[j]:
                    minv[j] = cur
                    way[j] = j0
                if minv[j] < delta:
                    delta = minv[j]
                    j1 = j
            for j in range(m + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    pairs = [(owner[j] - 1, j - 1) for j in range(1, m + 1) if owner[j]]
    if transposed:
        pairs = [(c, r) for r, c in pairs]
    return sorted(pairs)


def _hungarian_by_component(matrix: list[list[float]]) -> list[tuple[int, int]]:
    """:func:`hungarian`, solved separately on each group of boxes that overlap each other.

    A pair with IoU 0 adds nothing to the total, so the optimum is the union
    of the optima of the connected components of the overlap graph (exact,
    like :func:`hungarian` on the whole matrix); rows and columns left over
    are paired in order at IoU 0, so there are still ``min(rows, columns)``
    pairs. Answers with many boxes mostly overlap few others, so this turns
    one cubic problem into many small ones.
    """
    rows, cols = len(matrix), len(matrix[0]) if matrix else 0
    parent = list(range(rows + cols))  # union-find over rows 0..rows-1 and columns rows..rows+cols-1

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    overlapping_rows: set[int] = set()
    overlapping_cols: set[int] = set()
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value > 0.0:
                overlapping_rows.add(i)
                overlapping_cols.add(j)
                a, b = find(i), find(rows + j)
                if a != b:
                    parent[a] = b
    components: dict[int, tuple[list[int], list[int]]] = {}
    for i in sorted(overlapping_rows):
        components.setdefault(find(i), ([], []))[0].append(i)
    for j in sorted(overlapping_cols):
        components.setdefault(find(rows + j), ([], []))[1].append(j)
    pairs: list[tuple[int, int]] = []
    for comp_rows, comp_cols in components.values():
        sub = [[matrix[i][j] for j in comp_cols] for i in comp_rows]
        pairs += [(comp_rows[a], comp_cols[b]) for a, b in hungarian(sub)]
    used_rows, used_cols = {r for r, _ in pairs}, {c for _, c in pairs}
    free_rows = [i for i in range(rows) if i not in used_rows]
    free_cols = [j for j in range(cols) if j not in used_cols]
    pairs += list(zip(free_rows, free_cols, strict=False))
    return sorted(pairs)


def _greedy(matrix: list[list[float]]) -> list[tuple[int, int]]:
    pairs = sorted(((v, i, j) for i, row in enumerate(matrix) for j, v in enumerate(row)), key=lambda t: (-t[0], t[1], t[2]))
    used_r: set[int] = set()
    used_c: set[int] = set()
    out = []
    for _, i, j in pairs:
        if i in used_r or j in used_c:
            continue
        used_r.add(i)
        used_c.add(j)
        out.append((i, j))
    return out


def match_boxes(
    predicted: Sequence[Sequence[float]],
    solution: Sequence[Sequence[float]],
    matching: str = "hungarian",
    formula: str = "area",
) -> tuple[float, list[tuple[int, int, float]]]:
    """Mean matched IoU over ``max(#predicted, #solution)``, and the pairs.

    ``first`` pairs the first predicted box with the first solution box only
    (VLM-R1's regex reads one box); ``hungarian`` maximises the total IoU
    (exactly, with or without SciPy); ``greedy`` takes the highest IoU first.
    """
    iou = _iou_fn(formula)
    if not predicted or not solution:
        return 0.0, []
    if matching == "first":
        v = iou(predicted[0], solution[0])
        return v, [(0, 0, v)]
    matrix = [[iou(p, s) for s in solution] for p in predicted]
    pairs = _hungarian_by_component(matrix) if matching == "hungarian" else _greedy(matrix)
    matched = [(i, j, matrix[i][j]) for i, j in pairs]
    return sum(v for _, _, v in matched) / max(len(predicted), len(solution)), matched


# -- reading a report ----------------------------------------------------------------
def format_score(parsed: Parsed, require_think: bool = True) -> float:
    """1.0 when the completion has VLM-R1's shape: tags in order around a readable answer."""
    codes = parsed.issue_codes()
    if require_think and not parsed.has_think_tags:
        return 0.0
    if not parsed.has_answer_tags or not _R1_TAG_ISSUES.isdisjoint(codes):
        return 0.0
    if "answer.outside_tags" in codes:
        return 0.0
    return 1.0 if (parsed.boxes or parsed.points or parsed.no_object) else 0.0


_EMPTY_ANSWER = re.compile(r"```(?:json)?|[\s\[\]{}]")


def is_abstention(parsed: Parsed) -> bool:
    """An explicit "not found": ``[]``, "no such object", or an empty ``<answer></answer>``.

    A bare ``[]`` counts even when no format parser claimed the text (a
    parser only claims text that names its keys).
    """
    if parsed.boxes or parsed.points:
        return False
    if parsed.no_object:
        return True
    answer = (parsed.answer or "")[:200]
    if not answer.strip():
        return parsed.has_answer_tags
    return len(answer) < 200 and not _EMPTY_ANSWER.sub("", answer)


def unchecked(report: Report, config: RewardConfig) -> list[str]:
    """Required verifiers that gave no score (or did not run) on this answer."""
    if not config.require_checked:
        return []
    scored = {v.verifier for v in report.verdicts if v.score is not None}
    return [name for name in config.require_checked if name not in scored]


def applicable(report: Report) -> bool:
    """At least one verifier gave a score (the confidence means something)."""
    return any(v.score is not None for v in report.verdicts)


def answer_boxes(parsed: Parsed) -> list[tuple[float, float, float, float]]:
    return [b.xyxy for b in parsed.boxes]


def point_hits(parsed: Parsed, solution: Solution) -> float:
    """Point answers (``point_2d``): share of solution boxes holding a distinct point."""
    used: set[int] = set()
    hits = 0
    for box in solution:
        for k, p in enumerate(parsed.points):
            if k not in used and box[0] <= p.x <= box[2] and box[1] <= p.y <= box[3]:
                used.add(k)
                hits += 1
                break
    return hits / max(len(solution), len(parsed.points))


def result(
    reward: float | None, outcome: Outcome, reason: str, report: Report, policy: str,
    iou: float | None = None, **details: Any,
) -> RewardResult:
    """A policy's base result (the host adds the format term and the require_checked cap)."""
    return RewardResult(
        reward=reward, outcome=outcome, reason=reason, policy=policy, iou=iou,
        confidence=report.confidence, report=report, details=details,
    )


def unscorable(reason: str, config: RewardConfig, report: Report | None, policy: str) -> RewardResult:
    """The result for a sample that cannot be scored: ``config.unscorable`` (None by default)."""
    return RewardResult(
        reward=config.unscorable, outcome="unscorable", reason=reason, policy=policy,
        confidence=report.confidence if report else 0.0, report=report,
    )


def input_problem(report: Report, solution: Solution | None) -> str | None:
    """Why the sample cannot be scored at all (an invalid sample, boxes in an unknown space), or None."""
    codes = report.parsed.issue_codes()
    if "sample.invalid" in codes:
        issue = next(i for i in report.parsed.issues if i.code == "sample.invalid")
        return issue.message
    if solution and report.parsed.boxes and not report.parsed.in_original:
        return "image size unknown: the boxes are in the model's coordinate space, the solution in original pixels"
    return None


def negative_sample(report: Report, context: RewardContext, policy: str) -> RewardResult:
    """The target is absent (``solution == []``): "not found" is correct, any box is wrong."""
    config = context.config
    if is_abstention(report.parsed):
        return result(config.correct, "correct", "the target is absent and the answer says so", report, policy)
    gates = report.failed_gates
    if context.malformed(gates):
        return result(config.wrong, "malformed", f"failed gate(s): {', '.join(gates)}", report, policy)
    return result(config.wrong, "wrong", "the target is absent but the answer gives a box", report, policy)


# -- hacking guards ----------------------------------------------------------------------
def finding_codes(report: Report) -> list[str]:
    """The codes of the consistency verifier's findings on this answer."""
    out: list[str] = []
    for v in report.verdicts:
        if v.verifier == "consistency" and isinstance(v.details, Mapping):
            out.extend(str(f.get("code")) for f in v.details.get("findings", ()) if isinstance(f, Mapping))
    return out


def qualified_absence(report: Report, opts: GuardOptions) -> str | None:
    """The sentence affirming the object where the thinking's absence only denies a description, else None.

    Only with ``qualified_absence = "cap"``; see :mod:`groundscore.nlp.absence`.
    """
    if opts.qualified_absence != "cap":
        return None
    from groundscore.nlp.absence import qualified

    spans = []
    for v in report.verdicts:
        if v.verifier == "consistency" and isinstance(v.details, Mapping):
            spans += [str(f.get("span") or "") for f in v.details.get("findings", ())
                      if isinstance(f, Mapping) and f.get("code") == "absent_but_boxed"]
    if not spans:
        return None
    affirmed = [qualified(report.parsed.think, span) for span in spans]
    return affirmed[0] if all(affirmed) else None


def hack(report: Report, opts: GuardOptions, grounded: bool, image_size: tuple[int, int] | None = None) -> tuple[str, str] | None:
    """``(code, reason)`` when the answer takes a route to a reward that skips the check, else None.

    Read from what the parser and the verifiers found (issue codes, findings,
    box geometry), never from the wording, so that a new phrasing of an
    exploit meets the same check. ``hack.*`` codes: ``tags`` (the answer was
    not read from one well-placed <answer>), ``points`` (a point answer to a
    box task), ``duplicates`` (one object boxed twice), ``finding`` (the
    thinking contradicts the box), ``coverage`` (without ground truth, a box
    over most of the image), ``degenerate`` (without ground truth, a sliver).
    """
    parsed = report.parsed
    if not (parsed.boxes or parsed.points):
        return None
    codes = parsed.issue_codes()
    bad = [c for c in codes if any(c == r or c.startswith(r + "_") for r in opts.reject_issues)]
    if parsed.has_answer_tags and "answer.outside_tags" in codes and "answer.outside_tags" in opts.reject_outside:
        # an <answer> was written but holds no box, and the box sits outside it (after </answer>, before <think>)
        bad.append("answer.outside_tags")
    if bad:
        return "hack.tags", f"the answer was not read from one well-placed <answer> ({', '.join(bad)})"
    if parsed.points and not parsed.boxes and not opts.accept_points:
        return "hack.points", "a point answer to a box task (set accept_points for point tasks)"
    boxes = [b.xyxy for b in parsed.boxes]
    if 1 < len(boxes) <= 100:
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                if box_iou(boxes[i], boxes[j]) >= opts.duplicate_iou:
                    return "hack.duplicates", f"boxes {i} and {j} overlap (IoU >= {opts.duplicate_iou}): one object boxed twice"
    rejected = {*opts.reject_findings, *(() if grounded else opts.reject_findings_without_truth)}
    found = [f for f in finding_codes(report) if f in rejected]
    if grounded and "absent_but_boxed" in found and qualified_absence(report, opts):
        found = [f for f in found if f != "absent_but_boxed"]  # a score (capped by the policy), not a gate
    if found:
        return "hack.finding", f"the thinking contradicts the answer ({', '.join(found)})"
    if not grounded and image_size:
        w, h = image_size
        if w and h:
            for x1, y1, x2, y2 in boxes:
                cw = max(0.0, min(x2, w) - max(x1, 0.0))
                ch = max(0.0, min(y2, h) - max(y1, 0.0))
                if cw * ch >= opts.max_coverage * w * h:
                    return "hack.coverage", f"a box covers {cw * ch / (w * h):.0%} of the image: nothing checkable is localised"
                if min(x2 - x1, (y2 - y1) * w / h) < opts.min_side * w:
                    return "hack.degenerate", "a sliver or point-sized box: nothing checkable is localised"
    return None


# -- policies --------------------------------------------------------------------------
class ConfidencePolicy(RewardPolicy):
    """No ground truth: the chain's confidence, with wrong < "not found" < confident."""

    name = "confidence"
    description = "no ground truth: the chain's confidence, shaped so that wrong < 'not found' < confident"
    Options = ConfidenceOptions
    options: ConfidenceOptions

    def score(self, report: Report, solution: Solution | None, context: RewardContext) -> RewardResult:
        config, name = context.config, self.name
        if solution is not None and not solution:  # a negative sample still knows the right answer is "none"
            return negative_sample(report, context, name)
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
        c, r = report.confidence, self.options.reject_below
        if c < r:
            reward = config.wrong + (config.abstain - config.wrong) * self.options.wrong_shaping * (c / r if r > 0 else 0.0)
            return result(reward, "wrong", f"confidence {c:.3f} is below {r}", report, name)
        reward = config.abstain + (config.correct - config.abstain) * ((c - r) / (1.0 - r))
        return result(reward, "correct", f"confidence {c:.3f}", report, name)


def confidence_fallback(options: PolicyOptions) -> ConfidencePolicy:
    """The ``confidence`` policy with every :class:`ConfidenceOptions` field that ``options`` has.

    For policies that score samples without ground truth (or without a
    group) as ``confidence`` does: the settings they share, the guards
    included where the options have them, reach that fallback.
    """
    shared = {name: getattr(options, name) for name in ConfidenceOptions.model_fields if name in type(options).model_fields}
    return ConfidencePolicy(ConfidenceOptions(**shared))


class GroundedPolicy(RewardPolicy):
    """Ground truth known: IoU, shaped so that hallucination < "not found" < correct."""

    name = "grounded"
    description = "ground truth known: matched IoU, shaped so that hallucination < 'not found' < correct"
    Options = GroundedOptions
    options: GroundedOptions

    def __init__(self, options: PolicyOptions | Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        # samples without ground truth are scored as the confidence policy scores them
        self.without_ground_truth = confidence_fallback(self.options)

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
            reward = floor + (reward - floor) * ((1.0 - w) + w * report.confidence)
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


class IouPolicy(RewardPolicy):
    """VLM-R1's accuracy reward: plain matched IoU in [0, 1], no gates, no shaping."""

    name = "iou"
    description = "VLM-R1's accuracy reward: matched IoU in [0, 1], no gates, no shaping"
    Options = IouOptions
    uses_gates = False
    options: IouOptions

    def score(self, report: Report, solution: Solution | None, context: RewardContext) -> RewardResult:
        config, opts, name = context.config, self.options, self.name
        if solution is None:
            return unscorable("the iou policy needs ground truth (solution)", config, report, name)
        problem = input_problem(report, solution)
        if problem:
            return unscorable(problem, config, report, name)
        parsed = report.parsed
        if not solution:
            ok = is_abstention(parsed)
            return result(1.0 if ok else 0.0, "correct" if ok else "wrong", "negative sample", report, name)
        if parsed.points and not parsed.boxes and not opts.accept_points:
            # as VLM-R1's own IoU reward: its box pattern needs four numbers, so a point earns 0
            return result(0.0, "malformed", "a point answer to a box task (set accept_points for point tasks)", report, name, iou=0.0)
        if not parsed.boxes:
            hits = point_hits(parsed, solution) if parsed.points else 0.0
            outcome: Outcome = "abstain" if is_abstention(parsed) else ("correct" if hits >= opts.iou_threshold else "malformed")
            return result(hits, outcome, "no box in the answer" if not parsed.points else "point answer", report, name, iou=hits)
        iou, pairs = match_boxes(answer_boxes(parsed), solution, opts.matching, opts.iou_formula)
        outcome = "correct" if iou >= opts.iou_threshold else "wrong"
        return result(iou, outcome, f"IoU {iou:.3f}", report, name, iou=iou, pairs=pairs)


class FormatPolicy(RewardPolicy):
    """VLM-R1's format reward: 1.0 for a tagged, readable answer, else 0.0."""

    name = "format"
    description = "VLM-R1's format reward: 1 for <think>...</think><answer>...</answer> around a readable answer"
    uses_gates = False

    def score(self, report: Report, solution: Solution | None, context: RewardContext) -> RewardResult:
        fmt = format_score(report.parsed, context.config.format_require_think)
        return result(fmt, "correct" if fmt else "malformed", "format ok" if fmt else "format not followed", report, self.name)


BUILTIN_POLICIES: dict[str, type[RewardPolicy]] = {
    cls.name: cls for cls in (AutoPolicy, GroundedPolicy, ConfidencePolicy, IouPolicy, FormatPolicy)
}


@hookimpl
def register_reward_policies(register: Callable[..., None]) -> None:
    for cls in BUILTIN_POLICIES.values():
        register(cls)


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
    """What the host does to every policy's result: the format term, then the caps.

    The format score is recorded on every result; ``format_weight * format``
    is added to a non-None reward. A ``correct`` answer that a required
    verifier could not check earns at most ``abstain`` (plus its format
    term) and becomes ``unverified``; so does any answer paid above
    ``abstain`` that the chain would not accept (``chain.gate_error``, and
    without ground truth ``chain.unverified``), unless ``policy`` reads no
    verdict (:attr:`RewardPolicy.uses_gates`).
    """
    config = context.config
    if result.outcome == "unscorable":
        return result
    fmt = format_score(report.parsed, config.format_require_think)
    bonus = config.format_weight * fmt if config.format_weight else 0.0
    reward = result.reward + bonus if result.reward is not None else None
    out = dataclasses.replace(result, reward=reward, format=fmt)
    missing = unchecked(report, config)
    if missing and out.reward is not None and out.outcome == "correct":
        out = dataclasses.replace(
            out, reward=min(out.reward, config.abstain + bonus), outcome="unverified",
            reason=f"{out.reason}; capped: {', '.join(missing)} could not check this answer",
            details={**out.details, "unchecked": missing},
        )
    refused = not_accepted(report, context) if policy is None or policy.uses_gates else None
    if refused is not None and out.reward is not None and (out.outcome == "correct" or out.reward > config.abstain + bonus):
        out = dataclasses.replace(
            out, reward=min(out.reward, config.abstain + bonus), outcome="unverified",
            reason=f"{out.reason}; capped: {refused.message}", details={**out.details, "not_accepted": refused.code},
        )
    return out


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
        self.context = RewardContext(
            self.config, frozenset(v.name for v in self.chain.verifiers if getattr(v, "malformed_gate", False)))

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
                results[i] = self._apply(reports[k], sample.solution, sample.image_size)
        return [r if r is not None else unscorable("internal error", self.config, None, self.config.policy) for r in results]

    def _apply(self, report: Report, solution: Solution | None, image_size: tuple[int, int] | None = None) -> RewardResult:
        name = self.policy.name
        context = self.context
        if image_size or solution is not None:
            context = dataclasses.replace(context, image_size=image_size, grounded=solution is not None)
        try:
            result = apply_contract(self.policy.score(report, solution, context), report, context, self.policy)
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

