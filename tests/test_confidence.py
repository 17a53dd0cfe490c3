"""The confidence model: the shipped file, pure-Python prediction, the chain's use of it, abstention reasons."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from groundscore.chain import Chain
from groundscore.confidence import ConfidenceFile, default_model, load_confidence_model, single_features
from groundscore.confidence.features import GROUP_FEATURES, SINGLE_FEATURES, group_features
from groundscore.confidence.model import SubModel
from groundscore.model import Parsed, Sample, Verdict
from groundscore.scoring import Scorer, missing_evidence
from groundscore.verifiers.base import Context, Verifier

ROOT = Path(__file__).resolve().parents[1]
GOOD = '<think>The dog on the left.</think><answer>[{"bbox_2d": [10, 20, 110, 220], "label": "dog on the left"}]</answer>'


class Low(Verifier):
    """A verifier the model was never fitted on, scoring every answer 0.1."""

    name = "low_plugin"

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        return [Verdict(verifier=self.name, score=0.1, reason="low") for _ in contexts]


def test_shipped_model_loads_and_names_every_feature() -> None:
    model = default_model()
    assert model.single.features == list(SINGLE_FEATURES)
    assert model.group is not None and model.group.features == list(GROUP_FEATURES)
    assert model.fitted.n_single > 10_000 and len(model.fitted.logs) >= 60  # fitted on all shared logs


def test_prediction_imports_no_numpy() -> None:
    code = (
        "import sys\n"
        "from groundscore.chain import Chain\n"
        "r = Chain({'verifiers': ['schema', 'spatial']}).verify_one({'query': 'dog on the left', 'completion': "
        + repr(GOOD) + "})\n"
        "assert 0.0 < r.confidence < 1.0, r.confidence\n"
        "assert 'numpy' not in sys.modules and 'sklearn' not in sys.modules, 'prediction loaded numpy'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_invalid_model_file_is_named(tmp_path: Path) -> None:
    data = json.loads(default_model().model_dump_json())
    data["single"]["coef"] = data["single"]["coef"][:-1]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="single"):
        load_confidence_model(path)
    with pytest.raises(ValueError, match="not supported"):
        ConfidenceFile.model_validate({**json.loads(default_model().model_dump_json()), "version": 99})


def _toy(n: int, seed: int, square: float, cut: float) -> tuple[Any, Any, Any, list[str]]:
    """numpy, and a labelled toy set with a term no linear score can follow (``square`` x b**2)."""
    np = pytest.importorskip("numpy")
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + square * X[:, 1] ** 2 + rng.normal(scale=0.7, size=n) > cut).astype(int)
    return np, X, y, ["a", "b", "c"]


def test_exported_models_predict_as_scikit_learn_does() -> None:
    np, X, y, names = _toy(600, 0, 0.5, 0.3)
    from groundscore.confidence.fit import _fit_score

    for kind in ("logistic", "boosted"):
        model = _fit_score(X, y, kind, names)
        ours = [model.predict(dict(zip(names, row, strict=True))) for row in X[:50]]
        if kind == "logistic":
            from sklearn.linear_model import LogisticRegression

            mean, scale = X.mean(0), X.std(0)
            ref = LogisticRegression(C=0.5, max_iter=2000, tol=1e-6).fit((X - mean) / scale, y)
            theirs = ref.predict_proba((X[:50] - mean) / scale)[:, 1]
        else:
            from sklearn.ensemble import HistGradientBoostingClassifier

            ref = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=80,
                                                 l2_regularization=1.0, early_stopping=False, random_state=0).fit(X, y)
            theirs = ref.predict_proba(X[:50])[:, 1]
        assert np.allclose(ours, theirs, atol=1e-6), kind


def test_failed_gate_is_rejected_at_zero() -> None:
    report = Chain({"verifiers": ["schema"]}).verify_one({"query": "dog", "completion": "no box here at all"})
    assert report.decision == "reject" and report.confidence == 0.0


def test_label_naming_another_object_lowers_the_confidence() -> None:
    pytest.importorskip("spacy")
    chain = Chain({"verifiers": ["schema", "label_match", "consistency", "spatial"]})
    right, wrong = chain.verify([
        {"query": "the black cat", "completion": '[{"bbox_2d": [10, 20, 110, 220], "label": "black cat"}]'},
        {"query": "the black cat", "completion": '[{"bbox_2d": [10, 20, 110, 220], "label": "red car"}]'},
    ])
    assert wrong.confidence < right.confidence
    assert wrong.decision != "accept"


def test_a_verifier_the_model_does_not_know_can_only_lower_it() -> None:
    plain = Chain({"verifiers": ["schema"]}).verify_one({"query": "dog", "completion": GOOD})
    chain = Chain({"verifiers": ["schema"]}, verifiers=[*Chain({"verifiers": ["schema"]}).verifiers, Low()])
    capped = chain.verify_one({"query": "dog", "completion": GOOD})
    assert plain.confidence > 0.1
    assert capped.confidence == pytest.approx(0.1)
    assert capped.decision == "reject"


def test_combine_keeps_the_geometric_mean() -> None:
    chain = Chain({"verifiers": ["schema"], "confidence": "combine"})
    assert chain.verify_one({"query": "dog", "completion": GOOD}).confidence == 1.0


def test_abstention_says_which_evidence_was_missing() -> None:
    chain = Chain({"verifiers": ["schema"], "thresholds": {"accept": 0.999, "reject": 0.001}})
    report = chain.verify_one({"query": "dog on the left", "completion": GOOD})
    assert report.decision == "abstain"
    issue = next(i for i in report.parsed.issues if i.code == "decision.abstain")
    assert "no confirming evidence: no ground truth, image or group" in issue.message
    with_gt = chain.verify_one({"query": "dog on the left", "completion": GOOD, "solution": [[10, 20, 110, 220]]})
    message = next(i.message for i in with_gt.parsed.issues if i.code == "decision.abstain")
    assert "no image or group" in message and "ground truth" not in message


def test_missing_evidence_names_the_group_when_agreement_applied() -> None:
    agreement = Verdict(verifier="agreement", score=0.6, reason="r")
    assert missing_evidence(Sample(query="q", completion="c"), [agreement]) == (
        "confirming evidence from group did not settle it; no ground truth or image")


class _PixelCheck(Verifier):
    """A third-party pixel check: confirming evidence from the image, declared, not listed anywhere."""

    name = "third_party_pixels"
    evidence = "confirming"

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        return [Verdict(verifier=self.name, score=0.5, reason="r") for _ in contexts]


class _PixelPlugin:
    from groundscore.plugins.hookspecs import hookimpl

    @hookimpl
    def register_verifiers(self, register):
        register(_PixelCheck)


def test_missing_evidence_reads_the_declared_roles() -> None:
    """A plugin that declares ``evidence = "confirming"`` counts as the image's evidence; an unknown name does not."""
    from groundscore.plugins import manager

    pixels = Verdict(verifier="third_party_pixels", score=0.6, reason="r")
    sample = Sample(query="q", completion="c")
    assert missing_evidence(sample, [pixels]) == "no confirming evidence: no ground truth, image or group"
    try:
        info = manager.register_module(_PixelPlugin(), name="pixels_in_process")
        assert info.error is None
        assert missing_evidence(sample, [pixels]) == (
            "confirming evidence from image did not settle it; no ground truth or group")
    finally:
        manager.load_plugins(reload=True)


