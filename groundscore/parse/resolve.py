"""From the model's coordinate space to original-image pixels, once for every format.

A parser returns boxes in the space its model writes in (see
:mod:`groundscore.parse.coords`); here the space is looked up, with the
Qwen2.5-VL spaces built from the processor settings in :class:`ParseConfig`,
and the boxes and points are converted when the image size allows it.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from groundscore.model import Box, Point
from groundscore.parse.base import RawParse
from groundscore.parse.coords import (
    QWEN_FACTOR,
    QWEN_MAX_PIXELS,
    QWEN_MIN_PIXELS,
    CoordSpace,
    get_space,
    qwen25_space,
)


class ParseConfig(BaseModel):
    """Parsing limits and Qwen2.5-VL processor settings."""

    model_config = ConfigDict(extra="forbid")

    max_chars: int = Field(default=65_536, gt=0, description="Longer completions are cut (with an issue).")
    min_pixels: int = Field(default=QWEN_MIN_PIXELS, gt=0)
    max_pixels: int = Field(default=QWEN_MAX_PIXELS, gt=0)
    factor: int = Field(default=QWEN_FACTOR, gt=0)


QWEN_NAMES = ("qwen25", "smart_resize", "qwen2.5")
"""The names of Qwen2.5-VL's smart_resize space, whose scale depends on the processor settings."""


@lru_cache(maxsize=64)
def _custom_qwen(min_pixels: int, max_pixels: int, factor: int) -> CoordSpace:
    return qwen25_space(min_pixels, max_pixels, factor)


def resolve_space(name: str, config: ParseConfig) -> CoordSpace:
    """The coordinate space called ``name``; Qwen's built from ``config``'s processor settings when they differ.

    Raises ``KeyError`` for an unknown name (the caller turns it into a ``coords.error`` issue).
    """
    if name in QWEN_NAMES and (config.min_pixels, config.max_pixels, config.factor) != (QWEN_MIN_PIXELS, QWEN_MAX_PIXELS, QWEN_FACTOR):
        return _custom_qwen(config.min_pixels, config.max_pixels, config.factor)
    return get_space(name)


def to_original(
    raw: RawParse, space: CoordSpace, image_size: tuple[int, int] | None
) -> tuple[list[Box], list[Point], bool]:
    """Boxes and points in original pixels, and True; or unchanged and False when the image size is needed but unknown."""
    if not space.needs_size:
        if space.layout == "xyxy":  # original pixels already (or a fixed-scale space)
            return raw.boxes, raw.points, True
        image_size = (1, 1)
    elif image_size is None:
        return raw.boxes, raw.points, False
    boxes = []
    for b in raw.boxes:
        x1, y1, x2, y2 = space.to_original((b.x1, b.y1, b.x2, b.y2), image_size)
        boxes.append(Box(x1=x1, y1=y1, x2=x2, y2=y2, label=b.label, score=b.score, action=b.action))
    points = []
    for p in raw.points:
        x, y = space.point_to_original(p.x, p.y, image_size)
        points.append(Point(x=x, y=y, label=p.label, action=p.action))
    return boxes, points, True
