"""Coordinate spaces, and conversion of boxes into original-image pixels.

Every model family writes coordinates in its own space: Qwen2.5-VL in
absolute pixels of its smart_resize'd input, Qwen2-VL and InternVL in 0-1000,
Shikra in 0-1, ... A :class:`CoordSpace` knows how to map xyxy boxes between
its space and original pixels, given the original image size (w, h).

Spaces are looked up by name with :func:`get_space`; names are what
``Sample.coords`` and :attr:`Parser.default_coords` use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

Size = tuple[int, int]  # (width, height)
XYXY = tuple[float, float, float, float]

# Qwen2.5-VL's image processor defaults (preprocessor_config.json and
# qwen_vl_utils): patch 14, merge 2 -> factor 28; 4*28*28 .. 16384*28*28 pixels.
QWEN_FACTOR = 28
QWEN_MIN_PIXELS = 4 * 28 * 28
QWEN_MAX_PIXELS = 16384 * 28 * 28
QWEN_MAX_RATIO = 200


def _round_by_factor(n: float, factor: int) -> int:
    return round(n / factor) * factor


def _ceil_by_factor(n: float, factor: int) -> int:
    return math.ceil(n / factor) * factor


def _floor_by_factor(n: float, factor: int) -> int:
    return math.floor(n / factor) * factor


def smart_resize_fallback(
    height: int,
    width: int,
    factor: int = QWEN_FACTOR,
    min_pixels: int = QWEN_MIN_PIXELS,
    max_pixels: int = QWEN_MAX_PIXELS,
) -> tuple[int, int]:
    """Qwen2-VL/2.5-VL's resize rule, as in ``qwen_vl_utils.smart_resize``.

    Returns (height, width) of the model input: both multiples of ``factor``,
    the pixel count within [min_pixels, max_pixels], aspect ratio kept as
    closely as possible. Used when neither qwen-vl-utils nor transformers can
    be imported; a test checks it against transformers' copy.
    """
    if max(height, width) / max(1, min(height, width)) > QWEN_MAX_RATIO:
        raise ValueError(
            f"absolute aspect ratio must be smaller than {QWEN_MAX_RATIO}, "
            f"got {max(height, width) / max(1, min(height, width))}"
        )
    h_bar = max(factor, _round_by_factor(height, factor))
    w_bar = max(factor, _round_by_factor(width, factor))
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, _floor_by_factor(height / beta, factor))
        w_bar = max(factor, _floor_by_factor(width / beta, factor))
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = _ceil_by_factor(height * beta, factor)
        w_bar = _ceil_by_factor(width * beta, factor)
    return h_bar, w_bar


def _maintained_smart_resize() -> Callable[..., tuple[int, int]] | None:
    """qwen-vl-utils' smart_resize when installed (it is light to import)."""
    try:
        from qwen_vl_utils import smart_resize  # type: ignore[import-not-found]
    except Exception:  # noqa: BLE001 - any import problem means: use the fallback
        return None
    return smart_resize  # type: ignore[no-any-return]


_SMART_RESIZE = _maintained_smart_resize()


def smart_resize(
    height: int,
    width: int,
    factor: int = QWEN_FACTOR,
    min_pixels: int = QWEN_MIN_PIXELS,
    max_pixels: int = QWEN_MAX_PIXELS,
) -> tuple[int, int]:
    """(height, width) of Qwen2.5-VL's input for an image of this size."""
    if _SMART_RESIZE is not None:
        try:
            return tuple(_SMART_RESIZE(height, width, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels))  # type: ignore[return-value]
        except Exception:  # noqa: BLE001 - fall through to our copy
            pass
    return smart_resize_fallback(height, width, factor, min_pixels, max_pixels)


@dataclass(frozen=True)
class CoordSpace:
    """A coordinate space: how to map xyxy between it and original pixels.

    ``scale(size)`` returns (sx, sy) such that ``original = model * s``
    (every space here is a per-axis scaling of the image; spaces that are not,
    such as bin centres, override :meth:`to_original`). ``needs_size`` is
    False only for ``original``, which is the identity whatever the image.
    """

    name: str
    description: str
    scale: Callable[[Size], tuple[float, float]]
    needs_size: bool = True
    offset: float = 0.0  # added in model space before scaling (bin centres: 0.5)

    def to_original(self, box: XYXY, size: Size | None) -> XYXY:
        if not self.needs_size:
            return box
        if size is None:
            raise ValueError(f"coordinate space {self.name!r} needs the image size")
        sx, sy = self.scale(size)
        o = self.offset
        x1, y1, x2, y2 = box
        return ((x1 + o) * sx, (y1 + o) * sy, (x2 + o) * sx, (y2 + o) * sy)

    def from_original(self, box: XYXY, size: Size | None) -> XYXY:
        if not self.needs_size:
            return box
        if size is None:
            raise ValueError(f"coordinate space {self.name!r} needs the image size")
        sx, sy = self.scale(size)
        o = self.offset
        x1, y1, x2, y2 = box
        return (x1 / sx - o, y1 / sy - o, x2 / sx - o, y2 / sy - o)

    def point_to_original(self, x: float, y: float, size: Size | None) -> tuple[float, float]:
        x1, y1, _, _ = self.to_original((x, y, x, y), size)
        return x1, y1


def qwen25_scale(
    size: Size,
    factor: int = QWEN_FACTOR,
    min_pixels: int = QWEN_MIN_PIXELS,
    max_pixels: int = QWEN_MAX_PIXELS,
) -> tuple[float, float]:
    w, h = size
    rh, rw = smart_resize(h, w, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)
    return (w / rw, h / rh)


def qwen25_space(
    min_pixels: int = QWEN_MIN_PIXELS, max_pixels: int = QWEN_MAX_PIXELS, factor: int = QWEN_FACTOR
) -> CoordSpace:
    """Qwen2.5-VL's space with non-default processor settings."""
    return CoordSpace(
        name="qwen25",
        description=f"absolute pixels of the smart_resize'd input (factor {factor}, pixels {min_pixels}..{max_pixels})",
        scale=lambda s: qwen25_scale(s, factor, min_pixels, max_pixels),
    )


def _normalised(extent: float) -> Callable[[Size], tuple[float, float]]:
    return lambda s: (s[0] / extent, s[1] / extent)


SPACES: dict[str, CoordSpace] = {}


def register_space(space: CoordSpace, *aliases: str) -> None:
    """Make a space available by name (and aliases) to ``Sample.coords``."""
    for key in (space.name, *aliases):
        SPACES[key] = space


register_space(CoordSpace("original", "pixels of the original image", lambda s: (1.0, 1.0), needs_size=False), "pixels", "abs")
register_space(qwen25_space(), "smart_resize", "qwen2.5")
register_space(CoordSpace("norm1000", "0..1000 relative to the image", _normalised(1000.0)))
register_space(CoordSpace("norm1", "0..1 relative to the image", _normalised(1.0)))


def get_space(name: str) -> CoordSpace:
    """The space called ``name``; a KeyError lists the known names."""
    try:
        return SPACES[name]
    except KeyError:
        known = ", ".join(sorted(SPACES))
        raise KeyError(f"unknown coordinate space {name!r}; known: {known}") from None
