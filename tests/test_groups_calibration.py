"""The logistic calibrator combines the agreement details with the other verifiers."""

from __future__ import annotations

import json

import pytest
from shared_data import REC_LOGS

from groundscore import Chain, Sample
from groundscore.scoring.calibration import GROUP_FEATURES, LogisticModel, features, fit_calibrator, group_features


def test_group_features_are_read_from_the_agreement_verdict() -> None:
    def answer(b: list[int]) -> str:
        return json.dumps([{"bbox_2d": b, "label": "dog"}])

    boxes = [[10, 10, 50, 50], [11, 10, 50, 52], [10, 10, 50, 50], [120, 120, 190, 190]]
    reports = Chain({"verifiers": ["schema", "agreement"]}).verify(
        [Sample(query="dog", completion=answer(b), coords="original", image_size=(200, 200), group="g") for b in boxes])
    inside, outlier = group_features(reports[0].verdicts), group_features(reports[3].verdicts)
    named = dict(zip(GROUP_FEATURES, inside, strict=True))
    assert named["in_consensus"] == 1.0 and named["consensus_share"] == 0.75 and named["consensus_margin"] == 0.5
    assert dict(zip(GROUP_FEATURES, outlier, strict=True))["in_consensus"] == 0.0
    ungrouped = Chain({"verifiers": ["schema", "agreement"]}).verify([Sample(query="dog", completion=answer(boxes[0]))])
    assert group_features(ungrouped[0].verdicts) == [0.0] * len(GROUP_FEATURES)
    assert len(features(reports[0].verdicts, 0.9, ["schema"], True)) == 3 + len(GROUP_FEATURES)


def test_files_without_group_features_load_and_serialise_as_before() -> None:
    old = LogisticModel.model_validate({"method": "logistic", "verifiers": ["schema"], "coef": [1.0, 0.0, 1.0], "intercept": 0.0})
    assert not old.group_features and "group_features" not in old.model_dump()
    with pytest.raises(ValueError, match="entries"):
        LogisticModel(verifiers=["schema"], coef=[1.0, 0.0, 1.0], intercept=0.0, group_features=True)


@pytest.mark.slow
def test_calibrating_grouped_answers_separates_right_from_wrong_better() -> None:
    """On three models' RefCOCO answers: fitted on half the questions, measured on the other half."""
    from sklearn.metrics import roc_auc_score

    from groundscore.groups import merge_logs
    from groundscore.scoring import Scorer, combine
    from groundscore.scoring.labelled import correctness

    paths = [REC_LOGS / f"{m}_refcoco_val.json" for m in ("grpo-ckpt1000", "instruct-baseline", "original-model")]
    if not all(p.exists() for p in paths):
        pytest.skip("the shared REC logs are not here")
    samples = merge_logs(paths)[:3000]
    reports = Chain().verify(samples)
    labels = [bool(correctness(s, r.parsed)[0]) for s, r in zip(samples, reports, strict=True)]
    keep = [k for k, r in enumerate(reports) if not r.failed_gates]
    train = [k for k in keep if k < 1500]
    test = [k for k in keep if k >= 1500]

    scorer = Scorer()

    def fit_and_score(drop_agreement: bool) -> float:
        def verdicts(k: int) -> list:
            return [v for v in reports[k].verdicts if not (drop_agreement and v.verifier == "agreement")]

        def raw(k: int) -> float:
            return combine(verdicts(k), scorer.weights, scorer.default_weights)[0]

        cal = fit_calibrator([verdicts(k) for k in train], [raw(k) for k in train], [labels[k] for k in train],
                             method="logistic")
        assert cal.model.group_features is not drop_agreement
        return roc_auc_score([labels[k] for k in test], [cal.predict(verdicts(k), raw(k)) for k in test])

    grouped, alone = fit_and_score(False), fit_and_score(True)
    assert grouped > alone + 0.1, (grouped, alone)
