"""Scoring: gates, the weighted geometric mean, thresholds, calibrators, determinism."""

from __future__ import annotations

import math
import random

import pytest

from groundscore.chain import Chain
from groundscore.config import Thresholds
from groundscore.model import Verdict
from groundscore.scoring import Scorer, combine, decide


def v(name: str, score: float | None, gate: bool | None = None) -> Verdict:
    return Verdict(verifier=name, score=score, gate=gate)


def test_failed_gate_forces_zero() -> None:
    assert combine([v("schema", 0.0, gate=False), v("clip", 1.0)]) == (0.0, True)
    assert Scorer().score([v("schema", 1.0, gate=False)]) == (0.0, "reject")


def test_weighted_geometric_mean() -> None:
    verdicts = [v("a", 0.9), v("b", 0.4), v("c", None)]
    conf, applicable = combine(verdicts)
    assert applicable and conf == pytest.approx(math.sqrt(0.9 * 0.4))
    conf, _ = combine(verdicts, weights={"a": 3.0, "b": 1.0})
    assert conf == pytest.approx((0.9**3 * 0.4) ** 0.25)
    # default weights (a verifier's own) apply unless the configuration overrides them
    conf, _ = combine(verdicts, default_weights={"b": 0.0})
    assert conf == pytest.approx(0.9)
    conf, _ = combine(verdicts, weights={"b": 1.0}, default_weights={"b": 0.0})
    assert conf == pytest.approx(math.sqrt(0.9 * 0.4))


def test_one_zero_score_gives_zero_and_low_scores_drag_down() -> None:
    assert combine([v("a", 1.0), v("b", 0.0)])[0] == 0.0
    arithmetic = (1.0 + 0.1) / 2
    assert combine([v("a", 1.0), v("b", 0.1)])[0] < arithmetic


def test_nothing_applicable_abstains() -> None:
    assert combine([v("a", None), v("b", None)]) == (0.0, False)
    assert Scorer().score([v("a", None)]) == (0.0, "abstain")
    assert Scorer().score([]) == (0.0, "abstain")


@pytest.mark.parametrize(("conf", "decision"), [(0.9, "accept"), (0.5, "accept"), (0.49, "abstain"), (0.25, "abstain"), (0.2499, "reject"), (0.0, "reject")])
def test_thresholds(conf: float, decision: str) -> None:
    assert decide(conf, Thresholds()) == decision


def test_configured_thresholds_and_weights_reach_the_chain() -> None:
    # "combine": the schema score itself is the confidence, so the thresholds' effect is exact
    chain = Chain({"verifiers": ["schema"], "thresholds": {"accept": 0.95, "reject": 0.5}, "confidence": "combine"})
    repaired = '[{"bbox_2d": [1, 2, 30, 40], "label": "dog'  # schema 0.8 after repair
    report = chain.verify_one({"completion": repaired, "coords": "original"})
    assert report.confidence == pytest.approx(0.8) and report.decision == "abstain"
    report = Chain({"verifiers": ["schema"], "thresholds": {"accept": 0.7, "reject": 0.5}, "confidence": "combine"}).verify_one(
        {"completion": repaired, "coords": "original"})
    assert report.decision == "accept"


class Halver:
    def predict(self, verdicts, raw: float) -> float:
        return raw / 2


class Broken:
    def predict(self, verdicts, raw: float) -> float:
        return float("nan")


def test_calibrator_replaces_the_raw_combination_but_not_gates() -> None:
    scorer = Scorer(calibrator=Halver())
    assert scorer.score([v("a", 0.8)]) == (pytest.approx(0.4), "abstain")
    assert scorer.score([v("a", 0.8, gate=False)]) == (0.0, "reject")
    assert scorer.score([v("a", None)]) == (0.0, "abstain")


def test_deterministic_for_the_same_input_and_configuration() -> None:
    rng = random.Random(7)
    batches = [
        [v(name, rng.choice([None, rng.random()]), rng.choice([None, True, False])) for name in "abcd"]
        for _ in range(200)
    ]
    weights = {"a": 2.0, "b": 0.5}
    first = [Scorer(weights=weights).score(b) for b in batches]
    second = [Scorer(weights=weights).score(list(b)) for b in batches]
    assert first == second
    # and independent of the order of the verdicts (up to float rounding of the sum)
    shuffled = [Scorer(weights=weights).score(list(reversed(b))) for b in batches]
    assert [d for _, d in shuffled] == [d for _, d in first]
    assert [c for c, _ in shuffled] == pytest.approx([c for c, _ in first], abs=1e-12)


def test_chain_reports_are_deterministic() -> None:
    items = [{"completion": '[{"bbox_2d": [1, 2, 30, 40], "label": "dog"}]', "coords": "original"}, {"completion": "x"}]
    a = [r.model_dump(exclude={"elapsed_ms", "verdicts"}) for r in Chain({"verifiers": ["schema"]}).verify(items)]
    b = [r.model_dump(exclude={"elapsed_ms", "verdicts"}) for r in Chain({"verifiers": ["schema"]}).verify(items)]
    assert a == b


def test_a_calibrator_returning_nan_gives_zero_not_nan() -> None:
    assert Scorer(calibrator=Broken()).score([v("a", 0.8)]) == (0.0, "reject")
