"""The clarification rule, through the Rewarder, for every built-in policy.

A clarifying question is paid exactly ``abstain`` when nothing is known about
the query, ``clarify_ambiguous`` (above abstain, below correct_floor) when
ground truth lists several acceptable targets or the group's answers split,
and ``clarify_unambiguous`` (below abstain) when ground truth gives one target.
A box on one target of a query known to be ambiguous is a guess, paid between
abstain and the clarifying question (``ambiguous_box = "guess"``).
"""

from __future__ import annotations

import json

import pytest

from groundscore.rewards import RewardConfig, Rewarder, parse_solution
from groundscore.rewards.solution import AmbiguousSolution

ASK = ("<think>The query says 'the man' and there are two men.</think>"
       "<answer>Do you mean the man on the left or the one holding the umbrella?</answer>")
LEFT, RIGHT = [10, 10, 50, 50], [100, 100, 150, 150]
SINGLE = [10, 10, 50, 50]
AMBIGUOUS = {"ambiguous": [LEFT, RIGHT]}
AMBIGUOUS_TEXT = json.dumps({"targets": [LEFT, RIGHT], "ambiguous": True})
POLICIES = ["auto", "grounded", "confidence", "iou", "format", "click", "consensus"]


def box(b: list[int]) -> str:
    return f'<think>the man</think><answer>[{{"bbox_2d": {b}, "label": "man"}}]</answer>'


def one(rewarder: Rewarder, completion: str, solution: object = None, **fields: object) -> tuple[float | None, str]:
    sample = {"query": "the man", "completion": completion, "coords": "original", **fields}
    if solution is not None:
        sample["solution"] = solution
    result = rewarder.score([sample])[0]
    return result.reward, result.outcome


@pytest.fixture(scope="module", params=POLICIES)
def rewarder(request: pytest.FixtureRequest) -> Rewarder:
    return Rewarder({"policy": request.param}, chain_config={"verifiers": ["schema"]})


def test_the_rule_in_every_policy(rewarder: Rewarder) -> None:
    c = rewarder.config
    single = one(rewarder, ASK, SINGLE)
    assert single == (pytest.approx(c.clarify_unambiguous_reward), "clarify")
    assert single[0] < c.abstain
    for ambiguous in (AMBIGUOUS, AMBIGUOUS_TEXT):
        reward, outcome = one(rewarder, ASK, ambiguous)
        assert outcome == "clarify" and c.abstain < reward < c.correct_floor
    assert one(rewarder, ASK, [])[0] == pytest.approx(c.clarify_unambiguous_reward)  # target absent: "not found" is right
    multi = one(rewarder, ASK, [LEFT, RIGHT])  # a plain list is "all of these": a multi-object query, not ambiguous
    assert multi[0] == pytest.approx(c.clarify_unambiguous_reward)
    without = one(rewarder, ASK)
    if rewarder.policy.name == "iou":  # VLM-R1's iou scores nothing without ground truth
        assert without == (None, "unscorable")
    else:
        assert without == (pytest.approx(c.abstain), "clarify")


def test_asking_everywhere_never_beats_answering_right(rewarder: Rewarder) -> None:
    """Asking beats guessing on an ambiguous query, loses to a right box on a clear one, and asking on both loses."""
    if rewarder.policy.name in ("confidence", "consensus", "format"):
        pytest.skip("pays no IoU: a right box is not known to be right here")
    c = rewarder.config
    answered_clear, asked_clear = one(rewarder, box(SINGLE), SINGLE)[0], one(rewarder, ASK, SINGLE)[0]
    assert answered_clear is not None and asked_clear is not None and asked_clear < c.abstain < answered_clear
    for solution, right in ((AMBIGUOUS, LEFT), (AMBIGUOUS, RIGHT), (AMBIGUOUS_TEXT, RIGHT)):
        guessed, asked = one(rewarder, box(right), solution)[0], one(rewarder, ASK, solution)[0]
        assert guessed is not None and asked is not None and c.abstain < guessed < asked
        # one clear and one ambiguous question: asking on both earns less than answering both right
        assert asked + asked_clear < guessed + answered_clear


