"""benchmarks/fuzz.py itself: inputs it times again are the inputs it ran, and a short run completes cleanly.

The retiming and the reproducers rebuild each kept input from its recipe instead of holding its text (up to
1 MB), so that the fuzz process's own RSS measures the library; that only works if a recipe makes the same
input again.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("groundscore_fuzz_bench", ROOT / "benchmarks" / "fuzz.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def _same(a: object, b: object) -> bool:
    """Equal inputs (by repr: a NaN ground truth is never == itself)."""
    return repr((a.fields, a.prompt, a.kinds)) == repr((b.fields, b.prompt, b.kinds))  # type: ignore[attr-defined]


def test_a_kept_recipe_makes_the_same_input_again(fuzz: ModuleType) -> None:
    gen = fuzz.Generator(3, fuzz.load_seeds(), fuzz.parser_examples())
    made = [gen.case(i) for i in range(300)]
    large = gen.large(7, 70_000)
    known = fuzz.known_cases(1000)
    for case in reversed(made):  # in another order than they were made: nothing depends on the stream so far
        assert _same(gen.rebuild(case.ref()), case)
    assert _same(gen.rebuild(large.ref()), large) and large.size() >= 70_000
    assert all(_same(gen.rebuild(k.ref()), k) for k in known)
    # the run's own choices (entry points, malformed requests) come from another stream: making inputs again
    # in the retiming does not change which entry point the next input goes to
    before = gen.pick.getstate()
    gen.rebuild(made[5].ref())
    assert gen.pick.getstate() == before
    assert len({repr(c.fields) for c in made}) > 250  # and the inputs still differ from each other


@pytest.mark.slow
def test_a_short_fuzz_run_finds_nothing_and_writes_its_report(fuzz: ModuleType, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert fuzz.main(["--n", "400", "--warm", "40", "--quick", "--no-server", "--repro-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "escaped exceptions and hangs: 0 (0 distinct); contract violations: 0 (0 distinct)" in out
    assert "a warm-up of 48 more generated inputs" in out and "after the inputs" in out
    assert "Chain.verify" in out and "verl.compute_score_batch" in out
