"""The clarification rule, through the Rewarder, for every built-in policy.

A clarifying question is paid exactly ``abstain`` when nothing is known about
the query, ``clarify_ambiguous`` (above abstain, below correct_floor) when
ground truth lists several acceptable targets or the group's answers split,
and ``clarify_unambiguous`` (below abstain) when ground truth gives one target.
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
    if rewarder.policy.name in ("confidence", "consensus", "format"):
        pytest.skip("pays no IoU: a right box is not known to be right here")
    for solution, right in ((SINGLE, SINGLE), (AMBIGUOUS, LEFT), (AMBIGUOUS, RIGHT), (AMBIGUOUS_TEXT, RIGHT)):
        answered = one(rewarder, box(right), solution)[0]
        asked = one(rewarder, ASK, solution)[0]
        assert answered is not None and asked is not None and asked < answered


def test_a_box_on_any_acceptable_target_is_correct() -> None:
    rewarder = Rewarder(chain_config={"verifiers": ["schema"]})
    assert one(rewarder, box(LEFT), AMBIGUOUS) == (pytest.approx(1.0), "correct")
    assert one(rewarder, box(RIGHT), AMBIGUOUS) == (pytest.approx(1.0), "correct")
    assert one(rewarder, box([300, 300, 400, 400]), AMBIGUOUS)[1] == "wrong"
    assert one(rewarder, box(RIGHT), SINGLE)[1] == "wrong"


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
        assert max(r.reward or 0.0 for r in results[:-1]) > asked.reward  # the agreed boxes still earn more
    # ground truth decides over the group: one target, and asking is paid below abstain whatever the group did
    grounded = rewarder.score([{"query": "the man", "completion": m, "coords": "original", "group": "g",
                                "solution": SINGLE} for m in split])
    assert grounded[-1].reward == pytest.approx(c.clarify_unambiguous_reward)


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
