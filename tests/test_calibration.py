"""Calibration: the fitting maths against scikit-learn, the file format, and the chain using it."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from groundscore import Chain, Verdict
from groundscore.scoring.calibration import (
    CALIBRATION_VERSION,
    IsotonicModel,
    fit_calibrator,
    fit_logistic,
    load_calibrator,
    log_loss,
    pool_adjacent_violators,
    stratified_folds,
)
from groundscore.scoring.evaluation import expected_calibration_error


def _v(name: str, score: float | None) -> Verdict:
    return Verdict(verifier=name, score=score)


def test_fit_logistic_matches_scikit_learn() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    y = (X @ np.array([1.5, -2.0, 0.3]) + 0.4 + rng.logistic(size=400) > 0).astype(float)
    w, b = fit_logistic(X, y, l2=1.0)
    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(X, y)
    assert np.allclose(w, ref.coef_[0], atol=1e-4)
    assert math.isclose(b, ref.intercept_[0], abs_tol=1e-4)


def test_pool_adjacent_violators_matches_scikit_learn() -> None:
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(2)
    x = np.round(rng.uniform(size=300), 2)  # rounding makes ties
    y = (rng.uniform(size=300) < x).astype(float)
    lo, hi, total, count = pool_adjacent_violators(x, y)
    assert sum(count) == 300
    assert all(a <= b for a, b in zip(lo, hi, strict=True))
    rates = [t / c for t, c in zip(total, count, strict=True)]
    assert all(a < b for a, b in itertools.pairwise(rates))
    ours = np.array([rates[next(i for i in range(len(lo)) if lo[i] <= v <= hi[i])] for v in x])
    ref = IsotonicRegression(increasing=True).fit(x, y).predict(x)
    assert np.allclose(ours, ref, atol=1e-9)


def _synthetic(n: int, seed: int) -> tuple[list[list[Verdict]], list[float], list[bool], np.ndarray]:
    """An over-confident score: raw = p ** 0.25, so raw says 0.84 where the truth is 0.5."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, size=n)
    labels = list(rng.uniform(size=n) < p)
    raw = list(p ** 0.25)
    verdicts = [[_v("a", r)] for r in raw]
    return verdicts, raw, labels, p


@pytest.mark.parametrize("method", ["platt", "isotonic", "logistic", "auto"])
def test_calibration_fixes_an_overconfident_score_on_fresh_data(method: str) -> None:
    verdicts, raw, labels, _ = _synthetic(3000, seed=3)
    calibrator = fit_calibrator(verdicts, raw, labels, method)
    test_v, test_raw, test_labels, _ = _synthetic(3000, seed=4)
    before = expected_calibration_error(test_raw, test_labels)
    after = expected_calibration_error([calibrator.predict(v, r) for v, r in zip(test_v, test_raw, strict=True)], test_labels)
    assert before > 0.15
    assert after < 0.04
    if method != "auto":
        assert calibrator.method == method


def test_auto_keeps_the_candidate_with_the_lowest_heldout_log_loss() -> None:
    verdicts, raw, labels, _ = _synthetic(1500, seed=5)
    calibrator = fit_calibrator(verdicts, raw, labels, "auto")
    losses = calibrator.file.fitted.heldout_log_loss
    assert set(losses) == {"platt", "isotonic", "logistic"}
    assert losses[calibrator.method] == min(losses.values())
    assert calibrator.file.fitted.n == 1500
    assert calibrator.file.fitted.positives == sum(labels)


def test_logistic_learns_which_verifier_matters() -> None:
    """The geometric mean weights a noise verifier like a good one; the logistic model does not."""
    rng = np.random.default_rng(6)
    n = 3000
    p = rng.uniform(0.05, 0.95, size=n)
    labels = list(rng.uniform(size=n) < p)
    noise = rng.uniform(0.05, 1.0, size=n)
    verdicts = [[_v("good", float(a)), _v("noise", float(b))] for a, b in zip(p, noise, strict=True)]
    raw = [math.sqrt(a * b) for a, b in zip(p, noise, strict=True)]
    calibrator = fit_calibrator(verdicts, raw, labels, "auto")
    assert calibrator.method == "logistic"
    losses = calibrator.file.fitted.heldout_log_loss
    assert losses["logistic"] < losses["platt"] - 0.01
    coef = dict(zip(["good", "good_applied", "noise", "noise_applied", "raw"], calibrator.model.coef, strict=True))
    assert coef["good"] > 2.0
    assert abs(coef["noise"]) < 1.0


