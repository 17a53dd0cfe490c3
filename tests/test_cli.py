"""The command line, run as a user runs it: a real subprocess of `python -m groundscore`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from shared_data import REC_LOGS as DATA

from groundscore.cli import main


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "groundscore", *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_verify_writes_one_report_per_line_including_bad_lines(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": "a", "query": "water left", "completion": '[{"bbox_2d": [45, 36, 137, 209], "label": "water left"}]', "image_size": [640, 480]}),
        "this is not json",
        json.dumps({"id": "c", "query": "dog", "completion": "", "image_size": [-1, 5]}),
        json.dumps([1, 2, 3]),
    ]
    src.write_text("\n".join(lines) + "\n\n")
    out = tmp_path / "out.jsonl"
    rc = main(["verify", str(src), "-o", str(out), "--verifiers", "schema", "-q"])
    assert rc == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 4
    assert records[0]["decision"] == "accept" and records[0]["sample"]["id"] == "a"
    assert records[0]["parsed"]["boxes"][0]["x1"] == pytest.approx(45 * 640 / 644, abs=0.01)
    for bad in records[1:]:
        assert bad["decision"] == "reject"
        codes = [i["code"] for i in bad["parsed"]["issues"]]
        assert codes and codes[0] in ("input.unreadable", "sample.invalid")


def test_verify_summary_table_and_unknown_verifier(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"query": "x", "completion": "[[[["}) + "\n")
    assert main(["verify", str(src), "-o", str(tmp_path / "o.jsonl"), "--verifiers", "schema"]) == 0
    printed = capsys.readouterr().out
    assert "decisions:" in printed and "schema" in printed and "schema:answer.invalid" in printed
    assert main(["verify", str(src), "-o", str(tmp_path / "o.jsonl"), "--verifiers", "nope"]) == 2
    assert "unknown verifier" in capsys.readouterr().err


@pytest.mark.skipif(not DATA.exists(), reason="shared REC logs not present")
def test_verify_reads_vlm_r1_logs(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    proc = run_cli("verify", str(DATA / "original-model_refcocog_val.json"), "--from", "vlm-r1", "-o", str(out), "--verifiers", "schema", "--limit", "300")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 300
    assert all(r["sample"]["solution"] for r in records)
    assert records[0]["sample"]["id"] == "original-model_refcocog_val:0"


def test_plugins_json_lists_builtins() -> None:
    proc = run_cli("plugins", "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    names = {v["name"] for v in info["verifiers"]}
    assert "schema" in names
    assert any(p["name"] == "schema" and "register_verifiers" in p["hooks"] for p in info["plugins"])
    assert "qwen25_json" in {p["name"] for p in info["parsers"]}


def test_demo_runs_and_shows_every_sample() -> None:
    proc = run_cli("demo")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("== ") >= 10
    assert "constructed-garbage  [REJECT" in proc.stdout
    assert "decisions:" in proc.stdout


def test_no_command_prints_help() -> None:
    assert main([]) == 2
