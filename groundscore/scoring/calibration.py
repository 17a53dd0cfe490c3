"""Calibration: turn the chain's combined score into a probability of being right.

The weighted geometric mean of verifier scores orders answers, but its value
is not a probability: "0.9" need not mean that nine in ten such answers are
right. A calibrator, fitted on outputs with ground truth, maps the verdicts to
that probability, so that a product can pick a threshold by the accuracy it
needs.

Three models, all small enough to predict in pure Python (no numpy at
inference, so the chain stays light):

- ``platt``: ``sigmoid(a * logit(raw) + b)`` over the combined score.
- ``isotonic``: a monotone step function of the combined score
  (pool-adjacent-violators), with each step's rate smoothed by half a
  pseudo-count, so that no step claims a certainty of exactly 0 or 1.
- ``logistic``: L2-regularised logistic regression over each verifier's
  score and whether it applied, plus the combined score; it learns which
  verifiers matter on the data it is fitted on. When the training samples
  were grouped (an ``agreement`` verdict applied), it also reads the
  agreement's details (:data:`GROUP_FEATURES`: support, the consensus
  share and its margin over the runner-up cluster, membership of the
  consensus, ambiguity, group size), so the calibration combines agreement
  with the other verifiers rather than averaging it in.

``method="auto"`` fits all three and keeps the one with the lowest held-out
log-loss (stratified k-fold on the training data), then refits it on all of
it. Fitting needs numpy and scikit-learn (the ``[eval]`` extra); prediction needs nothing.

The file written by ``groundscore calibrate`` is JSON with a ``version``
field, validated with pydantic on load. The chain applies a calibrator only
where no gate failed and some verifier applied (see
:class:`groundscore.scoring.scorer.Scorer`), so fitting uses only those samples.
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from groundscore.confidence.model import read_json_model, sigmoid
from groundscore.model import Verdict

if TYPE_CHECKING:
    import numpy as np

CALIBRATION_VERSION = 1
Method = Literal["platt", "isotonic", "logistic"]
METHODS: tuple[str, ...] = ("platt", "isotonic", "logistic")

_CLIP = 1e-4  # keeps logit() finite for raw scores of exactly 0 or 1


def _logit(p: float) -> float:
    p = min(1.0 - _CLIP, max(_CLIP, p))
    return math.log(p / (1.0 - p))




# -- the models (pure Python prediction) ------------------------------------------


class PlattModel(BaseModel):
    """``p = sigmoid(a * logit(raw) + b)``."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["platt"] = "platt"
    a: float
    b: float

    def predict(self, verdicts: Sequence[Verdict], raw: float) -> float:
        return sigmoid(self.a * _logit(raw) + self.b)


class IsotonicModel(BaseModel):
    """A non-decreasing piecewise-linear map through the points (x, y)."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["isotonic"] = "isotonic"
    x: list[float] = Field(min_length=1)
    y: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _shape(self) -> IsotonicModel:
        if len(self.x) != len(self.y):
            raise ValueError(f"isotonic x and y differ in length ({len(self.x)} != {len(self.y)})")
        if any(b < a for a, b in zip(self.x, self.x[1:], strict=False)):
            raise ValueError("isotonic x must be sorted")
        if any(b < a for a, b in zip(self.y, self.y[1:], strict=False)):
            raise ValueError("isotonic y must be non-decreasing")
        if any(not 0.0 <= v <= 1.0 for v in self.y):
            raise ValueError("isotonic y must lie in [0, 1]")
        return self

    def predict(self, verdicts: Sequence[Verdict], raw: float) -> float:
        x, y = self.x, self.y
        if raw <= x[0]:
            return y[0]
        if raw >= x[-1]:
            return y[-1]
        i = bisect.bisect_right(x, raw)
        x0, x1, y0, y1 = x[i - 1], x[i], y[i - 1], y[i]
        if x1 <= x0:
            return y1
        return y0 + (y1 - y0) * (raw - x0) / (x1 - x0)


class LogisticModel(BaseModel):
    """Logistic regression over per-verifier features.

    Features, in order: for each verifier in ``verifiers``, its score (0 when
    None or absent) and whether it applied (1/0); then ``logit(raw)``.
    """

    model_config = ConfigDict(extra="forbid")

    method: Literal["logistic"] = "logistic"
    verifiers: list[str]
    coef: list[float]
    intercept: float
    group_features: bool = Field(default=False, exclude_if=lambda v: not v,
                                 description="Whether the agreement details (GROUP_FEATURES) follow; absent in files "
                                             "fitted on ungrouped samples, which stay as they were.")

    @model_validator(mode="after")
    def _shape(self) -> LogisticModel:
        n = 2 * len(self.verifiers) + 1 + (len(GROUP_FEATURES) if self.group_features else 0)
        if len(self.coef) != n:
            raise ValueError(f"logistic coef must have {n} entries, got {len(self.coef)}")
        return self

    def predict(self, verdicts: Sequence[Verdict], raw: float) -> float:
        z = self.intercept
        for f, c in zip(features(verdicts, raw, self.verifiers, self.group_features), self.coef, strict=True):
            z += f * c
        return sigmoid(z)


GROUP_FEATURES: tuple[str, ...] = ("support", "consensus_share", "consensus_margin", "in_consensus", "ambiguous",
                                    "log_group_size")
"""What the logistic model reads of an ``agreement`` verdict's details (all 0 when it did not apply)."""