def test_a_missing_verifier_is_treated_as_not_applied() -> None:
    verdicts = [[_v("a", 0.9), _v("b", None)]] * 20 + [[_v("a", 0.1), _v("b", 0.5)]] * 20
    labels = [True] * 18 + [False] * 2 + [False] * 18 + [True] * 2
    raw = [0.9] * 20 + [0.22] * 20
    calibrator = fit_calibrator(verdicts, raw, labels, "logistic")
    assert calibrator.predict([_v("a", 0.9)], 0.9) == pytest.approx(calibrator.predict([_v("a", 0.9), _v("b", None)], 0.9))
    assert calibrator.predict([_v("a", 0.9)], 0.9) > 0.7


def test_one_class_data_gives_a_constant_not_a_crash() -> None:
    calibrator = fit_calibrator([[_v("a", 0.5)]] * 10, [0.5] * 10, [True] * 10, "auto")
    p = calibrator.predict([], 0.1)
    assert p == pytest.approx(calibrator.predict([], 0.9))
    assert 0.9 < p < 1.0


def test_empty_and_unknown_method_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="no samples"):
        fit_calibrator([], [], [], "auto")
    with pytest.raises(ValueError, match="unknown calibration method"):
        fit_calibrator([[_v("a", 0.5)]], [0.5], [True], "beta")


def test_stratified_folds_balance_classes_and_are_deterministic() -> None:
    labels = [1] * 80 + [0] * 20
    a = stratified_folds(labels, 5, seed=0)
    assert list(a) == list(stratified_folds(labels, 5, seed=0))
    for f in range(5):
        assert sum(1 for x, y in zip(a, labels, strict=True) if x == f and y == 1) == 16
        assert sum(1 for x, y in zip(a, labels, strict=True) if x == f and y == 0) == 4


def test_log_loss_is_finite_for_certain_wrong_predictions() -> None:
    assert math.isfinite(log_loss([1.0, 0.0], [0, 1]))
    assert log_loss([0.5, 0.5], [0, 1]) == pytest.approx(math.log(2))


def test_isotonic_model_rejects_a_decreasing_map() -> None:
    with pytest.raises(ValueError, match="non-decreasing"):
        IsotonicModel(x=[0.1, 0.9], y=[0.8, 0.2])


# -- the file --------------------------------------------------------------------------------


def _fitted(tmp_path, method: str = "auto"):
    verdicts, raw, labels, _ = _synthetic(800, seed=7)
    calibrator = fit_calibrator(verdicts, raw, labels, method, info={"label": "synthetic", "source": "test"})
    path = tmp_path / "calib.json"
    calibrator.save(path)
    return calibrator, path


@pytest.mark.parametrize("method", ["platt", "isotonic", "logistic"])
def test_file_round_trip_predicts_the_same(tmp_path, method: str) -> None:
    calibrator, path = _fitted(tmp_path, method)
    data = json.loads(path.read_text())
    assert data["version"] == CALIBRATION_VERSION
    assert data["model"]["method"] == method
    assert data["fitted"]["label"] == "synthetic"
    loaded = load_calibrator(path)
    for raw in (0.0, 0.2, 0.5, 0.77, 1.0):
        vs = [_v("a", raw)]
        assert loaded.predict(vs, raw) == pytest.approx(calibrator.predict(vs, raw), abs=1e-12)
        assert 0.0 <= loaded.predict(vs, raw) <= 1.0


