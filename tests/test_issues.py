"""The issue-code registry: the docs table matches it, the gate reads it, and parsers emit only codes it defines."""

from __future__ import annotations

import json
import re
from pathlib import Path

from groundscore.chain import Chain
from groundscore.issues import ISSUES, SCHEMA_FAILURES, codes_feeding, default_penalties
from groundscore.verifiers.schema import REASONS, SchemaOptions

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "verifiers" / "schema.md"
ROW = re.compile(r"^\| `([a-z0-9_.]+)` \| (info|warning|error) \| (.+?) \| (.+) \|$")


def _section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 3)
    return text[start : end if end != -1 else None]


def test_docs_table_of_issue_codes_matches_the_registry() -> None:
    rows = [ROW.match(line) for line in _section("Parser issue codes").splitlines()]
    documented = {m.group(1): m for m in rows if m}
    assert list(documented) == list(ISSUES)  # same codes, same order
    for code, m in documented.items():
        entry = ISSUES[code]
        feeds = m.group(3)
        assert m.group(2) == entry.severity, code
        first = feeds.split()[0]
        assert (None if first == "-" else first.strip("`")) == entry.schema_check, code
        deducts = re.search(r"deducts ([0-9.]+)", feeds)
        assert (float(deducts.group(1)) if deducts else 0.0) == entry.penalty, code
        assert m.group(4).replace("&#124;", "|") == entry.meaning, code


def test_docs_table_of_gate_failures_matches_the_registry() -> None:
    codes = re.findall(r"^\| `([a-z0-9_.]+)` \|", _section("What it checks"), re.MULTILINE)
    assert codes == list(SCHEMA_FAILURES)
    assert set(REASONS) == set(SCHEMA_FAILURES)


def test_the_gate_reads_the_registry() -> None:
    assert SchemaOptions().penalties == default_penalties()
    assert "json.invalid" in codes_feeding("answer.invalid") and "r1.misordered" in codes_feeding("r1.tags")
    assert not any(c.malformed for c in ISSUES.values() if c.severity == "info")


def test_every_code_emitted_on_the_fixtures_is_registered() -> None:
    chain = Chain({"verifiers": ["schema"]})
    fixtures = json.loads((ROOT / "tests" / "fixtures" / "rec_log_shapes.json").read_text())["records"]
    texts = [r["model_output"] for r in fixtures] + [
        "", "\x00", "<answer>b</answer><think>a</think>", "<think>a<answer>[1,2,3]</answer>", "[{\"bbox_2d\": [1, 2, 3",
        "<box>[[1,2,3,4]]", "no box here", "<think>a</think>", "{\"bbox_2d\": \"x\"}", "<patch_index_9999>",
    ]
    seen = set()
    for report in chain.verify([{"completion": t, "coords": "original"} for t in texts] + [{"completion": "[1,2,3,4]", "format": "nope"}]):
        seen.update(report.parsed.issue_codes())
    unknown = seen - set(ISSUES)
    assert not unknown, unknown
    assert {"format.detected", "format.unknown", "r1.misordered", "json.repaired"} <= seen
