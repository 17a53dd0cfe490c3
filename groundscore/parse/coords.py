"""Coordinate spaces, and conversion of boxes between them and original pixels.

Every model family writes coordinates in its own space: Qwen2.5-VL in
absolute pixels of its smart_resize'd input, Qwen2-VL and InternVL in 0-1000,
Ferret in 0-999, PaliGemma in 1024 steps, MiniGPT-v2 in 0-100, Shikra in 0-1, Florence-2 in 1000
quantisation bins, Kosmos-2 in a 32x32 grid of patches. A :class:`CoordSpace`
maps boxes between its space and original pixels, given the original image
size (w, h), in both directions, so that a parser never has to know about
the image and a verifier never has to know about the model.

Spaces are looked up by name with :func:`get_space`; names are what
``Sample.coords`` and :attr:`Parser.default_coords` use. A suffix names the
box layout when it is not ``x1, y1, x2, y2``: ``"original:xywh"`` (COCO
results), ``"norm1:cxcywh"`` (raw Grounding DINO / DETR outputs).

Two kinds of space:

- *continuous* (``original``, ``qwen25``, ``norm1000``, ``norm999``,
  ``norm100``, ``norm1``): ``original = model * scale``;
- *bins* (``bins1000``, ``patch32``): the model writes the index of a cell;
  the cell's centre is the coordinate (``original = (index + 0.5) * scale``),
  which is how Florence-2's and Kosmos-2's own post-processing decode them.

:meth:`CoordSpace.quantize` snaps a model-space box to what the model can
write (integers, or the 0..1 grid's 3 decimals), so that property tests can
check that original -> model -> original moves a box by at most half a unit
of the model's space.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

Size = tuple[int, int]  # (width, height)
XYXY = tuple[float, float, float, float]
BoxLayout = Literal["xyxy", "xywh", "cxcywh"]
BOX_LAYOUTS: tuple[str, ...] = ("xyxy", "xywh", "cxcywh")

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


def smart_resize(
    height: int,
    width: int,
    factor: int = QWEN_FACTOR,
    min_pixels: int = QWEN_MIN_PIXELS,
    max_pixels: int = QWEN_MAX_PIXELS,
) -> tuple[int, int]:
    """Qwen2-VL/2.5-VL's resize rule, as in ``qwen_vl_utils.smart_resize``.

    Returns (height, width) of the model input: both multiples of ``factor``,
    the pixel count within [min_pixels, max_pixels], aspect ratio kept as
    closely as possible. Our own copy, always (qwen-vl-utils' module imports
    torch, and a result must not depend on what is installed); a test checks
    it against transformers' copy.
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


smart_resize_fallback = smart_resize  # the name it had when qwen-vl-utils' copy was preferred


def to_xyxy(box: XYXY, layout: str) -> XYXY:
    """A box in ``layout`` (xyxy, xywh or cxcywh) as x1, y1, x2, y2."""
    a, b, c, d = box
    if layout == "xywh":
        return (a, b, a + c, b + d)
    if layout == "cxcywh":
        return (a - c / 2, b - d / 2, a + c / 2, b + d / 2)
    return box


def from_xyxy(box: XYXY, layout: str) -> XYXY:
    """An x1, y1, x2, y2 box in ``layout``; the inverse of :func:`to_xyxy`."""
    x1, y1, x2, y2 = box
    if layout == "xywh":
        return (x1, y1, x2 - x1, y2 - y1)
    if layout == "cxcywh":
        return ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
    return box