def group_features(verdicts: Sequence[Verdict]) -> list[float]:
    """The :data:`GROUP_FEATURES` of one sample, from its agreement verdict."""
    verdict = next((v for v in verdicts if v.verifier == "agreement" and v.score is not None), None)
    if verdict is None:
        return [0.0] * len(GROUP_FEATURES)
    d = verdict.details
    clusters = d.get("clusters") or []
    first = float(clusters[0].get("share", 0.0)) if clusters else 0.0
    second = float(clusters[1].get("share", 0.0)) if len(clusters) > 1 else 0.0
    seen = d.get("group_seen") or d.get("group_size") or 1
    return [float(d.get("support") or 0.0), first, first - second, float(bool(d.get("in_consensus"))),
            float(bool(d.get("ambiguous"))), math.log(max(1.0, float(seen)))]


def features(verdicts: Sequence[Verdict], raw: float, verifiers: Sequence[str], grouped: bool = False) -> list[float]:
    """The logistic model's feature vector for one sample (with the agreement details when ``grouped``)."""
    scores = {v.verifier: v.score for v in verdicts}
    out: list[float] = []
    for name in verifiers:
        s = scores.get(name)
        out.append(0.0 if s is None else float(s))
        out.append(0.0 if s is None else 1.0)
    out.append(_logit(raw))
    if grouped:
        out += group_features(verdicts)
    return out


CalibrationModel = Annotated[PlattModel | IsotonicModel | LogisticModel, Field(discriminator="method")]


class FitInfo(BaseModel):
    """Where a calibrator came from, kept in the file for whoever reads it later."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(ge=0, description="Samples the final model was fitted on (no failed gate, some verifier applied).")
    positives: int = Field(ge=0)
    heldout_log_loss: dict[str, float] = Field(
        default_factory=dict, description="Held-out log-loss of each candidate method (lower is better)."
    )
    folds: int = 0
    label: str = Field(default="", description="How correctness was decided, e.g. 'iou>=0.5'.")
    source: str | None = None
    verifiers: list[str] = Field(default_factory=list, description="Verifiers whose verdicts the raw score combined.")
    weights: dict[str, float] = Field(default_factory=dict, description="Weights of the combination (empty: defaults).")


class CalibrationFile(BaseModel):
    """The JSON file ``groundscore calibrate`` writes and the chain loads."""

    model_config = ConfigDict(extra="forbid")

    version: int = CALIBRATION_VERSION
    model: CalibrationModel
    fitted: FitInfo

    @model_validator(mode="after")
    def _version(self) -> CalibrationFile:
        if self.version != CALIBRATION_VERSION:
            raise ValueError(
                f"calibration file version {self.version} is not supported by this groundscore "
                f"(expects {CALIBRATION_VERSION}); refit it with `groundscore calibrate`"
            )
        return self


class Calibrator:
    """What the chain calls: ``predict(verdicts, raw) -> probability``."""

    def __init__(self, file: CalibrationFile) -> None:
        self.file = file
        self.model = file.model

    @property
    def method(self) -> str:
        return self.model.method

    def predict(self, verdicts: Sequence[Verdict], raw: float) -> float:
        try:
            p = float(self.model.predict(verdicts, float(raw)))
        except (ValueError, TypeError, OverflowError):
            return float(raw)
        return p if math.isfinite(p) else float(raw)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.file.model_dump_json(indent=2) + "\n", encoding="utf-8")

    def __repr__(self) -> str:
        return f"<Calibrator method={self.method!r} n={self.file.fitted.n}>"


def load_calibrator(path: str | Path) -> Calibrator:
    """Read and validate a calibration file. Raises ValueError naming the problem."""
    return Calibrator(read_json_model(path, CalibrationFile, "calibration file"))


# -- fitting (numpy) ----------------------------------------------------------------


def _np() -> Any:
    try:
        import numpy
    except ImportError as exc:  # pragma: no cover - numpy ships with the eval extra
        raise ImportError("fitting a calibrator needs numpy: pip install 'groundscore[eval]'") from exc
    return numpy


def _sklearn() -> None:
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:  # pragma: no cover - scikit-learn ships with the eval extra
        raise ImportError("fitting a calibrator needs scikit-learn: pip install 'groundscore[eval]'") from exc


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = 1.0, max_iter: int = 10_000) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression (scikit-learn); the intercept is not penalised.

    Minimises ``sum(log-loss) + l2/2 * |w|^2``, which is scikit-learn's
    ``LogisticRegression(C=1/l2)``. Only the numbers are kept, so prediction
    needs no scikit-learn.

    Args:
        X: Features, one row per sample.
        y: 0/1 labels; both classes must occur.
        l2: Strength of the L2 penalty on the weights.
        max_iter: Most L-BFGS iterations.

    Returns:
        ``(weights, intercept)``.
    """
    _sklearn()
    from sklearn.linear_model import LogisticRegression

    np = _np()
    model = LogisticRegression(C=1.0 / float(l2), tol=1e-10, max_iter=max_iter)
    model.fit(np.asarray(X, dtype=float), np.asarray(y, dtype=float))
    return model.coef_[0].copy(), float(model.intercept_[0])


