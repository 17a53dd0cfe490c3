"""Every supported grounding format: real outputs, detection, conversion to original pixels.

The fixtures in tests/fixtures/formats/ hold, per format family, model
outputs with their cited source and the boxes they must become in original
pixels. Expected boxes were computed from each family's documented decoding
rule (or copied from documented decoded output), not by groundscore.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groundscore.model import Sample
from groundscore.parse import detect_format, parse_completion
from groundscore.parse.base import MAX_BOXES, Parser, RawParse
from groundscore.plugins.manager import DEFAULT_PLUGINS, get_registry

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
PARSERS = get_registry().parsers


def _cases() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(FIXTURES.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            out.append((f"{path.stem}:{case['id']}", case))
    return out


CASES = _cases()


def _parse(case: dict[str, Any], **extra: Any):
    sample = Sample(completion=case["completion"], image_size=case["image_size"], coords=case.get("coords"), **extra)
    return parse_completion(sample, PARSERS, tuple(case["image_size"]))


def test_every_builtin_parser_has_a_fixture_that_selects_it() -> None:
    detected = {case["expect_format"] for _, case in CASES}
    registry = get_registry()
    builtin = {name for info in registry.plugins.values() if info.builtin for name in info.registered.get("parsers", [])}
    assert builtin and builtin <= detected
    assert detected <= set(PARSERS)


def test_fixtures_cite_their_source() -> None:
    for case_id, case in CASES:
        assert len(case["source"]) > 20, case_id
        assert case["kind"], case_id


@pytest.mark.parametrize(("case_id", "case"), CASES, ids=[c[0] for c in CASES])
def test_fixture_auto_detects_and_matches_original_pixels(case_id: str, case: dict[str, Any]) -> None:
    parsed = _parse(case)
    assert parsed.format == case["expect_format"], [i.message for i in parsed.issues]
    assert parsed.in_original
    if "boxes" in case:
        got = [b.xyxy for b in parsed.boxes]
        assert len(got) == len(case["boxes"])
        for g, e in zip(got, case["boxes"], strict=True):
            assert g == pytest.approx(e, abs=1.0), (g, e)
            assert g[0] <= g[2] and g[1] <= g[3]
    if "points" in case:
        got_points = [(p.x, p.y) for p in parsed.points]
        assert len(got_points) == len(case["points"])
        for g, e in zip(got_points, case["points"], strict=True):
            assert g == pytest.approx(e, abs=1.0)
    if "labels" in case:
        labels = [b.label for b in parsed.boxes] or [p.label for p in parsed.points]
        assert labels == case["labels"]
    if "scores" in case:
        assert [b.score for b in parsed.boxes] == pytest.approx(case["scores"])
    detection = [i for i in parsed.issues if i.code in ("format.detected", "format.ambiguous")]
    assert len(detection) == 1 and f"read as {case['expect_format']}" in detection[0].message


@pytest.mark.parametrize(("case_id", "case"), CASES, ids=[c[0] for c in CASES])
def test_explicit_format_always_wins(case_id: str, case: dict[str, Any]) -> None:
    # Declaring the expected format reads the same boxes...
    declared = _parse(case, format=case["expect_format"])
    assert declared.format == case["expect_format"]
    assert [b.xyxy for b in declared.boxes] == [b.xyxy for b in _parse(case).boxes]
    assert "format.declared" in declared.issue_codes()
    # ...and declaring another format is obeyed, not second-guessed.
    other = "florence2" if case["expect_format"] != "florence2" else "kosmos2"
    forced = _parse(case, format=other)
    assert forced.format == other
    assert not forced.boxes


def test_ambiguity_is_reported_with_the_rejected_alternatives() -> None:
    text = "There is a dog [120, 340, 560, 780] sitting next to a bench [0, 500, 999, 999]."
    parser, confidence, others = detect_format(text, PARSERS)
    assert parser is not None and parser.name == "ferret"
    assert confidence > max(c for _, c in others)
    names = [n for n, _ in others]
    assert "qwen25_json" in names
    parsed = parse_completion(Sample(completion=text), PARSERS, (999, 999))
    issue = next(i for i in parsed.issues if i.code == "format.ambiguous")
    assert "rejected: qwen25_json" in issue.message and issue.severity == "info"
    assert parsed.format_confidence == confidence


def test_close_alternatives_in_the_same_space_are_not_ambiguous() -> None:
    parsed = parse_completion(Sample(completion="<answer>[398,314,644,470]</answer>"), PARSERS, (640, 480))
    issue = next(i for i in parsed.issues if i.code.startswith("format."))
    assert issue.code == "format.detected" and "rejected: r1_rec" in issue.message
    assert PARSERS["r1_rec"].default_coords == PARSERS[parsed.format].default_coords


def test_unknown_explicit_format_is_an_error_not_an_exception() -> None:
    parsed = parse_completion(Sample(completion="[1, 2, 3, 4]", format="nope"), PARSERS, (10, 10))
    assert parsed.format == "nope" and not parsed.boxes
    assert "format.unknown" in parsed.issue_codes()


def test_without_image_size_boxes_stay_in_model_space_and_say_so() -> None:
    parsed = parse_completion(Sample(completion="car<loc_53><loc_333><loc_933><loc_774>"), PARSERS, None)
    assert not parsed.in_original and parsed.boxes[0].xyxy == (53, 333, 933, 774)
    assert "coords.no_image_size" in parsed.issue_codes()


def test_declared_layout_converts_xywh() -> None:
    sample = Sample(completion='[{"bbox": [10, 20, 30, 40], "label": "cat", "score": 0.9}]', coords="original:xywh")
    parsed = parse_completion(sample, PARSERS, (100, 100))
    assert parsed.format == "detections"
    assert parsed.boxes[0].xyxy == (10, 20, 40, 60)
    assert parsed.model_boxes[0].xyxy == (10, 20, 30, 40)


def test_bad_coords_name_is_an_issue() -> None:
    parsed = parse_completion(Sample(completion="car<loc_1><loc_2><loc_3><loc_4>", coords="norm7"), PARSERS, (10, 10))
    assert "coords.error" in parsed.issue_codes() and "known:" in parsed.issues[-1].message


def test_points_and_multi_box_answers_are_first_class() -> None:
    text = '<points x1="10" y1="20" x2="30" y2="40" x3="50" y3="60" alt="cakes">cakes</points>'
    parsed = parse_completion(Sample(completion=text, coords="original"), PARSERS, (100, 100))
    assert [(p.x, p.y) for p in parsed.points] == [(10, 20), (30, 40), (50, 60)]
    counting = parse_completion(Sample(completion="<p>cake</p>{<1><2><3><4>}<delim>{<5><6><7><8>}"), PARSERS, (100, 100))
    assert counting.format == "minigptv2" and len(counting.boxes) == 2
    assert {b.label for b in counting.boxes} == {"cake"}


def test_kosmos2_same_row_patches_use_cell_edges() -> None:
    # patches 33 and 40 share row 1: Hugging Face decodes to cell edges, not centres.
    text = "<phrase>a bar</phrase><object><patch_index_0033><patch_index_0040></object>"
    parsed = parse_completion(Sample(completion=text), PARSERS, (320, 320))
    assert parsed.boxes[0].xyxy == pytest.approx((10.0, 10.0, 90.0, 20.0))


def test_florence2_quad_and_shared_label() -> None:
    text = "A car<loc_10><loc_10><loc_20><loc_20><loc_30><loc_30><loc_40><loc_40>sign<loc_1><loc_2><loc_9><loc_2><loc_9><loc_8><loc_1><loc_8>"
    parsed = parse_completion(Sample(completion=text), PARSERS, (1000, 1000))
    assert [b.label for b in parsed.boxes] == ["A car", "A car", "sign"]
    assert parsed.boxes[2].xyxy == pytest.approx((1.5, 2.5, 9.5, 8.5))


# -- robustness: never raise, bounded output, linear time ------------------------------

JUNK = st.text(alphabet=st.sampled_from(list("<>[](){};:,.'\"0123456789 -_|/abcxyzloc_patchindexboxrefp\n")), max_size=400)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=JUNK, size=st.one_of(st.none(), st.tuples(st.integers(1, 5000), st.integers(1, 5000))))
def test_no_parser_raises_on_junk(text: str, size: tuple[int, int] | None) -> None:
    for name, parser in PARSERS.items():
        assert parser.detect(text) >= 0.0
        raw = parser.parse(text)
        assert isinstance(raw, RawParse), name
        assert len(raw.boxes) <= MAX_BOXES
    parsed = parse_completion(Sample(completion=text), PARSERS, size)
    assert parsed.format


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_parsers_cap_boxes(name: str) -> None:
    unit = {
        "qwen25_json": '{"bbox_2d": [1, 2, 3, 4]},', "qwen25_text": "1,2,3,4 a\n", "qwen25_points": '<point x="1" y="2">a</point>',
        "qwen2_vl": "a(1,2),(3,4) ", "r1_rec": "{'Position': [1, 2, 3, 4], 'Confidence': 0.5}, ", "internvl": "<ref>a</ref><box>[[1, 2, 3, 4]]</box>",
        "cogvlm": "a [[001,002,003,004]] ", "florence2": "a<loc_1><loc_2><loc_3><loc_4>", "kosmos2": "<phrase>a</phrase><object><patch_index_0001><patch_index_0040></object>",
        "shikra": "a [0.1,0.2,0.3,0.4] ", "minigptv2": "<p>a</p>{<1><2><3><4>}", "ferret": "a dog [1, 2, 3, 4] ",
        "detections": '{"box": [1, 2, 3, 4], "score": 0.5},', "gemini": '{"box_2d": [1, 2, 3, 4]},',
        "paligemma": "<loc0001><loc0002><loc0003><loc0004> a ; ",
        "qwen25_computer_use": '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [1, 2]}}\n</tool_call>\n',
        "uitars": "Action: click(start_box='(1,2)')\n", "os_atlas": "CLICK <point>[[1, 2]]</point>\n",
        "showui": "{'action': 'CLICK', 'value': None, 'position': [0.1, 0.2]},\n", "aguvis": "pyautogui.click(x=0.1, y=0.2)\n",
        "cogagent": "CLICK(box=[[1,2,3,4]], element_info='a')\n", "gui_action_list": "{'action': 'click', 'point': [1, 2]}, ",
        "seeclick": "(0.1,0.2)",
    }.get(name)
    if unit is None:
        pytest.skip(f"no unit text for third-party parser {name}")
    body = unit * (MAX_BOXES + 50)
    if name in ("qwen25_json", "detections", "r1_rec", "gemini", "gui_action_list"):
        body = "[" + body.rstrip(", ") + "]"
    raw = PARSERS[name].parse(body)
    if name == "seeclick":
        # SeeClick reads only a whole answer that is one tuple: a long text is never many points.
        assert PARSERS[name].parse(unit).points and not raw.points and not raw.boxes
        return
    assert len(raw.boxes) + len(raw.points) == MAX_BOXES
    assert any(i.code in ("box.too_many", "point.too_many") for i in raw.issues)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_parse_time_grows_linearly(name: str) -> None:
    """Adversarial prefixes (open tags, brackets, digits) must not make a parser quadratic."""
    nasty = "<box>[[<ref>(1,<loc_<patch_index_{<1><[0.1,{\"bbox_2d\": [1, 2," * 40

    def cost(n: int) -> float:
        text = nasty * n
        start = time.perf_counter()
        PARSERS[name].detect(text)
        PARSERS[name].parse(text)
        return time.perf_counter() - start

    cost(1)
    small, big = min(cost(4) for _ in range(5)), min(cost(40) for _ in range(5))
    # 10x the text may cost ~10x; 40x leaves room for a loaded machine. A
    # quadratic parser costs ~100x, and seconds at this size (the 0.2 s floor).
    assert big < max(40 * small, 0.2), (small, big)


def test_a_raising_plugin_parser_is_isolated() -> None:
    class Broken(Parser):
        name = "broken"

        def detect(self, text: str) -> float:
            return 1.0

        def parse(self, text: str) -> RawParse:
            raise RuntimeError("boom")

    class BadDetect(Parser):
        name = "bad_detect"

        def detect(self, text: str) -> float:
            raise ValueError("nope")

    parsers = {**PARSERS, "broken": Broken(), "bad_detect": BadDetect()}
    parsed = parse_completion(Sample(completion='[{"bbox_2d": [1, 2, 3, 4]}]'), parsers, (10, 10))
    assert parsed.format == "broken" and "parser.error" in parsed.issue_codes()


def test_every_parser_module_is_a_default_plugin() -> None:
    modules = {m.rsplit(".", 1)[-1] for m in DEFAULT_PLUGINS}
    for module in ("qwen25_text", "qwen25_points", "qwen2_vl", "r1_rec", "internvl", "cogvlm", "florence2",
                   "kosmos2", "shikra", "minigptv2", "ferret", "detections", "gemini", "paligemma"):
        assert module in modules


def _detect_naively(text: str) -> tuple[str | None, list[str]]:
    scored = [(p.detect(text), i, p.name) for i, p in enumerate(PARSERS.values())]
    scored = [s for s in scored if s[0] > 0]
    if not scored:
        return None, []
    best = max(scored, key=lambda s: (s[0], -s[1]))
    return best[2], sorted(s[2] for s in scored if s[2] != best[2])


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(JUNK, st.sampled_from([c["completion"] for _, c in CASES])))
def test_detection_picks_the_most_confident_parser_first_registered_on_ties(text: str) -> None:
    parser, _, others = detect_format(text, PARSERS)
    name, rejected = _detect_naively(text)
    assert (parser.name if parser else None) == name
    assert sorted(n for n, _ in others) == rejected


def test_unhashable_plugin_parsers_are_fine() -> None:
    class Unhashable(Parser):
        name = "unhashable"

        def __eq__(self, other: object) -> bool:  # makes instances unhashable
            return self is other

        def detect(self, text: str) -> float:
            return 0.99 if "<zz>" in text else 0.0

        def parse(self, text: str) -> RawParse:
            raw = RawParse()
            raw.add_box(1, 2, 3, 4, "z")
            return raw

    parsers = {**PARSERS, "unhashable": Unhashable()}
    assert parse_completion(Sample(completion="<zz> [[1,2,3,4]]", coords="original"), parsers, (9, 9)).format == "unhashable"
    assert parse_completion(Sample(completion="no marker here"), parsers, (9, 9)).format != "unhashable"
