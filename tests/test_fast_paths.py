"""The shortcuts on the hot path give exactly what the general path gives.

Parsing sits inside training steps, so the common shapes take shortcuts:
the cookbook JSON read without the general reader's bookkeeping, canonical
R1 tags cut with one ``str.split``, marker tests written out as straight
code, parsers ruled out by ``excluded_by`` strings. Each shortcut is checked
here against the general path it stands in for, on generated inputs and on
every completion of the real REC logs.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shared_data import REC_LOGS

from groundscore.inputs import iter_samples
from groundscore.model import Sample
from groundscore.parse import ParserTable, _Plan, _write_present, detect_format, parse_completion, parser_table
from groundscore.parse.base import Parser, RawParse
from groundscore.parse.qwen_json import plain_boxes, read_items_general
from groundscore.parse.r1 import _split_canonical, split_r1, split_tags
from groundscore.plugins.manager import get_registry
from groundscore.verifiers.base import Context

PARSERS = get_registry().parsers
QWEN = PARSERS["qwen25_json"]
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _raw(raw: RawParse) -> tuple[object, ...]:
    return (raw.boxes, raw.points, raw.issues, raw.found, raw.no_object, raw.coords)


# -- the cookbook JSON shortcut ------------------------------------------------------------

numbers = st.one_of(
    st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False), st.integers(10**15, 10**400),
    st.sampled_from(["12", "1e3", True, None, -0.0, 0]),
)
labels = st.one_of(st.text(max_size=30), st.none(), st.integers(), st.sampled_from(['a "quoted" cup', "back\\slash", "```", "tab\there"]))
items = st.fixed_dictionaries({"bbox_2d": st.lists(numbers, min_size=3, max_size=5)}, optional={"label": labels, "extra": st.integers()})
values = st.one_of(st.lists(items, max_size=3), items, st.just([]), st.just({}))


@st.composite
def answers(draw: st.DrawFn) -> str:
    value = draw(values)
    body = json.dumps(value, indent=draw(st.sampled_from([None, 2, "\t"])), ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):  # number formatting JSON allows and Python's dumps never writes
        body = body.replace(".0,", ".00,").replace(" 0,", " -0,")
    fence = draw(st.sampled_from(["```json\n", "```json ", "```\n", "```JSON\n", "", "Here: ```json\n"]))
    close = draw(st.sampled_from(["\n```", "\n```json", "", "```\nmore text", "\n``` then ```json\n[]\n```"]))
    around = draw(st.sampled_from(["", " ", "\n", "\u00a0", "prose "]))
    return around + fence + body + close + around


@FAST
@given(answers())
def test_cookbook_shortcut_reads_what_the_general_reader_reads(text: str) -> None:
    assert _raw(QWEN.parse(text)) == _raw(QWEN.parse_general(text))


def _cookbook_shape(value: object) -> bool:
    """The shape the shortcut may take, written plainly: what it must accept, and only that."""
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []

    def number(n: object) -> bool:
        return type(n) in (int, float) and (type(n) is float or abs(n) < 2**1023)  # type: ignore[operator]

    return 0 < len(items) <= 1000 and all(
        isinstance(v, dict) and "bbox_2d" in v and set(v) <= {"bbox_2d", "label"}
        and type(v.get("label")) in (str, type(None))
        and type(v["bbox_2d"]) is list and len(v["bbox_2d"]) == 4 and all(map(number, v["bbox_2d"]))
        for v in items
    )


@FAST
@given(values)
def test_cookbook_shape_reads_as_the_general_item_reader_reads(value: object) -> None:
    boxes = plain_boxes(value)
    assert (boxes is not None) == _cookbook_shape(value)
    if boxes is not None:
        general = RawParse()
        read_items_general(value, general)
        assert boxes == general.boxes and not general.issues and general.found


@FAST
@given(st.text(alphabet='[]{}",:0123456789 .-\n`jsonbbox_2dlael', max_size=80))
def test_cookbook_shortcut_on_near_json_junk(text: str) -> None:
    assert _raw(QWEN.parse(text)) == _raw(QWEN.parse_general(text))


# -- canonical R1 tags -------------------------------------------------------------------

no_lt = st.text(alphabet=st.characters(blacklist_characters="<"), max_size=40)
spaces = st.sampled_from(["", " ", "\n\n", "\t"])


@FAST
@given(
    st.one_of(spaces, no_lt), no_lt, st.one_of(spaces, no_lt), no_lt, st.one_of(spaces, no_lt),
    st.sampled_from(["full", "unclosed answer", "no answer"]),
)
def test_canonical_split_equals_the_general_split(
    before: str, think: str, between: str, answer: str, after: str, layout: str
) -> None:
    text = {
        "full": f"{before}<think>{think}</think>{between}<answer>{answer}</answer>{after}",
        "unclosed answer": f"{before}<think>{think}</think>{between}<answer>{answer}",  # cut at the token limit
        "no answer": f"{before}<think>{think}</think>{between}",  # the box after </think>
    }[layout]
    fast = _split_canonical(text)
    assert fast is not None
    assert dataclasses.astuple(fast) == dataclasses.astuple(split_tags(text))


@FAST
@given(st.text(alphabet="<>/thinkanswer x\n", max_size=60))
def test_canonical_split_declines_everything_else(text: str) -> None:
    fast = _split_canonical(text)
    if fast is not None:  # only the exact tags, in order, and no other "<"
        assert 2 <= text.count("<") <= 4 and dataclasses.astuple(fast) == dataclasses.astuple(split_tags(text))


# -- marker tests and excluded_by ----------------------------------------------------------

def _naive_asked(text: str, parsers: Mapping[str, Parser]) -> tuple[Parser, ...]:
    """Which parsers detection asks, worked out the slow, obvious way."""
    return tuple(
        p for p in parsers.values()
        if (not p.markers or any(m in text for m in p.markers)) and not any(m in text for m in p.excluded_by)
    )


def _all_markers() -> list[str]:
    return sorted({m for p in PARSERS.values() for m in (*p.markers, *p.excluded_by)})


@FAST
@given(st.lists(st.sampled_from(_all_markers()) | st.text(max_size=5), max_size=8).map("".join))
def test_generated_marker_test_asks_the_right_parsers(text: str) -> None:
    plan = _Plan(tuple(PARSERS.values()))
    assert plan.parsers_for(plan.present(text)) == _naive_asked(text, PARSERS)


EXCLUDING = [p for p in PARSERS.values() if p.excluded_by]


def test_some_builtin_parsers_declare_exclusions() -> None:
    assert {p.name for p in EXCLUDING} >= {"detections", "ferret"}


@pytest.mark.parametrize("parser", EXCLUDING, ids=lambda p: p.name)
@FAST
@given(text=st.text(max_size=60), at=st.integers(0, 60), which=st.integers(0, 10))
def test_excluded_by_means_detect_says_zero(parser: Parser, text: str, at: int, which: int) -> None:
    for example in (text, parser.example):
        veto = parser.excluded_by[which % len(parser.excluded_by)]
        cut = min(at, len(example))
        assert parser.detect(example[:cut] + veto + example[cut:]) == 0


def test_markers_with_any_characters_compile() -> None:
    class Odd(Parser):
        name = "odd"
        markers = ("'''", '"\\n', "\u00e9\u4e2d", "{x}", "\\")
        excluded_by = ("\x00",)

        def detect(self, text: str) -> float:
            return 0.5

    parsers = {"odd": Odd()}
    for text in ("'''", '"\\n', "\u4e2d \u00e9\u4e2d", "{x}", "\\", "nothing", "\\\x00"):
        assert detect_format(text, parsers)[0] is (parsers["odd"] if _naive_asked(text, parsers) else None)


def test_parser_table_is_a_read_only_snapshot_with_the_same_answers() -> None:
    source = dict(PARSERS)
    table = parser_table(source)
    assert parser_table(table) is table and isinstance(table, Mapping) and dict(table) == source
    with pytest.raises(TypeError):
        table["x"] = QWEN  # type: ignore[index]
    source.pop("qwen25_json")
    assert "qwen25_json" in table and table.get("nope") is None
    sample = Sample(completion='```json\n[{"bbox_2d": [1, 2, 30, 40], "label": "cup"}]\n```')
    assert parse_completion(sample, ParserTable(PARSERS)) == parse_completion(sample, PARSERS)


def test_context_cache_is_made_on_first_use() -> None:
    sample = Sample(query="the cup")
    ctx = Context(sample, parse_completion(sample, PARSERS))
    assert ctx.cache == {} and ctx.cache is ctx.cache
    ctx.cache["k"] = 1
    assert ctx == Context(sample=sample, parsed=ctx.parsed, cache={"k": 1}) and ctx.referring_expression == "the cup"


# -- every real completion -----------------------------------------------------------------

def _log_texts() -> list[str]:
    if not REC_LOGS.is_dir():
        pytest.skip(f"shared data not found at {REC_LOGS}")
    texts = []
    for path in sorted(REC_LOGS.glob("*.json")):
        texts.extend(s.completion for s in iter_samples(path, "vlm-r1"))
    return texts


@pytest.mark.slow
def test_shortcuts_agree_with_the_general_paths_on_every_logged_completion() -> None:
    texts = _log_texts()
    plan = _Plan(tuple(PARSERS.values()))
    fast_json = canonical = 0
    for text in texts:
        split = split_r1(text)
        if "<" in text:
            fast = _split_canonical(text)
            if fast is not None:
                canonical += 1
                assert dataclasses.astuple(fast) == dataclasses.astuple(split_tags(text))
        for region in (text, split.answer or ""):
            got = QWEN.parse(region)
            assert _raw(got) == _raw(QWEN.parse_general(region)), region[:200]
            fast_json += bool(got.boxes) and not got.issues
            assert plan.parsers_for(plan.present(region)) == _naive_asked(region, PARSERS)
    assert canonical > len(texts) // 2 and fast_json > len(texts)  # the shortcuts are really taken


@pytest.mark.parametrize("markers", [
    ("<", "<a", "<ab", "<abc", "<b"),  # nested, within the limit
    ("<a", "<ab", "<abc", "<b", "<bc", "<c", "<cd", "<"),  # past the limit: flat tests
    ("x", "xy", "y", "yx", "xyx"),
])
@FAST
@given(text=st.text(alphabet="<abcdxy", max_size=12))
def test_written_marker_test_equals_testing_each_marker(markers: tuple[str, ...], text: str) -> None:
    index = {m: i for i, m in enumerate(markers)}
    expected = sum(1 << i for m, i in index.items() if m in text)
    assert _write_present(index)(text) == expected
