"""Which image paths a remote request may make the server open.

A label may name an ``image`` path, and the chain opens it (its header for
the size, all of it for CLIP). Over HTTP that path comes from a client, so
it is checked before any verifier sees it: it must resolve (symlinks
followed) inside ``image_root`` when one is set, be a regular file (never a
FIFO, a device such as ``/dev/zero``, or a directory), be at most
``max_bytes`` long, and have a readable header of at most ``max_pixels``
pixels, so that decoding it is bounded. Without ``image_root`` paths are
accepted only when the server listens on loopback; bound elsewhere the
server refuses them. A refused image is dropped from the sample (the reward
is computed without it) and the reason is kept in the sample's ``meta``.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from typing import Any


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: only this machine can connect."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ImagePolicy:
    """Checks (and resolves) the image path of each sample built from a request."""

    def __init__(self, root: str | None, *, allow_paths: bool, max_bytes: int, max_pixels: int) -> None:
        self.root = os.path.realpath(root) if root else None
        self.allow_paths = allow_paths or self.root is not None
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels

    def apply(self, samples: list[dict[str, Any]]) -> None:
        """Replace each sample's image by its checked real path, or drop it with the reason."""
        for sample in samples:
            if "image" not in sample:
                continue
            image = sample.pop("image")
            try:
                path, size = self.check(image)
            except (ValueError, OSError) as exc:
                meta = sample.setdefault("meta", {})
                if isinstance(meta, dict):
                    meta["image_refused"] = str(exc)
                continue
            sample["image"] = path
            sample.setdefault("image_size", size)

    def check(self, image: Any) -> tuple[str, tuple[int, int]]:
        """The real path and (width, height) of an acceptable image; ValueError says why not."""
        if not isinstance(image, str) or not image or "\x00" in image:
            raise ValueError("image must be a file path")
        if not self.allow_paths:
            raise ValueError("image paths are refused: the server listens beyond loopback without --image-root")
        path = image
        if self.root is not None:
            path = os.path.join(self.root, image)  # an absolute image path stays absolute
        real = os.path.realpath(path)
        if self.root is not None and os.path.commonpath([self.root, real]) != self.root:
            raise ValueError("image path is outside --image-root")
        try:  # O_NONBLOCK: opening a FIFO must not wait for a writer
            fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            raise ValueError("image file not found or not readable") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise ValueError("image is not a regular file")
        with os.fdopen(fd, "rb") as fh:
            if info.st_size > self.max_bytes:
                raise ValueError(f"image file is larger than {self.max_bytes} bytes")
            size = _header_size(fh)
        if size is None:
            raise ValueError("image header is unreadable")
        if size[0] * size[1] > self.max_pixels:
            raise ValueError(f"image of {size[0]}x{size[1]} pixels exceeds {self.max_pixels}")
        return real, (int(size[0]), int(size[1]))


def _header_size(fh: Any) -> tuple[int, int] | None:
    """(width, height) from the header only; PIL reads the pixels lazily, and never here."""
    try:
        from PIL import Image

        with Image.open(fh) as im:
            w, h = im.size
            return int(w), int(h)
    except Exception:  # noqa: BLE001 - unreadable or a decompression bomb: no size
        return None
