"""Point answers (GUI clicks, ``point_2d``) vote in the agreement verifier."""

from __future__ import annotations

import json

import pytest

from groundscore import Chain, Sample
from groundscore.rewards import RewardConfig, Rewarder
from groundscore.verifiers.agreement import AgreementOptions, shape_similarity

SIZE = (1000, 500)  # diagonal ~1118 px: the default radius (4%) is ~44.7 px


def point(x: float, y: float, label: str = "the save button") -> str:
    return json.dumps([{"point_2d": [x, y], "label": label}])


def box(*b: float, label: str = "the save button") -> str:
    return json.dumps([{"bbox_2d": list(b), "label": label}])


def sample(text: str, group: str = "click") -> Sample:
    return Sample(query="the save button", completion=text, coords="original", image_size=SIZE, group=group)


def chain() -> Chain:
    return Chain({"verifiers": ["schema", "agreement"]})


def agreement(report):
    return report.verdict("agreement")


def test_points_within_the_distance_agree_and_a_far_point_does_not() -> None:
    reports = chain().verify([sample(point(100, 100)), sample(point(120, 110)), sample(point(90, 95)),
                              sample(point(900, 400))])
    near, far = agreement(reports[0]), agreement(reports[3])
    assert near.details["agreeing"] == 2 and near.details["voters"] == 4
    assert near.details["in_consensus"] and not far.details["in_consensus"]
    assert far.details["agreeing"] == 0 and far.score == AgreementOptions().floor
    assert near.details["point_radius"] == pytest.approx(0.04 * (1000**2 + 500**2) ** 0.5, abs=0.01)
    assert near.details["consensus"]["points"] == [[100.0, 100.0]]  # the coordinate median of the cluster
    assert near.details["consensus"]["boxes"] == [] and near.details["consensus"]["size"] == 3
    assert reports[3].confidence < reports[0].confidence


def test_the_distance_threshold_is_relative_to_the_image_size() -> None:
    radius = 0.04 * (1000**2 + 500**2) ** 0.5
    t = AgreementOptions().iou_threshold
    inside, outside = radius - 1, radius + 1
    assert shape_similarity([(0.0, 0.0)], [(inside, 0.0)], radius, t) >= t
    assert shape_similarity([(0.0, 0.0)], [(outside, 0.0)], radius, t) < t
    # the same two points agree in a large screenshot and disagree in a small one
    pair = [point(100, 100), point(150, 100)]
    big = Chain({"verifiers": ["schema", "agreement"]}).verify(
        [Sample(query="x", completion=c, coords="original", image_size=(2000, 2000), group="g") for c in pair])
    small = Chain({"verifiers": ["schema", "agreement"]}).verify(
        [Sample(query="x", completion=c, coords="original", image_size=(400, 300), group="g") for c in pair])
    assert agreement(big[0]).details["agreeing"] == 1 and agreement(small[0]).details["agreeing"] == 0
    # and the option moves it
    wide = Chain({"verifiers": ["schema", "agreement"], "options": {"agreement": {"point_distance": 0.5}}}).verify(
        [Sample(query="x", completion=c, coords="original", image_size=(400, 300), group="g") for c in pair])
    assert agreement(wide[0]).details["agreeing"] == 1


def test_a_point_supports_a_box_it_lies_inside() -> None:
    reports = chain().verify([sample(box(80, 80, 160, 130)), sample(point(100, 100)), sample(point(150, 120)),
                              sample(point(400, 300))])
    boxed = agreement(reports[0])
    assert boxed.details["agreeing"] == 2  # the two points inside it, not the one far outside
    assert agreement(reports[1]).details["agreeing"] >= 1
    assert agreement(reports[3]).details["agreeing"] == 0
    t = AgreementOptions().iou_threshold
    radius = 40.0
    assert shape_similarity([(80.0, 80.0, 160.0, 130.0)], [(100.0, 100.0)], radius, t) == 1.0
    assert 0.0 < shape_similarity([(80.0, 80.0, 160.0, 130.0)], [(170.0, 100.0)], radius, t) < t  # near the edge
    assert shape_similarity([(80.0, 80.0, 160.0, 130.0)], [(400.0, 300.0)], radius, t) == 0.0


def test_not_found_and_broken_points() -> None:
    reports = chain().verify([sample(point(100, 100)), sample(point(101, 100)), sample("[]"),
                              sample('[{"point_2d": [1, "x"]}]')])
    assert agreement(reports[2]).details["agreeing"] == 0  # "not found" does not agree with a click
    assert agreement(reports[0]).details["voters"] == 3  # the unreadable point does not vote


def test_consensus_reward_for_clicks_keeps_the_honesty_order() -> None:
    batch = [sample(point(100, 100)), sample(point(110, 105)), sample(point(95, 100)), sample(point(900, 400)),
             sample("[]")]
    results = Rewarder({"policy": "consensus", "options": {"accept_points": True}}, chain=chain()).score(batch)
    agreeing, against, not_found = results[0].reward, results[3].reward, results[4].reward
    assert against < not_found < agreeing
    assert results[0].outcome == "correct" and results[3].outcome == "wrong"
    assert not_found == pytest.approx(RewardConfig().abstain)
    box_task = Rewarder({"policy": "consensus"}, chain=chain()).score(batch)  # points not accepted: a click is wrong
    assert all(r.reward == RewardConfig().wrong and r.details.get("hack") == "hack.points" for r in box_task[:4])