def test_a_box_on_any_acceptable_target_is_a_guess_below_asking() -> None:
    rewarder = Rewarder(chain_config={"verifiers": ["schema"]})
    c = rewarder.config
    low, high = c.guess_range
    assert (low, high) == (c.abstain, (c.abstain + c.clarify_ambiguous_reward) / 2) == (0.25, 0.3125)
    for target in (LEFT, RIGHT):
        result = rewarder.score([{"query": "the man", "completion": box(target), "coords": "original",
                                  "solution": AMBIGUOUS}])[0]
        assert result.reward == pytest.approx(high) and result.outcome == "correct"  # acceptable: not refuted
        assert result.details["guess"]["targets"] == 2 and result.details["guess"]["policy_reward"] == pytest.approx(1.0)
        assert "a guess among 2 targets" in result.reason
    three = {"ambiguous": [LEFT, RIGHT, [200, 10, 260, 60]]}
    assert "a guess among 3 targets" in rewarder.score([{"query": "the man", "completion": box([200, 10, 260, 60]),
                                                          "coords": "original", "solution": three}])[0].reason
    # monotone in what the policy paid: a looser box on a target is a worse guess, still above "not found"
    loose = one(rewarder, box([10, 10, 56, 62]), AMBIGUOUS)[0]
    assert loose is not None and c.abstain < loose < high
    # what was not paid above abstain is left alone: a wrong box, "not found", the question itself
    assert one(rewarder, box([300, 300, 400, 400]), AMBIGUOUS) == (pytest.approx(c.wrong), "wrong")
    assert one(rewarder, "<answer>[]</answer>", AMBIGUOUS)[0] == pytest.approx(c.abstain)
    assert one(rewarder, ASK, AMBIGUOUS)[0] == pytest.approx(c.clarify_ambiguous_reward)
    # one target: a right box is a right answer, paid in full
    assert one(rewarder, box(LEFT), SINGLE) == (pytest.approx(1.0), "correct")
    assert one(rewarder, box(RIGHT), SINGLE)[1] == "wrong"


def test_the_option_ambiguous_box() -> None:
    old = Rewarder({"ambiguous_box": "correct"}, chain_config={"verifiers": ["schema"]})
    assert one(old, box(LEFT), AMBIGUOUS) == (pytest.approx(1.0), "correct")
    assert one(old, box(RIGHT), AMBIGUOUS) == (pytest.approx(1.0), "correct")
    assert one(old, ASK, AMBIGUOUS)[0] == pytest.approx(old.config.clarify_ambiguous_reward)
    assert RewardConfig().ambiguous_box == "guess"
    with pytest.raises(ValueError, match="ambiguous_box"):
        RewardConfig(ambiguous_box="maybe")  # type: ignore[arg-type]
    # the range follows the configured values, and the format term is added on top as for every answer
    scaled = Rewarder({"wrong": -1.0, "abstain": 0.0, "correct_floor": 1.0, "correct": 2.0, "format_weight": 0.5},
                      chain_config={"verifiers": ["schema"]})
    assert scaled.config.guess_range == (0.0, 0.25)
    assert one(scaled, box(LEFT), AMBIGUOUS)[0] == pytest.approx(0.25 + 0.5)  # <think> and <answer>: format 1
    untagged = json.dumps([{"bbox_2d": LEFT, "label": "man"}])
    assert one(scaled, untagged, AMBIGUOUS)[0] == pytest.approx(0.25)  # format 0


def test_the_group_verdict_of_ambiguity_without_ground_truth() -> None:
    rewarder = Rewarder(chain_config={"verifiers": ["schema", "agreement"]})
    c = rewarder.config
    split = [box(LEFT), box([11, 10, 50, 50]), box(RIGHT), box([101, 100, 150, 150]), ASK]
    agreed = [box(LEFT), box([11, 10, 50, 50]), box([10, 11, 50, 50]), box([12, 10, 50, 50]), ASK]
    for members, expected in ((split, c.clarify_ambiguous_reward), (agreed, c.abstain)):
        results = rewarder.score([{"query": "the man", "completion": m, "coords": "original", "group": "g"}
                                  for m in members])
        asked = results[-1]
        assert asked.outcome == "clarify" and asked.reward == pytest.approx(expected)
        verdict = asked.report.verdict("agreement") if asked.report else None
        assert verdict is not None and verdict.code == "skipped.clarify" and verdict.score is None
        assert verdict.details["ambiguous"] is (members is split)
        assert ("candidates" in verdict.details) is (members is split)
        boxes = [r.reward or 0.0 for r in results[:-1]]
        if members is split:  # an agreement-confirmed box on one of two well-supported objects is a guess too
            assert all(c.abstain < r < asked.reward for r in boxes)
            assert all(r.details["guess"]["targets"] == 2 and "a guess among 2 targets" in r.reason for r in results[:-1])
        else:  # the agreed boxes still earn more than asking
            assert min(boxes) > asked.reward and not any("guess" in r.details for r in results[:-1])
    # ground truth decides over the group: one target, and asking is paid below abstain whatever the group did
    grounded = rewarder.score([{"query": "the man", "completion": m, "coords": "original", "group": "g",
                                "solution": SINGLE} for m in split])
    assert grounded[-1].reward == pytest.approx(c.clarify_unambiguous_reward)
    assert grounded[0].reward == pytest.approx(c.correct) and "guess" not in grounded[0].details
    # without the guess rule the split group's boxes are paid as before
    plain = Rewarder({"ambiguous_box": "correct"}, chain_config={"verifiers": ["schema", "agreement"]})
    before = plain.score([{"query": "the man", "completion": m, "coords": "original", "group": "g"} for m in split])
    assert all((r.reward or 0.0) > c.abstain and "guess" not in r.details for r in before[:-1])


