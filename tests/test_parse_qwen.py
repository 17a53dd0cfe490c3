"""Qwen2.5-VL JSON answers: every shape seen in real outputs, and conversion to original pixels.

Real outputs: the official Qwen2.5-VL spatial-understanding cookbook
(``../shared/data/qwen25vl-cookbook/``, transcribed verbatim, Apache-2.0) and
the VLM-R1 logs (``tests/fixtures/rec_log_shapes.json``).
"""

from __future__ import annotations

import json
import re

import pytest
from shared_data import COOKBOOK as _COOKBOOK_DIR

from groundscore.chain import Chain
from groundscore.parse.jsontext import MAX_JSON_CHARS, find_json_text, iter_json_texts, load_json
from groundscore.parse.qwen_json import QwenJsonParser

COOKBOOK = _COOKBOOK_DIR / "cookbook_outputs_transcribed.json"

PARSER = QwenJsonParser()


def boxes(text: str) -> list[tuple[float, float, float, float]]:
    return [b.xyxy for b in PARSER.parse(text).boxes]


def issues(text: str) -> list[str]:
    return [i.code for i in PARSER.parse(text).issues]


B = '{"bbox_2d": [45, 36, 137, 209], "label": "water left"}'
XYXY = (45.0, 36.0, 137.0, 209.0)


@pytest.mark.parametrize(
    "text",
    [
        f"[{B}]",
        B,
        f"```json\n[{B}]\n```",
        f"```json\n[{B}]\n```json",  # the wrong closing fence of the GRPO logs
        f"```\n[{B}]\n```",
        f"Sure! Here is the box:\n```json\n[{B}]\n```\nLet me know if you need more.",
        f"The answer is [{B}] as requested.",
        '[{"bbox_2d": ["45", "36", "137", "209"], "label": "water left"}]',
        '[{"bbox_2d": [45.0, 36.0, 137.0, 209.0], "label": "water left"}]',
        '[{"bbox_2d": "45, 36, 137, 209", "label": "water left"}]',
        '{"final_answer": {"bbox_2d": [45, 36, 137, 209], "label": "water left"}}',
        '[{"bbox_2d": [45, 36, 137, 209], "label": "water\nleft"}]',  # a raw newline inside a string
    ],
)
def test_shapes_of_one_box(text: str) -> None:
    assert boxes(text) == [XYXY]
    assert PARSER.detect(text) > 0


def test_labels_points_and_several_boxes() -> None:
    raw = PARSER.parse(f'[{B}, {{"bbox_2d": [1, 2, 3, 4], "text_content": "sign"}}, {{"point_2d": [5, 6], "label": "p"}}]')
    assert [b.label for b in raw.boxes] == ["water left", "sign"]
    assert [(p.x, p.y, p.label) for p in raw.points] == [(5.0, 6.0, "p")]
    assert "label.other_key" in [i.code for i in raw.issues]


def test_truncated_and_broken_json_is_repaired() -> None:
    assert boxes('```json\n[{"bbox_2d": [45, 36, 137, 209], "label": "water') == [XYXY]
    assert "json.repaired" in issues('```json\n[{"bbox_2d": [45, 36, 137, 209], "label": "water')
    assert boxes('[{"bbox_2d": [45, 36, 137, 209,], "label": "water left",},]') == [XYXY]
    assert boxes("[{'bbox_2d': [45, 36, 137, 209], 'label': 'water left'}]") == [XYXY]


def test_lenient_shapes_from_the_r1_prompt_logs() -> None:
    assert boxes("[398,314,644,470]") == [(398, 314, 644, 470)]
    assert boxes('{"bounding_box": [79, 14, 283, 235]}') == [(79, 14, 283, 235)]
    assert boxes('{"bounding_box_2d": [79, 14, 283, 235]}') == [(79, 14, 283, 235)]
    assert boxes('[{"thinking process": "the dog [1, 2]", "answer": "[0, 35, 102, 209]"}]') == [(0, 35, 102, 209)]
    assert boxes('{"final_answer": "<answer>[883,19,932,34]</answer>"}') == [(883, 19, 932, 34)]
    assert boxes('{"bounding_box": {"top_left": [0, 180], "bottom_right": [500, 200]}}') == [(0, 180, 500, 200)]
    raw = PARSER.parse('{"bounding_box": {"left": [143, 187, 250, 323], "right": [422, 49, 633, 242]}}')
    assert [(b.xyxy, b.label) for b in raw.boxes] == [((143, 187, 250, 323), "left"), ((422, 49, 633, 242), "right")]
    raw = PARSER.parse('{"standing_person": {"coordinates": [0, 1, 382, 194]}}')
    assert [(b.xyxy, b.label) for b in raw.boxes] == [((0, 1, 382, 194), "standing_person")]
    assert "box.lenient" in [i.code for i in raw.issues]
    # prose is never a box: two boxes in one string are ambiguous, a sentence without one is nothing
    assert boxes('{"thought": "between [1, 2, 3, 4] and [5, 6, 7, 8]"}') == []


def test_the_documented_format_wins_over_lenient_and_later_blocks() -> None:
    text = '```json\n{"bounding_box": [0, 165, 97, 382]}\n```\nFinal answer:\n```json\n[{"bbox_2d": [1, 2, 3, 4], "label": "g"}]\n```'
    assert boxes(text) == [(1, 2, 3, 4)]
    assert "json.later_block" in issues(text)


