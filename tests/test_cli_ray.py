"""``filter`` and ``eval`` with ``--engine ray`` on a local Ray runtime give exactly the local engine's results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shared_data import REC_LOGS

ray = pytest.importorskip("ray")

from ray_runtime import local_ray  # noqa: E402

from groundscore.cli import main  # noqa: E402

VERIFIERS = "schema,label_match,spatial,agreement"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not REC_LOGS.exists(), reason="shared REC logs not present")]


@pytest.fixture(scope="module")
def ray_runtime():
    with local_ray():
        yield


def _subset(folder: Path, name: str, n: int) -> Path:
    data = json.loads((REC_LOGS / name).read_text())
    out = folder / name
    out.write_text(json.dumps({"accuracy": data["accuracy"], "results": data["results"][:n]}))
    return out


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _subset(tmp_path_factory.mktemp("ray-cli"), "grpo-ckpt1000_refcoco_val.json", 120)


def test_filter_engine_ray_matches_local(ray_runtime: None, log: Path, tmp_path: Path) -> None:
    outputs = {}
    for engine in ("local", "ray"):
        out, decisions = tmp_path / f"{engine}.jsonl", tmp_path / f"{engine}.decisions.jsonl"
        assert main(["filter", str(log), "--from", "vlm-r1", "--verifiers", VERIFIERS, "--threshold", "0.9",
                     "--engine", engine, "--workers", "2", "--batch-size", "32", "-o", str(out),
                     "--decisions", str(decisions), "-q"]) == 0
        outputs[engine] = (out.read_text(), decisions.read_text())
    local, remote = outputs["local"], outputs["ray"]
    assert len(local[0].splitlines()) == 120
    assert remote == local  # byte for byte: same decisions, confidences, reasons, order
    actions = {json.loads(line)["action"] for line in local[1].splitlines()}
    assert "keep" in actions  # the comparison covers kept answers, not only abstentions


def test_eval_engine_ray_matches_local(ray_runtime: None, log: Path, tmp_path: Path) -> None:
    results = {}
    for engine in ("local", "ray"):
        out = tmp_path / engine
        assert main(["eval", str(log), "--from", "vlm-r1", "--verifiers", VERIFIERS, "--no-plots",
                     "--engine", engine, "--workers", "2", "-o", str(out)]) == 0
        results[engine] = json.loads((out / f"{log.stem}.json").read_text())
    assert results["ray"] == results["local"]
    assert results["local"]["labelled"] == 120


def test_eval_of_merged_logs_engine_ray_matches_local(ray_runtime: None, log: Path, tmp_path: Path) -> None:
    import groundscore.ray.dataset as ray_engine

    if not hasattr(ray_engine, "pack_batches"):
        pytest.skip("this Ray engine does not keep groups whole in a batch")
    logs = [log] + [_subset(tmp_path, f"{m}_refcoco_val.json", 120) for m in ("instruct-baseline", "original-model")]
    results = {}
    for engine in ("local", "ray"):
        out = tmp_path / engine
        assert main(["eval", *map(str, logs), "--verifiers", VERIFIERS, "--no-plots", "--engine", engine,
                     "--workers", "2", "--batch-size", "16", "-o", str(out)]) == 0
        results[engine] = {p.name: json.loads(p.read_text()) for p in sorted(out.glob("*.json"))}
    assert len(results["local"]) == 4  # all answers together, and each log's answers
    for name, local in results["local"].items():
        remote = dict(results["ray"][name])
        assert remote == local, name
    merged = results["local"]["+".join(p.stem for p in logs) + ".json"]
    agreement = next(v for v in merged["verifiers"] if v["name"] == "agreement")
    assert agreement["applied"] > 300