def test_one_sample_never_changes_another() -> None:
    rewarder = Rewarder(chain_config={"verifiers": ["schema"]})
    batch = [{"query": "the man", "completion": ASK, "coords": "original", "solution": s}
             for s in (SINGLE, AMBIGUOUS, None)]
    together = [r.reward for r in rewarder.score(batch)]
    alone = [rewarder.score([s])[0].reward for s in batch]
    assert together == alone and len(set(together)) == 3


def test_format_weight_is_added_as_for_every_answer() -> None:
    rewarder = Rewarder({"format_weight": 0.5}, chain_config={"verifiers": ["schema"]})
    assert one(rewarder, ASK)[0] == pytest.approx(0.25 + 0.5)
    abstain = one(rewarder, "<think>none</think><answer>There is no such object.</answer>")[0]
    assert one(rewarder, ASK)[0] == pytest.approx(abstain)  # with nothing known, asking is exactly not-found


def test_configured_values_and_the_honesty_order() -> None:
    c = RewardConfig()
    assert (c.clarify_unambiguous_reward, c.clarify_ambiguous_reward) == (0.125, 0.375)
    scaled = RewardConfig(wrong=-1.0, abstain=0.0, correct_floor=1.0, correct=2.0)
    assert (scaled.clarify_unambiguous_reward, scaled.clarify_ambiguous_reward) == (-0.5, 0.5)
    assert RewardConfig(clarify_ambiguous=0.45).clarify_ambiguous_reward == 0.45
    for bad in ({"clarify_ambiguous": 0.5}, {"clarify_ambiguous": 0.25}, {"clarify_unambiguous": 0.25},
                {"clarify_unambiguous": -0.1}, {"clarify_ambiguous": float("nan")}):
        with pytest.raises(ValueError, match="clarifying questions must keep"):
            RewardConfig(**bad)
    rewarder = Rewarder({"clarify_ambiguous": 0.3, "clarify_unambiguous": 0.0}, chain_config={"verifiers": ["schema"]})
    assert one(rewarder, ASK, AMBIGUOUS)[0] == pytest.approx(0.3)
    assert one(rewarder, ASK, SINGLE)[0] == pytest.approx(0.0)


def test_solution_shapes() -> None:
    for value in (AMBIGUOUS, AMBIGUOUS_TEXT, {"targets": [[LEFT], [RIGHT, [200, 200, 250, 250]]], "ambiguous": True},
                  f"<answer>{json.dumps(AMBIGUOUS)}</answer>"):
        parsed = parse_solution(value)
        assert isinstance(parsed, AmbiguousSolution) and len(parsed.alternatives) == 2
        assert parsed[0] == [float(v) for v in LEFT]
    assert parse_solution({"targets": [LEFT, RIGHT], "ambiguous": False}) == [LEFT, RIGHT]
    assert parse_solution({"ambiguous": [LEFT]}) == [LEFT]  # one target is not ambiguous
    assert parse_solution({"ambiguous": [LEFT, "junk"]}) is None
    assert parse_solution({"ambiguous": []}) is None
    assert not isinstance(parse_solution([LEFT, RIGHT]), AmbiguousSolution)


def test_a_malformed_question_stays_malformed() -> None:
    rewarder = Rewarder(chain_config={"verifiers": ["schema"], "options": {"schema": {"require_tags": True}}})
    untagged = "Do you mean the man on the left or the one holding the umbrella?"
    assert one(rewarder, untagged, AMBIGUOUS) == (pytest.approx(rewarder.config.wrong), "malformed")
    assert one(rewarder, ASK, AMBIGUOUS)[1] == "clarify"  # tagged: the rule pays it
