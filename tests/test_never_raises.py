"""Never raises: whatever a model, a trainer or an attacker hands the chain, a Report with a reason comes back.

Property tests (hypothesis) over empty and huge text, garbage, deeply nested
JSON, NaN/inf/negative/huge coordinates, invalid UTF-8 and random dicts. The
time check is a generous hang detector (2 s per sample), not a speed test:
speed is measured by ``benchmarks/bench_parse.py``.
"""

from __future__ import annotations

import json
import math
import random
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groundscore.chain import Chain
from groundscore.model import Report

CHAIN = Chain({"verifiers": ["schema"]})
HANG_S = 2.0


def check(item: Any) -> Report:
    start = time.perf_counter()
    reports = CHAIN.verify([item])
    elapsed = time.perf_counter() - start
    assert elapsed < HANG_S, f"{elapsed:.1f} s for one sample"
    assert len(reports) == 1
    report = reports[0]
    assert isinstance(report, Report)
    assert 0.0 <= report.confidence <= 1.0 and report.decision in ("accept", "reject", "abstain")
    v = report.verdict("schema")
    assert v is not None and v.reason, "every verdict says why"
    if v.gate is False:
        assert report.confidence == 0.0 and report.decision == "reject"
    json.loads(report.model_dump_json())  # serialisable, NaN and all
    return report


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), -1.0, 0.0, 1e308, -1e308, 5e-324]),
)


@SETTINGS
@given(st.text(max_size=2000))
def test_any_text(text: str) -> None:
    check({"completion": text, "query": text[:50]})


@SETTINGS
@given(st.binary(max_size=2000))
def test_any_bytes_including_invalid_utf8(data: bytes) -> None:
    check({"completion": data, "query": data[:20]})


@SETTINGS
@given(st.lists(numbers, min_size=0, max_size=6), st.sampled_from(["original", "qwen25", "norm1000", None]),
       st.one_of(st.none(), st.tuples(st.integers(1, 20000), st.integers(1, 20000))))
def test_any_coordinates(coords: list[float], space: str | None, size: tuple[int, int] | None) -> None:
    body = json.dumps([{"bbox_2d": coords, "label": "x"}])  # NaN / Infinity as Python's json writes them
    report = check({"completion": f"<think>t</think><answer>{body}</answer>", "coords": space, "image_size": size})
    v = report.verdict("schema")
    if len(coords) != 4:
        assert v.gate is False
    elif not all(math.isfinite(float(c)) for c in coords):
        assert v.code in ("box.non_finite", "coords.error") or v.gate is False


@SETTINGS
@given(st.integers(min_value=1, max_value=100_000), st.sampled_from(["[", "{", '{"a":', "[{", '{"bbox_2d":[']))
def test_deeply_nested_json(depth: int, opener: str) -> None:
    closer = {"[": "]", "{": "}", '{"a":': "}", "[{": "}]", '{"bbox_2d":[': "]}"}[opener]
    check({"completion": "```json\n" + opener * depth + closer * depth + "\n```"})
    check({"completion": "bbox_2d " + opener * depth})  # unclosed


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=20)),
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(st.text(max_size=10), children, max_size=5)),
    max_leaves=30,
)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["query", "completion", "image", "image_size", "format", "coords",
                                         "solution", "id", "meta", "other"]), json_values, max_size=8))
def test_random_sample_dicts(item: dict[str, Any]) -> None:
    report = check(item)
    if any(k in item for k in ("image_size", "solution", "format", "coords", "id", "meta", "image")):
        codes = report.parsed.issue_codes()
        assert report.verdicts  # invalid fields become a sample.invalid issue, not an exception
        assert isinstance(codes, list)


@SETTINGS
@given(json_values)
def test_random_json_as_completion(value: Any) -> None:
    check({"completion": json.dumps(value)})
    check({"completion": "```json\n" + json.dumps(value) + "\n```", "format": "qwen25_json"})


@pytest.mark.parametrize("kind", ["garbage", "brackets", "tags", "digits", "fences"])
def test_one_megabyte(kind: str) -> None:
    rng = random.Random(kind)
    n = 1_000_000
    text = {
        "garbage": "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(n)),
        "brackets": "".join(rng.choice("[]{},:\"0123456789") for _ in range(n)),
        "tags": "<think><answer></answer></think>" * (n // 32),
        "digits": "[" + "1," * (n // 2) + "1]",
        "fences": "```json\n[" * (n // 9),
    }[kind]
    report = check({"completion": text, "query": text[:1000]})
    assert "text.too_long" in report.parsed.issue_codes()


@pytest.mark.parametrize(
    "item",
    [None, 42, 3.5, [], ["nested", "list"], object(), {"completion": None}, {"completion": 12},
     {"image_size": 5}, {"image_size": [0, 0]}, {"image_size": "640x480"}, {"solution": "box"},
     {"solution": [[1, 2, 3]]}, {"image": "/no/such/file.png"}, {"image": b"not an image"},
     {"completion": "[]", "format": "no_such_format"}, {"completion": "[1,2,3,4]", "coords": "no_such_space"}],
)
def test_odd_inputs(item: Any) -> None:
    check(item)


def test_batches_keep_order_and_length_with_bad_items() -> None:
    items = [{"completion": "[1,2,3,4]", "coords": "original", "id": "a"}, None, {"image_size": 5, "id": "c"}, b"\xff\xfe"]
    reports = CHAIN.verify(items)
    assert [r.id for r in reports][:1] == ["a"] and len(reports) == 4
    assert "sample.invalid" in reports[1].parsed.issue_codes()
    assert "sample.invalid" in reports[2].parsed.issue_codes()
    assert CHAIN.verify([]) == []
    assert len(CHAIN.verify(x for x in ["[1,2,3,4]"])) == 1
