"""groundscore.nlp.absence: a flat "X is absent" versus one that denies only a description of an object it found."""

from __future__ import annotations

import pytest

from groundscore.nlp.absence import qualified
from groundscore.rewards import RewardConfig, Rewarder

BUS = ("The instruction asks for the bounding box of the \"bus in the back on the right.\" In the image, there is only "
       "one bus visible, which is the double-decker bus in the foreground. There is no bus in the background on the "
       "right side of the image.")


@pytest.mark.parametrize(("think", "absent", "affirmed"), [
    (BUS, "There is no bus in the background on the right side of the image.", "only one bus visible"),
    ("In the image, there is no motorcycle that appears to be entirely black. However, if we consider the closest "
     "motorcycles to the right side, one has a dark coloration.", "there is no motorcycle that appears to be entirely black.",
     "closest motorcycles"),
])
def test_a_denied_description_of_a_present_object_is_qualified(think: str, absent: str, affirmed: str) -> None:
    found = qualified(think, absent)
    assert found is not None and affirmed in found


@pytest.mark.parametrize(("think", "absent"), [
    ("The image shows two players on a baseball field. There is no umpire visible in the image.", "There is no umpire visible in the image."),
    ("I look for a brown dog on the left, but there is no dog in this image at all.", "there is no dog in this image at all."),
    ("No dog is present in this picture. I'll box the left area anyway.", "No dog is present in this picture."),
    # the query restated, and a sentence that itself negates, are no affirmation
    ("The instruction asks for the dog on the left. There is no dog here.", "There is no dog here."),
    ("The dog is not on the left. There isn't a dog on the left.", "There isn't a dog on the left."),
    ('The question mentions a "dog". There is no dog.', "There is no dog."),
])
def test_a_flat_absence_is_not_qualified(think: str, absent: str) -> None:
    assert qualified(think, absent) is None


def test_plural_forms_fold() -> None:
    assert qualified("The image shows two refrigerators. There is no black refrigerator visible.",
                     "There is no black refrigerator visible.") is not None


def test_the_reward_caps_a_qualified_absence_with_ground_truth_only() -> None:
    """With ground truth a qualified absence is paid by IoU at most correct_floor; without, it is wrong; a flat one is wrong."""
    config = RewardConfig()
    box = '[{"bbox_2d": [40, 200, 240, 440], "label": "bus in the back on the right"}]'
    sample = {"query": "bus in the back on the right", "image_size": [640, 480], "coords": "original",
              "solution": [40, 200, 240, 440], "completion": f"<think>{BUS}</think><answer>{box}</answer>"}
    rewarder = Rewarder()
    grounded, without = rewarder.score([sample, {**sample, "solution": None}])
    assert grounded.outcome == "correct" and grounded.reward == pytest.approx(config.correct_floor)
    assert grounded.details.get("capped") == "qualified_absence"
    assert without.reward < config.abstain
    flat = {**sample, "completion": f"<think>There is no bus in the background on the right side.</think><answer>{box}</answer>"}
    assert rewarder.score([flat])[0].reward < config.abstain
    strict = Rewarder({"options": {"qualified_absence": "reject"}}, chain=rewarder.chain)
    assert strict.score([sample])[0].reward < config.abstain


def test_long_adversarial_text_is_fast() -> None:
    import time

    think = ("there is no dog. " * 2000) + ("the dogs are here " * 2000)
    start = time.perf_counter()
    qualified(think, "there is no dog.")
    assert time.perf_counter() - start < 2.0


def test_denying_the_affirmed_object_itself_is_flat() -> None:
    """Present, then absent, with nothing qualified: a contradiction, not a doubt about the wording."""
    think = ("I can see a brown dog lying on the grass on the left side of the image. "
             "Actually the brown dog is not visible on the left at all.")
    assert qualified(think, "Actually the brown dog is not visible on the left at all.") is None
    assert qualified("There is a dog on the right. There is no dog on the left.", "There is no dog on the left.") is not None
