"""Reports (and ground truth) -> one reward per completion, shaped for grounding RL.

A reward policy is a function ``policy(report, solution, config) -> RewardResult``
registered by name through the ``register_reward_policies(register)`` hook, so
a plugin can add its own. The built-in policies:

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
    explicit "not found" as correct and any box as wrong.
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

Any policy can add ``format_weight * format`` (the optional format term).
Every policy returns one float per completion, or None (``unscorable``) when
the sample cannot be scored; nothing here raises.

Multi-box answers are matched to the solution boxes one-to-one, maximising the
total IoU (Hungarian assignment with SciPy, greedy highest-IoU-first without
it), and the matched IoUs are summed and divided by ``max(#answered,
#solution)``: a missing box and an extra box both cost.
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
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from groundscore.issues import codes_feeding
from groundscore.model import Parsed, Report, Sample, box_iou
from groundscore.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from groundscore.chain import Chain

log = logging.getLogger("groundscore.reward")

Outcome = Literal["correct", "abstain", "wrong", "hallucination", "malformed", "unscorable", "unverified"]
Solution = list[list[float]]

_MAX_SOLUTION_BOXES = 100
_MAX_SOLUTION_CHARS = 100_000
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_R1_TAG_ISSUES = codes_feeding("r1.tags")  # the one registry of issue codes says which are tag problems


class RewardConfig(BaseModel):
    """How reports become rewards. Validated: a typo names the bad key.

    The values must keep the honesty order ``wrong < abstain < correct_floor
    <= correct``; the validator refuses a configuration that breaks it.
    """

    model_config = ConfigDict(extra="forbid")

    policy: str = Field(default="auto", description="Registered policy name: auto, grounded, confidence, iou, format, or a plugin's.")
    correct: float = Field(default=1.0, description="Reward of a perfect answer (IoU 1, or confidence 1).")
    correct_floor: float = Field(default=0.5, description="Reward of a correct answer exactly at the IoU threshold.")
    abstain: float = Field(default=0.25, description="Reward of an explicit 'not found' / empty answer when the target is present or unknown.")
    wrong: float = Field(default=0.0, description="Reward of a wrong, hallucinated or malformed answer.")
    wrong_shaping: float = Field(default=0.5, ge=0.0, lt=1.0, description="Share of the wrong..abstain gap a near-miss box can earn (IoU/threshold of it).")
    iou_threshold: float = Field(default=0.5, gt=0.0, lt=1.0, description="IoU at and above which a box counts as correct.")
    iou_mode: Literal["continuous", "binary"] = Field(default="continuous", description="binary: every correct box earns `correct`.")
    iou_formula: Literal["area", "vlm_r1"] = Field(default="area", description="area: plain IoU; vlm_r1: VLM-R1's inclusive-pixel formula.")
    matching: Literal["hungarian", "greedy", "first"] = Field(default="hungarian", description="How answered boxes are paired with solution boxes.")
    use_gates: bool = Field(default=True, description="A failed gate verdict makes the answer wrong whatever its IoU.")
    confidence_weight: float = Field(default=0.0, ge=0.0, le=1.0, description="With ground truth: scale correct rewards by (1-w) + w*confidence.")
    reject_below: float = Field(default=0.25, ge=0.0, lt=1.0, description="Without ground truth: confidence under this is a confidently wrong answer.")
    format_weight: float = Field(default=0.0, ge=0.0, description="Add format_weight * format score (0 or 1) to every reward.")
    format_require_think: bool = Field(default=True, description="The format score needs <think> as well as <answer>.")
    unscorable: float | None = Field(default=None, description="Returned where a sample cannot be scored (None where the host accepts it).")
    require_checked: list[str] = Field(
        default_factory=list,
        description=(
            "Verifiers that must give a score on a box answer. Where one gives None (no label for "
            "label_match, no <think> for consistency), the reward is capped at `abstain`, so a policy "
            "cannot dodge a check by leaving out what it checks."
        ),
    )

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
        import tomllib

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
        return RewardConfig.model_validate(dict(config))
    text = str(config).strip()
    if text.startswith("{"):
        return RewardConfig.model_validate(json.loads(text))
    return RewardConfig.from_file(text)


@dataclass
class RewardResult:
    """One completion's reward and why.

    ``outcome`` is ``correct``, ``abstain`` (explicit "not found"),
    ``wrong`` (IoU below threshold, or a box on a negative sample),
    ``hallucination`` (a gate failed), ``malformed`` (the schema gate failed)
    ``unverified`` (right by IoU or confidence, but a verifier listed in
    ``require_checked`` could not check it, so the reward is capped at
    ``abstain``) or ``unscorable``. ``iou`` is the matched IoU (None without ground
    truth), ``format`` the format score, ``grounded`` whether ground truth
    was known.
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


