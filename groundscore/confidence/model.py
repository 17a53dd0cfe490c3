"""The confidence model: named features -> P(the answer is right), in pure Python.

The coefficients live in a JSON file (the shipped one is
``groundscore/data/confidence.json``, written by ``benchmarks/fit_confidence.py``
from every labelled log in the shared data), validated with pydantic on load.
Prediction needs no numpy: a logistic regression over standardised features,
or a sum of small regression trees (gradient boosting), each followed by a
Platt map fitted on held-out questions so that the output is a probability.

Two sub-models: ``single`` reads one answer on its own; ``group`` also reads
what the ``agreement`` verdict shows of the other answers to the same question
and is used only when agreement applied.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

CONFIDENCE_VERSION = 1
_M = TypeVar("_M", bound=BaseModel)


def sigmoid(z: float) -> float:
    """The logistic function, numerically safe at both ends (the calibrators use it too)."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class Tree(BaseModel):
    """One regression tree as parallel arrays (scikit-learn's layout): a node with ``feature`` -1 is a leaf."""

    model_config = ConfigDict(extra="forbid")

    feature: list[int]
    threshold: list[float]
    left: list[int]
    right: list[int]
    value: list[float]

    @model_validator(mode="after")
    def _shape(self) -> Tree:
        n = len(self.feature)
        if not n or any(len(a) != n for a in (self.threshold, self.left, self.right, self.value)):
            raise ValueError("tree arrays must be non-empty and of one length")
        for i, f in enumerate(self.feature):
            if f >= 0 and not (i < self.left[i] < n and i < self.right[i] < n):
                raise ValueError(f"tree node {i} points outside the tree or backwards")
        return self

    def __call__(self, x: list[float]) -> float:
        i = 0
        feature, threshold = self.feature, self.threshold
        while feature[i] >= 0:
            i = self.left[i] if x[feature[i]] <= threshold[i] else self.right[i]
        return self.value[i]


class SubModel(BaseModel):
    """One fitted model over ``features``; ``kind`` says how the score ``z`` is made, ``platt`` maps it to P."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["logistic", "boosted", "stacked"]
    features: list[str] = Field(min_length=1)
    mean: list[float] = Field(default_factory=list, description="logistic: feature means (standardisation).")
    scale: list[float] = Field(default_factory=list, description="logistic: feature standard deviations.")
    coef: list[float] = Field(default_factory=list, description="logistic: one weight per standardised feature.")
    intercept: float = 0.0
    learning_rate: float = Field(default=0.1, description="boosted: each tree's contribution.")
    trees: list[Tree] = Field(default_factory=list, description="boosted: z = intercept + learning_rate * sum(trees).")
    platt: tuple[float, float] = Field(default=(1.0, 0.0), description="P = sigmoid(a * z + b).")

    @model_validator(mode="after")
    def _shape(self) -> SubModel:
        n = len(self.features)
        if self.kind in ("logistic", "stacked") and not (len(self.mean) == len(self.scale) == len(self.coef) == n):
            raise ValueError(f"{self.kind} mean, scale and coef must each have {n} entries")
        if self.kind in ("boosted", "stacked"):
            if not self.trees:
                raise ValueError("a boosted model needs trees")
            if any(f >= n for t in self.trees for f in t.feature):
                raise ValueError("a tree reads a feature the model does not have")
        if any(s <= 0 or not math.isfinite(s) for s in self.scale):
            raise ValueError("scales must be positive and finite")
        return self

    def score(self, x: list[float]) -> float:
        if self.kind == "boosted":
            return self.intercept + self.learning_rate * sum(t(x) for t in self.trees)
        z = self.intercept
        for v, m, s, c in zip(x, self.mean, self.scale, self.coef, strict=True):
            z += c * (v - m) / s
        if self.kind == "stacked":  # the linear score, corrected by small trees where the logs are dense
            z += self.learning_rate * sum(t(x) for t in self.trees)
        return z

    def scores(self, X: Any) -> list[float]:
        """``score`` of each row of a matrix whose columns are ``features`` (fitting and evaluation)."""
        return [self.score([float(v) for v in row]) for row in X]

    def predict(self, features: dict[str, float]) -> float:
        """P(correct) from a mapping of feature values (a missing feature counts as 0)."""
        x = [float(features.get(name, 0.0)) for name in self.features]
        a, b = self.platt
        return sigmoid(a * self.score(x) + b)


class FitSummary(BaseModel):
    """Where the model came from, for whoever reads the file later."""

    model_config = ConfigDict(extra="allow")

    label: str = "iou>=0.5 of the first parsed box with the ground truth"
    logs: list[str] = Field(default_factory=list)
    n_single: int = 0
    n_group: int = 0
    command: str = "python benchmarks/fit_confidence.py"


class ConfidenceFile(BaseModel):
    """The JSON file the chain loads (``ChainConfig.confidence``)."""

    model_config = ConfigDict(extra="forbid")

    version: int = CONFIDENCE_VERSION
    single: SubModel
    group: SubModel | None = None
    fitted: FitSummary = Field(default_factory=FitSummary)

    @model_validator(mode="after")
    def _version(self) -> ConfidenceFile:
        if self.version != CONFIDENCE_VERSION:
            raise ValueError(f"confidence model version {self.version} is not supported (expects {CONFIDENCE_VERSION}); "
                             "refit it with benchmarks/fit_confidence.py")
        return self

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")


def read_json_model(path: str | Path, model: type[_M], what: str) -> _M:
    """Read a JSON file and validate it as ``model``; errors name ``what``, the file and the first bad field.

    Shared by the confidence model and calibration files, so both fail the same way: FileNotFoundError when
    the file is missing, ValueError when it is not JSON or does not validate.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} not found: {p}") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{what} {p} is not readable JSON: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or "file"
        raise ValueError(f"{what} {p} is invalid at {where!r}: {first.get('msg')}") from None


def load_confidence_model(path: str | Path) -> ConfidenceFile:
    """Read and validate a confidence model file. Raises ValueError (or FileNotFoundError) naming the problem."""
    return read_json_model(path, ConfidenceFile, "confidence model file")

SHIPPED = "confidence.json"


@lru_cache(maxsize=1)
def default_model() -> ConfidenceFile:
    """The model shipped in ``groundscore/data/confidence.json`` (read once per process)."""
    ref = resources.files("groundscore").joinpath("data", SHIPPED)
    return ConfidenceFile.model_validate(json.loads(ref.read_text(encoding="utf-8")))
