"""Aguvis answers: pyautogui code, ``pyautogui.click(x=0.1, y=0.2)``, in 0-1.

Aguvis (and the OS-Copilot / OpenCUA families trained on its data) write
actions as ``pyautogui`` calls with keyword coordinates normalised to the
screenshot, ``x`` and ``y`` in 0..1 (``norm1``): ``click``, ``doubleClick``,
``rightClick``, ``moveTo``, ``dragTo``. Calls without a place (``write``,
``hotkey``, ``press``) are not points and are skipped.
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse import detection
from groundscore.parse.base import Parser, RawParse
from groundscore.parse.gui_common import NUMBER, action_name, add_point
from groundscore.plugins.hookspecs import hookimpl

_CALL = re.compile(rf"pyautogui\.([A-Za-z]{{1,20}})\(\s*x\s*=\s*({NUMBER})\s*,\s*y\s*=\s*({NUMBER})")


class AguvisParser(Parser):
    name = "aguvis"
    description = "Aguvis: pyautogui.click(x=0.1, y=0.2), coordinates 0-1"
    default_coords = "norm1"
    example = "pyautogui.click(x=0.1052, y=0.2341)"

    def detect(self, text: str) -> float:
        if "pyautogui." in text and _CALL.search(text) is not None:
            return detection.ACTION_CALL
        return detection.NONE

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        for match in _CALL.finditer(text):
            if not add_point(raw, float(match.group(2)), float(match.group(3)), action_name(match.group(1))):
                return raw
        if not raw.found:
            raw.issue("gui.no_coordinate", "no pyautogui call with x= and y=", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(AguvisParser())
