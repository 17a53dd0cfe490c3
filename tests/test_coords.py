"""Coordinate spaces: known conversions both ways, and properties that must hold for every space.

Property tests: original -> model space -> what the model can write
(quantised) -> original moves every coordinate by at most half a unit of
the model's space (half a bin for bins spaces), and boxes stay ordered.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groundscore.parse import CoordSpace, get_space, register_space, smart_resize
from groundscore.parse.coords import SPACES, from_xyxy, smart_resize_fallback, to_xyxy

BASE_SPACES = ["original", "qwen25", "norm1000", "norm999", "norm1024", "norm100", "norm1", "bins1000", "patch32"]
LAYOUTS = ["xyxy", "xywh", "cxcywh"]


@pytest.mark.parametrize(
    ("name", "model_box", "size", "original"),
    [
        ("original", (1, 2, 3, 4), (10, 10), (1, 2, 3, 4)),
        # Qwen2.5-VL: 4080x3072 -> smart_resize 4088x3080 (the cookbook's Origamis.jpg)
        ("qwen25", (1098, 1304, 1576, 1900), (4080, 3072), (1098 * 4080 / 4088, 1304 * 3072 / 3080, 1576 * 4080 / 4088, 1900 * 3072 / 3080)),
        ("norm1000", (500, 250, 1000, 1000), (640, 480), (320, 120, 640, 480)),
        ("norm999", (0, 0, 999, 999), (640, 480), (0, 0, 640, 480)),
        ("norm100", (12, 30, 48, 95), (800, 600), (96, 180, 384, 570)),
        ("norm1024", (128, 256, 896, 768), (1024, 512), (128, 128, 896, 384)),
        ("norm1", (0.25, 0.5, 0.75, 1.0), (400, 200), (100, 100, 300, 200)),
        # Florence-2's documented decoding: car<loc_53><loc_333><loc_933><loc_774> on 640x480
        ("bins1000", (53, 333, 933, 774), (640, 480), (34.24, 160.08, 597.44, 371.76)),
        # Kosmos-2: patch (12, 1) to (31, 26) centres on a unit image
        ("patch32", (12, 1, 31, 26), (1, 1), (0.390625, 0.046875, 0.984375, 0.828125)),
        ("norm1:cxcywh", (0.5, 0.5, 0.2, 0.4), (1000, 500), (400, 150, 600, 350)),
        ("original:xywh", (10, 20, 30, 40), (100, 100), (10, 20, 40, 60)),
        ("norm1000:xywh", (100, 100, 500, 500), (1000, 2000), (100, 200, 600, 1200)),
    ],
)
def test_known_conversions_both_ways(name: str, model_box, size, original) -> None:
    space = get_space(name)
    assert space.to_original(model_box, size) == pytest.approx(original, abs=1e-6)
    assert space.from_original(original, size) == pytest.approx(model_box, abs=1e-6)


@pytest.mark.slow  # importing transformers takes ~20 s on a small machine
def test_smart_resize_matches_transformers() -> None:
    transformers_resize = pytest.importorskip("transformers.models.qwen2_vl.image_processing_qwen2_vl").smart_resize
    for h, w in [(1024, 1024), (3072, 4080), (640, 1138), (465, 640), (28, 28), (100, 5000), (9999, 123), (56, 10000)]:
        expected = transformers_resize(h, w, 28, 4 * 28 * 28, 16384 * 28 * 28)
        assert smart_resize(h, w) == tuple(expected)
        assert smart_resize_fallback(h, w) == tuple(expected)


def test_smart_resize_rejects_extreme_aspect_ratios() -> None:
    with pytest.raises(ValueError, match="aspect ratio"):
        smart_resize_fallback(10, 5000)


def test_unknown_space_lists_known_names() -> None:
    with pytest.raises(KeyError, match="norm1000"):
        get_space("norm7")
    with pytest.raises(KeyError, match="layout"):
        get_space("norm1:yxyx")


def test_spaces_need_the_size_except_original() -> None:
    assert get_space("original").to_original((1, 2, 3, 4), None) == (1, 2, 3, 4)
    with pytest.raises(ValueError, match="image size"):
        get_space("norm1000").to_original((1, 2, 3, 4), None)


def test_register_space_adds_a_named_space() -> None:
    space = CoordSpace("norm2048_test", "0..2048", lambda s: (s[0] / 2048, s[1] / 2048))
    register_space(space, "alias2048_test")
    try:
        assert get_space("alias2048_test").to_original((1024, 0, 2048, 2048), (100, 50)) == (50, 0, 100, 50)
        assert get_space("alias2048_test:xywh").layout == "xywh"
    finally:
        SPACES.pop("norm2048_test")
        SPACES.pop("alias2048_test")


def test_points_ignore_box_layouts_and_use_bin_centres() -> None:
    assert get_space("bins1000").point_to_original(0, 999, (1000, 1000)) == (0.5, 999.5)
    assert get_space("norm1:cxcywh").point_to_original(0.5, 0.5, (10, 20)) == (5, 10)


sizes = st.tuples(st.integers(16, 6000), st.integers(16, 6000)).filter(lambda s: max(s) / min(s) < 150)


@st.composite
def boxes_in(draw, size):
    w, h = size
    xs = sorted(draw(st.lists(st.floats(0, w, allow_nan=False), min_size=2, max_size=2)))
    ys = sorted(draw(st.lists(st.floats(0, h, allow_nan=False), min_size=2, max_size=2)))
    return (xs[0], ys[0], xs[1], ys[1])


@settings(max_examples=150, deadline=None)
@given(data=st.data(), name=st.sampled_from(BASE_SPACES), layout=st.sampled_from(LAYOUTS), size=sizes)
def test_round_trip_within_half_a_unit_and_ordered(data, name: str, layout: str, size) -> None:
    space = get_space(name if layout == "xyxy" else f"{name}:{layout}")
    box = data.draw(boxes_in(size))
    model = space.from_original(box, size)
    # what the model can write: quantised in its own xyxy grid (layouts are only a way of writing it)
    xyxy_space = get_space(name)
    written = xyxy_space.quantize(xyxy_space.from_original(box, size))
    back = xyxy_space.to_original(written, size)
    ux, uy = xyxy_space.unit_px(size)
    tol = (ux / 2 + 1e-6 * max(size), uy / 2 + 1e-6 * max(size))
    for i, (a, b) in enumerate(zip(back, box, strict=True)):
        assert abs(a - b) <= tol[i % 2], (name, box, written, back)
    assert back[0] <= back[2] and back[1] <= back[3]
    # the layout round trip itself is exact (up to float error) and ordered
    again = space.to_original(model, size)
    assert again == pytest.approx(box, abs=1e-6 * max(size) + 1e-9)
    assert again[0] <= again[2] + 1e-9 and again[1] <= again[3] + 1e-9


@settings(max_examples=100, deadline=None)
@given(a=st.floats(-1e6, 1e6), b=st.floats(-1e6, 1e6), c=st.floats(0, 1e6), d=st.floats(0, 1e6), layout=st.sampled_from(LAYOUTS))
def test_layout_conversions_invert(a, b, c, d, layout) -> None:
    box = (a, b, a + c, b + d)
    assert to_xyxy(from_xyxy(box, layout), layout) == pytest.approx(box, rel=1e-9, abs=1e-6)
    x1, y1, x2, y2 = to_xyxy(from_xyxy(box, layout), layout)
    assert x1 <= x2 + 1e-6 and y1 <= y2 + 1e-6


@settings(max_examples=100, deadline=None)
@given(size=sizes, name=st.sampled_from(["bins1000", "patch32"]), data=st.data())
def test_bins_quantise_like_the_models(size, name, data) -> None:
    """floor(x / size * bins), clamped: the cell that holds the point, as Florence-2 quantises."""
    space = get_space(name)
    box = data.draw(boxes_in(size))
    cells = space.quantize(space.from_original(box, size))
    bins = space.bins
    for i, (cell, v) in enumerate(zip(cells, box, strict=True)):
        exact = v / size[i % 2] * bins
        expected = min(bins - 1, math.floor(exact))
        on_edge = abs(exact - round(exact)) < 1e-9  # float rounding may pick either neighbour
        assert cell == expected or (on_edge and abs(cell - expected) == 1)
