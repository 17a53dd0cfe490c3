"""Evaluation metrics against scikit-learn and by hand, cross-validation without leakage, real logs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from shared_data import REC_LOGS as DATA

from groundscore import Chain, Verdict
from groundscore.scoring.evaluation import (
    Rows,
    accuracy_at_coverage,
    area_under_risk_coverage,
    auroc,
    cross_validate,
    evaluate,
    expected_calibration_error,
    reliability,
    risk_coverage,
)
from groundscore.scoring.labelled import iter_items

FIXTURES = Path(__file__).parent / "fixtures"
ORIGINAL = FIXTURES / "vlmr1_original_refcoco_excerpt.json"
GRPO = FIXTURES / "vlmr1_grpo_refcocog_excerpt.json"


def test_auroc_matches_scikit_learn_with_ties() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.uniform(size=500) < 0.3
    s = np.round(rng.uniform(size=500) + 0.3 * y, 1)  # many ties
    assert auroc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert auroc([0.1, 0.2], [True, True]) is None
    assert auroc([0.1, 0.9], [False, True]) == 1.0
    assert auroc([0.5, 0.5], [False, True]) == 0.5


def test_ece_by_hand() -> None:
    # bin [0.9, 1.0]: confidence 0.9, accuracy 0.5 -> gap 0.4 on half the samples;
    # bin [0.2, 0.3): confidence 0.2, accuracy 0.2 -> no gap.
    conf = [0.9] * 10 + [0.2] * 10
    labels = [1] * 5 + [0] * 5 + [1] * 2 + [0] * 8
    assert expected_calibration_error(conf, labels) == pytest.approx(0.5 * 0.4)
    bins = reliability(conf, labels)
    assert sum(b.count for b in bins) == 20
    assert bins[9].accuracy == pytest.approx(0.5)
    assert bins[2].confidence == pytest.approx(0.2)
    assert expected_calibration_error([1.0, 1.0], [1, 1]) == 0.0  # 1.0 falls in the last bin


def test_accuracy_at_coverage_counts_ties_at_their_mean() -> None:
    conf = [0.9, 0.9, 0.5, 0.5, 0.5, 0.5]
    labels = [1, 1, 1, 0, 0, 0]
    # top 50% = both 0.9s (right) + one of four 0.5s at their mean accuracy 0.25
    point = accuracy_at_coverage(conf, labels, 0.5)
    assert point.accuracy == pytest.approx((2 + 0.25) / 3)
    assert point.threshold == 0.5
    assert accuracy_at_coverage(conf, labels, 1 / 3).accuracy == pytest.approx(1.0)
    assert accuracy_at_coverage(conf, labels, 1.0).accuracy == pytest.approx(0.5)
    # reordering the ties does not change the number
    assert accuracy_at_coverage(conf[::-1], labels[::-1], 0.5).accuracy == pytest.approx(point.accuracy)


def test_risk_coverage_curve() -> None:
    conf = [0.9, 0.8, 0.8, 0.1]
    labels = [1, 1, 0, 0]
    points = risk_coverage(conf, labels)
    assert points == [(0.9, 0.25, 0.0), (0.8, 0.75, pytest.approx(1 / 3)), (0.1, 1.0, 0.5)]
    assert area_under_risk_coverage(conf, labels) == pytest.approx(0.25 * 0 + 0.5 * (1 / 3) + 0.25 * 0.5)


def test_cross_validation_does_not_leak() -> None:
    """A held-out prediction must not depend on the row's own label, only on the other folds."""
    rng = np.random.default_rng(1)
    n = 400
    raw = list(rng.uniform(size=n))
    labels = list(rng.uniform(size=n) < np.asarray(raw))
    fold = [i % 4 for i in range(n)]

    def rows_with(lab: list[bool]) -> Rows:
        return Rows(verdicts=[[Verdict(verifier="a", score=r)] for r in raw], raw=raw, eligible=[True] * n, labels=lab)

    base, _, chosen = cross_validate(rows_with(labels), "auto", fold=fold)
    assert len(chosen) == 4
    flipped = list(labels)
    for j in range(0, n, 4):  # flip every label of fold 0
        flipped[j] = not flipped[j]
    again, _, _ = cross_validate(rows_with(flipped), "auto", fold=fold)
    assert [again[j] for j in range(0, n, 4)] == [base[j] for j in range(0, n, 4)]
    assert any(again[j] != base[j] for j in range(1, n, 4))  # the other folds trained on the flips