RewardPolicy = Callable[[Report, "Solution | None", RewardConfig], RewardResult]


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
        tagged = _ANSWER_TAG.findall(text)
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


def _hungarian(matrix: list[list[float]]) -> list[tuple[int, int]] | None:
    try:
        import numpy as np
        from scipy.optimize import linear_sum_assignment
    except ImportError:
        return None
    rows, cols = linear_sum_assignment(-np.asarray(matrix, dtype=float))
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True)]


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
    (greedy when SciPy is missing); ``greedy`` takes the highest IoU first.
    """
    iou = _iou_fn(formula)
    if not predicted or not solution:
        return 0.0, []
    if matching == "first":
        v = iou(predicted[0], solution[0])
        return v, [(0, 0, v)]
    matrix = [[iou(p, s) for s in solution] for p in predicted]
    pairs = (_hungarian(matrix) if matching == "hungarian" else None) or _greedy(matrix)
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


def _failed_gates(report: Report) -> list[str]:
    return report.failed_gates


def _unchecked(report: Report, config: RewardConfig) -> list[str]:
    """Required verifiers that gave no score (or did not run) on this answer."""
    if not config.require_checked:
        return []
    scored = {v.verifier for v in report.verdicts if v.score is not None}
    return [name for name in config.require_checked if name not in scored]


def _capped(result: RewardResult, unchecked: list[str], config: RewardConfig) -> RewardResult:
    """An answer that dodged a required check earns at most the 'not found' reward."""
    if not unchecked or result.reward is None or result.outcome != "correct":
        return result
    fmt_bonus = config.format_weight * result.format if config.format_weight else 0.0
    capped = min(result.reward, config.abstain + fmt_bonus)
    reason = f"{result.reason}; capped: {', '.join(unchecked)} could not check this answer"
    return dataclasses.replace(result, reward=capped, outcome="unverified", reason=reason,
                               details={**result.details, "unchecked": unchecked})


def _applicable(report: Report) -> bool:
    return any(v.score is not None for v in report.verdicts)


def _answer_boxes(parsed: Parsed) -> list[tuple[float, float, float, float]]:
    return [b.xyxy for b in parsed.boxes]


def _point_hits(parsed: Parsed, solution: Solution) -> float:
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


def _result(
    reward: float | None, outcome: Outcome, reason: str, config: RewardConfig, report: Report, policy: str,
    iou: float | None = None, **details: Any,
) -> RewardResult:
    fmt = format_score(report.parsed, config.format_require_think)
    if reward is not None and config.format_weight:
        reward = reward + config.format_weight * fmt
    return RewardResult(
        reward=reward, outcome=outcome, reason=reason, policy=policy, iou=iou,
        confidence=report.confidence, format=fmt, report=report, details=details,
    )


def _unscorable(reason: str, config: RewardConfig, report: Report | None, policy: str) -> RewardResult:
    return RewardResult(
        reward=config.unscorable, outcome="unscorable", reason=reason, policy=policy,
        confidence=report.confidence if report else 0.0, report=report,
    )


def _input_problem(report: Report, solution: Solution | None) -> str | None:
    codes = report.parsed.issue_codes()
    if "sample.invalid" in codes:
        issue = next(i for i in report.parsed.issues if i.code == "sample.invalid")
        return issue.message
    if solution and report.parsed.boxes and not report.parsed.in_original:
        return "image size unknown: the boxes are in the model's coordinate space, the solution in original pixels"
    return None


# -- policies --------------------------------------------------------------------------
def grounded_policy(report: Report, solution: Solution | None, config: RewardConfig) -> RewardResult:
    """Ground truth known: IoU, shaped so that hallucination < "not found" < correct."""
    name = "grounded"
    if solution is None:
        return confidence_policy(report, None, config)
    problem = _input_problem(report, solution)
    if problem:
        return _unscorable(problem, config, report, name)
    parsed = report.parsed
    gates = _failed_gates(report)
    abstained = is_abstention(parsed)
    if not solution:  # negative sample: the target is absent
        if abstained:
            return _result(config.correct, "correct", "the target is absent and the answer says so", config, report, name)
        if gates and "schema" in gates:
            return _result(config.wrong, "malformed", f"failed gate(s): {', '.join(gates)}", config, report, name)
        return _result(config.wrong, "wrong", "the target is absent but the answer gives a box", config, report, name)
    if abstained:
        return _result(config.abstain, "abstain", "explicit 'not found' while the target is present", config, report, name, iou=0.0)
    if "schema" in gates or (not parsed.boxes and not parsed.points):
        return _result(config.wrong, "malformed", "no well-formed answer" + (f" (failed gate(s): {', '.join(gates)})" if gates else ""), config, report, name, iou=0.0)
    if parsed.boxes:
        iou, pairs = match_boxes(_answer_boxes(parsed), solution, config.matching, config.iou_formula)
    else:
        iou, pairs = _point_hits(parsed, solution), []
    if config.use_gates and gates:
        return _result(config.wrong, "hallucination", f"failed gate(s): {', '.join(gates)}", config, report, name, iou=iou, gates=gates)
    t = config.iou_threshold
    if iou < t:
        reward = config.wrong + (config.abstain - config.wrong) * config.wrong_shaping * (iou / t)
        return _result(reward, "wrong", f"IoU {iou:.3f} is below {t}", config, report, name, iou=iou, pairs=pairs)
    if config.iou_mode == "binary":
        reward = config.correct
    else:
        reward = config.correct_floor + (config.correct - config.correct_floor) * ((iou - t) / (1.0 - t))
    if config.confidence_weight:
        # Shrink towards a floor that stays above "not found": the verifiers
        # can lower a correct box's reward, never below honesty.
        floor = (config.abstain + config.correct_floor) / 2
        w = config.confidence_weight
        reward = floor + (reward - floor) * ((1.0 - w) + w * report.confidence)
    result = _result(reward, "correct", f"IoU {iou:.3f}", config, report, name, iou=iou, pairs=pairs)
    return _capped(result, _unchecked(report, config), config)


def confidence_policy(report: Report, solution: Solution | None, config: RewardConfig) -> RewardResult:
    """No ground truth: the chain's confidence, with wrong < "not found" < confident."""
    name = "confidence"
    if solution is not None:
        # A negative sample still knows the right answer is "none".
        if not solution:
            return grounded_policy(report, solution, config)
    problem = _input_problem(report, None)
    if problem:
        return _unscorable(problem, config, report, name)
    parsed = report.parsed
    gates = _failed_gates(report)
    if is_abstention(parsed):
        return _result(config.abstain, "abstain", "explicit 'not found'", config, report, name)
    if gates:
        outcome: Outcome = "malformed" if "schema" in gates else "hallucination"
        return _result(config.wrong, outcome, f"failed gate(s): {', '.join(gates)}", config, report, name, gates=gates)
    if not _applicable(report):
        return _unscorable("no verifier applied to this sample", config, report, name)
    c = report.confidence
    r = config.reject_below
    if c < r:
        reward = config.wrong + (config.abstain - config.wrong) * config.wrong_shaping * (c / r if r > 0 else 0.0)
        return _result(reward, "wrong", f"confidence {c:.3f} is below {r}", config, report, name)
    reward = config.abstain + (config.correct - config.abstain) * ((c - r) / (1.0 - r))
    result = _result(reward, "correct", f"confidence {c:.3f}", config, report, name)
    return _capped(result, _unchecked(report, config), config)


