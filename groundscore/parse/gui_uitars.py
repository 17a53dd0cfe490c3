"""UI-TARS actions: ``Action: click(start_box='(x,y)')``, ``drag(start_box=..., end_box=...)``.

UI-TARS writes one action call per step after ``Thought:``; the place is a
``start_box`` (and ``end_box`` for drags), ``'(x,y)'`` or ``'(x1,y1,x2,y2)'``,
in UI-TARS-1 often wrapped in ``<|box_start|>...<|box_end|>``. The two
generations write different spaces:

- UI-TARS (1.0, 2025-01): integers in 0..1000 of the image (``norm1000``),
  the default here;
- UI-TARS-1.5: absolute pixels of the smart_resize'd input, like Qwen2.5-VL;
  declare ``coords="qwen25"`` on the sample (the text itself does not say).

A box is kept as a box; its centre is where UI-TARS' own action code clicks.
Action names are merged with :func:`~groundscore.parse.gui_common.action_name`
(``left_single`` is ``click``, ``left_double`` is ``double_click``).
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse import detection
from groundscore.parse.base import Parser, RawParse
from groundscore.parse.gui_common import action_name, add_place, numbers
from groundscore.plugins.hookspecs import hookimpl

_CALL = re.compile(r"\b([A-Za-z_]{1,30})\(\s*((?:start_box|end_box|point|start_point|end_point)\s*=.{0,600}?)\)\s*(?:\n|$)", re.DOTALL)
_ARG = re.compile(r"(start_box|end_box|point|start_point|end_point)\s*=\s*['\"]([^'\"]{1,300})['\"]")


class UITarsParser(Parser):
    name = "uitars"
    description = "UI-TARS actions: click(start_box='(x,y)'); 0-1000 (UI-TARS-1), coords='qwen25' for UI-TARS-1.5"
    default_coords = "norm1000"
    example = "Thought: The Save button is in the top bar.\nAction: click(start_box='(235,512)')"

    def detect(self, text: str) -> float:
        if ("start_box" in text or "start_point" in text or "point=" in text) and _ARG.search(text) is not None:
            return detection.ACTION_CALL
        return detection.NONE

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        for call in _CALL.finditer(text + "\n"):
            action = action_name(call.group(1))
            for key, value in _ARG.findall(call.group(2)):
                nums = numbers(value, 5)
                place_action = "drag_end" if key.startswith("end") else action
                if not add_place(raw, nums, place_action):
                    return raw
        if not raw.found:
            raw.issue("gui.no_coordinate", "no action call with a start_box", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(UITarsParser())
