"""Clarifying questions are read in every supported form, and never mistaken for a box or a malformed answer.

The shared REC logs hold no clarifying question (those models never ask), so
recognition is tested on real-looking completions per format below, and the
other direction (a box answer never read as a question) on every completion
of the logs (``benchmarks/clarify_scan.py`` prints the same count).
"""

from __future__ import annotations

import json
import random

import pytest
from shared_data import REC_LOGS

from groundscore import Sample, verify
from groundscore.chain import Chain
from groundscore.model import Parsed
from groundscore.parse.clarify import candidates_of, read_clarification
from groundscore.rewards.reading import format_score, is_abstention

CHAIN = Chain({"verifiers": ["schema"]})

# (form, completion, expected candidates)
ASKING = [
    ("plain text",
     "There are two men in the picture. Do you mean the man on the left or the one holding the umbrella?",
     ["the man on the left", "the one holding the umbrella"]),
    ("r1 answer",
     "<think>The query says 'the man', but I see two men: one on the left near the bus and one holding an umbrella."
     "</think><answer>Do you mean the man on the left or the one holding the umbrella?</answer>",
     ["the man on the left", "the one holding the umbrella"]),
    ("r1 answer, colon list",
     "<think>Two cups on the table.</think><answer>Which cup do you mean: the red one, the blue one or the one "
     "behind the laptop?</answer>",
     ["the red one", "the blue one", "the one behind the laptop"]),
    ("r1 answer, no candidates",
     "<think>Several dogs, nothing in the query tells them apart.</think><answer>Which one do you mean?</answer>", []),
    ("polite request",
     "<answer>Could you clarify which chair you mean, the wooden one or the office chair?</answer>",
     ["the wooden one", "the office chair"]),
    ("json clarify",
     '```json\n{"clarify": "Do you mean the white car or the silver car?"}\n```', ["the white car", "the silver car"]),
    ("json question with candidates",
     '<think>two giraffes</think><answer>{"question": "Which giraffe is meant?", "candidates": ["the tall giraffe", '
     '"the young giraffe"]}</answer>',
     ["the tall giraffe", "the young giraffe"]),
    ("json list of one",
     '[{"clarification": "Are you referring to the left monitor or the right monitor?"}]',
     ["the left monitor", "the right monitor"]),
    ("ui-tars call_user",
     "Thought: The instruction says to click 'Save', but there is a Save button in the toolbar and another in the "
     "dialog. Which one do you mean?\nAction: call_user()",
     []),
    ("ui-tars call_user, two candidates in the thought",
     "Thought: Do you mean the Save button in the toolbar or the one in the dialog?\nAction: call_user()",
     ["the Save button in the toolbar", "the one in the dialog"]),
    ("qwen computer_use answer",
     '<tool_call>\n{"name": "computer_use", "arguments": {"action": "answer", "text": "Do you mean the Wi-Fi toggle or '
     'the Bluetooth toggle?"}}\n</tool_call>',
     ["the Wi-Fi toggle", "the Bluetooth toggle"]),
    ("qwen mobile_use terminate with a question",
     '<tool_call>\n{"name": "mobile_use", "arguments": {"action": "terminate", "status": "failure", "text": '
     '"Which contact do you mean, Anna Smith or Anna Lee?"}}\n</tool_call>',
     ["Anna Smith", "Anna Lee"]),
    ("json action item (GUI-R1 style list)",
     "<answer>[{'action': 'ask_user', 'input_text': 'Do you mean the first search result or the sponsored one?'}]"
     "</answer>".replace("'", '"'),
     ["the first search result", "the sponsored one"]),
    ("call syntax answer()",
     "Action: answer('Did you mean the blue folder or the green folder?')",
     ["the blue folder", "the green folder"]),
]


def parse(completion: str, **fields: object) -> Parsed:
    return CHAIN.verify_one(Sample(query="the man", completion=completion, image_size=(1000, 800), **fields)).parsed


@pytest.mark.parametrize(("form", "completion", "candidates"), ASKING, ids=[a[0] for a in ASKING])
def test_every_form_of_asking_is_a_clarification(form: str, completion: str, candidates: list[str]) -> None:
    parsed = parse(completion)
    assert parsed.clarify is not None, form
    assert parsed.clarify.candidates == candidates
    assert not parsed.boxes and not parsed.points
    assert parsed.no_object is False and not is_abstention(parsed)
    assert "clarify.asked" in parsed.issue_codes()
    # not malformed: no answer-invalid issue, and the schema gate passes it, saying what it is
    assert not {"format.undetected", "json.no_boxes", "gui.no_coordinate"} & set(parsed.issue_codes())
    schema = CHAIN.verify_one(Sample(query="the man", completion=completion)).verdict("schema")
    assert schema is not None and schema.gate is True and "clarifying question" in (schema.reason or "")