@dataclass(frozen=True)
class CoordSpace:
    """A coordinate space: how to map boxes between it and original pixels.

    ``scale(size)`` returns (sx, sy) such that ``original = (model + offset) * s``
    per axis. ``offset`` is 0.5 for bins spaces (a cell index stands for the
    cell's centre). ``needs_size`` is False only for ``original``, which is
    the identity whatever the image. ``layout`` is how the model writes a box
    (xyxy, xywh or cxcywh); conversion always returns xyxy in original pixels.
    ``unit`` is the smallest step the model writes (1 for integer spaces,
    0.001 for the 0..1 space); ``bins`` is the number of cells per axis of a
    bins space (None for continuous spaces).
    """

    name: str
    description: str
    scale: Callable[[Size], tuple[float, float]]
    needs_size: bool = True
    offset: float = 0.0
    layout: str = "xyxy"
    unit: float = 1.0
    bins: int | None = None

    def to_original(self, box: XYXY, size: Size | None) -> XYXY:
        """A model-space box (in this space's layout) as xyxy original pixels."""
        x1, y1, x2, y2 = to_xyxy(box, self.layout) if self.layout != "xyxy" else box
        if not self.needs_size:
            return (x1, y1, x2, y2)
        if size is None:
            raise ValueError(f"coordinate space {self.name!r} needs the image size")
        sx, sy = self.scale(size)
        o = self.offset
        return ((x1 + o) * sx, (y1 + o) * sy, (x2 + o) * sx, (y2 + o) * sy)

    def from_original(self, box: XYXY, size: Size | None) -> XYXY:
        """An xyxy original-pixel box in this space (continuous, not yet quantised)."""
        x1, y1, x2, y2 = box
        if self.needs_size:
            if size is None:
                raise ValueError(f"coordinate space {self.name!r} needs the image size")
            sx, sy = self.scale(size)
            o = self.offset
            x1, y1, x2, y2 = x1 / sx - o, y1 / sy - o, x2 / sx - o, y2 / sy - o
        return from_xyxy((x1, y1, x2, y2), self.layout) if self.layout != "xyxy" else (x1, y1, x2, y2)

    def quantize(self, box: XYXY) -> XYXY:
        """Snap a model-space box to what the model can write.

        Continuous spaces round to the nearest ``unit``; bins spaces take the
        cell that contains the point (floor, clamped to the grid), as
        Florence-2's quantiser does.
        """
        if self.bins is not None:
            top = self.bins - 1
            return tuple(float(min(top, max(0, math.floor(v + self.offset)))) for v in box)  # type: ignore[return-value]
        u = self.unit
        return tuple(round(v / u) * u for v in box)  # type: ignore[return-value]

    def point_to_original(self, x: float, y: float, size: Size | None) -> tuple[float, float]:
        """A model-space point as original pixels (layouts do not apply to points)."""
        if not self.needs_size:
            return x, y
        if size is None:
            raise ValueError(f"coordinate space {self.name!r} needs the image size")
        sx, sy = self.scale(size)
        return (x + self.offset) * sx, (y + self.offset) * sy

    def unit_px(self, size: Size) -> tuple[float, float]:
        """How many original pixels one model unit (or one cell) spans, per axis."""
        if not self.needs_size:
            return (self.unit, self.unit)
        sx, sy = self.scale(size)
        return (sx * self.unit, sy * self.unit)

    def with_layout(self, layout: str) -> CoordSpace:
        """The same space with boxes written as ``layout`` (xyxy, xywh, cxcywh)."""
        if layout not in BOX_LAYOUTS:
            raise KeyError(f"unknown box layout {layout!r}; known: {', '.join(BOX_LAYOUTS)}")
        if layout == self.layout:
            return self
        return replace(self, name=f"{self.name.split(':', 1)[0]}:{layout}", layout=layout)


@lru_cache(maxsize=4096)
def qwen25_scale(
    size: Size,
    factor: int = QWEN_FACTOR,
    min_pixels: int = QWEN_MIN_PIXELS,
    max_pixels: int = QWEN_MAX_PIXELS,
) -> tuple[float, float]:
    """(original / resized) per axis; cached, as a batch reuses a few image sizes."""
    w, h = size
    rh, rw = smart_resize(h, w, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)
    return (w / rw, h / rh)