def test_bad_files_are_errors_that_say_what_is_wrong(tmp_path) -> None:
    _, path = _fitted(tmp_path)
    data = json.loads(path.read_text())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**data, "version": 99}))
    with pytest.raises(ValueError, match="version 99"):
        load_calibrator(bad)
    bad.write_text(json.dumps({**data, "extra": 1}))
    with pytest.raises(ValueError, match="extra"):
        load_calibrator(bad)
    bad.write_text(json.dumps({**data, "model": {"method": "platt", "a": "x", "b": 0}}))
    with pytest.raises(ValueError, match=r"model\.platt\.a"):
        load_calibrator(bad)
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not readable JSON"):
        load_calibrator(bad)
    with pytest.raises(FileNotFoundError):
        load_calibrator(tmp_path / "missing.json")


def test_the_chain_uses_a_configured_calibration(tmp_path) -> None:
    path = tmp_path / "calib.json"
    path.write_text(json.dumps({
        "version": 1,
        "model": {"method": "platt", "a": 0.0, "b": math.log(0.3 / 0.7)},
        "fitted": {"n": 10, "positives": 3},
    }))
    good = {"query": "dog", "completion": '[{"bbox_2d": [10, 10, 50, 50], "label": "dog"}]', "image_size": [100, 100]}
    broken = {"query": "dog", "completion": "", "image_size": [100, 100]}
    plain = Chain({"verifiers": ["schema"], "confidence": "combine"}).verify([good, broken])
    calibrated = Chain({"verifiers": ["schema"], "calibration": str(path)}).verify([good, broken])
    assert plain[0].confidence == pytest.approx(1.0)
    assert calibrated[0].confidence == pytest.approx(0.3)
    assert calibrated[0].decision == "abstain"  # 0.25 <= 0.3 < 0.5
    assert calibrated[1].confidence == 0.0  # a failed gate is never calibrated upwards


def test_prediction_needs_no_numpy_and_import_stays_light(tmp_path) -> None:
    _, path = _fitted(tmp_path, "logistic")
    code = (
        "import sys, groundscore\n"
        "heavy = [m for m in ('numpy', 'sklearn', 'matplotlib', 'torch', 'spacy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from groundscore.scoring.calibration import load_calibrator\n"
        "from groundscore.model import Verdict\n"
        f"c = load_calibrator({str(path)!r})\n"
        "p = c.predict([Verdict(verifier='a', score=0.5)], 0.5)\n"
        "assert 0 < p < 1\n"
        "assert 'numpy' not in sys.modules and 'sklearn' not in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_cli_calibrate_then_use_the_file(tmp_path) -> None:
    from pathlib import Path

    from groundscore.cli import main

    log = Path(__file__).parent / "fixtures" / "vlmr1_original_refcoco_excerpt.json"
    out = tmp_path / "calib.json"
    assert main(["calibrate", str(log), "--from", "vlm-r1", "-o", str(out), "--verifiers", "schema"]) == 0
    calibrator = load_calibrator(out)
    info = calibrator.file.fitted
    assert info.label == "iou>=0.5" and info.source == log.name and info.verifiers == ["schema"]
    assert 200 < info.n <= 250
    assert set(info.heldout_log_loss) == {"platt", "isotonic", "logistic"}
    reports = Chain({"verifiers": ["schema"], "calibration": str(out)}).verify(
        [{"query": "dog", "completion": '[{"bbox_2d": [10, 10, 50, 50], "label": "dog"}]', "image_size": [100, 100]}]
    )
    # a clean answer on these logs is right about 9 times in 10, not "1.0"
    assert 0.8 < reports[0].confidence < 0.97
    # an unknown method is a usage error (exit 2), never a traceback
    assert main(["calibrate", str(log), "-o", str(tmp_path / "x.json"), "--method", "beta"]) == 2


def test_cli_calibrate_without_ground_truth_says_so(tmp_path, capsys) -> None:
    from groundscore.cli import main

    src = tmp_path / "unlabelled.jsonl"
    src.write_text(json.dumps({"query": "dog", "completion": '[{"bbox_2d": [1, 1, 9, 9], "label": "dog"}]'}) + "\n")
    assert main(["calibrate", str(src), "-o", str(tmp_path / "c.json"), "--verifiers", "schema"]) == 2
    assert "no samples to fit" in capsys.readouterr().err
    assert not (tmp_path / "c.json").exists()