def test_empty_answers_are_no_object_not_failures() -> None:
    for text in ("[]", "```json\n[]\n```", "{}"):
        raw = PARSER.parse(text)
        assert raw.no_object and raw.found and not raw.boxes
        assert PARSER.detect(text) > 0


def test_bad_boxes_are_issues() -> None:
    assert issues('[{"bbox_2d": [1, 2, 3], "label": "x"}]') == ["box.bad_arity"]
    assert issues('[{"bbox_2d": "left", "label": "x"}]') == ["box.bad_arity"]
    assert issues('[{"point_2d": [1], "label": "x"}]') == ["point.bad_arity"]
    assert issues('[{"label": "x"}]') == ["json.no_boxes"]
    assert issues("no json here") == ["json.missing"]
    assert boxes('[{"bbox_2d": [NaN, 1, 2, 3]}]')[0][0] != boxes('[{"bbox_2d": [NaN, 1, 2, 3]}]')[0][0]  # NaN kept


def test_json_limits() -> None:
    issue_list: list = []
    assert load_json("[" * 5000 + "]" * 5000, issue_list) is None
    assert [i.code for i in issue_list] == ["json.too_deep"]
    issue_list = []
    assert load_json("[" + "1," * MAX_JSON_CHARS + "1]", issue_list) is None
    assert [i.code for i in issue_list] == ["json.too_long"]
    issue_list = []
    assert load_json('{"a": [' + "[" * 40 + "1", issue_list) is None  # broken and deep: not handed to the repairer
    assert [i.code for i in issue_list] == ["json.too_deep"]


def test_fences_are_read_in_order() -> None:
    text = "```python\nprint(1)\n```\n```json\n[1]\n```\n```json\n[2]\n```"
    assert [c for c, _ in iter_json_texts(text)] == ["[1]", "[2]"]
    assert find_json_text("prose {\"a\": 1} more") == ('{"a": 1}', False)
    assert find_json_text("nothing") == (None, False)


# --- conversion to original pixels, on the official cookbook outputs ------------------------------
# Model-input sizes derived by hand from Qwen2.5-VL's smart_resize rule (factor 28, round to the
# nearest multiple; all four are under max_pixels): (width, height) original -> model input.
RESIZED = {(1024, 1024): (1036, 1036), (4080, 3072): (4088, 3080), (1138, 640): (1148, 644), (640, 465): (644, 476)}


def cookbook_records() -> list[dict]:
    return [r for r in json.loads(COOKBOOK.read_text())["records"] if "bbox_2d" in r["raw_output"]]


@pytest.mark.parametrize("record", cookbook_records(), ids=lambda r: f"{r['image']}:{r['prompt'][:30]}")
def test_cookbook_outputs_convert_to_original_pixels(record: dict) -> None:
    w, h = record["image_size"]
    rw, rh = RESIZED[(w, h)]
    chain = Chain({"verifiers": ["schema"]})
    report = chain.verify_one({"query": record["prompt"], "completion": record["raw_output"], "image_size": (w, h)})
    parsed = report.parsed
    assert parsed.format == "qwen25_json" and parsed.coords == "qwen25" and parsed.in_original
    # read independently of the parser: every "bbox_2d": [a, b, c, d] in the text
    expected_model = [tuple(map(float, m)) for m in re.findall(r'"bbox_2d": \[(\d+), (\d+), (\d+), (\d+)\]', record["raw_output"])]
    assert expected_model
    assert [b.xyxy for b in parsed.model_boxes] == expected_model
    for box, (x1, y1, x2, y2) in zip(parsed.boxes, expected_model, strict=True):
        assert box.xyxy == pytest.approx((x1 * w / rw, y1 * h / rh, x2 * w / rw, y2 * h / rh), abs=1e-6)
        assert -4 <= box.x1 < box.x2 <= w + 4 and -4 <= box.y1 < box.y2 <= h + 4
    assert report.verdicts[0].gate is True


def test_origami_fox_shadow_in_original_pixels() -> None:
    # cookbook: "Locate the shadow of the paper fox" on the 4080x3072 Origamis.jpg
    report = Chain({"verifiers": ["schema"]}).verify_one({
        "completion": '```json\n[\n\t{"bbox_2d": [1098, 1304, 1576, 1900], "label": "shadow of the paper fox"}\n]\n```',
        "image_size": (4080, 3072),
    })
    assert report.parsed.boxes[0].xyxy == pytest.approx((1095.851, 1300.613, 1572.916, 1895.065), abs=1e-3)


def test_without_image_size_boxes_stay_in_model_space() -> None:
    report = Chain({"verifiers": ["schema"]}).verify_one({"completion": f"[{B}]"})
    assert not report.parsed.in_original and report.parsed.boxes[0].xyxy == XYXY
    assert "coords.no_image_size" in report.parsed.issue_codes()
    # declared original pixels need no size
    report = Chain({"verifiers": ["schema"]}).verify_one({"completion": f"[{B}]", "coords": "original"})
    assert report.parsed.in_original


def test_integers_beyond_float_range_become_infinite() -> None:
    huge = "1" + "0" * 400
    assert boxes(f'[{{"bbox_2d": [1, 2, 3, {huge}]}}]') == [(1.0, 2.0, 3.0, float("inf"))]
    assert boxes(f'[{{"bbox_2d": [-{huge}, 2, 3, 4]}}]') == [(float("-inf"), 2.0, 3.0, 4.0)]
