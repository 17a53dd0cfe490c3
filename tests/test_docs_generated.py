"""Tables in the docs that a script writes must be what that script prints now, on the shared logs.

docs/evaluation.md's tables come from ``benchmarks/eval_rec_logs.py --write-docs``.
When a change to a verifier or to the scoring moves a number, this test fails
until the script is rerun, so the page never shows numbers that the code no
longer gives. Only the closing timing line ("... records in N s on this
machine") is allowed to differ. A second check ties the script to what a user
runs: ``groundscore eval`` on one log gives the same numbers as the script.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest
from shared_data import REC_LOGS

from groundscore.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "evaluation.md"
TIMING = re.compile(r"^[\d,]+ records in \d+ s on this machine.*$", re.MULTILINE)

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not REC_LOGS.is_dir(), reason="shared REC logs not present")]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("groundscore_eval_rec_logs", ROOT / "benchmarks" / "eval_rec_logs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _section(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0].strip()


@pytest.fixture(scope="module")
def evaluated() -> tuple[ModuleType, list[str], list, float, int]:
    script = _script()
    names, results, elapsed, total = script.evaluate_logs(sorted(REC_LOGS.glob("*.json")), verbose=False)
    return script, names, results, elapsed, total


def test_evaluation_page_tables_are_the_scripts_output(evaluated: tuple) -> None:
    script, names, results, elapsed, total = evaluated
    printed = script.tables(results, names, elapsed, total)
    documented = _section(PAGE.read_text(encoding="utf-8"), script.START, script.END)
    assert TIMING.sub("<timing>", documented) == TIMING.sub("<timing>", printed), (
        "docs/evaluation.md no longer matches benchmarks/eval_rec_logs.py: rerun it with --write-docs")


def test_groundscore_eval_prints_the_scripts_numbers(evaluated: tuple, tmp_path: Path) -> None:
    _, _, results, _, _ = evaluated
    log = REC_LOGS / "screenspot-grpo-ckpt334_desktop.json"
    if not log.exists():
        pytest.skip(f"{log.name} not present")
    assert main(["eval", str(log), "--from", "vlm-r1", "-o", str(tmp_path), "--no-plots", "--no-progress"]) == 0
    by_cli = json.loads((tmp_path / f"{log.stem}.json").read_text(encoding="utf-8"))
    by_script = dict(results)["screenspot-grpo-ckpt334"].model_dump(mode="json")
    for key in ("labelled", "accuracy", "upstream_accuracy", "gated"):
        assert by_cli[key] == by_script[key], key
    for reading in ("raw", "calibrated"):
        assert by_cli[reading]["auroc"] == pytest.approx(by_script[reading]["auroc"], abs=1e-12), reading
        assert by_cli[reading]["ece"] == pytest.approx(by_script[reading]["ece"], abs=1e-12), reading