def pool_adjacent_violators(x: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float], list[float], list[float]]:
    """Blocks of the isotonic (non-decreasing) fit of y on x, fitted by scikit-learn.

    Returns per block: lowest x, highest x, sum of y, count (the counts let
    :func:`_fit_isotonic` shrink each block's rate). Ties in x always share a
    block (scikit-learn averages them), so the fit is a function of x.
    """
    _sklearn()
    from sklearn.isotonic import IsotonicRegression

    np = _np()
    order = np.argsort(x, kind="mergesort")
    xs, ys = np.asarray(x, float)[order], np.asarray(y, float)[order]
    fitted = IsotonicRegression(increasing=True).fit(xs, ys).predict(xs)
    lo: list[float] = []
    hi: list[float] = []
    total: list[float] = []
    count: list[float] = []
    for i in range(len(xs)):
        if lo and fitted[i] == fitted[i - 1]:
            hi[-1] = float(xs[i])
            total[-1] += float(ys[i])
            count[-1] += 1.0
        else:
            lo.append(float(xs[i]))
            hi.append(float(xs[i]))
            total.append(float(ys[i]))
            count.append(1.0)
    return lo, hi, total, count


def _fit_platt(raw: np.ndarray, y: np.ndarray) -> PlattModel:
    np = _np()
    z = np.array([_logit(float(r)) for r in raw])[:, None]
    w, b = fit_logistic(z, y, l2=1e-3)
    return PlattModel(a=float(w[0]), b=b)


def _fit_isotonic(raw: np.ndarray, y: np.ndarray) -> IsotonicModel:
    lo, hi, total, count = pool_adjacent_violators(raw, y)
    xs: list[float] = []
    ys: list[float] = []
    for a, b, t, c in zip(lo, hi, total, count, strict=True):
        rate = (t + 0.5) / (c + 1.0)  # half a pseudo-count each side: never exactly 0 or 1
        rate = max(rate, ys[-1]) if ys else rate
        xs.append(a)
        ys.append(rate)
        if b > a:
            xs.append(b)
            ys.append(rate)
    return IsotonicModel(x=xs, y=ys)


def _fit_logistic_model(verdicts: Sequence[Sequence[Verdict]], raw: np.ndarray, y: np.ndarray, names: Sequence[str]) -> LogisticModel:
    np = _np()
    grouped = any(v.verifier == "agreement" and v.score is not None for vs in verdicts for v in vs)
    X = np.array([features(v, float(r), names, grouped) for v, r in zip(verdicts, raw, strict=True)], dtype=float)
    w, b = fit_logistic(X, y, l2=1.0)
    return LogisticModel(verifiers=list(names), coef=[float(c) for c in w], intercept=b, group_features=grouped)