def iou_policy(report: Report, solution: Solution | None, config: RewardConfig) -> RewardResult:
    """VLM-R1's accuracy reward: plain matched IoU in [0, 1], no gates, no shaping."""
    name = "iou"
    if solution is None:
        return _unscorable("the iou policy needs ground truth (solution)", config, report, name)
    problem = _input_problem(report, solution)
    if problem:
        return _unscorable(problem, config, report, name)
    parsed = report.parsed
    if not solution:
        ok = is_abstention(parsed)
        return _result(1.0 if ok else 0.0, "correct" if ok else "wrong", "negative sample", config, report, name)
    if not parsed.boxes:
        hits = _point_hits(parsed, solution) if parsed.points else 0.0
        outcome: Outcome = "abstain" if is_abstention(parsed) else ("correct" if hits >= config.iou_threshold else "malformed")
        return _result(hits, outcome, "no box in the answer" if not parsed.points else "point answer", config, report, name, iou=hits)
    iou, pairs = match_boxes(_answer_boxes(parsed), solution, config.matching, config.iou_formula)
    outcome = "correct" if iou >= config.iou_threshold else "wrong"
    return _result(iou, outcome, f"IoU {iou:.3f}", config, report, name, iou=iou, pairs=pairs)


def format_policy(report: Report, solution: Solution | None, config: RewardConfig) -> RewardResult:
    """VLM-R1's format reward: 1.0 for a tagged, readable answer, else 0.0."""
    fmt = format_score(report.parsed, config.format_require_think)
    return RewardResult(
        reward=fmt, outcome="correct" if fmt else "malformed", reason="format ok" if fmt else "format not followed",
        policy="format", confidence=report.confidence, format=fmt, report=report,
    )