def test_a_question_in_the_thinking_is_not_a_clarification() -> None:
    parsed = parse('<think>Which one do you mean? The query says the man on the left, so the left one.</think>'
                   '<answer>```json\n[{"bbox_2d": [10, 20, 200, 400], "label": "man on the left"}]\n```</answer>')
    assert parsed.clarify is None and len(parsed.boxes) == 1
    assert "clarify.hedge" not in parsed.issue_codes()
    # an agent's Thought is its reasoning too: a click after it is a click
    agent = parse("Thought: Which one do you mean? The toolbar one is the usual target.\n"
                  "Action: click(start_box='(235,512)')")
    assert agent.clarify is None and len(agent.points) == 1


def test_a_box_and_a_question_is_a_hedge_and_the_box_is_read() -> None:
    parsed = parse('<answer>Do you mean the man on the left? [{"bbox_2d": [10, 20, 200, 400], "label": "man"}]'
                   '</answer>')
    assert parsed.clarify is None and len(parsed.boxes) == 1
    assert "clarify.hedge" in parsed.issue_codes()
    json_hedge = parse('{"bbox_2d": [10, 20, 200, 400], "question": "Do you mean this one or the other one?"}')
    assert json_hedge.clarify is None and len(json_hedge.boxes) == 1


def test_a_box_in_the_thinking_does_not_turn_a_question_into_a_box() -> None:
    parsed = parse("<think>one man at [10, 20, 200, 400], another at [500, 20, 700, 400]</think>"
                   "<answer>Do you mean the man on the left or the man on the right?</answer>")
    assert parsed.clarify is not None and not parsed.boxes
    assert "answer.in_think" not in parsed.issue_codes()


@pytest.mark.parametrize("completion", [
    "<think>no dog here</think><answer>There is no such object in the image.</answer>",
    "[]",
    "<think>x</think><answer></answer>",
])
def test_not_found_stays_an_abstention(completion: str) -> None:
    parsed = parse(completion)
    assert parsed.clarify is None and is_abstention(parsed)


@pytest.mark.parametrize("completion", [
    '<tool_call>\n{"name": "mobile_use", "arguments": {"action": "terminate", "status": "failure"}}\n</tool_call>',
    "Action: finished(content='The file is saved.')",
    '{"question": "the man on the left", "answer": "left"}',  # a key named question holding no question
    "The man on the left is the one holding the umbrella.",
    "What a nice picture!",  # a question, but it asks nothing about which object
])
def test_endings_and_statements_are_not_clarifications(completion: str) -> None:
    assert parse(completion).clarify is None


def test_candidates_are_the_descriptions_the_question_names() -> None:
    assert candidates_of("Do you mean the man on the left or the one holding the umbrella?") == [
        "the man on the left", "the one holding the umbrella"]
    assert candidates_of("Which one do you mean?") == []
    assert candidates_of("Are you referring to the cat?") == ["the cat"]


def test_a_clarification_has_the_r1_format_when_tagged() -> None:
    tagged = parse("<think>two men</think><answer>Do you mean the left man or the right man?</answer>")
    assert format_score(tagged) == 1.0
    assert format_score(parse("Do you mean the left man or the right man?")) == 0.0


def test_verify_reports_carry_the_clarification() -> None:
    report = verify(Sample(query="the man", completion=ASKING[1][1]))
    data = json.loads(report.model_dump_json())
    assert data["parsed"]["clarify"]["candidates"] == ["the man on the left", "the one holding the umbrella"]


def test_junk_never_raises_and_is_bounded() -> None:
    rng = random.Random(7)
    alphabet = "?{}[]()'\":,. abcwhich one do you mean call_user(<tool_call>action</tool_call>\n"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        read_clarification(text)  # never raises
    long = "Do you mean " + " or ".join(f"the thing number {i}" for i in range(5000)) + "?"
    found = read_clarification(long)
    assert found is None or len(found.candidates) <= 8


def test_no_completion_of_the_rec_logs_is_read_as_a_clarification() -> None:
    files = sorted(REC_LOGS.glob("*.json"))
    if not files:
        pytest.skip(f"shared REC logs not found at {REC_LOGS}")
    from groundscore.parse.r1 import split_r1

    seen = 0
    for path in files:
        for record in json.loads(path.read_text())["results"]:
            seen += 1
            assert read_clarification(split_r1(record["model_output"]).answer or "") is None, record["model_output"][:200]
    assert seen > 10_000
