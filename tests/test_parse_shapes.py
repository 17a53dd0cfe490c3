"""Shapes real models write that were once rejected: function calls, quoted JSON, repairs, hedges.

Each test names the real output it comes from (the fixtures in
``tests/fixtures/formats/real_shapes.json`` cite their sources) or the rule
it pins down. The hedge tests check the one rule of ``docs/formats.md``:
every shape that states more than one candidate for one target gets a
``hedge.*`` issue and keeps every candidate in ``Parsed.candidates``.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest
from shared_data import SHARED_DATA

from groundscore.chain import Chain
from groundscore.model import Parsed, Sample
from groundscore.parse import parse_completion
from groundscore.parse.jsontext import decode_quoted, split_values, unquote_objects
from groundscore.plugins.manager import get_registry

PARSERS = get_registry().parsers
A = '{"bbox_2d": [10, 20, 30, 40], "label": "a"}'
B = '{"bbox_2d": [50, 60, 70, 80], "label": "b"}'
XA, XB = (10.0, 20.0, 30.0, 40.0), (50.0, 60.0, 70.0, 80.0)


def parse(text: str, **extra: object) -> Parsed:
    sample = Sample(completion=text, coords=extra.pop("coords", "original"), **extra)  # type: ignore[arg-type]
    return parse_completion(sample, PARSERS, None)


def boxes(parsed: Parsed) -> list[tuple[float, ...]]:
    return [b.xyxy for b in parsed.boxes]


def codes(parsed: Parsed) -> list[str]:
    return parsed.issue_codes()


# -- function calls ----------------------------------------------------------------------
CALL_SHAPES = {
    # ScreenSpot-Pro harness logs of Qwen2.5-VL-7B (fixture screenspot-pro-*): the action as the name
    "name is the action": '<tool_call>\n{"name": "left_click", "arguments": {"coordinate": [467, 109]}}\n</tool_call>',
    "wrapper without action": '<tool_call>\n{"name": "computer_use", "arguments": {"coordinate": [467, 109]}}\n</tool_call>',
    "bare call": '{"name": "computer_use", "arguments": {"coordinate": [467, 109]}}',
    "unclosed": '<tool_call>\n{"name": "left_click", "arguments": {"coordinate": [467, 109]}}',
    "start_box string": '<tool_call>{"name": "click", "arguments": {"start_box": "(467,109)"}}</tool_call>',
    "start_box list": '<tool_call>{"name": "click", "arguments": {"start_box": [467, 109]}}</tool_call>',
    "arguments as a string": '<tool_call>{"name": "left_click", "arguments": "{\\"coordinate\\": [467, 109]}"}</tool_call>',
    "args and function": '<tool_call>{"function": "click", "args": {"coordinate": [467, 109]}, "status": "CONTINUE"}</tool_call>',
    "x and y": '<tool_call>{"name": "click", "arguments": {"x": 467, "y": 109}}</tool_call>',
    "list of calls": '[{"name": "left_click", "arguments": {"coordinate": [467, 109]}}]',
    # ScreenSpot-Pro log qwen25vldevice.json (android_studio_macos): the place alone, one stray brace after it
    "arguments are the place": '<tool_call>\n{"name": "left_click", "arguments": [467, 109]}}\n</tool_call>',
    "with action": '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [467, 109]}}\n</tool_call>',
    "after thinking": '<think>the button is top left</think>\n<tool_call>\n{"name": "left_click", "arguments": {"coordinate": [467, 109]}}\n</tool_call>',
}


@pytest.mark.parametrize("name", sorted(CALL_SHAPES))
def test_every_function_call_shape_is_detected_and_read(name: str) -> None:
    parsed = parse(CALL_SHAPES[name], coords=None)
    assert parsed.format == "qwen25_computer_use", codes(parsed)
    assert [(p.x, p.y, p.action) for p in parsed.points] == [(467.0, 109.0, "click")]
    assert "format.undetected" not in codes(parsed) and not parsed.candidates


def test_a_box_argument_is_a_box_and_qwen3_calls_take_a_declared_space() -> None:
    parsed = parse('<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", "box": [10, 20, 30, 40]}}</tool_call>')
    assert boxes(parsed) == [XA] and parsed.boxes[0].action == "click"
    # Qwen3-VL writes 0-1000: declared, the call converts to pixels
    sample = Sample(completion=CALL_SHAPES["wrapper without action"], coords="norm1000", image_size=(2000, 1000))
    qwen3 = parse_completion(sample, PARSERS, (2000, 1000))
    assert [(p.x, p.y) for p in qwen3.points] == [pytest.approx((934.0, 109.0))]


def test_drags_swipes_and_typing_keep_one_target() -> None:
    drag = parse('<tool_call>{"name": "computer_use", "arguments": {"action": "left_click_drag", '
                 '"start_coordinate": [1, 2], "coordinate": [30, 40]}}</tool_call>')
    assert [(p.x, p.y, p.action) for p in drag.points] == [(1, 2, "drag_start"), (30, 40, "drag")]
    swipe = parse('<tool_call>{"name": "mobile_use", "arguments": {"action": "swipe", "coordinate": [1, 2], '
                  '"coordinate2": [30, 40]}}</tool_call>')
    assert [p.action for p in swipe.points] == ["swipe", "drag_end"]
    typed = parse('<tool_call>{"name": "left_click", "arguments": {"coordinate": [5, 6]}}</tool_call>\n'
                  '<tool_call>{"name": "type", "arguments": {"text": "hello"}}</tool_call>')
    assert [(p.x, p.y) for p in typed.points] == [(5, 6)]
    assert not any(c.startswith("hedge.") for c in codes(drag) + codes(swipe) + codes(typed))
    same_place = parse('<tool_call>{"name": "mouse_move", "arguments": {"coordinate": [5, 6]}}</tool_call>'
                       '<tool_call>{"name": "left_click", "arguments": {"coordinate": [5, 6]}}</tool_call>')
    assert not same_place.candidates


def test_calls_without_a_place_are_not_answers() -> None:
    # ScreenSpot-Pro log qwen25vl.json details[1]: the model typed instead of clicking
    parsed = parse('<tool_call>\n{"name": "type", "arguments": {"text": "Feedback"}}\n</tool_call>')
    assert not parsed.points and not parsed.boxes
    verdict = Chain({"verifiers": ["schema"]}).verify_one(Sample(completion=parsed.answer or "", coords="original")).verdicts[0]
    assert verdict.gate is False


# -- quoted and escaped JSON ----------------------------------------------------------------
def test_stray_quotes_around_objects_are_read_with_a_small_deduction() -> None:
    # shared/data/vlmr1-3b-logs ..._r1_300.json results[0] (fixture vlmr1-3b-stray-quote-0)
    text = '<answer>["{"bbox_2d": [14, 135, 136, 470], "label": "man standing far left in orange."}]</answer>'
    parsed = parse(text)
    assert boxes(parsed) == [(14, 135, 136, 470)] and parsed.boxes[0].label == "man standing far left in orange."
    assert "json.quoted" in codes(parsed) and "json.invalid" not in codes(parsed)
    verdict = Chain({"verifiers": ["schema"]}).verify_one(Sample(completion=text, coords="original")).verdicts[0]
    assert verdict.gate is True and verdict.score == pytest.approx(0.8)
    assert boxes(parse('["{"bbox_2d": [197, 0, 643, 115], "label": "white truck or bus"}"]')) == [(197, 0, 643, 115)]


def test_escaped_json_strings_are_read() -> None:
    parsed = parse('["{\\"bbox_2d\\": [197, 0, 643, 115], \\"label\\": \\"truck\\"}"]')
    assert boxes(parsed) == [(197, 0, 643, 115)] and "json.quoted" in codes(parsed)
    assert decode_quoted(["not json", 3], []) == ["not json", 3]


def test_unquoting_touches_only_quotes_that_wrap_objects() -> None:
    assert unquote_objects('[{"bbox_2d": [1, 2, 3, 4], "label": "a {b} c"}]') is None
    assert unquote_objects('["{"a": 1}", "{"b": 2}"]') == '[{"a": 1}, {"b": 2}]'


# -- repair ---------------------------------------------------------------------------------
def test_repair_never_drops_a_complete_first_box() -> None:
    # json-repair reads only the second object of "A B}": the complete first box comes back, flagged
    parsed = parse(f"{A} {B}}}")
    assert boxes(parsed) == [XA, XB] and "json.repair_changed" in codes(parsed)


def test_a_box_cut_by_the_end_of_the_text_is_not_made_up() -> None:
    # shared/data/vlmr1-rec-logs/original-model_refcocog_val.json results[1735]: repeated blocks, the last cut mid-number
    text = ('<answer>\n```json\n[{"bbox_2d": [0, 184, 165, 336], "label": "sofa"}]\n```json\n```json\n'
            '[{"bbox_2d": [0, 184, 165, 33')
    parsed = parse(text)
    assert boxes(parsed) == [(0, 184, 165, 336)] and not parsed.candidates
    cut = parse('[{"bbox_2d": [0, 184, 165, 33')
    assert not cut.boxes and "json.repair_changed" in codes(cut)


def test_an_answer_written_twice_is_one_box() -> None:
    # ..._r1_300.json results[157]: [A](["A"]) with stray quotes
    text = '<answer>["{"bbox_2d": [0, 1, 153, 78], "label": "m"}](["{"bbox_2d": [0, 1, 153, 78], "label": "m"}])</answer>'
    assert boxes(parse(text)) == [(0, 1, 153, 78)]


# -- hedges ---------------------------------------------------------------------------------
HEDGES = {
    "hedge.duplicate_key": '{"bbox_2d": [10, 20, 30, 40], "bbox_2d": [50, 60, 70, 80], "label": "a"}',
    "hedge.lists": f"[{A}] [{B}]",
    "hedge.lists fenced": f"```json\n[{A}]\n```\nor maybe\n```json\n[{B}]\n```",
    "hedge.answers": f"<think>t</think><answer>[{A}]</answer><answer>[{B}]</answer>",
    "hedge.calls": ('<tool_call>{"name": "left_click", "arguments": {"coordinate": [20, 30]}}</tool_call>'
                    '<tool_call>{"name": "left_click", "arguments": {"coordinate": [60, 70]}}</tool_call>'),
}


@pytest.mark.parametrize("name", sorted(HEDGES))
def test_every_hedge_shape_is_flagged_with_every_candidate(name: str) -> None:
    parsed = parse(HEDGES[name])
    code = name.split()[0]
    assert code in codes(parsed)
    assert parsed.candidates is not None and len(parsed.candidates) == 2
    places = [[b.xyxy for b in c.boxes] + [(q.x, q.y) for q in c.points] for c in parsed.candidates]
    assert places[0] != places[1]
    if code != "hedge.calls":
        assert {p[0] for p in places} == {XA, XB}
    if code in ("hedge.duplicate_key", "hedge.lists"):  # the first written is read first, as VLM-R1's regex reads it
        assert boxes(parsed)[0] == XA
    if code == "hedge.answers":  # the last <answer> is the R1 splitter's choice, and the only one read
        assert boxes(parsed) == [XB] and places[0] == [XB]
    else:  # every candidate written in the one answer read is in Parsed.boxes / points
        assert len(parsed.boxes) + len(parsed.points) == 2
    dumped = json.loads(parsed.model_dump_json())
    assert len(dumped["candidates"]) == 2


@pytest.mark.parametrize("text", [
    '{"bbox_2d": [10, 20, 30, 40], "bbox_2d": [10, 20, 30, 40], "label": "a"}',
    f"[{A}] [{A}]",
    f"```json\n[{A}]\n```\n```json\n{{\"answer\": [{A}]}}\n```",
    f"<answer>[{A}]</answer><answer>[{A}]</answer>",
    f"[{A}, {B}]",
    f"{A}, {B}",  # objects without their list brackets: one multi-object answer
])
def test_repeats_and_multi_object_lists_are_not_hedges(text: str) -> None:
    parsed = parse(text)
    assert not parsed.candidates and not any(c.startswith("hedge.") for c in codes(parsed))
    assert "candidates" not in json.loads(parsed.model_dump_json())


def test_split_values_only_splits_complete_values() -> None:
    assert split_values(f"[{A}]") is None
    assert split_values(f"[{A}] [{B}") is None
    got = split_values(f"[{A}] then [{B}]")
    assert got is not None and [v for v, _ in got] == [[json.loads(A)], [json.loads(B)]]


# -- never raises, never slow ---------------------------------------------------------------
def test_mutated_shapes_never_raise_and_stay_consistent() -> None:
    rng = random.Random(26)
    seeds = [*CALL_SHAPES.values(), *HEDGES.values(), f"{A} {B}}}", '["{"bbox_2d": [1, 2, 3, 4], "label": "x"}"]']
    for _ in range(600):
        text = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(len(text) + 1)
            op = rng.random()
            if op < 0.4 and text:
                del text[min(i, len(text) - 1)]
            else:
                text.insert(i, rng.choice('"{}[],: \\'))
        parsed = parse("".join(text))
        for c in parsed.candidates or []:
            assert c.boxes or c.points
        if parsed.candidates:
            assert any(c.code.startswith("hedge.") for c in parsed.issues)


@pytest.mark.skipif(not (SHARED_DATA / "vlmr1-3b-logs").is_dir(), reason="shared data not found")
def test_recall_benchmark_meets_its_targets_on_the_stray_quote_checkpoint() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_recall

    path = SHARED_DATA / "vlmr1-3b-logs" / "rec_results_refcoco_val_qwen2_5vl_3b_instruct_r1_300.json"
    tally = bench_recall.measure(path.stem, "REC", bench_recall.log_records(path), Chain({"verifiers": ["schema"]}))
    assert tally.correct > 300 and tally.missed == 0, tally.misses[:3]


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA / "vlmr1-3b-logs").is_dir(), reason="shared data not found")
def test_docs_recall_table_is_what_the_benchmark_prints() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_recall

    page = bench_recall.DOC.read_text(encoding="utf-8")
    start, end = bench_recall.TABLE
    block = page[page.index(start) + len(start) : page.index(end)].strip()
    rows = bench_recall.measure_all(SHARED_DATA)
    assert block == bench_recall.render(rows), "run: python benchmarks/bench_recall.py --write-docs"
    assert all(t.missed / t.correct <= bench_recall.TARGET[t.kind] for t in rows if t.correct)
