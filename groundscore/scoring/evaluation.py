"""Does the confidence tell right from wrong, and can it be trusted as a probability?

:func:`evaluate` takes labelled :class:`~groundscore.scoring.labelled.Item` objects and
reports, for each verifier and for the combined confidence:

- **AUROC** of correct vs wrong (0.5 is chance). A verifier's AUROC is
  measured on the samples it applied to (score not None); how many that was
  is reported next to it, so a verifier that never applied reads as such.
- **ECE** (expected calibration error, equal-width bins): the mean gap
  between stated confidence and observed accuracy, before calibration (the
  raw weighted geometric mean) and after.
- **Accuracy at coverage** 50/70/90/100%: keep the most confident share of
  answers; how many of the kept ones are right. Ties at the cut are counted
  at their group's mean accuracy, so the number does not depend on how ties
  happen to be ordered.
- the **risk-coverage** curve (error among kept vs share kept), and the
  reliability diagram, as PNG (matplotlib, Agg backend) and as numbers.

When no calibrator is given, calibration is cross-validated: stratified
k-fold, a calibrator fitted on k-1 folds predicts the held-out fold, so every
calibrated number is measured on samples the calibrator never saw. The
scoring rules are the chain's: a failed gate (or nothing applicable) gives
confidence 0 and the calibrator is not consulted.

numpy is needed here (the ``[eval]`` extra); matplotlib only for the plots.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from groundscore.model import Verdict
from groundscore.scoring.calibration import Calibrator, fit_calibrator, log_loss, stratified_folds
from groundscore.scoring.scorer import Scorer, combine

if TYPE_CHECKING:
    from groundscore.scoring.labelled import Item

COVERAGES: tuple[float, ...] = (0.5, 0.7, 0.9, 1.0)


# -- metrics --------------------------------------------------------------------------


def auroc(scores: Sequence[float], labels: Sequence[bool | int]) -> float | None:
    """Area under the ROC curve (scikit-learn's ``roc_auc_score``); None with one class only."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    y = np.asarray(labels, dtype=bool)
    if y.all() or not y.any():
        return None
    return float(roc_auc_score(y, np.asarray(scores, dtype=float)))


class ReliabilityBin(BaseModel):
    lo: float
    hi: float
    count: int
    confidence: float | None = Field(description="Mean confidence in the bin (None when empty).")
    accuracy: float | None = Field(description="Share of right answers in the bin (None when empty).")


def reliability(conf: Sequence[float], labels: Sequence[bool | int], bins: int = 10) -> list[ReliabilityBin]:
    """Equal-width bins over [0, 1]; the last bin includes 1.0."""
    import numpy as np

    c = np.clip(np.asarray(conf, dtype=float), 0.0, 1.0)
    y = np.asarray(labels, dtype=float)
    which = np.minimum((c * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        mask = which == b
        n = int(mask.sum())
        out.append(ReliabilityBin(
            lo=b / bins, hi=(b + 1) / bins, count=n,
            confidence=float(c[mask].mean()) if n else None,
            accuracy=float(y[mask].mean()) if n else None,
        ))
    return out


def expected_calibration_error(conf: Sequence[float], labels: Sequence[bool | int], bins: int = 10) -> float:
    """Sum over bins of (share of samples) x |accuracy - mean confidence|."""
    total = len(conf)
    if total == 0:
        return float("nan")
    return float(sum(
        b.count / total * abs(b.accuracy - b.confidence)
        for b in reliability(conf, labels, bins)
        if b.count and b.accuracy is not None and b.confidence is not None
    ))


def _groups(conf: Sequence[float], labels: Sequence[bool | int]) -> list[tuple[float, int, int]]:
    """(confidence, count, right) per distinct confidence, most confident first."""
    import numpy as np

    c = np.asarray(conf, dtype=float)
    y = np.asarray(labels, dtype=float)
    values, inverse = np.unique(-c, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(values))
    right = np.bincount(inverse, weights=y, minlength=len(values))
    return [(float(-v), int(n), round(float(r))) for v, n, r in zip(values, counts, right, strict=True)]


class CoveragePoint(BaseModel):
    coverage: float
    accuracy: float | None
    threshold: float | None = Field(description="Confidence at the cut: keep answers at or above it.")


def accuracy_at_coverage(conf: Sequence[float], labels: Sequence[bool | int], coverage: float) -> CoveragePoint:
    """Accuracy of the most confident ``coverage`` share; a tie group at the cut counts at its mean."""
    n = len(conf)
    if n == 0:
        return CoveragePoint(coverage=coverage, accuracy=None, threshold=None)
    target = coverage * n
    kept = 0.0
    right = 0.0
    threshold = None
    for value, count, r in _groups(conf, labels):
        take = min(count, target - kept)
        if take <= 0:
            break
        kept += take
        right += r * take / count
        threshold = value
    return CoveragePoint(coverage=coverage, accuracy=right / kept if kept else None, threshold=threshold)


def risk_coverage(conf: Sequence[float], labels: Sequence[bool | int]) -> list[tuple[float, float, float]]:
    """(threshold, coverage, risk) at each distinct confidence, from strictest to keep-all."""
    n = len(conf)
    points = []
    kept = right = 0
    for value, count, r in _groups(conf, labels):
        kept += count
        right += r
        points.append((value, kept / n, 1.0 - right / kept))
    return points


def area_under_risk_coverage(conf: Sequence[float], labels: Sequence[bool | int]) -> float | None:
    """Mean risk over coverage (lower is better), ties treated as one step."""
    points = risk_coverage(conf, labels)
    if not points:
        return None
    area = 0.0
    prev = 0.0
    for _, cov, risk in points:
        area += (cov - prev) * risk
        prev = cov
    return float(area)


# -- rows: what evaluation and calibration need from each labelled item -----------------


@dataclass
class Rows:
    """Parallel lists over labelled items, in input order."""

    verdicts: list[list[Verdict]] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    eligible: list[bool] = field(default_factory=list)  # the calibrator applies: no failed gate, something applied
    labels: list[bool] = field(default_factory=list)
    upstream: list[bool | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)


def calibration_rows(items: Iterable[Item], scorer: Scorer | None = None) -> tuple[Rows, Counter[str]]:
    """Labelled items -> :class:`Rows`, plus the count of unlabelled items by reason."""
    scorer = scorer or Scorer()
    rows = Rows()
    unlabelled: Counter[str] = Counter()
    for item in items:
        if item.correct is None:
            unlabelled[item.label_note.split(":")[0] if item.input_error else item.label_note] += 1
            continue
        verdicts = list(item.report.verdicts)
        raw, applicable = combine(verdicts, scorer.weights, scorer.default_weights)
        gated = any(v.gate is False for v in verdicts)
        rows.verdicts.append(verdicts)
        rows.raw.append(raw)
        rows.eligible.append(applicable and not gated)
        rows.labels.append(bool(item.correct))
        up = item.sample.meta.get("upstream_correct")
        rows.upstream.append(bool(up) if isinstance(up, int | float | bool) else None)
    return rows, unlabelled


def fit_on_rows(rows: Rows, method: str = "auto", *, folds: int = 5, seed: int = 0, info: dict[str, Any] | None = None) -> Calibrator:
    """Fit a calibrator on the rows it would be applied to."""
    idx = [i for i, e in enumerate(rows.eligible) if e]
    return fit_calibrator(
        [rows.verdicts[i] for i in idx], [rows.raw[i] for i in idx], [rows.labels[i] for i in idx],
        method, folds=folds, seed=seed, info=info,
    )


def apply_calibrator(rows: Rows, calibrator: Calibrator, indices: Iterable[int] | None = None) -> dict[int, float]:
    """Calibrated confidence per row index, by the chain's rules (0 where a gate failed)."""
    out = {}
    for i in range(len(rows)) if indices is None else indices:
        if rows.eligible[i]:
            out[i] = min(1.0, max(0.0, calibrator.predict(rows.verdicts[i], rows.raw[i])))
        else:
            out[i] = 0.0
    return out


def cross_validate(
    rows: Rows, method: str = "auto", *, folds: int = 5, seed: int = 0, fold: Sequence[int] | None = None
) -> tuple[list[float], list[int], list[str]]:
    """Out-of-fold calibrated confidences, the fold of each row, and the method each fold chose.

    ``fold`` fixes the fold of each row (default: stratified, from ``seed``).
    """
    import numpy as np

    y = np.asarray(rows.labels, dtype=int)
    if fold is None:
        k = int(min(folds, y.sum(), len(y) - y.sum()))
        if k < 2:
            raise ValueError(
                f"cross-validation needs at least 2 right and 2 wrong answers; got {int(y.sum())} right, {int(len(y) - y.sum())} wrong"
            )
        fold = stratified_folds(y, k, seed)
    else:
        k = int(max(fold)) + 1
    conf = [0.0] * len(rows)
    chosen = []
    for f in range(k):
        train = [i for i in range(len(rows)) if fold[i] != f]
        test = [i for i in range(len(rows)) if fold[i] == f]
        sub = Rows(
            verdicts=[rows.verdicts[i] for i in train], raw=[rows.raw[i] for i in train],
            eligible=[rows.eligible[i] for i in train], labels=[rows.labels[i] for i in train],
        )
        try:
            calibrator = fit_on_rows(sub, method, folds=folds, seed=seed)
        except ValueError:  # no eligible training rows: nothing to calibrate, keep raw
            for i in test:
                conf[i] = rows.raw[i] if rows.eligible[i] else 0.0
            chosen.append("none")
            continue
        chosen.append(calibrator.method)
        for i, p in apply_calibrator(rows, calibrator, test).items():
            conf[i] = p
    return conf, [int(f) for f in fold], chosen


# -- the result -------------------------------------------------------------------------


class VerifierMetrics(BaseModel):
    name: str
    applied: int = Field(description="Labelled samples with a score (not None).")
    auroc: float | None = Field(description="Correct vs wrong on the samples it applied to; None: one class or none applied.")
    mean_right: float | None = None
    mean_wrong: float | None = None
    gate_failures: int = 0
    top_skip: str | None = Field(default=None, description="Most frequent reason for a None score, with its count.")
    auroc_all: float | None = Field(
        default=None,
        description="Correct vs wrong on every labelled sample, a None score counted as 0 (a verifier that cannot "
        "check an answer gives it no support), as benchmarks/eval_groups.py ranks agreement.",
    )


class ConfidenceMetrics(BaseModel):
    auroc: float | None
    ece: float
    log_loss: float
    brier: float
    aurc: float | None = Field(description="Area under the risk-coverage curve (lower is better).")
    coverage: list[CoveragePoint]
    reliability: list[ReliabilityBin]
    risk_coverage: list[tuple[float, float, float]] = Field(description="(threshold, coverage, risk), at most ~200 points.")


class CalibrationSummary(BaseModel):
    mode: str = Field(description="'cross-validated' (fitted and tested on folds of this input) or 'file'.")
    folds: int = 0
    methods: list[str] = Field(default_factory=list, description="Method chosen in each fold (or the file's).")
    fold_ece: list[float] = Field(default_factory=list, description="ECE of each held-out fold.")


class EvalResult(BaseModel):
    """Everything ``groundscore eval`` measured on one input, JSON-ready."""

    source: str | None = None
    items: int
    labelled: int
    unlabelled: dict[str, int] = Field(default_factory=dict)
    accuracy: float | None = Field(description="Share of right answers among labelled samples.")
    upstream_accuracy: float | None = Field(default=None, description="The input's own correctness field, where it has one (VLM-R1: its regex).")
    eligible: int = Field(description="Labelled samples the calibrator applies to (no failed gate, something applied).")
    gated: int = Field(default=0, description="Labelled samples where a gate failed (confidence 0).")
    gated_accuracy: float | None = Field(default=None, description="Share of right answers among them: the cost of the gates.")
    bins: int
    verifiers: list[VerifierMetrics]
    raw: ConfidenceMetrics | None
    calibrated: ConfidenceMetrics | None
    calibration: CalibrationSummary | None = None


def _thin(points: list[tuple[float, float, float]], most: int = 200) -> list[tuple[float, float, float]]:
    if len(points) <= most:
        return [(round(t, 6), round(c, 6), round(r, 6)) for t, c, r in points]
    step = len(points) / most
    keep = sorted({int(i * step) for i in range(most)} | {len(points) - 1})
    return [(round(points[i][0], 6), round(points[i][1], 6), round(points[i][2], 6)) for i in keep]


def confidence_metrics(conf: Sequence[float], labels: Sequence[bool | int], bins: int = 10) -> ConfidenceMetrics:
    import numpy as np
    from sklearn.metrics import brier_score_loss

    c = np.asarray(conf, dtype=float)
    y = np.asarray(labels, dtype=float)
    return ConfidenceMetrics(
        auroc=auroc(c, y),
        ece=expected_calibration_error(c, y, bins),
        log_loss=log_loss(c, y),
        brier=float(brier_score_loss(y, c, labels=[0.0, 1.0])) if len(y) else float("nan"),
        aurc=area_under_risk_coverage(c, y),
        coverage=[accuracy_at_coverage(c, y, cov) for cov in COVERAGES],
        reliability=reliability(c, y, bins),
        risk_coverage=_thin(risk_coverage(c, y)),
    )


def verifier_metrics(rows: Rows, names: Sequence[str]) -> list[VerifierMetrics]:
    out = []
    for name in names:
        scores, labels = [], []
        every: list[float] = []
        skips: Counter[str] = Counter()
        gate_failures = 0
        for verdicts, label in zip(rows.verdicts, rows.labels, strict=True):
            v = next((v for v in verdicts if v.verifier == name), None)
            every.append(v.score if v is not None and v.score is not None else 0.0)
            if v is None:
                skips["not run"] += 1
                continue
            if v.gate is False:
                gate_failures += 1
            if v.score is None:
                skips[v.code + (f": {v.reason}" if v.reason else "")] += 1
                continue
            scores.append(v.score)
            labels.append(label)
        right = [s for s, lab in zip(scores, labels, strict=True) if lab]
        wrong = [s for s, lab in zip(scores, labels, strict=True) if not lab]
        top = skips.most_common(1)
        out.append(VerifierMetrics(
            name=name, applied=len(scores), auroc=auroc(scores, labels) if scores else None,
            mean_right=sum(right) / len(right) if right else None,
            mean_wrong=sum(wrong) / len(wrong) if wrong else None,
            gate_failures=gate_failures,
            top_skip=f"{top[0][1]}x {top[0][0]}"[:300] if top else None,
            auroc_all=auroc(every, rows.labels) if scores else None,
        ))
    return out


def evaluate(
    items: Iterable[Item],
    *,
    scorer: Scorer | None = None,
    calibrator: Calibrator | None = None,
    method: str = "auto",
    folds: int = 5,
    seed: int = 0,
    bins: int = 10,
    source: str | None = None,
    verifiers: Sequence[str] | None = None,
) -> EvalResult:
    """Evaluate labelled items; cross-validates calibration unless ``calibrator`` is given.

    ``scorer`` supplies the weights of the raw combination (the chain's
    ``chain.scorer``); ``verifiers`` orders the per-verifier table (default:
    every verifier seen, in first-seen order).
    """
    items = list(items)
    rows, unlabelled = calibration_rows(items, scorer)
    if verifiers is None:
        seen: dict[str, None] = {}
        for vs in rows.verdicts:
            for v in vs:
                seen.setdefault(v.verifier, None)
        verifiers = list(seen)
    n = len(rows)
    accuracy = sum(rows.labels) / n if n else None
    upstream = [u for u in rows.upstream if u is not None]
    gated = [lab for vs, lab in zip(rows.verdicts, rows.labels, strict=True) if any(v.gate is False for v in vs)]
    result = EvalResult(
        source=source, items=len(items), labelled=n, unlabelled=dict(unlabelled), accuracy=accuracy,
        upstream_accuracy=sum(upstream) / len(upstream) if upstream and len(upstream) == n else None,
        eligible=sum(rows.eligible), gated=len(gated), gated_accuracy=sum(gated) / len(gated) if gated else None,
        bins=bins, verifiers=verifier_metrics(rows, verifiers),
        raw=None, calibrated=None,
    )
    if n == 0:
        return result
    raw_conf = [r if e else 0.0 for r, e in zip(rows.raw, rows.eligible, strict=True)]
    result.raw = confidence_metrics(raw_conf, rows.labels, bins)
    if calibrator is not None:
        cal = apply_calibrator(rows, calibrator)
        conf = [cal[i] for i in range(n)]
        result.calibrated = confidence_metrics(conf, rows.labels, bins)
        result.calibration = CalibrationSummary(mode="file", methods=[calibrator.method])
        return result
    try:
        conf, fold, chosen = cross_validate(rows, method, folds=folds, seed=seed)
    except ValueError as exc:
        result.calibration = CalibrationSummary(mode=f"not possible: {exc}")
        return result
    result.calibrated = confidence_metrics(conf, rows.labels, bins)
    fold_ece = []
    for f in range(len(chosen)):
        idx = [i for i in range(n) if fold[i] == f]
        fold_ece.append(round(expected_calibration_error([conf[i] for i in idx], [rows.labels[i] for i in idx], bins), 6))
    result.calibration = CalibrationSummary(mode="cross-validated", folds=len(chosen), methods=chosen, fold_ece=fold_ece)
    return result


# -- plots ----------------------------------------------------------------------------------


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def draw_reliability(ax: Any, result: EvalResult, title: str | None = None) -> None:
    """Reliability diagram on a matplotlib axis: calibrated bars, raw markers, the diagonal."""
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--")
    if result.calibrated is not None:
        bins = [b for b in result.calibrated.reliability if b.count]
        ax.bar([b.lo for b in bins], [b.accuracy for b in bins], width=1.0 / result.bins, align="edge",
               color="#4C72B0", alpha=0.75, edgecolor="white",
               label=f"calibrated (ECE {result.calibrated.ece:.3f})")
    if result.raw is not None:
        pts = [b for b in result.raw.reliability if b.count]
        ax.plot([b.confidence for b in pts], [b.accuracy for b in pts], "o", color="#DD8452", ms=4,
                label=f"raw (ECE {result.raw.ece:.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    if title:
        ax.set_title(title, fontsize=8)


def draw_risk_coverage(ax: Any, result: EvalResult, title: str | None = None) -> None:
    """Risk-coverage curves (error among kept answers vs share kept), with the oracle."""
    for name, metrics, color in (("raw", result.raw, "#DD8452"), ("calibrated", result.calibrated, "#4C72B0")):
        if metrics is None or not metrics.risk_coverage:
            continue
        cov = [0.0] + [p[1] for p in metrics.risk_coverage]
        risk = [metrics.risk_coverage[0][2]] + [p[2] for p in metrics.risk_coverage]
        ax.step(cov, risk, where="pre", color=color, lw=1.5,
                label=f"{name} (AUROC {metrics.auroc:.2f})" if metrics.auroc is not None else name)
    if result.accuracy is not None:
        err = 1.0 - result.accuracy
        xs = [i / 100 for i in range(1, 101)]
        ax.plot(xs, [max(0.0, 1.0 - (1.0 - err) / x) for x in xs], color="0.6", lw=1, ls="--", label="oracle")
        ax.axhline(err, color="0.8", lw=1, ls=":")
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("coverage (share of answers kept)")
    ax.set_ylabel("risk (error among kept)")
    ax.legend(loc="lower left", fontsize=7, frameon=True, framealpha=0.8)
    if title:
        ax.set_title(title, fontsize=8)


def write_plots(result: EvalResult, out_dir: str | Path, stem: str, dpi: int = 90) -> list[Path]:
    """``<stem>_reliability.png`` and ``<stem>_risk_coverage.png`` in ``out_dir``."""
    plt = _pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, draw in (("reliability", draw_reliability), ("risk_coverage", draw_risk_coverage)):
        fig, ax = plt.subplots(figsize=(4.2, 3.6))
        draw(ax, result, stem)
        fig.tight_layout()
        path = out / f"{stem}_{suffix}.png"
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
        paths.append(path)
    return paths


def write_grid(results: Sequence[tuple[str, EvalResult]], path: str | Path, kind: str, columns: int = 4, dpi: int = 70) -> Path:
    """One PNG with a panel per input (``kind``: ``reliability`` or ``risk_coverage``)."""
    plt = _pyplot()
    draw = draw_reliability if kind == "reliability" else draw_risk_coverage
    rows = max(1, (len(results) + columns - 1) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.3 * columns, 3.0 * rows), squeeze=False)
    for ax in axes.flat[len(results):]:
        ax.axis("off")
    for ax, (name, result) in zip(axes.flat, results, strict=False):
        draw(ax, result, name)
        ax.xaxis.label.set_size(7)
        ax.yaxis.label.set_size(7)
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=dpi, format="png")
    plt.close(fig)
    from PIL import Image

    buffer.seek(0)
    with Image.open(buffer) as im:  # a 256-colour palette keeps the docs images small
        im.convert("RGB").quantize(colors=256).save(path, optimize=True)
    return Path(path)
