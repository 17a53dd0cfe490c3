"""``verify`` and ``eval`` over several logs answering the same questions: groups formed across logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shared_data import REC_LOGS

from groundscore.cli import main

MODELS = ("grpo-ckpt1000", "instruct-baseline", "original-model")
VERIFIERS = "schema,agreement"

pytestmark = pytest.mark.skipif(not REC_LOGS.exists(), reason="shared REC logs not present")


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The first 40 RefCOCO questions as answered by each model, one small log each."""
    folder = tmp_path_factory.mktemp("logs")
    out = []
    for model in MODELS:
        data = json.loads((REC_LOGS / f"{model}_refcoco_val.json").read_text())
        path = folder / f"{model}_refcoco_val.json"
        path.write_text(json.dumps({"accuracy": data["accuracy"], "results": data["results"][:40]}))
        out.append(path)
    return out


def test_verify_several_logs_groups_answers_by_question(logs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "reports.jsonl"
    # a batch size that is no multiple of the group size: groups must still stay whole
    assert main(["verify", *map(str, logs), "--from", "vlm-r1", "--verifiers", VERIFIERS, "--batch-size", "5",
                 "-o", str(out), "-q"]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 3 * 40
    groups = [r["sample"]["group"] for r in records]
    assert all(groups) and len(set(groups)) == 40
    for k in range(0, len(records), 3):  # members consecutive, one per log, in the order of the inputs
        assert len(set(groups[k : k + 3])) == 1
        assert [r["sample"]["meta"]["log"] for r in records[k : k + 3]] == [p.name for p in logs]
    agreement = [next(v for v in r["verdicts"] if v["verifier"] == "agreement") for r in records]
    seen = [v["details"].get("group_seen") for v in agreement if v["score"] is not None]
    assert seen and all(s == 3 for s in seen)


def test_verify_without_merging_leaves_answers_ungrouped(logs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "reports.jsonl"
    assert main(["verify", *map(str, logs), "--from", "vlm-r1", "--verifiers", VERIFIERS, "--merge-logs", "no",
                 "-o", str(out), "-q"]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 120 and not any(r["sample"]["group"] for r in records)
    assert [r["sample"]["id"] for r in records[:2]] == ["grpo-ckpt1000_refcoco_val:0", "grpo-ckpt1000_refcoco_val:1"]
    assert all(next(v for v in r["verdicts"] if v["verifier"] == "agreement")["score"] is None for r in records)


def test_logs_of_different_questions_are_not_merged(logs: list[Path], tmp_path: Path) -> None:
    other = tmp_path / "other_refcocog_val.json"
    data = json.loads((REC_LOGS / "grpo-ckpt1000_refcocog_val.json").read_text())
    other.write_text(json.dumps({"results": data["results"][:40]}))
    out = tmp_path / "reports.jsonl"
    assert main(["verify", str(logs[0]), str(other), "--verifiers", "schema", "-o", str(out), "-q"]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 80 and not any(r["sample"]["group"] for r in records)


@pytest.mark.slow
def test_eval_several_logs_gives_the_agreement_auroc_of_merged_groups(logs: list[Path], tmp_path: Path) -> None:
    """The CLI's agreement AUROC ("all") is the one computed directly from merge_logs + the chain."""
    from groundscore.chain import Chain
    from groundscore.groups import merge_logs
    from groundscore.scoring.evaluation import auroc
    from groundscore.scoring.labelled import correctness

    out = tmp_path / "ev"
    assert main(["eval", *map(str, logs), "--verifiers", VERIFIERS, "--no-plots", "-o", str(out)]) == 0
    name = "+".join(p.stem for p in logs)
    combined = json.loads((out / f"{name}.json").read_text())
    per_log = [json.loads((out / f"{p.stem}.json").read_text()) for p in logs]
    assert combined["items"] == 120 and [r["items"] for r in per_log] == [40, 40, 40]
    got = next(v for v in combined["verifiers"] if v["name"] == "agreement")

    samples = merge_logs(logs)
    reports = Chain({"verifiers": VERIFIERS.split(",")}).verify(samples)
    labels = [bool(correctness(s, r.parsed)[0]) for s, r in zip(samples, reports, strict=True)]
    scores = [(r.verdict("agreement").score or 0.0) for r in reports]
    assert got["auroc_all"] == pytest.approx(auroc(scores, labels), abs=1e-12)
    applied = [(s, y) for s, y, r in zip(scores, labels, reports, strict=True) if r.verdict("agreement").score is not None]
    assert got["applied"] == len(applied)
    assert got["auroc"] == pytest.approx(auroc([s for s, _ in applied], [y for _, y in applied]), abs=1e-12)
