"""Is a per-log shortfall a real one or sampling noise? Paired bootstrap intervals for AUROC gaps and ECE.

A per-log target ("AUROC at least the best simple predictor's on every log")
read on 60 logs of 300-2,000 answers, with 10-30% wrong answers, misses on
some logs by chance alone: with 60 wrong answers in 500, an AUROC's standard
error is about 0.035. So each log's verdict is read with a paired bootstrap
(the same resampled answers score both predictors, so what they share
cancels): *met* when the observed figure meets the target, *within noise*
when it does not but the 95% interval of the gap still reaches the target,
*missed* when the whole interval falls short. Only *missed* says the method
is worse there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

Verdict = Literal["met", "within noise", "missed"]


def _auroc_rows(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """AUROC of each row of ``scores`` (B x n) against the matching row of labels ``y`` (B x n, bool), by mid-ranks
    (ties count a half, as scikit-learn's ``roc_auc_score``); NaN for a row with one class only."""
    from scipy.stats import rankdata

    ranks = rankdata(scores, axis=1)
    pos = y.sum(axis=1).astype(float)
    neg = y.shape[1] - pos
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((ranks * y).sum(axis=1) - pos * (pos + 1) / 2) / (pos * neg)


def _ece_rows(conf: np.ndarray, y: np.ndarray, bins: int = 10) -> np.ndarray:
    """ECE (equal-width bins, the last one closed) of each row, as ``groundscore.scoring.evaluation``."""
    c = np.clip(conf, 0.0, 1.0)
    which = np.minimum((c * bins).astype(int), bins - 1)
    n = conf.shape[1]
    out = np.zeros(conf.shape[0])
    for b in range(bins):
        m = which == b
        count = m.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            gap = np.abs((c * m).sum(axis=1) - (y * m).sum(axis=1)) / count
        out += np.where(count > 0, count / n * np.nan_to_num(gap), 0.0)
    return out


def _resamples(n: int, rounds: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(rounds, n))


def auroc_gap(
    scores: Sequence[float], baselines: Sequence[Sequence[float]], labels: Sequence[bool], margin: float = 0.0,
    rounds: int = 1000, seed: int = 0,
) -> tuple[float, float, float]:
    """(observed gap, 2.5th and 97.5th percentile of the gap): AUROC of ``scores`` minus (the best baseline's
    AUROC + ``margin``). Each baseline counts in the direction that suits it best on the whole sample, fixed before
    resampling (as the evaluation's bar is); the best baseline is chosen anew in each resample, so the bar stays as
    high as the evaluation's."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=float)
    base, best = [], -np.inf
    for b in baselines:
        arr = np.asarray(b, dtype=float)
        a = _auroc_rows(arr[None, :], y[None, :])[0]
        base.append(arr if a >= 0.5 else -arr)
        best = max(best, a, 1.0 - a)  # the flipped score's AUROC is 1 - a
    observed = float(_auroc_rows(s[None, :], y[None, :])[0] - best - margin)
    idx = _resamples(len(y), rounds, seed)
    yy = y[idx]
    keep = yy.any(axis=1) & ~yy.all(axis=1)
    gaps = _auroc_rows(s[idx], yy) - np.max([_auroc_rows(b[idx], yy) for b in base], axis=0) - margin
    lo, hi = np.percentile(gaps[keep], [2.5, 97.5])
    return observed, float(lo), float(hi)


def ece_interval(conf: Sequence[float], labels: Sequence[bool], rounds: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """(observed ECE, 2.5th and 97.5th percentile over resamples)."""
    c = np.asarray(conf, dtype=float)
    y = np.asarray(labels, dtype=float)
    observed = float(_ece_rows(c[None, :], y[None, :])[0])
    idx = _resamples(len(y), rounds, seed)
    lo, hi = np.percentile(_ece_rows(c[idx], y[idx]), [2.5, 97.5])
    return observed, float(lo), float(hi)


def verdict_at_least(observed: float, hi: float) -> Verdict:
    """For a gap that should be >= 0: met, within noise (the interval reaches 0) or missed."""
    return "met" if observed >= 0 else ("within noise" if hi >= 0 else "missed")


def verdict_at_most(observed: float, lo: float, bound: float) -> Verdict:
    """For a figure that should be <= ``bound``: met, within noise (the interval reaches it) or missed."""
    return "met" if observed <= bound else ("within noise" if lo <= bound else "missed")
