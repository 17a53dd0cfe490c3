"""consistency: thinking vs answer vs query."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groundscore.chain import Chain
from groundscore.inputs import vlm_r1_record_to_sample
from groundscore.model import Sample
from groundscore.plugins.manager import get_registry
from groundscore.verifiers.consistency import ConsistencyOptions, ConsistencyVerifier

FIXTURES = Path(__file__).parent / "fixtures"
SEED_THINK = (
    "The image shows a street scene with a tall metal pole on the left side of the sidewalk. "
    "A man wearing a blue shirt and shorts is standing next to the pole, and a red car is parked behind him. "
    "The instruction asks for the metal pole."
)


def completion(think: str, label: str | None, boxes: list[list[int]] | None = None) -> str:
    items = [{"bbox_2d": b, **({"label": label} if label is not None else {})} for b in (boxes or [[368, 1, 475, 330]])]
    return f"<think>{think}</think><answer>```json\n{json.dumps(items)}\n```</answer>"


@pytest.fixture(scope="module")
def chain() -> Chain:
    return Chain({"verifiers": ["consistency"]})


def verdict(chain: Chain, query: str, text: str):
    v = chain.verify_one(Sample(query=query, completion=text)).verdict("consistency")
    assert v is not None
    return v


def test_registered_as_a_builtin_gate() -> None:
    assert get_registry().verifiers["consistency"] is ConsistencyVerifier
    assert ConsistencyVerifier().unavailable() is None


def test_seed_label_taken_from_the_thinking_is_flagged(chain: Chain) -> None:
    v = verdict(chain, "the metal pole", completion(SEED_THINK, "man wearing blue shirt and shorts"))
    assert v.code == "label_from_thinking" and v.gate is False and v.score == 0.0
    finding = v.details["findings"][0]
    assert finding["label_head"] == "man" and finding["query_head"] == "pole"
    assert any("man wearing a blue shirt" in s for s in finding["mentioned_in"])


def test_seed_with_the_right_label_passes(chain: Chain) -> None:
    v = verdict(chain, "the metal pole", completion(SEED_THINK, "metal pole"))
    assert v.code == "ok" and v.score == 1.0 and v.gate is True


def test_absent_target_with_a_box_is_flagged(chain: Chain) -> None:
    think = "I looked everywhere. There is no metal pole visible in the image."
    v = verdict(chain, "the metal pole", completion(think, "metal pole"))
    assert v.code == "absent_but_boxed" and v.score == 0.45 and v.gate is True  # scored, not gated, by default
    assert "no metal pole" in v.details["findings"][0]["span"]


def test_absent_target_with_a_box_fails_the_gate_when_configured() -> None:
    strict = Chain({"verifiers": ["consistency"], "options": {"consistency": {"gate_on": ["label_from_thinking", "absent_but_boxed"]}}})
    think = "I looked everywhere. There is no metal pole visible in the image."
    v = verdict(strict, "the metal pole", completion(think, "metal pole"))
    assert v.code == "absent_but_boxed" and v.gate is False


@pytest.mark.parametrize(("query", "think"), [
    # a query with no noun is named by the query restated whole
    ("top right corner", "I checked every part of the photo. There is no sign of top right corner in this picture."),
    ("largest", "Honestly, the image contains nothing like largest."),
    # a misspelt query noun, restated as the query spells it
    ("zepra in the front", "Having checked the whole scene, no zepra in the front can be located at all."),
    # denials whose noun the negated clause does not govern
    ("the yellow train on the track", "The yellow train on the track has no presence in this image."),
    ("a boy licking his fingers", "A boy licking his fingers is not among the things in this picture."),
    ("the remote with purple buttons", "The remote with purple buttons is out of frame."),
    ("small boat", "Small boat is not something I can see here."),
    ("the smaller giraffe", "None of the objects here is the smaller giraffe."),
    ("the blue luggage", "The blue luggage does not feature in this frame."),
    # "no" before a query that names no object, restated whole
    ("right one", "To be precise: the image has no right one in it."),
])
def test_absence_read_in_more_shapes(chain: Chain, query: str, think: str) -> None:
    v = verdict(chain, query, completion(think, query))
    assert v.code == "absent_but_boxed", (query, v.reason)


@pytest.mark.parametrize(("query", "think"), [
    # naming the noun-less query in a sentence that denies nothing, or denies something else
    ("right", "The query asks for the object on the right. The dog on the right is clearly visible."),
    ("top right corner", "The top right corner shows a lamp. There is no cat in the picture."),
    # a part of a present object out of frame is no absence of the object
    ("the dog", "The dog lies on the grass; only its tail is out of frame."),
    # what the text says or leaves unsaid is no absence from the picture (from the shared logs, 40 such
    # sentences were read as absence on IoU-correct answers before)
    ("a man wearing a red hat", "There is no mention of a man wearing a red hat in the description."),
    ("hot dogs far left", "There is no mention of any hot dogs in the provided information."),
])
def test_the_new_shapes_leave_presence_alone(chain: Chain, query: str, think: str) -> None:
    v = verdict(chain, query, completion(think, query))
    assert v.code != "absent_but_boxed", (query, v.reason)


def test_absence_of_something_else_is_not_flagged(chain: Chain) -> None:
    think = "The broccoli is on the left. The image does not contain any visible black spots."
    v = verdict(chain, "broccoli on left", completion(think, "broccoli on left"))
    assert v.code == "ok"


def test_honest_not_found_answer_is_not_flagged(chain: Chain) -> None:
    text = "<think>There is no metal pole visible in the image.</think><answer>No such object in the image.</answer>"
    v = verdict(chain, "the metal pole", text)
    assert v.code != "absent_but_boxed"


def test_coordinates_in_thinking_must_match_the_answer(chain: Chain) -> None:
    agree = "The dog is at [10, 10, 100, 100] in the image."
    assert verdict(chain, "dog", completion(agree, "dog", [[12, 11, 101, 99]])).code == "ok"
    disagree = verdict(chain, "dog", completion(agree, "dog", [[300, 300, 400, 400]]))
    assert disagree.code == "coordinates_disagree" and disagree.details["findings"][0]["best_iou"] == 0.0


def test_count_in_query_against_boxes(chain: Chain) -> None:
    one = verdict(chain, "two dogs on the couch", completion("Two dogs lie on the couch.", "two dogs"))
    assert one.code == "count_mismatch" and one.score < 1.0
    two = verdict(chain, "two dogs on the couch", completion("Two dogs lie on the couch.", "dog", [[1, 1, 50, 50], [60, 60, 99, 99]]))
    assert two.code == "ok"


def test_answer_other_than_the_settled_target(chain: Chain) -> None:
    think = 'The phrase "vehicle on left" refers to the red car parked on the left.'
    v = verdict(chain, "vehicle on left", completion(think, "pole on left"))
    assert v.code == "answer_not_target"
    assert v.details["findings"][0]["target_head"] == "car"


def test_thinking_side_contradicting_the_query(chain: Chain) -> None:
    think = 'The sentence "dog on left" refers to the dog on the right side of the image.'
    v = verdict(chain, "dog on left", completion(think, "dog on left"))
    assert v.code == "thinking_off_query"
    assert v.details["findings"][0]["conflicts"][0]["kind"] == "position"


def test_no_thinking_and_no_count_is_not_applicable(chain: Chain) -> None:
    v = verdict(chain, "dog", '[{"bbox_2d": [1, 2, 30, 40], "label": "dog"}]')
    assert v.score is None and v.code == "skipped.nothing_to_compare"


def test_gate_list_is_configurable() -> None:
    c = Chain({"verifiers": ["consistency"], "options": {"consistency": {"gate_on": []}}})
    v = c.verify_one(Sample(query="the metal pole", completion=completion(SEED_THINK, "man"))).verdict("consistency")
    assert v is not None and v.gate is True and v.score == 0.0
    with pytest.raises(ValueError):
        ConsistencyOptions.model_validate({"gate_on": ["not_a_finding"]})


def test_real_grpo_completions_rarely_flagged(chain: Chain) -> None:
    """Real completions: flags are rare, and each one carries its evidence."""
    data = json.loads((FIXTURES / "vlmr1_grpo_refcocog_excerpt.json").read_text())["results"]
    reports = chain.verify([vlm_r1_record_to_sample(r, f"grpo:{i}") for i, r in enumerate(data)])
    verdicts = [r.verdict("consistency") for r in reports]
    flagged = [v for v in verdicts if v is not None and v.score is not None and v.score < 0.5]
    assert len(flagged) <= 0.06 * len(verdicts)
    assert all(v.details["findings"] for v in flagged)
    assert not [v for v in verdicts if v is not None and v.code == "label_from_thinking"]


def test_unplaced_label_mentioned_in_thinking(chain: Chain) -> None:
    think = 'The sentence "left most woman" refers to the woman at the far left. A sign with some text hangs above her.'
    v = verdict(chain, "left most woman", completion(think, "text"))
    assert v.code == "label_unplaced_mention" and 0.0 < v.score < 0.5 and v.gate is True
    # the same unknown word, but the one the thinking settled on, is not flagged
    settled = 'The sentence "heinlein" refers to the heinlein novel on the shelf.'
    assert verdict(chain, "heinlein", completion(settled, "novel")).code == "ok"


def test_adversarial_thinking_is_bounded_and_never_raises(chain: Chain) -> None:
    for think in ["[" * 100_000, "there is no " * 20_000, "refers to the " * 20_000, "[1, 2, 3, 4] " * 20_000, "\x00é漢字 " * 1000]:
        v = verdict(chain, "dog", completion(think, "dog"))
        assert v.code != "error", v