def auto_policy(report: Report, solution: Solution | None, config: RewardConfig) -> RewardResult:
    """``grounded`` with ground truth, ``confidence`` without."""
    if solution is None:
        return confidence_policy(report, solution, config)
    return grounded_policy(report, solution, config)


BUILTIN_POLICIES: dict[str, RewardPolicy] = {
    "auto": auto_policy,
    "grounded": grounded_policy,
    "confidence": confidence_policy,
    "iou": iou_policy,
    "format": format_policy,
}


@hookimpl
def register_reward_policies(register: Callable[..., None]) -> None:
    for name, fn in BUILTIN_POLICIES.items():
        register(name, fn)


def get_policy(name: str) -> RewardPolicy:
    """The policy registered as ``name`` (built-ins work even with plugins blocked)."""
    try:
        from groundscore.plugins.manager import get_registry

        registered = get_registry().reward_policies
    except Exception:  # noqa: BLE001
        registered = {}
    fn = registered.get(name) or BUILTIN_POLICIES.get(name)
    if fn is None:
        known = sorted({*registered, *BUILTIN_POLICIES})
        raise ValueError(f"unknown reward policy {name!r}; registered: {', '.join(known)}")
    return fn


# -- the rewarder -------------------------------------------------------------------
def _to_sample(item: Any) -> tuple[Sample | None, str | None]:
    if isinstance(item, Sample):
        return item, None
    if isinstance(item, Mapping):
        data = dict(item)
        if "solution" in data and not (data["solution"] is None or (isinstance(data["solution"], list) and all(isinstance(b, list) for b in data["solution"]))):
            data["solution"] = parse_solution(data["solution"])
        try:
            return Sample.model_validate(data), None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "sample"
            return None, f"invalid sample field {where!r}: {first.get('msg', '')}"
        except Exception as exc:  # noqa: BLE001 - a validator that raised something else
            return None, f"invalid sample: {type(exc).__name__}: {exc}"
    if isinstance(item, str | bytes):
        return Sample(completion=item), None
    return None, f"a sample must be a Sample or a mapping, got {type(item).__name__}"


class Rewarder:
    """A chain plus a reward policy: samples in, one reward per sample out.

    Build once (verifier models load here), call per batch. Never raises on
    any input: a sample that cannot be scored gets ``config.unscorable``.

    >>> from groundscore.reward import Rewarder
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
        self.policy = get_policy(self.config.policy)
        self.chain = chain if chain is not None else Chain(chain_config)

    @property
    def verifier_names(self) -> list[str]:
        return self.chain.names

    def score(self, samples: Iterable[Any]) -> list[RewardResult]:
        """One :class:`RewardResult` per sample, in order."""
        items = list(samples)
        coerced = [_to_sample(s) for s in items]
        valid = [(i, s) for i, (s, _) in enumerate(coerced) if s is not None]
        results: list[RewardResult | None] = [None] * len(items)
        for i, (sample, problem) in enumerate(coerced):
            if sample is None:
                results[i] = _unscorable(problem or "invalid sample", self.config, None, self.config.policy)
        if valid:
            try:
                reports = self.chain.verify([s for _, s in valid])
            except Exception as exc:
                log.warning("the chain failed on a batch of %d: %s: %s", len(valid), type(exc).__name__, exc, exc_info=True)
                reports = None
            for k, (i, sample) in enumerate(valid):
                if reports is None:
                    results[i] = _unscorable("the verifier chain failed on this batch", self.config, None, self.config.policy)
                    continue
                results[i] = self._apply(reports[k], sample.solution)
        return [r if r is not None else _unscorable("internal error", self.config, None, self.config.policy) for r in results]

    def _apply(self, report: Report, solution: Solution | None) -> RewardResult:
        try:
            result = self.policy(report, solution, self.config)
            if result.reward is not None and not math.isfinite(result.reward):
                return _unscorable(f"policy returned a non-finite reward ({result.reward})", self.config, report, self.config.policy)
            report.reward = result.reward
            result.grounded = solution is not None
            return result
        except Exception as exc:
            log.warning("reward policy %r failed: %s: %s", self.config.policy, type(exc).__name__, exc, exc_info=True)
            return _unscorable(f"policy failed: {type(exc).__name__}: {exc}", self.config, report, self.config.policy)

    def rewards(self, samples: Iterable[Any]) -> list[float | None]:
        """Just the rewards."""
        return [r.reward for r in self.score(samples)]

    __call__ = rewards

    def close(self) -> None:
        self.chain.close()