def qwen25_space(
    min_pixels: int = QWEN_MIN_PIXELS, max_pixels: int = QWEN_MAX_PIXELS, factor: int = QWEN_FACTOR
) -> CoordSpace:
    """Qwen2.5-VL's space, with the processor's settings (defaults: 28, 3136..12845056 pixels)."""
    return CoordSpace(
        name="qwen25",
        description=f"absolute pixels of the smart_resize'd input (factor {factor}, pixels {min_pixels}..{max_pixels})",
        scale=lambda s: qwen25_scale((int(s[0]), int(s[1])), factor, min_pixels, max_pixels),
    )


def normalised_space(name: str, extent: float, description: str, unit: float = 1.0) -> CoordSpace:
    """A space where ``extent`` stands for the image's full width and height."""
    return CoordSpace(name, description, lambda s: (s[0] / extent, s[1] / extent), unit=unit)


def bins_space(name: str, bins: int, description: str) -> CoordSpace:
    """A space of ``bins`` cells per axis, each index standing for its cell's centre."""
    return CoordSpace(name, description, lambda s: (s[0] / bins, s[1] / bins), offset=0.5, bins=bins)


SPACES: dict[str, CoordSpace] = {}
_DERIVED: dict[str, CoordSpace] = {}


@dataclass(frozen=True)
class SpaceFamily:
    """Spaces named ``prefix:parameter`` and built from the parameter on lookup.

    ``SpaceFamily("input", build)`` makes ``get_space("input:640x480")``
    return ``build("640x480")``, so a space that depends on each batch (a
    resized model input) needs no registration at run time. ``build`` raises
    ``KeyError`` or ``ValueError`` for a parameter it does not accept.
    """

    prefix: str
    description: str
    build: Callable[[str], CoordSpace]


FAMILIES: dict[str, SpaceFamily] = {}


def register_space(space: CoordSpace, *aliases: str) -> None:
    """Store a space by name (and aliases) for ``Sample.coords``.

    The storage the plugin host fills from the ``register_coord_spaces`` hook;
    a plugin registers through the hook, not by calling this.
    """
    for key in (space.name, *aliases):
        SPACES[key] = space
    _DERIVED.clear()


def register_family(family: SpaceFamily) -> None:
    """Store a parametrised family of spaces (the host calls this; see :class:`SpaceFamily`)."""
    FAMILIES[family.prefix] = family
    _family_space.cache_clear()


def unregister_space(name: str) -> None:
    """Forget a space name or a family (``"input:"``); the host calls this when it unloads a plugin."""
    if name.endswith(":"):
        FAMILIES.pop(name[:-1], None)
        _family_space.cache_clear()
    else:
        SPACES.pop(name, None)
    _DERIVED.clear()


@lru_cache(maxsize=1024)
def _family_space(prefix: str, parameter: str) -> CoordSpace:
    return FAMILIES[prefix].build(parameter)


def _input_space(parameter: str) -> CoordSpace:
    """``input:WxH``: pixels of a model input resized to W x H (VLM-R1's ``image_grid_thw * 14``)."""
    w_text, sep, h_text = parameter.partition("x")
    try:
        width, height = int(w_text), int(h_text)
    except ValueError:
        width = height = 0
    if not sep or width <= 0 or height <= 0:
        raise KeyError(f"coordinate space 'input:{parameter}' needs a size WIDTHxHEIGHT, as in 'input:640x480'")
    w, h = float(width), float(height)
    return CoordSpace(
        name=f"input:{width}x{height}",
        description=f"pixels of a {width}x{height} resized model input",
        scale=lambda s: (s[0] / w, s[1] / h),
    )


