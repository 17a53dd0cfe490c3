"""The Python examples in the README and the getting-started page run as written.

A user's first contact is a copy-paste; a stale example is a bug. Blocks that
need names defined elsewhere (marked by a ``# not runnable`` comment) are
skipped; every other ``python`` block is executed in a fresh namespace.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def blocks(path: Path) -> list[str]:
    return [b for b in BLOCK.findall(path.read_text()) if "# not runnable" not in b]


CASES = [(p, i, code) for p in (ROOT / "README.md", ROOT / "docs" / "getting-started.md") for i, code in enumerate(blocks(p))]


@pytest.mark.parametrize(("path", "index", "code"), CASES, ids=[f"{p.name}-{i}" for p, i, _ in CASES])
def test_example_runs(path: Path, index: int, code: str) -> None:
    namespace: dict[str, object] = {}
    exec(compile(code, f"{path.name}[{index}]", "exec"), namespace)


def test_readme_example_rejects_the_label_drift() -> None:
    namespace: dict[str, object] = {}
    exec(compile(blocks(ROOT / "README.md")[0], "README", "exec"), namespace)
    report = namespace["report"]
    assert report.decision == "reject" and report.confidence == 0.0  # type: ignore[attr-defined]
    assert {"label_match", "consistency"} <= set(report.failed_gates)  # type: ignore[attr-defined]
