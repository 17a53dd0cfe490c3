"""The Ray engine on a local Ray runtime (loopback, 2 CPUs) gives the local engine's reports."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from ray_runtime import local_ray  # noqa: E402
from shared_data import REC_LOGS as LOGS  # noqa: E402

CONFIG = {"verifiers": ["schema", "spatial"]}


@pytest.fixture(scope="module")
def ray_runtime():
    with local_ray():
        yield


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


ALL_LOGS = sorted(p.name for p in LOGS.glob("*.json")) if LOGS.exists() else []


@pytest.mark.skipif(not LOGS.exists(), reason="shared logs not present")
def test_same_reports_as_local_engine_on_a_slice_of_every_log(ray_runtime, tmp_path):
    from groundscore.ray import verify_dataset

    assert len(ALL_LOGS) == 11
    paths = [_subset(tmp_path, name, 40) for name in ALL_LOGS]
    rows = verify_dataset(paths, CONFIG, workers=2, batch_size=64).take_all()
    got = {r["id"]: (r["decision"], r["confidence"]) for r in rows}
    expected = {k: v for p in paths for k, v in _local(p).items()}
    assert len(rows) == 440 == len(expected)
    assert got == expected
    assert sorted(r["index"] for r in rows) == list(range(440))


@pytest.mark.slow
@pytest.mark.skipif(not LOGS.exists(), reason="shared logs not present")
def test_same_reports_every_log_in_full(ray_runtime):
    """All 18,668 completions of the 11 logs in one Ray run, compared log by log with the local engine."""
    from groundscore.ray import verify_dataset

    rows = verify_dataset([LOGS / name for name in ALL_LOGS], CONFIG, workers=2, batch_size=256).take_all()
    got = {r["id"]: (r["decision"], r["confidence"]) for r in rows}
    assert len(rows) == len(got) == 18_668
    for name in ALL_LOGS:
        expected = _local(LOGS / name)
        assert {k: got[k] for k in expected} == expected, name


@pytest.mark.slow  # over 10 s here (Ray Data starts an actor pool per run)
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


@pytest.mark.slow  # over 10 s here (Ray Data starts an actor pool per run)
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
    # Parquet out, and a rerun (as after a preemption) writes nothing twice
    parquet = tmp_path / "ray.parquet"
    for _ in range(2):
        subprocess.run([*base, "-o", str(parquet), "--engine", "ray", "--workers", "2"], check=True, env=env)
    from groundscore.ray import read_reports

    assert [(r["id"], r["decision"], r["confidence"]) for r in read_reports(parquet)] == \
        [(r["id"], r["decision"], r["confidence"]) for r in local]


# -- groups kept whole ---------------------------------------------------------------------------
GROUPED = {"verifiers": ["schema", "spatial", "agreement"]}
REFCOCO = ["grpo-ckpt1000_refcoco_val.json", "instruct-baseline_refcoco_val.json", "original-model_refcoco_val.json"]


def _grouped_samples(n_questions: int, keep_groups: bool) -> list:
    """Three logs answering the same questions, merged into groups of three, then shuffled (members scattered)."""
    import random

    from groundscore.groups import merge_logs

    merged = merge_logs([LOGS / name for name in REFCOCO])[: 3 * n_questions]
    samples = [s.model_copy(update={"id": f"{s.meta['log']}:{s.id}"}) for s in merged]
    if not keep_groups:  # ChainConfig.groups="derive" finds them again from image and query
        samples = [s.model_copy(update={"group": None}) for s in samples]
    random.Random(0).shuffle(samples)
    return samples


def _write_jsonl(samples: list, path: Path) -> Path:
    path.write_text("".join(s.model_dump_json() + "\n" for s in samples))
    return path


def _verdicts(reports) -> dict[str, tuple]:
    return {r.id: (r.decision, r.confidence, [(v.verifier, v.score, v.code) for v in r.verdicts]) for r in reports}


@pytest.mark.skipif(not LOGS.exists(), reason="shared logs not present")
@pytest.mark.parametrize("mode", ["given", pytest.param("derive", marks=pytest.mark.slow)])
def test_groups_are_never_split_and_agreement_matches_local(ray_runtime, tmp_path, mode):
    from groundscore.chain import Chain
    from groundscore.model import Report
    from groundscore.ray import verify_dataset

    config = {**GROUPED, "groups": mode}
    samples = _grouped_samples(60, keep_groups=mode == "given")
    path = _write_jsonl(samples, tmp_path / "grouped.jsonl")
    local = _verdicts(Chain(config).verify(samples))
    rows = verify_dataset(path, config, workers=2, batch_size=16).take_all()
    got = _verdicts(Report.model_validate({k: v for k, v in json.loads(r["report"]).items() if k != "sample"})
                    for r in rows)
    assert len(rows) == 180 and got == local
    # every group sat in one chain call: the agreement verdict saw all three members
    seen = [v["details"].get("group_seen") for r in rows for v in json.loads(r["report"])["verdicts"]
            if v["verifier"] == "agreement"]
    assert seen and set(seen) == {3}
    # the same input cut in input order (what a plain batching would do) splits groups and changes verdicts
    split = {}
    for i in range(0, len(samples), 16):
        split.update(_verdicts(Chain(config).verify(samples[i:i + 16])))
    assert split != local


def test_pack_batches_keeps_groups_whole_and_bounded():
    from groundscore.ray.dataset import pack_batches

    rows = [{"id": str(i), "index": i, "sample": "{}", "group": g}
            for i, g in enumerate(["a", None, "b", "a", "c", "b", None, "a", "c", "c", "c", "c", "c"])]
    batches = [(json.loads(b["ids"]), json.loads(b["indices"])) for b in pack_batches(rows, 4)]
    group = {r["id"]: r["group"] for r in rows}
    for ids, indices in batches:
        assert ids == [str(x) for x in indices]
    flat = [i for ids, _ in batches for i in ids]
    assert sorted(flat, key=int) == [r["id"] for r in rows]  # every row once
    for g in ("a", "b", "c"):
        assert sum(any(group[i] == g for i in ids) for ids, _ in batches) == 1  # each group in one batch
    # a a a + None / b b (c would overflow) / c x6 (bigger than 4: alone) / None
    assert [ids for ids, _ in batches] == [["0", "3", "7", "1"], ["2", "5"], ["4", "8", "9", "10", "11", "12"], ["6"]]


@pytest.mark.slow  # over 10 s here (Ray Data starts an actor pool per run)
@pytest.mark.skipif(not LOGS.exists(), reason="shared logs not present")
def test_ray_dataset_with_group_column_keeps_groups_whole(ray_runtime):
    from groundscore.chain import Chain
    from groundscore.model import Report
    from groundscore.ray import verify_dataset

    samples = _grouped_samples(20, keep_groups=True)
    ds = ray.data.from_items([{"id": s.id, "index": i, "sample": s.model_dump_json(), "group": s.group}
                              for i, s in enumerate(samples)])
    rows = verify_dataset(ds, GROUPED, workers=1, groups_per_batch=4).take_all()
    got = _verdicts(Report.model_validate({k: v for k, v in json.loads(r["report"]).items() if k != "sample"})
                    for r in rows)
    assert got == _verdicts(Chain(GROUPED).verify(samples))
    assert sorted(r["index"] for r in rows) == list(range(60))


# -- Parquet -------------------------------------------------------------------------------------
@pytest.mark.slow  # over 10 s here (Ray Data starts an actor pool per run)
@pytest.mark.skipif(not LOGS.exists(), reason="shared logs not present")
def test_parquet_in_parquet_out_round_trip_equals_local(ray_runtime, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from groundscore.inputs import iter_samples
    from groundscore.ray import read_reports, verify_dataset, write_reports
    from groundscore.ray.parquet import iter_parquet_samples

    log = _subset(tmp_path, "grpo-ckpt1000_refcocog_val.json", 250)
    samples = list(iter_samples(log))
    table = pa.Table.from_pylist([{**s.model_dump(mode="json", exclude_none=True), "meta": json.dumps(s.meta)}
                                  for s in samples])
    pq.write_table(table, tmp_path / "samples.parquet")
    assert [s.model_dump() for s in iter_parquet_samples(tmp_path / "samples.parquet")] == [s.model_dump() for s in samples]

    out = tmp_path / "reports.parquet"
    first_ids = {s.id for s in samples[:100]}
    ds = verify_dataset(tmp_path / "samples.parquet", CONFIG, workers=2, batch_size=32)
    assert write_reports(ds.filter(lambda r: r["id"] in first_ids), out, rows_per_file=40) == 100  # "preempted"
    assert len(list(out.glob("part-*.parquet"))) == 3
    from groundscore.ray.writer import written_ids

    rest = verify_dataset(tmp_path / "samples.parquet", CONFIG, batch_size=32, skip_ids=written_ids(out))
    assert write_reports(rest, out) == 150
    records = read_reports(out)
    assert [r["index"] for r in records] == list(range(250))
    assert [(r["id"], r["decision"], r["confidence"]) for r in records] == \
        [(k, *v) for k, v in _local(log).items()]
    # readable as one table by pyarrow (and so by pandas / ray.data.read_parquet)
    assert pq.read_table(out).num_rows == 250
    # reports read back as samples give the fields a report record keeps (not the model's text, whose parse it
    # keeps instead); the parts are in the order they were written, which Ray Data does not promise to be input order
    kept = set(records[0]["sample"])
    assert "query" in kept and "completion" not in kept
    again = {s.id: s.model_dump(include=kept) for s in iter_parquet_samples(out)}
    assert again == {s.id: s.model_dump(include=kept) for s in samples}