def test_cross_validation_refuses_too_few_wrong_answers() -> None:
    rows = Rows(verdicts=[[]] * 10, raw=[0.5] * 10, eligible=[True] * 10, labels=[True] * 9 + [False])
    with pytest.raises(ValueError, match="at least 2"):
        cross_validate(rows)


@pytest.fixture(scope="module")
def schema_chain() -> Chain:
    return Chain({"verifiers": ["schema"]})


@pytest.fixture(scope="module")
def original_items(schema_chain: Chain) -> list:
    return list(iter_items(ORIGINAL, chain=schema_chain))


def test_correctness_is_recomputed_from_our_parse(original_items: list) -> None:
    """The upstream regex misses boxes outside <answer>; our parse reads them (IoU >= 0.5 with ground truth)."""
    assert len(original_items) == 250
    ours = sum(bool(i.correct) for i in original_items) / 250
    upstream = sum(bool(i.sample.meta["upstream_correct"]) for i in original_items) / 250
    assert ours > upstream + 0.3
    # where the upstream regex extracted the same single box as our parse, we agree with its judgement
    agree = [
        i for i in original_items
        if len(i.report.parsed.boxes) == 1
        and list(i.report.parsed.boxes[0].xyxy) == [float(v) for v in i.sample.meta["upstream_extracted"]]
    ]
    assert len(agree) > 20
    assert all(i.correct == bool(i.sample.meta["upstream_correct"]) for i in agree)


def test_evaluate_a_real_log(original_items: list, schema_chain: Chain) -> None:
    result = evaluate(original_items, scorer=schema_chain.scorer, folds=5, source=str(ORIGINAL), verifiers=schema_chain.names)
    assert result.items == result.labelled == 250
    assert result.accuracy == pytest.approx(sum(bool(i.correct) for i in original_items) / 250)
    assert result.upstream_accuracy is not None and result.upstream_accuracy < result.accuracy
    assert [v.name for v in result.verifiers] == ["schema"]
    assert result.verifiers[0].applied == 250
    assert result.raw is not None and result.calibrated is not None
    assert [c.coverage for c in result.calibrated.coverage] == [0.5, 0.7, 0.9, 1.0]
    assert result.calibrated.coverage[-1].accuracy == pytest.approx(result.accuracy)
    assert result.calibration is not None and result.calibration.mode == "cross-validated"
    assert len(result.calibration.fold_ece) == 5
    # the raw geometric mean says ~1.0 for well-formed answers, which is over-confident here
    assert result.raw.ece > 0.05
    assert result.calibrated.ece < result.raw.ece
    json.dumps(result.model_dump(mode="json"))  # JSON-ready


def test_reports_written_by_verify_are_reused_not_recomputed(tmp_path: Path, schema_chain: Chain) -> None:
    from groundscore.inputs.records import report_record

    samples = [i.sample for i in iter_items(GRPO, chain=schema_chain, limit=20)]
    reports = schema_chain.verify(samples)
    path = tmp_path / "reports.jsonl"
    with path.open("w") as fh:
        for k, (report, sample) in enumerate(zip(reports, samples, strict=True)):
            record = report_record(report, sample)
            if k == 3:  # tamper: if the verdicts were recomputed this would vanish
                record["verdicts"][0]["score"] = 0.3
                record["verdicts"][0]["gate"] = True
            fh.write(json.dumps(record) + "\n")
    combining = Chain({"verifiers": ["schema"], "confidence": "combine"})  # the confidence is the schema score itself
    items = list(iter_items(path, chain=combining))
    assert len(items) == 20
    assert all(i.from_report for i in items)
    assert items[3].report.verdicts[0].score == 0.3
    assert items[3].report.confidence == pytest.approx(0.3)  # rescored by this chain's scorer
    assert [i.sample.id for i in items] == [s.id for s in samples]
    assert [i.correct for i in items] == [i.correct for i in iter_items(GRPO, chain=schema_chain, limit=20)]


