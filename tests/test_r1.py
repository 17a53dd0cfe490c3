"""R1 tags: split into think / answer / outside; every malformation is an issue, never an exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import groundscore.parse.r1 as r1
from groundscore.chain import Chain
from groundscore.parse.r1 import split_r1

FIXTURES = Path(__file__).parent / "fixtures"


def codes(split: r1.R1Split) -> list[str]:
    return [i.code for i in split.issues]


def test_canonical_layout() -> None:
    s = split_r1("<think>\n the dog is left \n</think>\n<answer> [1, 2, 3, 4] </answer>")
    assert (s.think, s.answer, s.outside, s.has_think, s.has_answer) == ("the dog is left", "[1, 2, 3, 4]", "", True, True)
    assert codes(s) == []


def test_no_tags_means_the_whole_text_is_the_answer() -> None:
    s = split_r1('[{"bbox_2d": [1, 2, 3, 4]}]')
    assert (s.think, s.answer, s.has_think, s.has_answer) == (None, '[{"bbox_2d": [1, 2, 3, 4]}]', False, False)
    assert codes(s) == []
    # a "<" that is not a tag
    s = split_r1("x < y and <b>bold</b>")
    assert s.answer == "x < y and <b>bold</b>" and codes(s) == []


def test_tags_are_case_and_space_insensitive() -> None:
    s = split_r1("< THINK >a</ think><Answer>b</ANSWER >")
    assert (s.think, s.answer) == ("a", "b") and codes(s) == []


def test_missing_answer_reads_the_text_outside_think() -> None:
    s = split_r1('<think>hm</think>\n```json\n[{"bbox_2d": [1, 2, 3, 4]}]\n```')
    assert s.answer.startswith("```json") and s.think == "hm"
    assert codes(s) == ["r1.missing_answer"]


def test_missing_think_is_only_info() -> None:
    s = split_r1("<answer>b</answer>")
    assert s.answer == "b" and codes(s) == ["r1.missing_think"]
    assert s.issues[0].severity == "info"


def test_unclosed_tags_run_to_the_end() -> None:
    s = split_r1("<think>a</think><answer>[1,2,3,4]\n")
    assert s.answer == "[1,2,3,4]" and codes(s) == ["r1.unclosed_answer"]
    s = split_r1("<think>step 1, step 2, final answer [1,2,3,4]")
    assert s.think.endswith("[1,2,3,4]") and "r1.unclosed_think" in codes(s)


def test_duplicates_misorder_and_unopened() -> None:
    s = split_r1("<think>a</think><think>b</think><answer>x</answer><answer>y</answer>")
    assert s.think == "a" and s.answer == "y"
    assert {"r1.duplicate_think", "r1.duplicate_answer"} <= set(codes(s))
    s = split_r1("<answer>x</answer><think>a</think>")
    assert "r1.misordered" in codes(s) and s.answer == "x"
    s = split_r1("reasoning here</think><answer>x</answer>")
    assert s.think == "reasoning here" and "r1.unopened_think" in codes(s)
    s = split_r1("<think>a</think>x</answer>")
    assert "r1.unopened_answer" in codes(s)


def test_canonical_and_truncated_layouts() -> None:
    s = split_r1("<think>a</think> pre <answer>b</answer> post")
    assert (s.think, s.answer, s.outside, s.has_think, s.has_answer, codes(s)) == ("a", "b", " pre \n post", True, True, [])
    s = split_r1("<think>x < y</think><answer>b</answer>")
    assert (s.think, s.answer, s.outside, codes(s)) == ("x < y", "b", "", [])
    s = split_r1("<think>a</think> [1, 2, 3, 4]")
    assert (s.think, s.answer, s.has_answer, codes(s)) == ("a", "[1, 2, 3, 4]", False, ["r1.missing_answer"])
    s = split_r1("<think>a</think><answer>[1, 2")
    assert (s.answer, s.has_answer, codes(s)) == ("[1, 2", True, ["r1.unclosed_answer"])
    s = split_r1("<answer>b</answer><think>a</think>")
    assert "r1.misordered" in codes(s)


def test_box_only_inside_think_is_found_and_flagged() -> None:
    chain = Chain({"verifiers": ["schema"]})
    text = '<think>Final answer:\n```json\n[{"bbox_2d": [10, 20, 30, 40], "label": "dog"}]\n```\n</think>'
    report = chain.verify_one({"completion": text, "coords": "original"})
    assert [b.xyxy for b in report.parsed.boxes] == [(10, 20, 30, 40)]
    assert "answer.in_think" in report.parsed.issue_codes()
    assert report.verdicts[0].score == pytest.approx(0.6)  # in_think 0.3 + missing answer 0.1
    # an explicit "no object" answer is not overridden by a box the model considered while thinking
    text = '<think>maybe [10, 20, 30, 40]?</think><answer>There is no such object.</answer>'
    report = chain.verify_one({"completion": text, "coords": "original"})
    assert report.parsed.boxes == [] and report.parsed.no_object


TAG_SOUP = st.lists(
    st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", "< Answer >", "x", "[1,2,3,4]", "\n", "<", ">", "/"]),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(TAG_SOUP)
def test_any_tag_soup_splits_without_raising(text: str) -> None:
    s = split_r1(text)
    assert isinstance(s.answer, str)
    assert s.think is None or isinstance(s.think, str)
    assert s.answer in text or "r1.missing_answer" in codes(s)  # then: the outside pieces, joined
    assert s.think is None or s.think in text
    if s.has_answer:
        assert r1._TAG.search(text) and "answer" in text.lower()
    if s.has_think:
        assert "think" in text.lower()
    assert all(i.code.startswith("r1.") for i in s.issues)
