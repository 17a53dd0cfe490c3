"""Hostile input through the real command line: every line gets an output line, mistakes are one-line errors.

Each case was a crash (a traceback, or a process that never returned) before;
the CLI runs in-process through ``groundscore.cli.main`` or, where the
process's own argv and streams matter, as ``python -m groundscore``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from shared_data import REC_LOGS

from groundscore.cli import main

ROOT = Path(__file__).resolve().parents[1]
GOOD = '[{"bbox_2d": [10, 20, 300, 400], "label": "cup"}]'


def run_cli(*args: str | bytes, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "groundscore", *args], capture_output=True, timeout=timeout, env=env)


def one_line_error(stderr: str | bytes, command: str) -> None:
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    assert "Traceback" not in text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"groundscore {command}: error: "), text


def hostile_jsonl(path: Path) -> list[str]:
    """Lines that each crashed the CLI once: lone surrogates in every field, a line nested 100,000 deep."""
    lines = [
        json.dumps({"id": "good", "query": "cup", "completion": GOOD, "image_size": [640, 480]}),
        # JSON-escaped lone surrogates: plain ASCII in the file, unencodable once read
        '{"id": "s1", "query": "banana\\ud800", "completion": "[{\\"bbox_2d\\": [1, 2, 30, 40], '
        '\\"label\\": \\"banana\\ud800\\"}]", "image_size": [100, 100], "meta": {"note": "\\udfff"}}',
        '{"id": "\\ud800", "query": "q\\udc80", "completion": "\\ud83d", "solution": [[1, 2, 3, 4]]}',
        "[" * 100_000,
        json.dumps({"id": "deep-meta", "query": "x", "completion": GOOD, "meta": {"m": json.loads("[" * 900 + "]" * 900)}}),
        json.dumps({"id": "long-image", "query": "cup", "completion": GOOD, "image": "x" * 300 + ".png"}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


def read_jsonl(path: Path) -> list[dict]:
    text = path.read_bytes().decode("utf-8")  # strict: what was written is valid UTF-8
    return [json.loads(line) for line in text.splitlines()]


def test_verify_writes_every_line_of_hostile_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    n = len(hostile_jsonl(src))
    out = tmp_path / "out.jsonl"
    assert main(["verify", str(src), "-o", str(out), "--verifiers", "schema"]) == 0
    records = read_jsonl(out)
    assert len(records) == n
    # lone surrogates are replaced (and noted) once, where samples enter
    assert [r["sample"]["id"] for r in records][:3] == ["good", "s1", "\ufffd"]
    assert records[1]["sample"]["query"] == "banana\ufffd"
    assert "text.replaced" in {i["code"] for i in records[1]["parsed"]["issues"]}
    assert records[0]["decision"] == "accept"
    deep = records[3]
    assert deep["decision"] == "reject" and deep["parsed"]["issues"][0]["code"] == "input.unreadable"
    assert "nested too deeply" in deep["parsed"]["issues"][0]["message"]
    assert records[5]["sample"]["id"] == "long-image"
    printed = capsys.readouterr()
    assert "unreadable input lines: 1 of 6" in printed.out + printed.err
    assert "Traceback" not in printed.err


def test_verify_to_stdout_and_filter_survive_surrogates(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    n = len(hostile_jsonl(src))
    proc = run_cli("verify", str(src), "--verifiers", "schema", "-q")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.decode("utf-8").splitlines()) == n
    proc = run_cli("filter", str(src), "--verifiers", "schema", "--mode", "annotate", "-q")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.decode("utf-8").splitlines()]
    assert len(lines) == n and lines[2]["id"] == "\ufffd"


def test_filter_in_process_writes_every_line(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    n = len(hostile_jsonl(src))
    out, decisions = tmp_path / "f.jsonl", tmp_path / "d.jsonl"
    assert main(["filter", str(src), "-o", str(out), "--decisions", str(decisions), "--verifiers", "schema", "-q"]) == 0
    assert len(read_jsonl(out)) == n and len(read_jsonl(decisions)) == n


def test_parse_prints_completions_with_surrogates_and_invalid_bytes() -> None:
    # argv bytes that are not UTF-8 reach Python as lone surrogates (surrogateescape)
    for extra in ([b"--image-size", b"10", b"10"], [b"--json"]):
        proc = run_cli(b"parse", b'[{"bbox_2d": [1, 2, 3, 4], "label": "a\xff\xed\xa0\x80"}]', *extra)
        assert proc.returncode == 0, proc.stderr
        assert b"Traceback" not in proc.stderr and proc.stdout.strip()
    assert main(["parse", '[{"bbox_2d": [1, 2, 3, 4], "label": "cup\ud800"}]', "--json"]) == 0


@pytest.mark.parametrize("results", ["null", "5", '"text"', "{}"])
def test_vlm_r1_log_whose_results_is_not_a_list(tmp_path: Path, results: str, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "log.json"
    log.write_text('{"accuracy": 0.5, "results": ' + results + "}")
    assert main(["verify", str(log), "--from", "vlm-r1", "-o", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    one_line_error(err, "verify")
    assert "'results' must be a list" in err


def test_directory_fifo_and_long_name_as_input_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    for command in ("verify", "filter", "eval", "calibrate", "report"):
        extra = ["-o", str(tmp_path / "x")] if command in ("calibrate", "eval", "report") else []
        assert main([command, str(folder), *extra]) == 2
        err = capsys.readouterr().err
        one_line_error(err, command)
        assert "is a directory" in err
    assert main(["verify", str(tmp_path / ("y" * 300 + ".jsonl"))]) == 2
    err = capsys.readouterr().err
    one_line_error(err, "verify")
    assert "name too long" in err.lower()


def test_fifo_as_input_or_completion_file_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)  # nobody writes to it: opening it would block forever
    for args in (("verify", str(fifo)), ("filter", str(fifo)), ("eval", str(fifo), "-o", str(tmp_path / "e")),
                 ("parse", "--file", str(fifo)), ("draw", "--records", str(fifo))):
        proc = run_cli(*args, timeout=60)
        assert proc.returncode == 2, proc.stderr
        one_line_error(proc.stderr, args[0])
        assert b"FIFO" in proc.stderr


def test_fifo_and_overlong_image_paths_get_a_verdict(tmp_path: Path) -> None:
    fifo = tmp_path / "image.png"
    os.mkfifo(fifo)
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(x) for x in (
        {"id": "fifo", "query": "cup", "completion": GOOD, "image": str(fifo)},
        {"id": "long", "query": "cup", "completion": GOOD, "image": "z" * 4000 + ".png"},
        {"id": "relative-long", "query": "cup", "completion": GOOD, "image": "d/" + "z" * 300},
    )) + "\n")
    proc = run_cli("verify", str(src), "-o", str(tmp_path / "o.jsonl"), "--verifiers", "schema", "-q", timeout=90)
    assert proc.returncode == 0, proc.stderr
    records = read_jsonl(tmp_path / "o.jsonl")
    assert [r["sample"]["id"] for r in records] == ["fifo", "long", "relative-long"]
    for r in records:  # the image could not be read: its size is unknown, and the report says so
        assert "coords.no_image_size" in [i["code"] for i in r["parsed"]["issues"]]


def test_image_root_that_is_not_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"query": "cup", "completion": GOOD}) + "\n")
    for command in ("verify", "filter", "eval", "calibrate"):
        extra = ["-o", str(tmp_path / "x")] if command in ("calibrate", "eval") else []
        assert main([command, str(src), "--image-root", str(tmp_path / "nowhere"), *extra]) == 2
        err = capsys.readouterr().err
        one_line_error(err, command)
        assert "--image-root" in err and "not a directory" in err


@pytest.mark.skipif(not REC_LOGS.exists(), reason="shared REC logs not present")
def test_vlm_r1_log_read_as_jsonl_suggests_from(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads((REC_LOGS / "original-model_refcoco_val.json").read_text())
    log = tmp_path / "log.json"
    log.write_text(json.dumps({"accuracy": data["accuracy"], "results": data["results"][:40]}, indent=2))
    n = len(log.read_text().splitlines())
    assert main(["verify", str(log), "--from", "jsonl", "-o", str(tmp_path / "o.jsonl"), "--verifiers", "schema"]) == 0
    printed = capsys.readouterr().out
    assert f"unreadable input lines: {n} of {n} (100.0%)" in printed
    assert "try --from vlm-r1" in printed
    assert main(["filter", str(log), "--from", "jsonl", "-o", str(tmp_path / "f.jsonl"), "--verifiers", "schema"]) == 0
    assert "try --from vlm-r1" in capsys.readouterr().err


@pytest.mark.timeout(60)
def test_api_readers_refuse_a_fifo_without_blocking(tmp_path: Path) -> None:
    """The Python side of the same guard: reading samples from a FIFO, or an image that is one."""
    from groundscore.chain import Chain, read_image_size
    from groundscore.inputs import iter_samples

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="FIFO"):
        list(iter_samples(fifo))
    with pytest.raises(ValueError, match="directory"):
        list(iter_samples(tmp_path))
    with pytest.raises(ValueError, match="image root"):
        list(iter_samples(Path(__file__), "jsonl", image_root=tmp_path / "nowhere"))
    assert read_image_size(str(fifo)) is None and read_image_size("q" * 400) is None
    report = Chain({"verifiers": ["schema"]}).verify([{"query": "cup", "completion": GOOD, "image": str(fifo)}])[0]
    assert "coords.no_image_size" in [i.code for i in report.parsed.issues]


def misspelt_jsonl(path: Path) -> None:
    lines = [
        {"id": "ok", "query": "cup", "completion": GOOD, "image_size": [640, 480]},
        {"id": "typo", "qeury": "cup", "completion": GOOD, "image_size": [640, 480]},
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_strict_flag_and_config_make_an_unknown_key_an_unreadable_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --strict the misspelt key is a warning; with it (or `strict = true` in the config the command reads)
    the line is unreadable, still written, and counted in the summary."""
    src = tmp_path / "in.jsonl"
    misspelt_jsonl(src)
    out = tmp_path / "out.jsonl"
    assert main(["verify", str(src), "-o", str(out), "--verifiers", "schema,label_match"]) == 0
    loose = read_jsonl(out)
    assert "sample.unknown_key" in {i["code"] for i in loose[1]["parsed"]["issues"]}
    assert loose[1]["parsed"]["issues"][0]["code"] != "input.unreadable"
    capsys.readouterr()

    config = tmp_path / "groundscore.toml"
    config.write_text("strict = true\n")
    for extra in (["--strict"], ["-c", str(config)]):
        assert main(["verify", str(src), "-o", str(out), "--verifiers", "schema,label_match", *extra]) == 0
        strict = read_jsonl(out)
        assert len(strict) == 2 and strict[0]["sample"]["id"] == "ok"
        first = strict[1]["parsed"]["issues"][0]
        assert first["code"] == "input.unreadable" and "qeury" in first["message"] and "did you mean 'query'" in first["message"]
        assert strict[1]["decision"] == "reject"
        assert "unreadable input lines: 1 of 2" in capsys.readouterr().out
    # filter reads the same way: the line is kept in the decisions, never scored
    decisions = tmp_path / "d.jsonl"
    assert main(["filter", str(src), "-o", str(tmp_path / "f.jsonl"), "--decisions", str(decisions), "--strict",
                 "--verifiers", "schema", "-q"]) == 0
    rows = read_jsonl(decisions)
    assert len(rows) == 2 and rows[1]["decision"] == "reject"


def test_a_query_longer_than_the_limit_is_noted_not_cut_silently() -> None:
    import groundscore
    from groundscore.inputs.prompts import MAX_PROMPT
    from groundscore.integrations.fields import QueryReader

    long_query = "the cup " * 600  # 4,800 characters, no template
    report = groundscore.verify([{"query": long_query, "completion": GOOD, "image_size": [640, 480]}])[0]
    issue = next(i for i in report.parsed.issues if i.code == "query.too_long")
    assert f"{len(long_query.strip()):,}" in issue.message or f"{len(long_query):,}" in issue.message
    short = groundscore.verify([{"query": "the cup", "completion": GOOD, "image_size": [640, 480]}])[0]
    assert "query.too_long" not in {i.code for i in short.parsed.issues}
    # the integrations pass a long prompt that matches no template whole, so the sample carries the warning
    reader = QueryReader()
    assert len(reader(long_query)) > MAX_PROMPT
    templated = "Please provide the bounding box coordinate of the region this sentence describes: the cup." + " x" * 3000
    assert reader(templated).startswith("the cup")
