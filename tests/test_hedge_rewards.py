"""A hedge is paid no more than its worst candidate alone, with and without ground truth.

The parser flags every hedge shape (``hedge.*``) and keeps each candidate in
``Parsed.candidates`` (``tests/test_parse_shapes.py``). Here the default
``Rewarder`` scores each hedge next to each of its candidates written alone,
in both orders (the right box first, then last), through the real chain.
"""

from __future__ import annotations

import json

import pytest
from hacks.catalogue import CAT, DOG, QUERY, SIZE, THINK

from groundscore.rewards import Rewarder


def item(b: list[float]) -> str:
    return json.dumps({"bbox_2d": b, "label": "brown dog on the left"})


def alone(b: list[float]) -> str:
    return f"<think>{THINK}</think><answer>[{item(b)}]</answer>"


REC_HEDGES = {
    "duplicate key": lambda a, b: f"<think>{THINK}</think><answer>" + "{" + f'"bbox_2d": {a}, "bbox_2d": {b}, '
                     '"label": "brown dog on the left"}</answer>',
    "two lists": lambda a, b: f"<think>{THINK}</think><answer>[{item(a)}] [{item(b)}]</answer>",
    "two fenced lists": lambda a, b: f"<think>{THINK}</think><answer>```json\n[{item(a)}]\n```\nor\n```json\n[{item(b)}]\n```</answer>",
    "two answers": lambda a, b: f"<think>{THINK}</think><answer>[{item(a)}]</answer><answer>[{item(b)}]</answer>",
}


@pytest.fixture(scope="module")
def rewarder() -> Rewarder:
    return Rewarder()


@pytest.mark.parametrize("grounded", [True, False], ids=["gt", "no-gt"])
@pytest.mark.parametrize("name", sorted(REC_HEDGES))
def test_box_hedges_pay_no_more_than_the_worst_candidate(rewarder: Rewarder, name: str, grounded: bool) -> None:
    def score(text: str) -> float:
        sample = {"query": QUERY, "completion": text, "image_size": SIZE, "solution": [DOG] if grounded else None}
        reward = rewarder.score([sample])[0].reward
        assert reward is not None
        return reward

    worst = min(score(alone(DOG)), score(alone(CAT)))
    for first, second in ((DOG, CAT), (CAT, DOG)):
        assert score(REC_HEDGES[name](first, second)) <= worst + 1e-9


def calls(points: list[tuple[int, int]]) -> str:
    return "".join(f'<tool_call>{{"name": "left_click", "arguments": {{"coordinate": [{x}, {y}]}}}}</tool_call>'
                   for x, y in points)


def test_click_hedges_pay_no_more_than_the_worst_click() -> None:
    rewarder = Rewarder({"policy": "click"})

    def score(points: list[tuple[int, int]]) -> float:
        sample = {"query": "the OK button", "completion": calls(points), "image_size": [1000, 800], "coords": "original",
                  "solution": [[40, 40, 90, 90]]}
        reward = rewarder.score([sample])[0].reward
        assert reward is not None
        return reward

    hit, miss = (60, 60), (500, 400)
    worst = min(score([hit]), score([miss]))
    assert score([hit, miss]) <= worst + 1e-9
    assert score([miss, hit]) <= worst + 1e-9


def test_a_box_and_a_clarifying_question_is_a_hedge(rewarder: Rewarder) -> None:
    """Answering and asking at once states two outcomes for one target: paid no more than the worse alone."""
    both = f"<think>{THINK}</think><answer>{item(DOG)} Do you mean the dog on the left or the one on the right?</answer>"
    box_alone = f"<think>{THINK}</think><answer>{item(DOG)}</answer>"
    question = f"<think>{THINK}</think><answer>Do you mean the dog on the left or the one on the right?</answer>"
    for solution in ([DOG], None):
        paid = [r.reward for r in rewarder.score([
            {"query": QUERY, "completion": c, "image_size": SIZE, "solution": solution} for c in (both, box_alone, question)])]
        assert paid[0] is not None and paid[0] <= min(paid[1], paid[2]) + 1e-9, (solution, paid)
