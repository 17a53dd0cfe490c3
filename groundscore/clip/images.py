"""Decoding each distinct image once, into a cache bounded in bytes.

In a GRPO step every image appears once per completion (8 or 16 times), and
from one step to the next rarely again; decoding is the most expensive step
of a naive pipeline. Images are decoded with ``torchvision.io`` (JPEGs on
the GPU with nvjpeg when the device is CUDA), kept as uint8 (3, H, W)
tensors on the device, and evicted least-recently-used once the cache holds
more than ``max_bytes``. A strongly blurred, downsampled copy (for the
``blur`` isolation mode) is cached next to the image.

Keys are content-based: a path by (path, size, mtime), bytes by a BLAKE2
digest, a PIL image by a digest of its pixels, so a changed file is never
served from the cache.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

BLUR_SIDE = 24  # the blurred copy keeps about this many pixels along its short side


@dataclass
class DecodedImage:
    """An image on the device: ``pixels`` uint8 (3, H, W), ``blurred`` float (3, h, w) or None.

    ``level(k)`` is the image average-pooled by ``2**k`` (built on demand, kept):
    a large box shrunk to a small model input is sampled from the level
    closest to its output size, so roi_align needs only a couple of samples
    per output pixel instead of hundreds, and the pooling is the antialiasing.
    """

    pixels: torch.Tensor
    blurred: torch.Tensor | None = None
    blur_scale: float = 1.0
    levels: list[torch.Tensor] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return (int(self.pixels.shape[2]), int(self.pixels.shape[1]))

    @property
    def max_level(self) -> int:
        """The coarsest pyramid level that keeps at least 8 pixels on the short side."""
        side = min(self.pixels.shape[1:])
        return max(0, int(side // 8).bit_length() - 1)

    def level(self, k: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The image average-pooled by ``2**k`` (floor sizes); levels >= 1 are kept in ``dtype``."""
        if k <= 0:
            return self.pixels
        while len(self.levels) < k:
            prev = self.levels[-1] if self.levels else self.pixels.to(dtype)
            self.levels.append(F.avg_pool2d(prev.unsqueeze(0), 2)[0])
        return self.levels[k - 1]

    @property
    def nbytes(self) -> int:
        n = self.pixels.numel() * self.pixels.element_size()
        if self.blurred is not None:
            n += self.blurred.numel() * self.blurred.element_size()
        return n + sum(t.numel() * t.element_size() for t in self.levels)


def image_key(image: Any) -> str | None:
    """A content-based cache key for a path, bytes or PIL image; None when unusable."""
    if isinstance(image, str | Path):
        try:
            st = os.stat(image)
        except OSError:
            return None
        return f"path:{os.path.abspath(image)}:{st.st_size}:{st.st_mtime_ns}"
    if isinstance(image, bytes | bytearray | memoryview):
        return "bytes:" + hashlib.blake2b(bytes(image), digest_size=16).hexdigest()
    if hasattr(image, "tobytes") and hasattr(image, "size") and hasattr(image, "mode"):
        digest = hashlib.blake2b(image.tobytes(), digest_size=16).hexdigest()
        return f"pil:{image.mode}:{image.size}:{digest}"
    return None


def _read_bytes(image: Any) -> bytes:
    if isinstance(image, str | Path):
        from groundscore.inputs.samples import not_a_file

        problem = not_a_file(image)  # checked before opening: a FIFO would block forever
        if problem is not None:
            raise ValueError(problem)
        return Path(image).read_bytes()
    return bytes(image)


def decode(image: Any, device: torch.device) -> torch.Tensor:
    """Any accepted image -> uint8 (3, H, W) RGB on ``device``.

    torchvision first (nvjpeg for JPEG on CUDA); PIL as the fallback for
    formats torchvision's build cannot read. Raises on unreadable input.
    """
    from torchvision.io import ImageReadMode, decode_image, decode_jpeg

    if hasattr(image, "convert") and not isinstance(image, str | bytes | Path):
        return _from_pil(image, device)
    data = _read_bytes(image)
    raw = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    if device.type == "cuda" and data[:3] == b"\xff\xd8\xff":
        try:
            return decode_jpeg(raw, mode=ImageReadMode.RGB, device=device)
        except RuntimeError:
            pass  # progressive/CMYK JPEGs nvjpeg refuses: decode on the CPU
    try:
        pixels = decode_image(raw, mode=ImageReadMode.RGB)
    except RuntimeError:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            return _from_pil(im, device)
    return pixels.to(device, non_blocking=True)


def _from_pil(image: Any, device: torch.device) -> torch.Tensor:
    import numpy as np

    array = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous().to(device)


def blurred_copy(pixels: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, float]:
    """A downsampled, smoothed copy for the blur mode, and its scale (small / original).

    Sampling this copy with roi_align at ``spatial_scale=scale`` gives a
    strong blur (radius about ``1/scale`` original pixels) without ever
    building a full-size blurred image.
    """
    _, h, w = pixels.shape
    factor = max(1, min(h, w) // BLUR_SIDE)
    x = pixels.unsqueeze(0).to(dtype)
    if factor > 1:
        x = F.avg_pool2d(x, kernel_size=factor, stride=factor, ceil_mode=True)
    x = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel_size=3, stride=1)
    return x[0], 1.0 / factor


class ImageCache:
    """LRU cache of decoded images, bounded by the bytes it holds on the device."""

    def __init__(self, device: torch.device, max_bytes: int, dtype: torch.dtype = torch.float32) -> None:
        self.device = device
        self.max_bytes = max_bytes
        self.dtype = dtype
        self._items: OrderedDict[str, DecodedImage] = OrderedDict()
        self.nbytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, image: Any, *, blur: bool = False, key: str | None = None) -> DecodedImage:
        """The decoded image (decoding on a miss). Raises when the image cannot be read."""
        key = key if key is not None else image_key(image)
        item = self._items.get(key) if key is not None else None
        if item is not None:
            self._items.move_to_end(key)  # type: ignore[arg-type]
            self.hits += 1
        else:
            self.misses += 1
            item = DecodedImage(decode(image, self.device))
            if key is not None:
                self._put(key, item)
        if blur and item.blurred is None:
            item.blurred, item.blur_scale = blurred_copy(item.pixels, self.dtype)
            if key is not None and key in self._items:
                self.nbytes += item.blurred.numel() * item.blurred.element_size()
                self._evict(keep=key)
        return item

    def _put(self, key: str, item: DecodedImage) -> None:
        self._items[key] = item
        self.nbytes += item.nbytes
        self._evict(keep=key)

    def _evict(self, keep: str) -> None:
        while self.nbytes > self.max_bytes and len(self._items) > 1:
            old_key = next(iter(self._items))
            if old_key == keep:
                self._items.move_to_end(old_key)
                old_key = next(iter(self._items))
            self.nbytes -= self._items.pop(old_key).nbytes
        if self.nbytes > self.max_bytes and keep in self._items:
            # A single image larger than the whole budget is used once, not kept.
            self.nbytes -= self._items.pop(keep).nbytes

    def clear(self) -> None:
        self._items.clear()
        self.nbytes = 0
