"""Every Python example in the README and under docs/ runs as written.

A user's first contact is a copy-paste; a stale example is a bug. Blocks that
need something a test cannot have (a trainer, a GPU, CLIP weights, the user's
own data) carry a ``# not runnable: <why>`` comment and are skipped; every other
``python`` block is executed in a fresh namespace, from a scratch working
directory so that blocks writing files leave the tree clean. A block that starts
with ``# continues the example above`` runs after the block before it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```python[^\n]*\n(.*?)```", re.DOTALL)
SNIPPET = re.compile(r'^--8<-- "([^"]+)"$', re.MULTILINE)


def _expand(block: str) -> str:
    """A block that includes a file (mkdocs' ``--8<-- "path"`` snippet) runs that file."""
    return SNIPPET.sub(lambda m: (ROOT / m.group(1)).read_text(encoding="utf-8"), block)
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


CONTINUES = "# continues the example above"


def blocks(path: Path) -> list[str]:
    """The runnable blocks of a page; one that continues the example above gets it prepended."""
    out: list[str] = []
    previous = ""
    for block in map(_expand, BLOCK.findall(path.read_text())):
        if "# not runnable" in block:
            previous = ""
            continue
        code = previous + block if block.startswith(CONTINUES) else block
        out.append(code)
        previous = code
    return out


def page_id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


CASES = [(p, i, code) for p in PAGES for i, code in enumerate(blocks(p))]


def test_every_page_is_covered() -> None:
    """The docs tree is found and its pages hold runnable examples to check."""
    assert len(PAGES) > 5 and (ROOT / "docs" / "getting-started.md") in PAGES
    assert len(CASES) >= 10


def test_skipped_blocks_say_why() -> None:
    """A skipped block names what it needs, so a reader knows it is not a typo."""
    for path in PAGES:
        for block in BLOCK.findall(path.read_text()):
            for line in block.splitlines():
                if "# not runnable" in line:
                    assert re.search(r"# not runnable: \S", line), f"{page_id(path)}: {line.strip()}"


def test_a_continued_block_is_run_after_the_one_above() -> None:
    """The plugin page's second block uses the verifier class its first block defines."""
    code = blocks(ROOT / "docs" / "concepts" / "plugins.md")[1]
    assert code.index("class BoxAreaVerifier") < code.index(CONTINUES)


@pytest.mark.parametrize(("path", "index", "code"), CASES, ids=[f"{page_id(p)}-{i}" for p, i, _ in CASES])
def test_example_runs(path: Path, index: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs_example__"}
    exec(compile(code, f"{page_id(path)}[{index}]", "exec"), namespace)


def test_readme_example_rejects_the_label_drift() -> None:
    namespace: dict[str, object] = {}
    exec(compile(blocks(ROOT / "README.md")[0], "README", "exec"), namespace)
    report = namespace["report"]
    assert report.decision == "reject" and report.confidence == 0.0  # type: ignore[attr-defined]
    assert {"label_match", "consistency"} <= set(report.failed_gates)  # type: ignore[attr-defined]


def test_label_match_example_prints_what_its_comments_say(capsys: pytest.CaptureFixture[str]) -> None:
    """The label-drift example's trailing comments are the output a reader is promised."""
    code = next(b for b in blocks(ROOT / "docs" / "verifiers" / "label_match.md") if "verify_one" in b)
    promised = [line[2:] for line in code.strip().splitlines() if line.startswith("# ")]
    exec(compile(code, "label_match.md", "exec"), {})
    assert capsys.readouterr().out.splitlines() == promised
