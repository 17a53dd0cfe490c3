"""The coordinate space of a model's boxes when the trainer passes no ``image_grid_thw``.

Why: TRL (and verl, OpenRLHF) hand the reward the completion and the
dataset columns, not the resized input size. The space the boxes are in then
follows from the model family and the processor's resize settings:

============== ============================================ ===================
family         boxes are written in                          space
============== ============================================ ===================
qwen2_5_vl     absolute pixels of the smart_resize'd input  ``qwen25`` with the
               (factor ``patch_size * merge_size`` = 28)     processor's min/max
qwen2_vl       0..1000 relative to the image                 ``norm1000``
qwen3_vl       0..1000 relative to the image                 ``norm1000``
internvl       0..1000 relative to the image                 ``norm1000``
glm4v          0..1000 relative to the image                 ``norm1000``
============== ============================================ ===================

:func:`resolve_coords` turns ``coords="auto"`` plus a processor (or explicit
``min_pixels`` / ``max_pixels``) into a registered space name. A Qwen2.5-VL
space with non-default pixel limits is registered under its own name
(``qwen25px:<min>-<max>-<factor>``), so two rewards with different processors
never share it; registration is by value and idempotent, so a reward that
is unpickled in another process registers it again from the same numbers.
"""

from __future__ import annotations

from typing import Any

from groundscore.parse.coords import QWEN_FACTOR, QWEN_MAX_PIXELS, QWEN_MIN_PIXELS

#: model family -> the space its boxes are written in ("qwen25" takes the processor's pixel limits).
FAMILY_SPACES: dict[str, str] = {
    "qwen2_5_vl": "qwen25",
    "qwen2_vl": "norm1000",
    "qwen3_vl": "norm1000",
    "qwen3_vl_moe": "norm1000",
    "internvl": "norm1000",
    "glm4v": "norm1000",
}
_ALIASES = {"qwen2.5-vl": "qwen2_5_vl", "qwen25": "qwen2_5_vl", "qwen2.5vl": "qwen2_5_vl", "qwen2-vl": "qwen2_vl",
            "qwen3-vl": "qwen3_vl", "glm-4v": "glm4v", "glm4.1v": "glm4v", "internvl3": "internvl"}
# Processor / image-processor class names -> family (checked in this order: Qwen2_5 before Qwen2).
_CLASS_HINTS = (("qwen2_5_vl", "qwen2_5_vl"), ("qwen2_5vl", "qwen2_5_vl"), ("qwen3vl", "qwen3_vl"),
                ("qwen3_vl", "qwen3_vl"), ("qwen2vl", "qwen2_vl"), ("qwen2_vl", "qwen2_vl"),
                ("internvl", "internvl"), ("glm4v", "glm4v"))


def family_of(processor: Any = None, model_family: str | None = None) -> str | None:
    """The model family named explicitly, or read from the processor's class name."""
    if model_family:
        key = model_family.strip().lower()
        return _ALIASES.get(key, key)
    if processor is None:
        return None
    names = [type(processor).__name__, type(getattr(processor, "image_processor", None)).__name__]
    for name in (n.lower() for n in names):
        for hint, family in _CLASS_HINTS:
            if hint in name:
                return family
    return None


def pixel_limits(processor: Any = None, min_pixels: int | None = None, max_pixels: int | None = None,
                 factor: int | None = None) -> tuple[int, int, int]:
    """(min_pixels, max_pixels, factor) from explicit values, else the processor, else Qwen2.5-VL's defaults.

    transformers 5 keeps them in ``image_processor.size`` as
    ``shortest_edge`` / ``longest_edge`` (pixel counts, despite the names);
    older versions as ``min_pixels`` / ``max_pixels`` attributes.
    """
    ip = getattr(processor, "image_processor", processor)
    size = getattr(ip, "size", None)

    def pick(*values: Any) -> int | None:
        for value in values:
            if isinstance(value, int | float) and value > 0:
                return int(value)
        return None

    def size_get(key: str) -> Any:
        if size is None:
            return None
        if isinstance(size, dict):
            return size.get(key)
        return getattr(size, key, None)

    lo = pick(min_pixels, getattr(ip, "min_pixels", None), size_get("min_pixels"), size_get("shortest_edge"))
    hi = pick(max_pixels, getattr(ip, "max_pixels", None), size_get("max_pixels"), size_get("longest_edge"))
    patch, merge = pick(getattr(ip, "patch_size", None)), pick(getattr(ip, "merge_size", None))
    f = pick(factor, patch * merge if patch and merge else None)
    return lo or QWEN_MIN_PIXELS, hi or QWEN_MAX_PIXELS, f or QWEN_FACTOR


def resized_space(min_pixels: int, max_pixels: int, factor: int) -> str:
    """The name of Qwen2.5-VL's space for these resize settings (the built-in ``qwen25px`` family resolves it)."""
    if (min_pixels, max_pixels, factor) == (QWEN_MIN_PIXELS, QWEN_MAX_PIXELS, QWEN_FACTOR):
        return "qwen25"
    return f"qwen25px:{min_pixels}-{max_pixels}-{factor}"


def resolve_coords(coords: str | None, processor: Any = None, *, model_family: str | None = None,
                   min_pixels: int | None = None, max_pixels: int | None = None) -> str | None:
    """The space name for ``coords``: as given, or chosen for ``coords="auto"``.

    ``auto`` without a known family but with pixel limits (a processor or
    ``min_pixels`` / ``max_pixels``) means Qwen2.5-VL; with neither it is None
    (the detected format's default). An unknown family is an error, raised
    when the reward is built, not inside the training loop.
    """
    if coords not in (None, "auto"):
        return coords
    limits_given = processor is not None or min_pixels is not None or max_pixels is not None
    if coords is None and not limits_given:
        return None
    family = family_of(processor, model_family)
    if family is None:
        if not limits_given:
            return None
        family = "qwen2_5_vl"
    space = FAMILY_SPACES.get(family)
    if space is None:
        raise ValueError(f"unknown model family {family!r}; known: {sorted(FAMILY_SPACES)} (or pass coords=<space>)")
    if space == "qwen25":
        return resized_space(*pixel_limits(processor, min_pixels, max_pixels))
    return space