def _qwen25_family(parameter: str) -> CoordSpace:
    """``qwen25px:MIN-MAX-FACTOR``: Qwen2.5-VL's resized space with a processor's own pixel limits."""
    try:
        lo, hi, factor = (int(v) for v in parameter.split("-"))
    except ValueError:
        lo = hi = factor = 0
    if lo <= 0 or hi < lo or factor <= 0:
        raise KeyError(f"coordinate space 'qwen25px:{parameter}' needs MIN_PIXELS-MAX_PIXELS-FACTOR, as in 'qwen25px:3136-1003520-28'")
    return dataclasses.replace(
        qwen25_space(lo, hi, factor),
        name=f"qwen25px:{lo}-{hi}-{factor}",
        description=f"Qwen2.5-VL resized input, {lo}..{hi} pixels in multiples of {factor}",
    )


BUILTIN_SPACES: tuple[tuple[CoordSpace, tuple[str, ...]], ...] = (
    (CoordSpace("original", "pixels of the original image", lambda s: (1.0, 1.0), needs_size=False), ("pixels", "abs", "absolute")),
    (qwen25_space(), ("smart_resize", "qwen2.5")),
    (normalised_space("norm1000", 1000.0, "integers 0..1000 relative to the image (Qwen2-VL, Qwen3-VL, InternVL)"), ("0-1000",)),
    (normalised_space("norm999", 999.0, "integers 0..999 relative to the image, 999 = the far edge (Ferret)"), ("0-999",)),
    (normalised_space("norm1024", 1024.0, "integers 0..1023 in 1024 steps of the image (PaliGemma)"), ("0-1024",)),
    (normalised_space("norm100", 100.0, "integers 0..100 relative to the image (MiniGPT-v2)"), ("0-100",)),
    (normalised_space("norm1", 1.0, "fractions 0..1 of the image, 3 decimals (Shikra, detectors)", unit=0.001), ("0-1", "relative")),
    (bins_space("bins1000", 1000, "1000 quantisation bins per axis, decoded to bin centres (Florence-2)"), ("florence2_bins",)),
    (bins_space("patch32", 32, "32x32 grid of patches, decoded to patch centres (Kosmos-2)"), ("patch_grid32",)),
)
BUILTIN_FAMILIES: tuple[SpaceFamily, ...] = (
    SpaceFamily("input", "pixels of a resized model input, named input:WIDTHxHEIGHT", _input_space),
    SpaceFamily("qwen25px", "Qwen2.5-VL resized input with other processor pixel limits, named qwen25px:MIN-MAX-FACTOR", _qwen25_family),
)


_host_loader: Callable[[], bool] | None = None
"""Loads the plugins (which fill :data:`SPACES`) when a lookup comes before them; True if that was needed.

Set by the plugin host when it is imported (:func:`set_host_loader`), which
happens with ``import groundscore``: this module is a contract the host
imports, so it must not import the host back.
"""


def set_host_loader(loader: Callable[[], bool] | None) -> None:
    """Install the plugin host's loader (called once by :mod:`groundscore.plugins.manager`)."""
    global _host_loader
    _host_loader = loader


def _host_loaded() -> bool:
    return _host_loader() if _host_loader is not None else False


def get_space(name: str) -> CoordSpace:
    """The space called ``name`` (``"norm1"``, or with a layout: ``"norm1:cxcywh"``).

    Looked up in what the plugins registered (loading them on first use). A
    KeyError lists the known names.
    """
    space = SPACES.get(name)
    if space is not None:
        return space
    derived = _DERIVED.get(name)
    if derived is not None:
        return derived
    base, sep, layout = name.partition(":")
    if sep and base in SPACES:
        derived = SPACES[base].with_layout(layout.strip().lower())
        _DERIVED[name] = derived
        return derived
    if sep and base in FAMILIES:
        return _family_space(base, layout.strip())
    if _host_loaded():
        return get_space(name)
    known = ", ".join([*sorted(SPACES), *(f"{p}:..." for p in sorted(FAMILIES))])
    raise KeyError(f"unknown coordinate space {name!r}; known: {known} (add ':xywh' or ':cxcywh' for other box layouts)")