def test_same_answer_same_confidence_in_any_batch() -> None:
    chain = Chain({"verifiers": ["schema", "spatial"]})
    alone = chain.verify_one({"query": "dog on the left", "completion": GOOD})
    batch = chain.verify([
        {"query": "a cat", "completion": '[{"bbox_2d": [0, 0, 5, 5], "label": "cat"}]'},
        {"query": "dog on the left", "completion": GOOD},
        {"query": "x", "completion": "nonsense"},
    ])
    assert batch[1].confidence == alone.confidence and batch[1].decision == alone.decision


def test_features_read_geometry_query_and_thinking() -> None:
    parsed = Parsed(think="Maybe it is the dog, but it is unclear; another dog is behind.", has_think_tags=True)
    f = single_features("the second dog from the left", parsed, [])
    assert f["box.none"] == 1.0 and f["think.hedge"] > 0 and f["think.others"] > 0
    assert f["query.spatial"] == 1.0 and f["query.ordinal"] == 1.0
    assert set(f) == set(SINGLE_FEATURES)
    assert group_features("q", parsed, []) is None


def test_scorer_without_parse_falls_back_to_the_combination() -> None:
    scorer = Scorer(model=default_model())
    assert scorer.score([Verdict(verifier="schema", score=0.64, reason="r")]) == (0.64, "accept")


def test_model_is_a_probability_on_any_input() -> None:
    sub = SubModel(kind="logistic", features=["x"], mean=[0.0], scale=[1.0], coef=[1e6], intercept=0.0)
    assert sub.predict({"x": 1e6}) == 1.0 and sub.predict({"x": -1e6}) == 0.0


def test_stacked_trees_only_correct_the_linear_score_and_by_a_bounded_amount() -> None:
    np, X, y, names = _toy(4000, 1, 0.8, 0.5)
    from groundscore.confidence.fit import STACKED_RATE, STACKED_TREES, _fit_score

    linear = _fit_score(X, y, "logistic", names)
    stacked = _fit_score(X, y, "stacked", names)
    assert stacked.kind == "stacked" and stacked.trees and stacked.coef == linear.coef  # the same linear part

    def loss(model: object) -> float:
        p = np.clip([model.predict(dict(zip(names, row, strict=True))) for row in X], 1e-9, 1 - 1e-9)  # type: ignore[attr-defined]
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    assert loss(stacked) < loss(linear) - 0.02  # the trees find the square the linear score cannot
    bound = STACKED_TREES * STACKED_RATE * 1.0
    for row in [*X[:200], [1e6, -1e6, 3.0], [-50.0, 50.0, -50.0]]:  # and far outside the data too
        x = [float(v) for v in row]
        assert abs(stacked.score(x) - linear.score(x)) <= bound + 1e-9
