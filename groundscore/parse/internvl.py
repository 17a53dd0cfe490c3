"""InternVL (and Qwen-VL, MiniCPM-V) boxes: ``<ref>label</ref><box>[[x1, y1, x2, y2]]</box>``.

One ``<box>`` may hold several boxes (``[[...], [...]]``). The same tags are
used by Qwen-VL (v1), which writes ``<box>(x1,y1),(x2,y2)</box>``, and by
MiniCPM-V, which writes ``<box>x1 y1 x2 y2</box>``: all three are read, as
groups of four numbers. Coordinates are 0..1000 relative to the image
(``norm1000``) in all of them.
"""

from __future__ import annotations

from typing import Any

from groundscore.parse.base import Parser, RawParse
from groundscore.parse.detection import FAMILY_TAG, NONE
from groundscore.parse.phrases import clean_label, numbers, phrase_before
from groundscore.plugins.hookspecs import hookimpl

MAX_BOX_TEXT = 20_000


def _last_ref(text: str, lo: int, hi: int) -> str | None:
    """The text of the last ``<ref>...</ref>`` between lo and hi."""
    end = text.rfind("</ref>", lo, hi)
    if end == -1:
        return None
    start = text.rfind("<ref>", lo, end)
    return clean_label(text[start + 5 : end]) if start != -1 else None


class InternVLParser(Parser):
    name = "internvl"
    description = "InternVL / Qwen-VL / MiniCPM-V: <ref>label</ref><box>[[x1, y1, x2, y2]]</box>"
    default_coords = "norm1000"
    example = "<ref>the man in red</ref><box>[[120, 45, 480, 990]]</box>"

    def detect(self, text: str) -> float:
        if "<box>" in text:
            return FAMILY_TAG
        return NONE

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        pos = floor = 0
        while True:
            start = text.find("<box>", pos)
            if start == -1:
                break
            end = text.find("</box>", start + 5)
            if end == -1:
                raw.issue("box.unclosed", "<box> is never closed; reading to the end", "warning")
                end = min(len(text), start + 5 + MAX_BOX_TEXT)
            inner = text[start + 5 : min(end, start + 5 + MAX_BOX_TEXT)]
            label = _last_ref(text, floor, start) or phrase_before(text, start, floor)
            values = numbers(inner)
            if len(values) % 4 != 0 or not values:
                raw.issue("box.bad_arity", f"<box> holds {len(values)} numbers, not groups of 4", "error")
            for i in range(0, len(values) - 3, 4):
                if not raw.add_box(values[i], values[i + 1], values[i + 2], values[i + 3], label):
                    return raw
            pos = floor = end + 6
        if not raw.found and not raw.issues:
            raw.issue("box.missing", "no <box>...</box> found", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(InternVLParser())
