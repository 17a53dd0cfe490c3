"""The schema gate: one test per failure code, real log outputs, options.

Real outputs come from ``tests/fixtures/rec_log_shapes.json`` (verbatim VLM-R1
evaluation-log records, Apache-2.0, see ``tests/fixtures/LICENSE.VLM-R1``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from groundscore.chain import Chain
from groundscore.inputs import vlm_r1_record_to_sample
from groundscore.model import Verdict
from groundscore.verifiers.schema import REASONS

FIXTURES = Path(__file__).parent / "fixtures"
RECORDS = {
    f"{r['source_file']}:{r['index']}": r
    for r in json.loads((FIXTURES / "rec_log_shapes.json").read_text())["records"]
}
R1 = "<think>The dog is on the left.</think><answer>{}</answer>"


def schema(completion: str | bytes, options: dict[str, Any] | None = None, **sample: Any) -> Verdict:
    chain = Chain({"verifiers": ["schema"], "options": {"schema": options or {}}})
    sample.setdefault("coords", "original")
    report = chain.verify_one({"query": "dog", "completion": completion, **sample})
    assert report.verdicts[0].verifier == "schema"
    return report.verdicts[0]


def box_json(*boxes: list[Any], label: str | None = "dog") -> str:
    return json.dumps([{"bbox_2d": b, **({"label": label} if label is not None else {})} for b in boxes])


def codes(verdict: Verdict) -> list[str]:
    return [f["code"] for f in verdict.details.get("failures", [])]


def test_clean_answer_passes_with_full_score() -> None:
    v = schema(box_json([10, 20, 110, 220]), image_size=(640, 480))
    assert (v.gate, v.score, v.code, v.reason) == (True, 1.0, "ok", "well-formed answer")


FAILURE_CASES = [
        ("", {}, {}, "text.empty"),
        ("   \n\t", {}, {}, "text.empty"),
        (box_json([10, 20, 110, 220]), {"require_tags": True}, {}, "r1.tags"),
        ("<think>hm</think>" + box_json([10, 20, 110, 220]), {"require_tags": True}, {}, "r1.tags"),
        ('{"bbox_2d": ' + "[" * 3000 + "]" * 3000 + "}", {}, {}, "answer.invalid"),
        ("the dog is somewhere in the picture", {}, {}, "answer.invalid"),
        ('[{"label": "dog"}]', {}, {"format": "qwen25_json"}, "answer.invalid"),
        # read by the declared format, which found no box and reported no error of its own
        ("<answer>the brown dog</answer>", {}, {"format": "r1_rec"}, "box.none"),
        ("<answer>[0,32,118,154,156]</answer>", {}, {}, "box.bad_arity"),
        ('[{"bbox_2d": [1, 2, 3], "label": "dog"}]', {}, {}, "box.bad_arity"),
        ('[{"bbox_2d": [NaN, 20, 110, 220], "label": "dog"}]', {}, {}, "box.non_finite"),
        ('[{"bbox_2d": [10, 20, Infinity, 220], "label": "dog"}]', {}, {}, "box.non_finite"),
        ('[{"bbox_2d": [10, -Infinity, 110, 220], "label": "dog"}]', {}, {}, "box.non_finite"),
        ('[{"bbox_2d": [10, 20, 110, 1e999], "label": "dog"}]', {}, {}, "box.non_finite"),
        (box_json([110, 20, 10, 220]), {}, {}, "box.unordered"),
        (box_json([10, 220, 110, 20]), {}, {}, "box.unordered"),
        (box_json([10, 20, 10.5, 220]), {}, {}, "box.degenerate"),
        (box_json([10, 20, 110, 220]), {"min_size_px": 150}, {}, "box.degenerate"),
        (box_json([10, 20, 700, 220]), {}, {"image_size": (640, 480)}, "box.outside"),
        (box_json([-30, 20, 100, 220]), {}, {"image_size": (640, 480)}, "box.outside"),
        (box_json(*[[i, i, i + 10, i + 10] for i in range(5)]), {"max_boxes": 4}, {}, "box.too_many"),
        (box_json([10, 20, 110, 220], label=None), {"require_label": True}, {}, "label.missing"),
        (box_json([10, 20, 110, 220], label="  "), {"require_label": True}, {}, "label.missing"),
]


@pytest.mark.parametrize(("completion", "options", "sample", "code"), FAILURE_CASES)
def test_every_failure_code(completion: str, options: dict[str, Any], sample: dict[str, Any], code: str) -> None:
    v = schema(completion, options, **sample)
    assert v.gate is False and v.score == 0.0
    assert v.code == code, v.details
    assert v.reason.startswith(REASONS[code])
    assert code in codes(v)


def test_every_code_in_the_table_is_tested() -> None:
    import groundscore.verifiers.schema as module

    in_docstring = {line.split("``")[1] for line in (module.__doc__ or "").splitlines() if line.startswith("``")}
    assert set(REASONS) == in_docstring
    assert {case[3] for case in FAILURE_CASES} == set(REASONS)


def test_several_failures_are_all_listed() -> None:
    v = schema(box_json([110, 20, 10, 220], [10, 20, 900, 220], label=None), {"require_label": True}, image_size=(640, 480))
    assert codes(v) == ["box.unordered", "box.outside", "label.missing"]
    assert v.reason.endswith("(+2 more)")


def test_tags_optional_by_default_required_when_configured() -> None:
    bare = box_json([10, 20, 110, 220])
    tagged = R1.format(bare)
    assert schema(bare).gate is True
    assert schema(tagged).gate is True
    assert schema(tagged, {"require_tags": True}).gate is True
    failed = schema("<answer>" + bare + "</answer>", {"require_tags": True})
    assert failed.code == "r1.tags" and failed.details["failures"][0]["has_think"] is False
    dup = schema("<think>a</think><think>b</think><answer>" + bare + "</answer>", {"require_tags": True})
    assert dup.code == "r1.tags" and "r1.duplicate_think" in dup.details["failures"][0]["issues"]


@pytest.mark.parametrize(
    "completion",
    [
        "[]",
        "```json\n[]\n```",
        R1.format("None"),
        R1.format("There is no such object in the image."),
        "I cannot find a red car in this image.",
        "The object is not visible.",
    ],
)
def test_explicit_no_object_answers_pass(completion: str) -> None:
    v = schema(completion)
    assert v.gate is True and v.code == "ok.no_object", v.details
    assert v.reason == "explicit 'no object' answer"


@pytest.mark.parametrize(("overshoot", "passes"), [(0, True), (3.9, True), (4, True), (4.5, False), (12, False)])
def test_tolerance_for_boxes_overshooting_the_image(overshoot: float, passes: bool) -> None:
    # real Qwen2.5-VL boxes overshoot by a few pixels (smart_resize rounds the input up)
    v = schema(box_json([10, 20, 640 + overshoot, 480 + overshoot]), image_size=(640, 480))
    assert v.gate is passes, v.details
    if not passes:
        assert v.details["failures"][0]["tolerance_px"] == 4.0


def test_tolerance_is_configurable_and_unknown_size_skips_the_check() -> None:
    assert schema(box_json([10, 20, 650, 480]), {"tolerance_px": 10}, image_size=(640, 480)).gate is True
    assert schema(box_json([10, 20, 65000, 480])).gate is True  # no image size: cannot be outside
    # qwen25 coordinates without an image size stay in model space: no outside check either
    v = schema(box_json([10, 20, 65000, 480]), coords="qwen25")
    assert v.gate is True


def test_points_are_checked_too() -> None:
    assert schema('[{"point_2d": [10, 20], "label": "dog"}]', image_size=(640, 480)).gate is True
    v = schema('[{"point_2d": [1000, 20], "label": "dog"}]', image_size=(640, 480))
    assert v.code == "box.outside"
    assert schema('[{"point_2d": [NaN, 20], "label": "dog"}]').code == "box.non_finite"


def test_repairs_cost_a_little_but_pass() -> None:
    truncated = '```json\n[{"bbox_2d": [10, 20, 110, 220], "label": "dog'
    v = schema(truncated)
    assert v.gate is True and v.score == pytest.approx(0.8)
    assert v.details["deductions"] == {"json.repaired": 0.2}
    assert "repair" in v.reason
    assert schema(truncated, {"penalties": {}}).score == 1.0


def test_bytes_and_invalid_utf8_are_read_leniently() -> None:
    v = schema(b'[{"bbox_2d": [10, 20, 110, 220], "label": "d\xffog"}]')
    assert v.gate is True


@pytest.mark.parametrize(
    ("record", "code", "score", "boxes"),
    [
        # GRPO output with the wrong closing fence ```json</answer>
        ("grpo-ckpt1000_refcoco_val.json:0", "ok", 1.0, [[15, 136, 137, 469]]),
        # JSON after </think> with no <answer>: read, with a small penalty
        ("original-model_refcoco_val.json:0", "ok", 0.9, [[16, 135, 140, 468]]),
        # <answer>[x1,y1,x2,y2]</answer>, the bare list the R1 prompt produced
        ("original-model_refcoco_val.json:24", "ok", 1.0, [[398, 314, 644, 470]]),
        # the box written only inside <think> ("Final answer: ```json ...```</think>")
        ("original-model_refcoco_val.json:67", "ok", 0.6, [[304, 156, 400, 398]]),
        # truncated JSON, repaired
        ("original-model_refcoco_val.json:51", "ok", 0.8, [[26, 80, 232, 290]]),
        # five numbers: not a box
        ("original-model_refcoco_val.json:933", "box.bad_arity", 0.0, []),
        # "There are no bounding box coordinates to provide" + {"bounding_box": []}
        ("original-model_refcoco_val.json:47", "ok.no_object", 0.9, []),
        # labels that contain <answer> tags, truncated: the boxes repeat and the last is cut off
        ("screenspot-original-model_desktop.json:181", "box.bad_arity", 0.0, None),
    ],
)
def test_real_log_outputs(record: str, code: str, score: float, boxes: list[list[float]] | None) -> None:
    sample = vlm_r1_record_to_sample(RECORDS[record], record)
    report = Chain({"verifiers": ["schema"]}).verify_one(sample)
    v = report.verdicts[0]
    assert (v.code, v.score) == (code, pytest.approx(score)), (v.details, report.parsed.issue_codes())
    if boxes is not None:
        assert [list(b.xyxy) for b in report.parsed.boxes] == boxes


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="tolerance_px"):
        Chain({"verifiers": ["schema"], "options": {"schema": {"tolerance_px": -1}}})
    with pytest.raises(ValueError, match="require_tag"):
        Chain({"verifiers": ["schema"], "options": {"schema": {"require_tag": True}}})


def test_huge_finite_boxes_are_finite() -> None:
    """Coordinates near the float limit are finite (no sum that overflows may call them infinite)."""
    report = Chain({"verifiers": ["schema"]}).verify_one(
        {"completion": '[{"bbox_2d": [1e307, 1e307, 1.7e308, 1.7e308], "label": "dog"}]', "coords": "original"}
    )
    assert report.verdicts[0].code == "ok"
