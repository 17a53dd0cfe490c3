"""PaliGemma's detection tokens: ``<loc0256><loc0128><loc0768><loc0896> cat ; <loc...> dog``.

Four ``<locNNNN>`` tokens per box, **y first** (``ymin, xmin, ymax, xmax``),
each one of 1024 steps of the image's height or width; the label follows the
tokens, objects are separated by ``;``. Segmentation tokens (``<seg012>``)
after a box are ignored. Decoded as ``value / 1024 * size``, as supervision's
``from_paligemma`` does (the ``norm1024`` space).
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse.base import Parser, RawParse
from groundscore.parse.detection import LOCATION_TOKEN
from groundscore.parse.phrases import clean_label, read_boxes
from groundscore.plugins.hookspecs import hookimpl

_BOX = re.compile(r"<loc(\d{4})><loc(\d{4})><loc(\d{4})><loc(\d{4})>((?:<seg\d{3}>){0,16})\s*([^;<]{0,200})")


class PaliGemmaParser(Parser):
    name = "paligemma"
    description = "PaliGemma: <locYMIN><locXMIN><locYMAX><locXMAX> label ; ... (1024 steps, y first)"
    default_coords = "norm1024"
    example = "<loc0256><loc0128><loc0768><loc0896> cat ; <loc0100><loc0500><loc0400><loc1000> dog"

    def detect(self, text: str) -> float:
        return LOCATION_TOKEN if "<loc" in text and _BOX.search(text) is not None else 0.0

    def parse(self, text: str) -> RawParse:
        return read_boxes(text, _BOX, _label_after_box, "no run of four <locNNNN> tokens found", y_first=True)


def _label_after_box(text: str, match: re.Match[str], floor: int, previous: str | None) -> str | None:
    return clean_label(match.group(6))


@hookimpl
def register_parsers(register: Any) -> None:
    register(PaliGemmaParser())
