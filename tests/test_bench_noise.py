"""The paired bootstrap that reads per-log targets as met, within noise or missed (benchmarks/noise.py)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from noise import _auroc_rows, _ece_rows, auroc_gap, ece_interval, verdict_at_least, verdict_at_most

from groundscore.scoring.evaluation import auroc, expected_calibration_error


def _data(n: int, signal: float, seed: int) -> tuple[list[float], list[bool]]:
    rng = random.Random(seed)
    y = [rng.random() < 0.8 for _ in range(n)]
    return [signal * v + rng.random() for v in y], y


def test_rank_auroc_and_ece_match_the_library_s_own() -> None:
    s, y = _data(300, 0.3, 1)
    s[:40] = [round(v, 1) for v in s[:40]]  # ties count a half, as in roc_auc_score
    assert _auroc_rows(np.array([s]), np.array([y]))[0] == pytest.approx(auroc(s, y))
    conf = [min(1.0, v / 1.3) for v in s]
    assert _ece_rows(np.array([conf]), np.array([y], dtype=float))[0] == pytest.approx(expected_calibration_error(conf, y))


def test_a_clearly_better_score_is_met_and_a_clearly_worse_one_missed() -> None:
    strong, y = _data(500, 1.0, 2)
    rng = random.Random(3)
    weak = [0.2 * v + rng.random() for v in y]
    obs, lo, hi = auroc_gap(strong, [weak], y)
    assert lo > 0 and verdict_at_least(obs, hi) == "met"
    obs, lo, hi = auroc_gap(weak, [strong], y)
    assert hi < 0 and verdict_at_least(obs, hi) == "missed"


def test_the_same_score_against_itself_is_a_zero_gap_and_a_margin_is_within_noise_only_when_small() -> None:
    s, y = _data(400, 0.3, 4)
    obs, lo, hi = auroc_gap(s, [s], y)
    assert obs == pytest.approx(0.0) and lo == pytest.approx(0.0) and hi == pytest.approx(0.0)
    # a small margin on two noisy but equal predictors: short of the target, but not beyond noise
    rng = random.Random(5)
    other = [0.3 * v + rng.random() for v in y]
    obs, lo, hi = auroc_gap(s, [other], y, margin=0.005)
    assert lo < obs < hi
    assert verdict_at_least(-0.01, 0.02) == "within noise"
    assert verdict_at_least(-0.05, -0.01) == "missed"


def test_the_baseline_counts_in_its_best_direction() -> None:
    s, y = _data(400, 1.0, 6)
    flipped = [-v for v in s]
    obs, _, _ = auroc_gap(s, [flipped], y)
    assert obs == pytest.approx(0.0)


def test_ece_interval_brackets_a_calibrated_and_misses_an_overconfident_predictor() -> None:
    rng = random.Random(7)
    conf = [rng.random() for _ in range(2000)]
    y = [rng.random() < c for c in conf]
    obs, lo, hi = ece_interval(conf, y)
    assert lo <= obs <= hi and verdict_at_most(obs, lo, 0.05) == "met"
    over = [min(1.0, c + 0.3) for c in conf]
    obs, lo, _ = ece_interval(over, y)
    assert verdict_at_most(obs, lo, 0.05) == "missed"
