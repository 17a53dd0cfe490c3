"""The inference filter: one decision per input line, in order, whatever the input and mode."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groundscore import Chain
from groundscore.cli import main
from groundscore.scoring.filtering import filter_reports

FIXTURES = Path(__file__).parent / "fixtures"
GRPO = FIXTURES / "vlmr1_grpo_refcocog_excerpt.json"
# An answer the shipped model keeps with a margin (about 0.63 against accept 0.5): these tests are about the
# filter's bookkeeping, not the model, so a small box without thinking (a weak prior, near 0.5) would make them
# depend on the model's last refit.
GOOD = '[{"bbox_2d": [10, 10, 80, 80], "label": "dog"}]'


@pytest.fixture(scope="module")
def chain() -> Chain:
    return Chain({"verifiers": ["schema"]})


def _messy_lines() -> list[str]:
    """Good, bad, broken and odd lines, as a real file might hold them."""
    return [
        json.dumps({"id": "ok1", "query": "dog", "completion": GOOD, "image_size": [100, 100]}),
        "this is not json",
        json.dumps({"id": "empty", "query": "dog", "completion": "", "image_size": [100, 100]}),
        json.dumps([1, 2, 3]),
        json.dumps({"id": "badsize", "query": "dog", "completion": GOOD, "image_size": [-1, 5]}),
        json.dumps({"id": "nobox", "query": "cat", "completion": "I think it is somewhere", "image_size": [100, 100]}),
        json.dumps({"id": "ok2", "query": "dog", "completion": GOOD, "image_size": [100, 100]}),
        '{"id": "truncated", "query": "dog", "compl',
        json.dumps({"id": "nan", "query": "dog", "completion": '[{"bbox_2d": [NaN, 1, 2, 3]}]', "image_size": [100, 100]}),
    ]


@pytest.mark.parametrize("mode", ["abstain", "annotate", "drop"])
def test_cli_gives_every_input_line_exactly_one_decision_in_order(tmp_path: Path, mode: str) -> None:
    lines = _messy_lines()
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines[:3]) + "\n\n   \n" + "\n".join(lines[3:]) + "\n")  # blank lines are not samples
    out = tmp_path / "out.jsonl"
    decisions = tmp_path / "decisions.jsonl"
    rc = main(["filter", str(src), "-o", str(out), "--mode", mode, "--verifiers", "schema", "--decisions", str(decisions), "-q"])
    assert rc == 0
    written = [json.loads(x) for x in out.read_text().splitlines()]
    decided = [json.loads(x) for x in decisions.read_text().splitlines()]
    assert [d["index"] for d in decided] == list(range(len(lines)))
    ids = [d["id"] for d in decided]
    assert ids[0] == "ok1" and ids[6] == "ok2" and ids[2] == "empty" and ids[5] == "nobox"
    kept = [d for d in decided if d["kept"]]
    assert {d["id"] for d in kept} >= {"ok1", "ok2"}
    for bad in (1, 3, 4, 7):  # unreadable lines are never kept, and say why
        assert not decided[bad]["kept"]
        assert "could not be read" in decided[bad]["reason"]
    for d in decided:
        assert d["reason"]
        assert d["action"] == ("keep" if d["kept"] else {"abstain": "abstain", "drop": "drop", "annotate": "keep"}[mode])
    if mode == "drop":
        assert [w["filter"]["index"] for w in written] == [d["index"] for d in decided if d["action"] != "drop"]
        assert len(written) + sum(d["action"] == "drop" for d in decided) == len(lines)
    else:
        assert [w["filter"]["index"] for w in written] == list(range(len(lines)))
        assert [w["filter"] for w in written] == [{k: v for k, v in d.items() if k != "id"} for d in decided]


def test_abstention_is_an_empty_answer_with_a_reason(chain: Chain) -> None:
    results = chain.filter([
        {"id": "a", "query": "dog", "completion": GOOD, "image_size": [100, 100]},
        {"id": "b", "query": "dog", "completion": '[{"bbox_2d": [50, 10, 10, 50], "label": "dog"}]', "image_size": [100, 100]},
    ])
    good, bad = results
    assert good.action == "keep" and good.completion == GOOD and len(good.boxes) == 1
    assert bad.action == "abstain" and bad.completion == "" and bad.boxes == []
    assert bad.decision == "reject"
    assert "schema gate failed" in bad.reason and "x1 >= x2" in bad.reason


def test_drop_mode_still_returns_a_result_for_every_sample(chain: Chain) -> None:
    samples = [{"query": "dog", "completion": GOOD, "image_size": [100, 100]}, {"query": "dog", "completion": ""}]
    results = chain.filter(samples, mode="drop")
    assert [r.action for r in results] == ["keep", "drop"]
    assert results[1].reason


def test_threshold_decides_on_the_calibrated_confidence(tmp_path: Path, chain: Chain) -> None:
    calib = tmp_path / "calib.json"
    calib.write_text(json.dumps({
        "version": 1, "model": {"method": "platt", "a": 0.0, "b": math.log(0.3 / 0.7)}, "fitted": {"n": 1, "positives": 0},
    }))
    calibrated = Chain({"verifiers": ["schema"], "calibration": str(calib)})
    sample = {"query": "dog", "completion": GOOD, "image_size": [100, 100]}
    assert calibrated.filter([sample], threshold=0.2)[0].action == "keep"
    low = calibrated.filter([sample], threshold=0.5)[0]
    assert low.action == "abstain"
    assert "confidence 0.300 < threshold 0.5" in low.reason
    assert calibrated.filter([sample])[0].action == "abstain"  # 0.3 is below the accept threshold 0.5
    with pytest.raises(ValueError, match="threshold"):
        calibrated.filter([sample], threshold=1.5)
    with pytest.raises(ValueError, match="mode"):
        calibrated.filter([sample], mode="shred")


_junk = st.one_of(
    st.none(), st.integers(), st.text(max_size=40), st.binary(max_size=20),
    st.lists(st.integers(), max_size=5),
    st.fixed_dictionaries({"query": st.text(max_size=20), "completion": st.text(max_size=80)}),
    st.fixed_dictionaries({"completion": st.just(GOOD), "image_size": st.sampled_from([[100, 100], [0, 5], "x", None])}),
    st.dictionaries(st.text(max_size=8), st.one_of(st.none(), st.integers(), st.text(max_size=10)), max_size=4),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_junk, max_size=12))
def test_filter_never_drops_or_reorders_silently(chain: Chain, samples: list) -> None:
    tagged = [s if not isinstance(s, dict) else {**s, "id": f"s{i}"} for i, s in enumerate(samples)]
    for mode in ("abstain", "drop", "annotate"):
        results = chain.filter(tagged, mode=mode)
        assert [r.index for r in results] == list(range(len(tagged)))
        for r, s in zip(results, tagged, strict=True):
            assert r.reason
            if isinstance(s, dict) and "id" in s:
                assert r.id == s["id"]
            if r.action != "keep":
                assert r.completion == "" and r.boxes == []


def test_filter_reads_reports_and_vlm_r1_logs(tmp_path: Path) -> None:
    reports = tmp_path / "reports.jsonl"
    assert main(["verify", str(GRPO), "--from", "vlm-r1", "-o", str(reports), "--verifiers", "schema", "--limit", "30", "-q"]) == 0
    from_reports = tmp_path / "a.jsonl"
    from_log = tmp_path / "b.jsonl"
    assert main(["filter", str(reports), "-o", str(from_reports), "--verifiers", "schema", "-q"]) == 0
    assert main(["filter", str(GRPO), "--from", "vlm-r1", "-o", str(from_log), "--verifiers", "schema", "--limit", "30", "-q"]) == 0
    a = [json.loads(x) for x in from_reports.read_text().splitlines()]
    b = [json.loads(x) for x in from_log.read_text().splitlines()]
    assert len(a) == len(b) == 30
    assert [x["id"] for x in a] == [x["id"] for x in b]
    assert [x["filter"]["action"] for x in a] == [x["filter"]["action"] for x in b]
    assert all(x["completion"] for x in b if x["filter"]["kept"])
    assert all(x["completion"] for x in a if x["filter"]["kept"])  # the parsed answer, as reports hold no completion


def test_cli_refuses_drop_to_stdout_without_a_decisions_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"query": "dog", "completion": GOOD}) + "\n")
    assert main(["filter", str(src), "--mode", "drop", "--verifiers", "schema"]) == 2
    assert "--decisions" in capsys.readouterr().err
    assert main(["filter", str(src), "--threshold", "2", "--verifiers", "schema"]) == 2


def test_filter_reports_directly_numbers_batches_from_start(chain: Chain) -> None:
    reports = chain.verify([{"query": "dog", "completion": GOOD}] * 3)
    assert [r.index for r in filter_reports(reports, start=10)] == [10, 11, 12]
