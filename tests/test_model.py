"""The data model: validation at the edges, leniency where bad input must not raise, trusted construction."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from groundscore.model import Box, Issue, Parsed, Report, Sample, Verdict, box_iou


def test_sample_accepts_bytes_none_and_a_single_solution_box() -> None:
    s = Sample(completion=b"caf\xc3\xa9 \xff", query=None, solution=[1, 2, 3, 4])
    assert s.completion == "café \ufffd" and s.query == ""
    assert s.solution == [[1.0, 2.0, 3.0, 4.0]]
    assert Sample(solution=[[1, 2, 3, 4], [5, 6, 7, 8]]).solution == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert Sample(image_size=[640.0, 480]).image_size == (640, 480)


@pytest.mark.parametrize(("field", "value"), [("image_size", [0, 480]), ("image_size", "640x480"), ("image_size", "64"), ("image_size", 5), ("solution", "box")])
def test_sample_errors_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        Sample(**{field: value})


def test_box_geometry() -> None:
    b = Box(x1=10, y1=20, x2=110, y2=70, label="dog")
    assert (b.width, b.height, b.area, b.xyxy) == (100, 50, 5000, (10, 20, 110, 70))
    assert Box(x1=5, y1=5, x2=1, y2=1).area == 0.0  # unordered: no area, no exception
    nan_box = Box(x1=math.nan, y1=0, x2=1, y2=1)
    assert not nan_box.is_finite and nan_box.iou(b) == 0.0
    with pytest.raises(ValidationError):
        b.x1 = 3  # frozen


def test_iou() -> None:
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0
    assert box_iou((0, 0, 0, 10), (0, 0, 0, 10)) == 0.0
    assert box_iou((0, 0, math.inf, 10), (0, 0, 10, 10)) == 0.0
    assert Box(x1=0, y1=0, x2=10, y2=10).iou([5, 0, 15, 10]) == pytest.approx(1 / 3)


def test_verdict_scores_are_clamped_and_finite() -> None:
    assert Verdict(verifier="a", score=1.7).score == 1.0
    assert Verdict(verifier="a", score=-0.2).score == 0.0
    with pytest.raises(ValidationError, match="finite"):
        Verdict(verifier="a", score=math.nan)
    skip = Verdict.skip("clip", "skipped.no_image", "no image", hint="pass image=")
    assert (skip.score, skip.code, skip.reason, skip.details) == (None, "skipped.no_image", "no image", {"hint": "pass image="})
    assert Verdict(verifier="s", score=0.0, gate=False).failed_gate


def test_report_helpers() -> None:
    parsed = Parsed(boxes=[Box(x1=1, y1=2, x2=3, y2=4)], issues=[Issue(code="json.repaired", message="m")])
    report = Report(parsed=parsed, verdicts=[Verdict(verifier="schema", score=0, gate=False), Verdict(verifier="clip", score=None)])
    assert report.boxes == parsed.boxes and report.failed_gates == ["schema"]
    assert report.verdict("clip").score is None and report.verdict("nope") is None
    assert parsed.issue_codes() == ["json.repaired"]


def test_objects_built_on_the_hot_path_match_validation() -> None:
    from groundscore.chain import Chain
    from groundscore.parse.base import RawParse

    raw = RawParse()
    raw.add_box(1.0, 2.0, 3.0, 4.0, "dog")
    assert raw.boxes[0] == Box(x1=1, y1=2, x2=3, y2=4, label="dog")
    assert list(raw.boxes[0].model_dump()) == [f for f in Box.model_fields if f != "action"]  # action: dumped only when set
    report = Chain({"verifiers": ["schema"]}).verify_one({"completion": "[1, 2, 3, 4]", "coords": "original"})
    for obj in (report, report.verdicts[0]):
        again = type(obj).model_validate(obj.model_dump())
        assert again == obj and list(obj.model_dump()) == list(type(obj).model_fields)