def test_label_field_and_unlabelled_samples(tmp_path: Path, schema_chain: Chain) -> None:
    path = tmp_path / "labelled.jsonl"
    box = '[{"bbox_2d": [10, 10, 50, 50], "label": "dog"}]'
    lines = [
        {"query": "dog", "completion": box, "image_size": [100, 100], "correct": 0},
        {"query": "dog", "completion": box, "image_size": [100, 100], "correct": True},
        {"query": "dog", "completion": box, "image_size": [100, 100]},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n{broken\n")
    items = list(iter_items(path, chain=schema_chain, label_field="correct"))
    assert [i.correct for i in items] == [False, True, None, None]
    assert items[2].label_note == "no field 'correct'"
    assert items[3].input_error
    by_iou = list(iter_items(path, chain=schema_chain))
    assert [i.correct for i in by_iou] == [None, None, None, None]  # no ground truth
    assert by_iou[0].label_note.startswith("no ground truth")
    result = evaluate(items, scorer=schema_chain.scorer)
    assert result.labelled == 2
    assert sum(result.unlabelled.values()) == 2


@pytest.mark.slow
def test_plots_are_written(tmp_path: Path, original_items: list, schema_chain: Chain) -> None:
    from PIL import Image

    from groundscore.scoring.evaluation import write_grid, write_plots

    result = evaluate(original_items, scorer=schema_chain.scorer)
    paths = write_plots(result, tmp_path, "excerpt")
    grid = write_grid([("a", result), ("b", result)], tmp_path / "grid.png", "risk_coverage", columns=2)
    for p in [*paths, grid]:
        with Image.open(p) as im:
            assert im.format == "PNG"
            assert im.size[0] > 100 and im.size[1] > 100


def test_cli_eval_cross_validated_and_with_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from groundscore.cli import main

    out = tmp_path / "ev"
    assert main(["eval", str(GRPO), "--from", "vlm-r1", "--verifiers", "schema", "-o", str(out), "--no-plots"]) == 0
    text = capsys.readouterr().out
    assert "acc@50%" in text and "schema" in text and "cross-validated" in text
    result = json.loads((out / f"{GRPO.stem}.json").read_text())
    assert result["labelled"] == 250 and result["calibration"]["mode"] == "cross-validated"
    assert result["verifiers"][0]["name"] == "schema"
    calib = tmp_path / "calib.json"
    assert main(["calibrate", str(ORIGINAL), "-o", str(calib), "--verifiers", "schema"]) == 0
    assert main(["eval", str(GRPO), "--calibration", str(calib), "--verifiers", "schema", "-o", str(out), "--no-plots"]) == 0
    tested = json.loads((out / f"{GRPO.stem}.json").read_text())
    assert tested["calibration"]["mode"] == "file"
    assert tested["raw"] == result["raw"]  # the raw numbers do not depend on calibration
    assert not list(out.glob("*.png"))




@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "original-model_refcocog_val.json").exists(), reason="VLM-R1 logs not present")
def test_calibrated_heldout_ece_on_a_full_log_meets_the_bar() -> None:
    """The acceptance bar on one full 2000-sample log, with the default chain (benchmarks/eval_rec_logs.py does all)."""
    chain = Chain()
    items = list(iter_items(DATA / "original-model_refcocog_val.json", "vlm-r1", chain, batch_size=512))
    result = evaluate(items, scorer=chain.scorer, verifiers=chain.names)
    assert result.labelled == 2000
    assert result.calibrated is not None and result.raw is not None
    assert result.calibrated.ece <= 0.05
    assert result.raw.ece > 0.1


def test_cli_eval_without_labels_reports_and_does_not_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from groundscore.cli import main

    src = tmp_path / "unlabelled.jsonl"
    src.write_text(json.dumps({"query": "dog", "completion": '[{"bbox_2d": [1, 1, 9, 9], "label": "dog"}]'}) + "\nnot json\n")
    assert main(["eval", str(src), "--verifiers", "schema", "-o", str(tmp_path / "ev")]) == 0
    text = capsys.readouterr().out
    assert "2 lines, 0 labelled" in text and "no ground truth" in text
    result = json.loads((tmp_path / "ev" / "unlabelled.json").read_text())
    assert result["raw"] is None and result["unlabelled"] == {"no ground truth (solution)": 1, "input error": 1}
