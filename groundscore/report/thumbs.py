"""Thumbnails, made once: the file name is a hash of the image bytes and the size, so reruns reuse them."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

MAX_SIDE = 320


def image_path(sample: Any, images: Path | None) -> Path | None:
    """The image file of a sample, looked up under ``images`` when relative or missing."""
    img = sample.image
    if not isinstance(img, (str, Path)) or not str(img):
        return None
    p = Path(img)
    if p.is_file():
        return p
    if images is not None:
        for candidate in (images / p, images / p.name):
            if candidate.is_file():
                return candidate
    return None


def thumbnail(path: Path, out_dir: Path, max_side: int = MAX_SIDE) -> tuple[str, tuple[int, int]] | None:
    """``(file name under out_dir, original size)``; None when the image cannot be read."""
    from PIL import Image

    try:
        data = path.read_bytes()
    except OSError:
        return None
    digest = hashlib.sha1(data + str(max_side).encode()).hexdigest()[:20]
    name = f"{digest}.jpg"
    target = out_dir / name
    size_file = out_dir / f"{digest}.size"
    if target.is_file() and size_file.is_file():
        w, h = (int(x) for x in size_file.read_text().split())
        return name, (w, h)
    try:
        with Image.open(path) as opened:
            size = opened.size
            image = opened.convert("RGB")
            image.thumbnail((max_side, max_side))
            image.save(target, quality=80)
    except Exception:  # noqa: BLE001 - an unreadable image still gets a text card
        return None
    size_file.write_text(f"{size[0]} {size[1]}")
    return name, size
