"""What a new user meets first: commands on a core install, and mistakes that cost no data and are said aloud.

The core-install tests run ``groundscore`` in a fresh interpreter whose
``sys.meta_path`` starts with a finder that refuses the extras' modules
(spaCy, torch, FastAPI, pydantic-settings, ...), so an import of one of them
fails exactly as it does where the extra is not installed, although the test
environment has them all. The wrapper first checks that the block holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from groundscore.cli import main
from groundscore.commands.output import output_dir, output_file

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "groundscore" / "data" / "demo" / "samples.jsonl"

EXTRAS = ("spacy", "en_core_web_sm", "torch", "torchvision", "open_clip", "transformers", "fastapi", "starlette",
          "uvicorn", "httpx", "pydantic_settings", "ray")
"""Top-level modules of the extras that a core install lacks."""

WRAPPER = """
import sys

BLOCKED = set(sys.argv[1].split(","))


class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Blocker())
for name in BLOCKED:
    try:
        __import__(name)
    except ImportError:
        continue
    sys.exit(f"the blocker let {name} through")
from groundscore.cli import main

sys.exit(main(sys.argv[2:]))
"""


def core_run(*args: str, cwd: Path, blocked: tuple[str, ...] = EXTRAS) -> subprocess.CompletedProcess[str]:
    """``groundscore ARGS`` in a fresh interpreter that cannot import ``blocked``; this worktree's package."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", WRAPPER, ",".join(blocked), *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env=env)


