"""The filter, ``verify`` and the HTML report say when an answer is a clarifying question, with its candidates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_report import _browser, _chromium, _chunks, _settled

from groundscore import Chain, Sample
from groundscore.cli import main
from groundscore.scoring.filtering import filter_reports, result_record

ASK = "<think>two men</think><answer>Do you mean the man on the left or the one holding the umbrella?</answer>"
BOX = '<think>the man</think><answer>[{"bbox_2d": [10, 10, 50, 50], "label": "man"}]</answer>'
CANDIDATES = ["the man on the left", "the one holding the umbrella"]


def _lines(tmp: Path) -> Path:
    path = tmp / "in.jsonl"
    rows = [{"id": "ask", "query": "the man", "completion": ASK, "image_size": [100, 100]},
            {"id": "box", "query": "the man", "completion": BOX, "image_size": [100, 100]}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_filter_reports_the_question_and_its_candidates() -> None:
    chain = Chain({"verifiers": ["schema"]})
    samples = [Sample(query="the man", completion=c, image_size=(100, 100)) for c in (ASK, BOX)]
    asked, boxed = filter_reports(chain.verify(samples), samples, mode="annotate")
    assert asked.clarification is not None and asked.clarification.candidates == CANDIDATES
    assert asked.reason.startswith("the model asks which object is meant (candidates: the man on the left; ")
    assert boxed.clarification is None and "asks" not in boxed.reason
    record = result_record(asked, samples[0])
    assert record["filter"]["clarify"]["candidates"] == CANDIDATES
    assert "clarify" not in result_record(boxed, samples[1])["filter"]


def test_verify_summary_counts_clarifying_questions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reports.jsonl"
    assert main(["verify", str(_lines(tmp_path)), "-o", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr()
    assert "clarifying questions: 1 (50.0%), 1 naming the candidate objects" in printed.out + printed.err
    reports = [json.loads(line) for line in out.read_text().splitlines()]
    assert reports[0]["parsed"]["clarify"]["candidates"] == CANDIDATES and reports[1]["parsed"]["clarify"] is None


def test_html_report_shows_the_question(tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["report", str(_lines(tmp_path)), "-o", str(out)]) == 0
    cards = {c["id"]: c for chunk in _chunks(out) for c in chunk}
    assert cards["ask"]["clarify"] == {"q": ASK.split("<answer>")[1].split("</answer>")[0], "c": CANDIDATES}
    assert cards["box"]["clarify"] is None
    found = _chromium()
    if found is None:
        return  # the page's data is checked above; the rendering needs Chromium
    from selenium.webdriver.common.by import By

    drv = _browser(*found)
    try:
        drv.get((out / "index.html").as_uri())
        _settled(drv)
        shown = [e.text for e in drv.find_elements(By.CSS_SELECTOR, "#cards .card .clarify")]
        assert len(shown) == 1 and "the one holding the umbrella" in shown[0]
    finally:
        drv.quit()


def test_a_jsonl_line_may_write_the_ambiguous_shape(tmp_path: Path) -> None:
    from groundscore.inputs.samples import iter_samples
    from groundscore.rewards import Rewarder

    path = tmp_path / "amb.jsonl"
    rows = [{"id": "amb", "query": "the man", "completion": ASK, "coords": "original",
             "solution": {"ambiguous": [[10, 10, 50, 50], [100, 100, 150, 150]]}},
            {"id": "text", "query": "the man", "completion": ASK, "coords": "original",
             "solution": json.dumps({"targets": [[10, 10, 50, 50], [100, 100, 150, 150]], "ambiguous": True})},
            {"id": "one", "query": "the man", "completion": ASK, "coords": "original", "solution": [10, 10, 50, 50]}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    samples = list(iter_samples(path))
    assert [len(s.alternatives or []) for s in samples] == [2, 2, 0]
    assert samples[0].solution == [[10, 10, 50, 50], [100, 100, 150, 150]]
    rewarder = Rewarder(chain_config={"verifiers": ["schema"]})
    c = rewarder.config
    assert rewarder.rewards(samples) == pytest.approx([c.clarify_ambiguous_reward] * 2 + [c.clarify_unambiguous_reward])
    # verify writes the alternatives with the sample, and reading its reports back keeps them
    out = tmp_path / "reports.jsonl"
    assert main(["verify", str(path), "-o", str(out), "--no-progress", "-q"]) == 0
    again = list(iter_samples(out))
    assert [len(s.alternatives or []) for s in again] == [2, 2, 0]
