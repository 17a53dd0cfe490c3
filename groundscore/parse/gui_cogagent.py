"""CogAgent operations: ``CLICK(box=[[x1,y1,x2,y2]], element_info='...')``.

CogAgent-9B answers with ``Grounded Operation: CLICK(box=[[387,248,727,317]],
element_info='Search')`` (also ``DOUBLE_CLICK``, ``RIGHT_CLICK``,
``TYPE(box=..., text=...)``, ``HOVER``); the numbers are thousandths of the
image (0..999, decoded as ``value / 1000 * size`` like CogVLM's, so
``norm1000``). The box is kept as a box with its action; ``element_info`` is
its label.
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse import detection
from groundscore.parse.base import Parser, RawParse
from groundscore.parse.gui_common import action_name, add_place, numbers
from groundscore.plugins.hookspecs import hookimpl

_OP = re.compile(
    r"\b([A-Z_]{2,20})\(\s*box\s*=\s*\[\[([-\d\s,.]{1,80})\]\](?:[^)]{0,300}?element_info\s*=\s*['\"]([^'\"]{0,200})['\"])?"
)


class CogAgentParser(Parser):
    name = "cogagent"
    description = "CogAgent: CLICK(box=[[x1,y1,x2,y2]], element_info=...), 0-999"
    default_coords = "norm1000"
    example = "Grounded Operation: CLICK(box=[[387,248,727,317]], element_info='Search')"

    def detect(self, text: str) -> float:
        if "(box=" in text and _OP.search(text) is not None:
            return detection.ACTION_CALL
        return detection.NONE

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        for match in _OP.finditer(text):
            label = match.group(3).strip() or None if match.group(3) else None
            if not add_place(raw, numbers(match.group(2), 5), action_name(match.group(1)), label):
                return raw
        if not raw.found:
            raw.issue("gui.no_coordinate", "no OPERATION(box=[[...]]) found", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(CogAgentParser())