def test_help_and_verify_run_without_any_extra(tmp_path: Path) -> None:
    proc = core_run("--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "verify" in proc.stdout and "serve" in proc.stdout
    proc = core_run("serve", "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "--reward.remote_url" in proc.stdout and "(default 8000)" in proc.stdout
    out = tmp_path / "reports.jsonl"
    proc = core_run("verify", str(DEMO), "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(DEMO.read_text(encoding="utf-8").splitlines())
    label_match = [v for r in records for v in r["verdicts"] if v["verifier"] == "label_match"]
    assert label_match and all(v["code"] == "skipped.unavailable" for v in label_match)  # spaCy really was missing
    assert "Traceback" not in proc.stderr


def test_a_command_whose_extra_is_missing_says_which_in_one_line(tmp_path: Path) -> None:
    proc = core_run("serve", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "groundscore[server]" in proc.stderr, proc.stderr
    proc = core_run("eval", str(DEMO), "-o", str(tmp_path / "ev"), cwd=tmp_path, blocked=(*EXTRAS, "numpy"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "numpy" in lines[0] and "groundscore[eval]" in lines[0], proc.stderr
    assert not (tmp_path / "ev").exists()  # checked before the folder was made


def _existing(tmp_path: Path) -> tuple[Path, bytes]:
    existing = tmp_path / "existing.jsonl"
    existing.write_bytes(b'{"id": "earlier", "kept": true}\n' * 2000)
    return existing, existing.read_bytes()


@pytest.mark.parametrize("command", ["verify", "filter"])
def test_a_mistyped_input_leaves_an_existing_output_byte_identical(tmp_path: Path, command: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    existing, before = _existing(tmp_path)
    rc = main([command, str(tmp_path / "typo.json"), "--from", "vlm-r1", "-o", str(existing)])
    assert rc == 2
    assert "no such file" in capsys.readouterr().err
    assert existing.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.jsonl"]  # no temporary file left either


def test_a_mistyped_input_leaves_an_existing_eval_folder_as_it_was(tmp_path: Path) -> None:
    folder = tmp_path / "eval-out"
    folder.mkdir()
    (folder / "earlier.json").write_text('{"kept": true}\n')
    assert main(["eval", str(tmp_path / "typo.json"), "--from", "vlm-r1", "-o", str(folder)]) == 2
    assert [p.name for p in folder.iterdir()] == ["earlier.json"]
    assert (folder / "earlier.json").read_text() == '{"kept": true}\n'


def test_failed_commands_create_no_empty_file_or_folder(tmp_path: Path) -> None:
    assert main(["verify", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "x.jsonl")]) == 2
    assert main(["eval", str(tmp_path / "missing.json"), "-o", str(tmp_path / "e")]) == 2
    assert main(["report", str(tmp_path / "missing.json"), "-o", str(tmp_path / "r")]) == 2
    assert main(["calibrate", str(tmp_path / "missing.json"), "-o", str(tmp_path / "c.json")]) == 2
    assert main(["filter", str(tmp_path / "missing.json"), "-o", str(tmp_path / "f.jsonl"), "--mode", "drop"]) == 2
    assert main(["verify", str(tmp_path), "-o", str(tmp_path / "y.jsonl")]) == 2  # a folder is no input
    assert list(tmp_path.iterdir()) == []


def test_a_failed_config_leaves_the_output_alone(tmp_path: Path) -> None:
    """A failure after the input checks (here an unknown verifier) also leaves the earlier output as it was."""
    existing, before = _existing(tmp_path)
    assert main(["verify", str(DEMO), "-o", str(existing), "--verifiers", "nope"]) == 2
    assert existing.read_bytes() == before


def test_output_file_replaces_the_target_only_when_the_block_completes(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    target.chmod(0o640)
    with pytest.raises(RuntimeError), output_file(target) as out:
        out.write("half\n")
        raise RuntimeError("the input broke half-way")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]
    with output_file(target) as out:
        out.write("new\n")
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640  # the file keeps its permissions
    with pytest.raises(KeyboardInterrupt), output_file(tmp_path / "fresh.jsonl") as out:
        raise KeyboardInterrupt
    assert not (tmp_path / "fresh.jsonl").exists()


def test_output_dir_removes_only_what_it_made_and_left_empty(tmp_path: Path) -> None:
    with pytest.raises(ValueError), output_dir(tmp_path / "a" / "b"):
        raise ValueError("failed before writing")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError), output_dir(tmp_path / "c") as folder:
        (folder / "first.json").write_text("{}")
        raise ValueError("failed after one result")
    assert (tmp_path / "c" / "first.json").exists()  # a result already written stays
    (tmp_path / "kept").mkdir()
    with pytest.raises(ValueError), output_dir(tmp_path / "kept"):
        raise ValueError("x")
    assert (tmp_path / "kept").is_dir()  # a folder the user had stays


def test_filter_can_write_over_its_own_input(tmp_path: Path) -> None:
    """The output is renamed over the target at the end, so the input is read whole first."""
    src = tmp_path / "in.jsonl"
    src.write_bytes(DEMO.read_bytes())
    n = len(src.read_text().splitlines())
    assert main(["filter", str(src), "-o", str(src), "--verifiers", "schema", "-q"]) == 0
    assert len(src.read_text().splitlines()) == n


def test_unknown_keys_are_summarised_with_did_you_mean_and_a_count(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    rows = [{"prompt": "the dog", "response": '<answer>[{"bbox_2d": [1, 2, 30, 40]}]</answer>'}] * 5
    rows.append({"query": "the dog", "completion": '[{"bbox_2d": [1, 2, 30, 40], "label": "dog"}]', "qeury": "x"})
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["verify", str(src), "-o", str(tmp_path / "o.jsonl"), "--verifiers", "schema", "-q"]) == 0
    err = capsys.readouterr().err
    assert "6 of 6 input lines have keys that are no sample field" in err, err
    assert "'prompt' on 5 lines (did you mean 'query'?)" in err
    assert "'response' on 5 lines (did you mean 'completion'?)" in err
    assert "'qeury' on 1 line (did you mean 'query'?)" in err
    assert main(["filter", str(src), "-o", str(tmp_path / "f.jsonl"), "--verifiers", "schema", "-q"]) == 0
    assert "'prompt' on 5 lines" in capsys.readouterr().err


def test_a_missing_or_unreadable_image_is_a_warning_and_counted(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    answer = '[{"bbox_2d": [1, 2, 30, 40], "label": "dog"}]'
    rows = [{"id": "passwd", "query": "dog", "completion": answer, "image": "/etc/passwd"},
            {"id": "missing", "query": "dog", "completion": answer, "image": str(tmp_path / "nope.png")},
            {"id": "sized", "query": "dog", "completion": answer, "image_size": [100, 100]}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "o.jsonl"
    assert main(["verify", str(src), "-o", str(out), "--verifiers", "schema", "-q"]) == 0
    issues = {r["id"]: [i for i in r["parsed"]["issues"] if i["code"] == "image.unreadable"]
              for r in map(json.loads, out.read_text().splitlines())}
    assert [i["severity"] for i in issues["passwd"]] == ["warning"] and issues["missing"] and not issues["sized"]
    assert "2 of 3 input lines name an image that is missing or unreadable" in capsys.readouterr().err


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    """On a pty the bar shows the count and rate on stderr; through a pipe stderr has no bar."""
    import fcntl
    import pty
    import struct
    import termios

    out = tmp_path / "o.jsonl"
    args = [sys.executable, "-m", "groundscore", "filter", str(DEMO), "-o", str(out), "--verifiers", "schema"]
    piped = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert piped.returncode == 0 and "\r" not in piped.stderr and "sample/s" not in piped.stderr, piped.stderr
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a new pty is 0 columns wide
    try:
        proc = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=follower, timeout=120, cwd=ROOT)
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    shown = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert "filter" in shown and "12sample" in shown.replace(" ", "") and "sample/s" in shown, shown


def test_the_verl_page_install_command_is_the_one_make_test_runs() -> None:
    """docs/rewards/verl.md shows the pip line that installs verl beside this project: the Makefile's packages."""
    import re

    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    packages = re.search(r"^VERL_PKGS\s*:=\s*(.+)$", make, re.MULTILINE).group(1).split()
    page = (ROOT / "docs" / "rewards" / "verl.md").read_text(encoding="utf-8").replace("\\\n", " ")
    line = next(x for x in page.splitlines() if "--target .hosts/verl" in x and "pip install" in x)
    shown = line.split("constraints/trainers.txt", 1)[1].split()
    assert shown == packages
    assert "--no-deps" in line and "-c constraints/trainers.txt" in line
