"""spatial: absolute position words of the query against where the box sits in the image."""

from __future__ import annotations

import json

import pytest
from shared_data import COOKBOOK as _COOKBOOK_DIR

from groundscore.chain import Chain
from groundscore.model import Sample
from groundscore.plugins.manager import get_registry
from groundscore.verifiers.spatial import SpatialOptions, SpatialVerifier

COOKBOOK = _COOKBOOK_DIR / "cookbook_outputs_transcribed.json"
SIZE = (1000, 500)


def box(x1: float, y1: float, x2: float, y2: float, label: str = "x") -> str:
    return json.dumps([{"bbox_2d": [x1, y1, x2, y2], "label": label}])


@pytest.fixture(scope="module")
def chain() -> Chain:
    # coords="original": the box numbers are image pixels, so the test controls where the box is
    return Chain({"verifiers": ["spatial"]})


def verdict(chain: Chain, query: str, completion: str, size: tuple[int, int] | None = SIZE):
    v = chain.verify_one(Sample(query=query, completion=completion, image_size=size, coords="original")).verdict("spatial")
    assert v is not None
    return v


def test_registered_and_needs_no_spacy() -> None:
    assert get_registry().verifiers["spatial"] is SpatialVerifier
    assert SpatialVerifier().unavailable() is None


@pytest.mark.parametrize(
    ("query", "xyxy", "expected"),
    [
        ("guy on the left", (10, 100, 200, 400), 1.0),
        ("guy on the left", (800, 100, 990, 400), 0.0),
        ("right zebra", (700, 50, 950, 450), 1.0),
        ("right zebra", (20, 50, 300, 450), 0.0),
        ("top cake", (400, 10, 600, 120), 1.0),
        ("bottom cake", (400, 10, 600, 120), 0.0),
        ("upper right sign", (800, 10, 990, 100), 1.0),
        ("upper right sign", (800, 400, 990, 490), 0.0),
        ("the middle one", (420, 100, 580, 400), 1.0),
        ("the middle one", (0, 100, 100, 400), 0.0),
        ("far left zebra", (0, 0, 300, 500), 1.0),
        ("far left zebra", (500, 0, 700, 500), 0.0),
    ],
)
def test_positions_against_the_box(chain: Chain, query: str, xyxy: tuple[int, ...], expected: float) -> None:
    v = verdict(chain, query, box(*xyxy))
    assert v.score == pytest.approx(expected)
    assert v.code == ("ok" if expected == 1.0 else "position.conflict")
    assert v.details["boxes"][0]["center"]


def test_a_wide_left_box_still_passes_left(chain: Chain) -> None:
    # two people side by side: the left one's centre may sit past the middle
    assert verdict(chain, "man on left", box(100, 0, 640, 500)).score == 1.0


def test_not_applicable_cases(chain: Chain) -> None:
    assert verdict(chain, "dog", box(1, 1, 10, 10)).code == "skipped.no_position"
    relative = verdict(chain, "cup left of the plate", box(1, 1, 10, 10))
    assert relative.code == "skipped.no_position" and relative.details["relative"]
    assert verdict(chain, "second from left", box(1, 1, 10, 10)).code == "skipped.no_position"
    assert verdict(chain, "dog on left", box(1, 1, 10, 10), size=None).code == "skipped.no_image_size"
    assert verdict(chain, "dog on left", "no box here").code == "skipped.no_box"


def test_the_whole_prompt_is_reduced_to_the_expression(chain: Chain) -> None:
    prompt = "Please provide the bounding box coordinate of the region this sentence describes: zebra on left side."
    assert verdict(chain, prompt, box(900, 0, 999, 500)).score == 0.0


def test_options_tune_the_zones() -> None:
    strict = Chain({"verifiers": ["spatial"], "options": {"spatial": {"full": 0.3, "zero": 0.5}}})
    sample = Sample(query="left dog", completion=box(400, 0, 600, 500), image_size=SIZE, coords="original")
    assert strict.verify_one(sample).verdict("spatial").score == 0.0
    assert Chain({"verifiers": ["spatial"]}).verify_one(sample).verdict("spatial").score == 1.0
    with pytest.raises(ValueError):
        SpatialOptions.model_validate({"ful": 0.3})


@pytest.mark.skipif(not COOKBOOK.exists(), reason="shared cookbook data not present")
def test_cookbook_output_with_a_real_image_size(chain: Chain) -> None:
    rec = next(r for r in json.loads(COOKBOOK.read_text())["records"] if "top right brown cake" in r["prompt"])
    v = chain.verify_one(Sample(query=rec["prompt"], completion=rec["raw_output"], image_size=tuple(rec["image_size"]))).verdict("spatial")
    assert v is not None and v.score == 1.0
    assert v.details["terms"] == ["top", "right"]