def _fit_one(method: str, verdicts: Sequence[Sequence[Verdict]], raw: np.ndarray, y: np.ndarray, names: Sequence[str]) -> Any:
    if method == "platt":
        return _fit_platt(raw, y)
    if method == "isotonic":
        return _fit_isotonic(raw, y)
    if method == "logistic":
        return _fit_logistic_model(verdicts, raw, y, names)
    raise ValueError(f"unknown calibration method {method!r}; choose from auto, {', '.join(METHODS)}")


def log_loss(p: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Mean binary cross-entropy (scikit-learn), probabilities clipped to [1e-6, 1 - 1e-6]."""
    _sklearn()
    from sklearn.metrics import log_loss as sk_log_loss

    np = _np()
    y = np.asarray(y, float)
    if not len(y):
        return float("nan")
    p = np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6)
    return float(sk_log_loss(y, p, labels=[0.0, 1.0]))


def stratified_folds(labels: Sequence[int] | np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """A fold number (0..k-1) per sample from scikit-learn's ``StratifiedKFold``; deterministic per seed."""
    _sklearn()
    from sklearn.model_selection import StratifiedKFold

    np = _np()
    y = np.asarray(labels).astype(int)
    fold = np.zeros(len(y), dtype=int)
    if len(y) < k:  # too few to split: each sample its own fold, round-robin
        return np.arange(len(y)) % max(k, 1)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a class with fewer members than folds is allowed
        for index, (_, held_out) in enumerate(splitter.split(np.zeros(len(y)), y)):
            fold[held_out] = index
    return fold


def fit_calibrator(
    verdicts: Sequence[Sequence[Verdict]],
    raw: Sequence[float],
    labels: Sequence[bool | int],
    method: str = "auto",
    *,
    folds: int = 5,
    seed: int = 0,
    info: dict[str, Any] | None = None,
) -> Calibrator:
    """Fit a calibrator on samples with known correctness.

    ``verdicts``, ``raw`` and ``labels`` are parallel: each sample's verdicts,
    its uncalibrated combined score and whether it was right. Pass only the
    samples the calibrator will be applied to (no failed gate, some verifier
    applied); :func:`groundscore.scoring.evaluation.calibration_rows` selects them.

    ``method`` is ``auto`` (lowest held-out log-loss of the three), ``platt``,
    ``isotonic`` or ``logistic``. ``info`` fills :class:`FitInfo` fields such
    as ``source`` and ``label``.
    """
    np = _np()
    if method != "auto" and method not in METHODS:
        raise ValueError(f"unknown calibration method {method!r}; choose from auto, {', '.join(METHODS)}")
    if not (len(verdicts) == len(raw) == len(labels)):
        raise ValueError("verdicts, raw and labels must have the same length")
    r = np.asarray(raw, dtype=float)
    y = np.asarray([1.0 if bool(v) else 0.0 for v in labels])
    if len(y) == 0:
        raise ValueError("no samples to fit a calibrator on (every sample failed a gate or had no applicable verifier)")
    names = sorted({v.verifier for vs in verdicts for v in vs})
    if y.min() == y.max():
        # One class only: nothing to learn from the scores; predict the smoothed rate.
        rate = (float(y.sum()) + 0.5) / (len(y) + 1.0)
        fit_info = FitInfo(n=len(y), positives=int(y.sum()), verifiers=names, **(info or {}))
        return Calibrator(CalibrationFile(model=PlattModel(a=0.0, b=_logit(rate)), fitted=fit_info))
    candidates = list(METHODS) if method == "auto" else [method]
    heldout: dict[str, float] = {}
    k = int(min(folds, y.sum(), len(y) - y.sum()))
    if len(candidates) > 1 and k >= 2:
        fold = stratified_folds(y, k, seed)
        for cand in candidates:
            pred = np.zeros(len(y))
            for f in range(k):
                train, test = fold != f, fold == f
                model = _fit_one(cand, [verdicts[i] for i in np.flatnonzero(train)], r[train], y[train], names)
                pred[test] = [model.predict(verdicts[i], float(r[i])) for i in np.flatnonzero(test)]
            heldout[cand] = round(log_loss(pred, y), 6)
        chosen = min(candidates, key=lambda c: (heldout[c], candidates.index(c)))
    else:
        chosen = candidates[0] if method != "auto" else "platt"
    model = _fit_one(chosen, verdicts, r, y, names)
    fit_info = FitInfo(
        n=len(y), positives=int(y.sum()), heldout_log_loss=heldout, folds=k if heldout else 0,
        verifiers=names, **(info or {}),
    )
    return Calibrator(CalibrationFile(model=model, fitted=fit_info))
