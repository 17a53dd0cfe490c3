"""OS-Atlas action answers: ``CLICK <point>[[x, y]]</point>`` (0-1000).

OS-Atlas-Base answers grounding queries with Qwen2-VL's box tokens,
``<|box_start|>(x1,y1),(x2,y2)<|box_end|>`` in 0..1000, which the
``qwen2_vl`` parser reads (same tokens, same space). OS-Atlas-Pro, the
action model, writes ``actions:\\nCLICK <point>[[x, y]]</point>`` (and
``TYPE [input]...``, ``SCROLL [UP]``); its points are 0..1000 of the image
too (``norm1000``). Both are read here as points with their action.
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse import detection
from groundscore.parse.base import Parser, RawParse
from groundscore.parse.gui_common import action_name, add_place, numbers
from groundscore.plugins.hookspecs import hookimpl

_POINT = re.compile(r"(?:\b([A-Z_]{2,20})\s*)?<point>\s*\[\[([-\d\s,.]{1,80})\]\]\s*</point>")


class OSAtlasParser(Parser):
    name = "os_atlas"
    description = "OS-Atlas-Pro actions: CLICK <point>[[x, y]]</point>, 0-1000"
    default_coords = "norm1000"
    example = "actions:\nCLICK <point>[[481, 292]]</point>"

    def detect(self, text: str) -> float:
        if "<point>" in text and _POINT.search(text) is not None:
            return detection.DOCUMENTED_SYNTAX
        return detection.NONE

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        for match in _POINT.finditer(text):
            if not add_place(raw, numbers(match.group(2), 5), action_name(match.group(1)) if match.group(1) else None):
                return raw
        if not raw.found:
            raw.issue("gui.no_coordinate", "no <point>[[x, y]]</point> found", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(OSAtlasParser())
