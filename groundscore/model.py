"""The data that crosses groundscore's boundaries.

Data flows one way: ``Sample -> Parsed -> Verdict -> Report``. Every model here
is pydantic v2, so a caller gets validation with field names in the error and
JSON for free. Inside verifiers plain tuples are fine; these models are the
edges.

All boxes are in ORIGINAL image pixels (x1, y1, x2, y2, floats). Parsers convert
whatever space the model wrote in (smart_resize'd pixels, 0-1000, ...) into
this one space, so verifiers, rewards and users never have to ask.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from groundscore.inputs.hygiene import (
    PADDING_FROM,
    PADDING_RUN,
    clean_text,
    clean_value,
    decode_bytes,
    describe,
    fold_padding,
)
from groundscore.inputs.prompts import MAX_PROMPT

Decision = Literal["accept", "reject", "abstain"]
Severity = Literal["info", "warning", "error"]


class Box(BaseModel):
    """An axis-aligned box in original-image pixels, with its label.

    Coordinates are plain floats and are *not* validated for order or
    finiteness here: a model can emit ``[500, 20, 10, nan]`` and the schema
    verifier must be able to see that and say so, rather than the parser
    raising.
    """

    model_config = ConfigDict(frozen=True)

    x1: float
    y1: float
    x2: float
    y2: float
    label: str | None = None
    score: float | None = Field(default=None, description="The model's own score, if it wrote one.")
    action: str | None = Field(
        default=None, exclude_if=lambda v: v is None,  # left out of dumps when absent: non-GUI output unchanged
        description="The GUI action the box belongs to (click, type, ...), if any.",
    )

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        w, h = self.width, self.height
        return w * h if w > 0 and h > 0 else 0.0

    @property
    def is_finite(self) -> bool:
        return all(math.isfinite(v) for v in self.xyxy)

    def iou(self, other: Box | tuple[float, float, float, float] | list[float]) -> float:
        """Intersection over union, 0.0 for degenerate or non-finite boxes."""
        ox1, oy1, ox2, oy2 = other.xyxy if isinstance(other, Box) else tuple(other)
        return box_iou(self.xyxy, (ox1, oy1, ox2, oy2))


def box_iou(a: tuple[float, ...] | list[float], b: tuple[float, ...] | list[float]) -> float:
    """IoU of two xyxy boxes; 0.0 when either is degenerate or not finite."""
    ax1, ay1, ax2, ay2 = a
    bx1, by1, bx2, by2 = b
    ax1, ay1, ax2, ay2, bx1, by1, bx2, by2 = float(ax1), float(ay1), float(ax2), float(ay2), float(bx1), float(by1), float(bx2), float(by2)
    # the sum is finite exactly when every coordinate is (inf - inf is nan); one test instead of eight
    if not math.isfinite(ax1 + ay1 + ax2 + ay2 + bx1 + by1 + bx2 + by2):
        return 0.0
    area_a = max(0.0, ax2 - ax1) * max(0.0, ay2 - ay1)
    area_b = max(0.0, bx2 - bx1) * max(0.0, by2 - by1)
    iw = min(ax2, bx2) - max(ax1, bx1)
    ih = min(ay2, by2) - max(ay1, by1)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


class Point(BaseModel):
    """A point in original-image pixels (Qwen2.5-VL ``point_2d`` and friends)."""

    model_config = ConfigDict(frozen=True)

    x: float
    y: float
    label: str | None = None
    action: str | None = Field(
        default=None, exclude_if=lambda v: v is None,
        description="The GUI action at this point (click, double_click, ...), if any.",
    )


class Issue(BaseModel):
    """Something the parser noticed: malformed, repaired or ambiguous input.

    ``code`` is stable and machine-readable (``r1.missing_answer``,
    ``json.repaired``, ...); ``message`` is one human sentence.
    """

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    severity: Severity = "warning"


class Candidate(BaseModel):
    """One of the answers a hedge states for a single target, with its own boxes and points.

    A model that writes two answers for one target (a duplicate key, two JSON
    lists, two ``<answer>`` blocks, two clicks) has hedged: whichever one a
    reader picks, the reward would pay the better guess. The parse keeps every
    candidate so that a reward can pay the hedge no more than its worst
    candidate alone. Coordinates are in the same space as ``Parsed.boxes``.
    """

    model_config = ConfigDict(frozen=True)

    boxes: list[Box] = Field(default_factory=list)
    points: list[Point] = Field(default_factory=list)
    source: str = Field(default="", description="Where the candidate was written (``JSON value 2``, ``<answer> 1``, ...).")


class Clarification(BaseModel):
    """A question back to the user about which object is meant, instead of a box.

    Read by :mod:`groundscore.parse.clarify`. ``candidates`` are the object
    descriptions the question names ("the man on the left", "the one holding
    the umbrella"), empty when it names none; ``via`` says where the question
    was read (``text``, ``json``, or the GUI action: ``call_user``, ``answer``, ...).
    """

    model_config = ConfigDict(frozen=True)

    question: str
    candidates: list[str] = Field(default_factory=list)
    via: str = "text"


class Parsed(BaseModel):
    """What a completion says, in one coordinate space.

    ``think`` and ``answer`` are the text inside the R1 tags (``answer`` is the
    whole completion when there are no tags). ``boxes`` and ``points`` are in
    original-image pixels when the image size was known, else in the model's
    own space (an issue says so). ``no_object`` is True for an explicit
    "nothing found" answer, which is a valid answer, not a parse failure.
    """

    format: str = "unknown"
    format_confidence: float = 0.0
    think: str | None = None
    answer: str | None = None
    boxes: list[Box] = Field(default_factory=list)
    points: list[Point] = Field(default_factory=list)
    model_boxes: list[Box] = Field(
        default_factory=list,
        description="The boxes as the model wrote them, before conversion to original pixels.",
    )
    coords: str = Field(default="original", description="The space the model wrote its coordinates in.")
    in_original: bool = Field(
        default=True, description="False when the image size was unknown and boxes stay in the model's space."
    )
    no_object: bool = False
    clarify: Clarification | None = Field(
        default=None,
        description="The answer asks which object is meant instead of giving one: a distinct outcome, neither a "
        "malformed answer nor an abstention (no_object stays False).",
    )
    has_think_tags: bool = False
    has_answer_tags: bool = False
    answer_found: bool = Field(
        default=False, description="A structured answer (JSON, coordinates) was found and read."
    )
    issues: list[Issue] = Field(default_factory=list)
    candidates: list[Candidate] | None = Field(
        default=None, exclude_if=lambda v: v is None,  # left out of dumps when there is no hedge
        description="A hedge's candidates, the one read first at the head (a ``hedge.*`` issue says which shape).",
    )

    def issue_codes(self) -> list[str]:
        return [i.code for i in self.issues]

    @property
    def labels(self) -> list[str]:
        return [b.label for b in self.boxes if b.label]


ImageInput = str | Path | bytes | Any  # Any: a PIL.Image.Image, kept untyped so PIL stays optional


class Sample(BaseModel):
    """One model output to verify.

    ``query`` is the referring expression (or the whole prompt; verifiers
    extract the expression). ``image_size`` is (width, height) of the
    ORIGINAL image; when absent it is read from ``image``. ``coords`` names
    the space the model wrote its coordinates in; absent means the detected
    format's default (``qwen25`` smart_resize'd pixels for Qwen2.5-VL JSON).
    ``solution`` is optional ground truth: one xyxy box or a list of them, in
    original pixels. ``group`` names the question a sample answers, so that
    samples answering the same question can be compared (see
    :mod:`groundscore.groups.grouping`).

    Text is cleaned on the way in (:mod:`groundscore.inputs.hygiene`): lone
    surrogates and bytes that are not UTF-8 become U+FFFD and NULs are
    removed, in every text field and in ``meta``; :attr:`input_issues` says
    what was changed, and the chain adds it to the sample's parse.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    _input_issues: tuple[Issue, ...] = PrivateAttr(default=())

    query: str = ""
    completion: str = ""
    image: ImageInput | None = None
    image_size: tuple[int, int] | None = None
    format: str | None = None
    coords: str | None = None
    solution: list[list[float]] | None = None
    alternatives: list[list[list[float]]] | None = Field(
        default=None,
        description="Ground truth of an ambiguous query: several acceptable targets (each a list of xyxy boxes), any one "
        "of which is a right answer; ``solution`` then holds all their boxes. Read from a solution written "
        '{"ambiguous": [A, B]} by the reward path.',
    )
    id: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    group: str | None = Field(
        default=None,
        description="Answers with the same group answer the same question (a GRPO group, k samples at inference); "
        "the agreement verifier compares them. None: ungrouped (or derived, with ChainConfig.groups='derive').",
    )

    @model_validator(mode="wrap")
    @classmethod
    def _hygiene(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """Clean every text field once, before validation, and note what was changed."""
        changes: dict[str, str] = {}
        if type(data) is dict or isinstance(data, Mapping):
            data = _clean_fields(data, changes)
        sample = handler(data)
        if changes and isinstance(sample, Sample):
            replaced, nul = describe(changes)
            found = [Issue(code="text.replaced", message=replaced, severity="warning")] if replaced else []
            found += [Issue(code="text.nul", message=nul, severity="warning")] if nul else []
            if "completion.padding" in changes:
                found.append(Issue(code="text.padding", severity="warning", message=(
                    f"{changes['completion.padding']} characters of whitespace padding were folded "
                    f"(runs of {PADDING_RUN}+ became one character)")))
            sample._input_issues = (*sample._input_issues, *found)
        if isinstance(sample, Sample) and len(sample.query) > MAX_PROMPT:
            sample._input_issues = (*sample._input_issues, Issue(
                code="query.too_long", severity="warning",
                message=f"the query has {len(sample.query):,} characters; the verifiers read its first {MAX_PROMPT:,} "
                "(pass the referring expression, or a prompt whose template comes first)"))
        return sample

    @property
    def input_issues(self) -> tuple[Issue, ...]:
        """What was noticed while reading this sample (text replaced, unknown keys), in order."""
        return self._input_issues

    def add_input_issue(self, issue: Issue) -> None:
        """Note one more thing about how this sample was read (the readers and :func:`coerce_sample` do)."""
        self._input_issues = (*self._input_issues, issue)

    @field_validator("completion", "query", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        """Accept bytes (decoded leniently) and None, so bad input never raises."""
        if value is None:
            return ""
        if isinstance(value, bytes | bytearray):
            return bytes(value).decode("utf-8", errors="replace")
        return value if isinstance(value, str) else str(value)

    @field_validator("solution", mode="before")
    @classmethod
    def _solution(cls, value: Any) -> Any:
        """One box ``[x1, y1, x2, y2]`` becomes ``[[x1, y1, x2, y2]]``."""
        if value is None:
            return None
        if isinstance(value, list | tuple) and len(value) == 4 and all(
            isinstance(v, int | float) for v in value
        ):
            return [list(value)]
        return value

    @field_validator("image_size", mode="before")
    @classmethod
    def _size(cls, value: Any) -> Any:
        if value is None:
            return None
        try:
            if isinstance(value, str | bytes):
                raise ValueError
            w, h = (int(v) for v in value)
        except (TypeError, ValueError, OverflowError):
            # pydantic turns ValueError (not TypeError) into a ValidationError naming the field
            raise ValueError(f"image_size must be (width, height), got {value!r}") from None
        if w <= 0 or h <= 0:
            raise ValueError(f"image_size must be positive (width, height), got {value!r}")
        return (w, h)


_TEXT_FIELDS = ("query", "completion", "id", "group", "format", "coords")


def _clean_fields(data: Mapping[str, Any], changes: dict[str, str]) -> Mapping[str, Any]:
    """``data`` with its text fields cleaned (a new dict only when something changed); ``changes`` filled."""
    out: dict[str, Any] | None = None
    completion = data.get("completion")
    if type(completion) is str and len(completion) > PADDING_FROM:
        folded, removed = fold_padding(completion)
        if removed:
            out = dict(data)
            out["completion"] = folded
            changes["completion.padding"] = str(removed)
            data = out
    for name in _TEXT_FIELDS:
        value = data.get(name)
        if value is None:
            continue
        if type(value) is str:
            if value.isascii() and "\x00" not in value:  # nearly all text: two C-speed scans, nothing to do
                continue
            text, what = clean_text(value)
        elif isinstance(value, bytes | bytearray) and name in ("query", "completion"):
            text, what = decode_bytes(value)
            if what is None:  # clean bytes: decoded here, so that they are read once
                out = dict(data) if out is None else out
                out[name] = text
                continue
        elif isinstance(value, str):
            text, what = clean_text(value)
        else:
            continue
        if what is not None:
            out = dict(data) if out is None else out
            out[name] = text
            changes[name] = what
    image = data.get("image")
    if isinstance(image, str):
        text, what = clean_text(image)
        if what is not None:
            out = dict(data) if out is None else out
            out["image"] = text
            changes["image"] = what
    meta = data.get("meta")
    if meta:
        kinds: set[str] = set()
        cleaned, changed = clean_value(meta, kinds)
        if changed:
            out = dict(data) if out is None else out
            out["meta"] = cleaned
            changes["meta"] = ",".join(sorted(kinds))
    return data if out is None else out


class Verdict(BaseModel):
    """One verifier's judgement of one sample.

    ``score`` in [0, 1], or None when the verifier does not apply or could
    not run (``reason`` says which and why). ``gate`` is None for a verifier
    that is not a gate; True when the gate held; False when it failed, which
    forces the sample's confidence to 0. ``code`` is a stable machine-readable
    tag of the main finding (``ok``, ``skipped.no_image``, ``box.outside``, ...).
    """

    verifier: str
    score: float | None
    gate: bool | None = None
    code: str = "ok"
    reason: str = ""
    details: dict[str, Any] = Field(default_factory=dict)
    elapsed_ms: float = 0.0

    @field_validator("score")
    @classmethod
    def _score(cls, value: float | None) -> float | None:
        if value is None:
            return None
        if not math.isfinite(value):
            raise ValueError(f"score must be finite, got {value!r}")
        return min(1.0, max(0.0, float(value)))

    @property
    def failed_gate(self) -> bool:
        return self.gate is False

    @classmethod
    def skip(cls, verifier: str, code: str, reason: str, **details: Any) -> Verdict:
        """A not-applicable / skipped verdict: score None, with the reason."""
        return cls(verifier=verifier, score=None, code=code, reason=reason, details=details)


class Report(BaseModel):
    """Everything groundscore concluded about one sample."""

    id: str | None = None
    parsed: Parsed
    verdicts: list[Verdict] = Field(default_factory=list)
    confidence: float = 0.0
    decision: Decision = "abstain"
    reward: float | None = None
    elapsed_ms: float = 0.0

    @property
    def boxes(self) -> list[Box]:
        return self.parsed.boxes

    def verdict(self, name: str) -> Verdict | None:
        """The verdict of the verifier called ``name``, if it ran."""
        for v in self.verdicts:
            if v.verifier == name:
                return v
        return None

    @property
    def failed_gates(self) -> list[str]:
        return [v.verifier for v in self.verdicts if v.failed_gate]

    def model_dump_json(self, **kwargs: Any) -> str:  # type: ignore[override]
        """JSON of the report; never raises, so that every report can be written out.

        Samples are cleaned where they enter, but a plugin's verdict may
        still carry text UTF-8 cannot encode, or an object JSON has no
        form for: such text is written with U+FFFD, such an object as its
        ``repr``.
        """
        kwargs.setdefault("fallback", _json_fallback)
        try:
            return super().model_dump_json(**kwargs)
        except (ValueError, TypeError, RecursionError):  # PydanticSerializationError is a ValueError
            pass
        indent = kwargs.pop("indent", None)
        ensure_ascii = bool(kwargs.pop("ensure_ascii", False))
        separators = (",", ":") if indent is None else None
        try:
            data, _ = clean_value(self.model_dump(mode="json", **kwargs), max_depth=256)
            return json.dumps(data, indent=indent, ensure_ascii=ensure_ascii, separators=separators, default=_json_fallback)
        except (ValueError, TypeError, RecursionError) as exc:  # nested past any sense: the outcome, and why not more
            core = {"id": clean_value(self.id)[0], "confidence": self.confidence, "decision": self.decision,
                    "reward": self.reward, "error": f"report not serialisable: {type(exc).__name__}"}
            return json.dumps(core, indent=indent, ensure_ascii=ensure_ascii, separators=separators)


def _json_fallback(value: Any) -> Any:
    """What a report holds that JSON has no form for (a plugin's object in ``details``): its repr."""
    if isinstance(value, set | frozenset):
        return sorted(map(repr, value))
    return repr(value)
