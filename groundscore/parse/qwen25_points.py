"""Qwen2.5-VL's XML points: ``<points x1="" y1="" x2="" y2="" alt="">phrase</points>``.

The cookbook's ``decode_xml_points`` reads the same shape: numbered
``xN``/``yN`` attributes, an ``alt`` text and the phrase as the element's
text. A single ``<point x="" y="">`` is read too. Coordinates are absolute
pixels of the smart_resize'd input (``qwen25``). Molmo writes the same tags
in percent of the image: read its output with ``coords="norm100"``.
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse.base import Parser, RawParse
from groundscore.parse.detection import NONE, TAGGED_ANSWER
from groundscore.parse.phrases import clean_label
from groundscore.plugins.hookspecs import hookimpl

_TAG = re.compile(r"<points?\b([^<>]{0,4000})>([^<]{0,500})(?:</points?>)?", re.IGNORECASE)
_ATTR = re.compile(r"([A-Za-z_]\w{0,20})\s*=\s*[\"']([^\"'<>]{0,200})[\"']")


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class QwenPointsParser(Parser):
    name = "qwen25_points"
    description = "Qwen2.5-VL XML points: <points x1 y1 ... alt>phrase</points>"
    default_coords = "qwen25"
    example = '<points x1="139" y1="768" x2="366" y2="679" alt="small cakes">small cakes</points>'

    def detect(self, text: str) -> float:
        if "<point" in text and _TAG.search(text) is not None:
            return TAGGED_ANSWER
        return NONE

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        for match in _TAG.finditer(text):
            attrs = {k.lower(): v for k, v in _ATTR.findall(match.group(1))}
            label = clean_label(match.group(2)) or clean_label(attrs.get("alt"))
            i = 0
            while True:
                i += 1
                x, y = _float(attrs.get(f"x{i}")), _float(attrs.get(f"y{i}"))
                if i == 1 and x is None:
                    x, y = _float(attrs.get("x")), _float(attrs.get("y"))
                if x is None or y is None:
                    break
                if not raw.add_point(x, y, label):
                    return raw
                if "x1" not in attrs:
                    break
        if not raw.found:
            raw.issue("xml.no_points", "no <points> tag with numeric x/y attributes", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(QwenPointsParser())
