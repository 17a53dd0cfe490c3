"""Progress bars for the long commands (``verify``, ``filter``, ``eval``, ``report``, ``calibrate``).

A bar is drawn on stderr only when stderr is a terminal: piped or logged
output stays free of carriage returns. tqdm shows the count and the rate.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any


class _Silent:
    """What a command updates when no bar is drawn."""

    def update(self, n: int = 1) -> None:
        return None

    def set_postfix_str(self, text: str) -> None:
        return None


def enabled(disable: bool = False) -> bool:
    """Whether a bar would be drawn: not turned off, and stderr is a terminal."""
    if disable:
        return False
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # a closed or odd stream
        return False


@contextlib.contextmanager
def progress_bar(desc: str, *, unit: str = "sample", total: int | None = None, disable: bool = False) -> Iterator[Any]:
    """A tqdm bar on stderr (count, rate, and the share done when ``total`` is known), or a silent stand-in."""
    if not enabled(disable):
        yield _Silent()
        return
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit=unit, total=total, file=sys.stderr, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()


def counted(items: Any, desc: str, *, unit: str = "sample", total: int | None = None, disable: bool = False) -> Iterator[Any]:
    """``items`` passed through, one bar step each."""
    with progress_bar(desc, unit=unit, total=total, disable=disable) as bar:
        for item in items:
            yield item
            bar.update(1)
