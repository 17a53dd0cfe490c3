"""The Ray engine on a local Ray runtime (loopback, 2 CPUs) gives the local engine's reports."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

LOGS = Path("/work/shared/data/vlmr1-rec-logs")
CONFIG = {"verifiers": ["schema", "spatial"]}


@pytest.fixture(scope="module")
def ray_runtime():
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def _subset(tmp_path: Path, name: str, n: int) -> Path:
    data = json.loads((LOGS / name).read_text())
    out = tmp_path / name
    out.write_text(json.dumps({"results": data["results"][:n]}))
    return out


def _local(path: Path) -> dict[str, tuple[str, float]]:
    from groundscore.chain import Chain
    from groundscore.inputs import iter_samples

    reports = Chain(CONFIG).verify(list(iter_samples(path)))
    return {r.id: (r.decision, r.confidence) for r in reports}


@pytest.mark.skipif(not LOGS.exists(), reason="shared logs not present")
def test_same_reports_as_local_engine(ray_runtime, tmp_path):
    from groundscore.ray import verify_dataset

    path = _subset(tmp_path, "grpo-ckpt1000_refcoco_val.json", 300)
    rows = verify_dataset(path, CONFIG, workers=2, batch_size=64).take_all()
    got = {r["id"]: (r["decision"], r["confidence"]) for r in rows}
    assert len(rows) == 300
    assert got == _local(path)
    assert sorted(r["index"] for r in rows) == list(range(300))


@pytest.mark.slow
@pytest.mark.skipif(not LOGS.exists(), reason="shared logs not present")
@pytest.mark.parametrize("name", sorted(p.name for p in LOGS.glob("*.json")) if LOGS.exists() else [])
def test_same_reports_every_log(ray_runtime, name):
    from groundscore.ray import verify_dataset

    rows = verify_dataset(LOGS / name, CONFIG, workers=2, batch_size=256).take_all()
    assert {r["id"]: (r["decision"], r["confidence"]) for r in rows} == _local(LOGS / name)


@pytest.mark.skipif(not LOGS.exists(), reason="shared logs not present")
def test_resume_skips_written_ids(ray_runtime, tmp_path):
    from groundscore.ray import verify_dataset, write_reports
    from groundscore.ray.writer import written_ids

    path = _subset(tmp_path, "original-model_refcocog_val.json", 120)
    out = tmp_path / "reports.jsonl"
    first = [s for s in _local(path)][:50]
    # a "preempted" first run wrote 50 records
    assert write_reports(verify_dataset(path, CONFIG, batch_size=32).filter(lambda r: r["id"] in set(first)), out) == 50
    assert write_reports(verify_dataset(path, CONFIG, batch_size=32, skip_ids=written_ids(out)), out) == 70
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 120 and len({x["id"] for x in lines}) == 120


@pytest.mark.skipif(not LOGS.exists(), reason="shared logs not present")
def test_worker_killed_mid_run_every_record_once(ray_runtime, tmp_path):
    from groundscore.ray import verify_dataset, write_reports

    path = _subset(tmp_path, "instruct-baseline_refcocop_val.json", 400)
    out = tmp_path / "reports.jsonl"
    killed: list[int] = []
    batches = 0

    def kill_worker_after_first_batch(batch) -> None:
        nonlocal batches
        batches += 1
        if not killed:
            pid = int(batch["pid"][0])
            assert pid != os.getpid()
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    written = write_reports(verify_dataset(path, CONFIG, workers=1, batch_size=8), out,
                            on_batch=kill_worker_after_first_batch)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert killed and batches > 1
    assert written == 400 == len(lines)
    assert sorted(x["id"] for x in lines) == sorted(_local(path))
    assert sorted(x["index"] for x in lines) == list(range(400))


@pytest.mark.skipif(not LOGS.exists(), reason="shared logs not present")
def test_cli_verify_engine_ray_matches_local(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    log = str(LOGS / "original-model_refcoco_val.json")
    base = [sys.executable, "-m", "groundscore", "verify", log, "--verifiers", "schema,spatial", "--limit", "150", "-q"]
    subprocess.run([*base, "-o", str(tmp_path / "local.jsonl")], check=True, env=env)
    subprocess.run([*base, "-o", str(tmp_path / "ray.jsonl"), "--engine", "ray", "--workers", "2"], check=True, env=env)
    local = [json.loads(x) for x in (tmp_path / "local.jsonl").read_text().splitlines()]
    remote = sorted((json.loads(x) for x in (tmp_path / "ray.jsonl").read_text().splitlines()), key=lambda r: r["index"])
    assert [(r["id"], r["decision"], r["confidence"]) for r in local] == \
        [(r["id"], r["decision"], r["confidence"]) for r in remote]
    assert remote[0]["sample"]["query"] == local[0]["sample"]["query"]
