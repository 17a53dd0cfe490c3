"""Kosmos-2's patch tokens: ``<phrase>a snowman</phrase><object><patch_index_0044><patch_index_0863></object>``.

The image is a 32x32 grid of patches; a box is the pair (upper-left patch,
lower-right patch), several boxes of one phrase are separated by
``</delimiter_of_multi_objects/>``. Decoding follows the Hugging Face
processor's ``patch_index_to_coordinate``: patch centres in general, patch
edges when both patches share a row or a column. In the ``patch32`` space a
patch index stands for its centre, so an edge is the index -/+ 0.5.
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse.base import Parser, RawParse
from groundscore.parse.detection import LOCATION_TOKEN
from groundscore.parse.phrases import clean_label
from groundscore.plugins.hookspecs import hookimpl

GRID = 32
_PATCH = re.compile(r"<patch_index_(\d{1,4})>")


def patch_box(ul: int, lr: int, grid: int = GRID) -> tuple[float, float, float, float]:
    """A (upper-left, lower-right) patch pair as a box in patch-index units (centre = index)."""
    ul_x, ul_y = ul % grid, ul // grid
    lr_x, lr_y = lr % grid, lr // grid
    if ul == lr or ul_x == lr_x or ul_y == lr_y:
        return (ul_x - 0.5, ul_y - 0.5, lr_x + 0.5, lr_y + 0.5)
    return (float(ul_x), float(ul_y), float(lr_x), float(lr_y))


class Kosmos2Parser(Parser):
    name = "kosmos2"
    description = "Kosmos-2: <phrase>..</phrase><object><patch_index_XXXX><patch_index_YYYY></object>"
    default_coords = "patch32"
    example = "<phrase> a snowman</phrase><object><patch_index_0044><patch_index_0863></object>"

    def detect(self, text: str) -> float:
        return LOCATION_TOKEN if "<patch_index_" in text else 0.0

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        pending: list[int] = []
        label: str | None = None
        last_end = 0
        for match in _PATCH.finditer(text):
            between = text[last_end : match.start()]
            if "</phrase>" in between:
                start = between.rfind("<phrase>", 0, between.rfind("</phrase>"))
                label = clean_label(between[start + 8 : between.rfind("</phrase>")] if start != -1 else None)
                pending = []
            elif between.strip() and between.strip() not in ("<object>", "</delimiter_of_multi_objects/>"):
                pending = []
            index = int(match.group(1))
            if index >= GRID * GRID:
                raw.issue("box.bad_patch", f"patch index {index} is outside the {GRID}x{GRID} grid", "error")
                pending = []
            else:
                pending.append(index)
            if len(pending) == 2:
                if not raw.add_box(*patch_box(pending[0], pending[1]), label=label):
                    return raw
                pending = []
            last_end = match.end()
        if not raw.found and not raw.issues:
            raw.issue("text.no_boxes", "no <patch_index_N> pair found", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(Kosmos2Parser())
