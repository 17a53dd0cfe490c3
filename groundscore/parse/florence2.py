"""Florence-2's location tokens: ``car<loc_53><loc_333><loc_933><loc_774>door<loc_...>...``.

Each ``<loc_N>`` is one of 1000 quantisation bins per axis; Florence-2's own
post-processor decodes bin N to its centre, ``(N + 0.5) / 1000 * size``, which
is the ``bins1000`` space. Four tokens make a box and two a point; eight are
two boxes of one phrase, unless they only make sense as a quadrilateral
(OCR with regions writes corners clockwise, so the third corner lies right
of the fourth), which is read as its enclosing box. A run of tokens
with no text before it belongs to the previous label (one phrase, several
boxes). The post-processed dictionary (``{'<OD>': {'bboxes': ..., 'labels':
...}}``) is already in original pixels: the ``detections`` parser reads it.
"""

from __future__ import annotations

import re
from typing import Any

from groundscore.parse.base import Parser, RawParse
from groundscore.parse.detection import LOCATION_TOKEN
from groundscore.parse.phrases import clean_label
from groundscore.plugins.hookspecs import hookimpl

_LOC = re.compile(r"<loc_(\d{1,4})>")


class Florence2Parser(Parser):
    name = "florence2"
    description = "Florence-2: label<loc_x1><loc_y1><loc_x2><loc_y2>, 1000 bins (centres)"
    default_coords = "bins1000"
    example = "car<loc_53><loc_333><loc_933><loc_774>"

    def detect(self, text: str) -> float:
        return LOCATION_TOKEN if "<loc_" in text else 0.0

    def _flush(self, raw: RawParse, run: list[float], label: str | None) -> bool:
        if len(run) == 4:
            return raw.add_box(run[0], run[1], run[2], run[3], label)
        if len(run) == 8 and not (run[0] <= run[2] and run[1] <= run[3] and run[4] <= run[6] and run[5] <= run[7]):
            # a quadrilateral (OCR with regions): its third corner lies right of its fourth
            xs, ys = run[0::2], run[1::2]
            return raw.add_box(min(xs), min(ys), max(xs), max(ys), label)
        if len(run) == 2:
            return raw.add_point(run[0], run[1], label)
        if len(run) % 4 == 0:
            for i in range(0, len(run), 4):
                if not raw.add_box(run[i], run[i + 1], run[i + 2], run[i + 3], label):
                    return False
            return True
        raw.issue("box.bad_arity", f"a run of {len(run)} <loc_> tokens is not a box (4), quad (8) or point (2)", "error")
        return True

    def parse(self, text: str) -> RawParse:
        raw = RawParse()
        run: list[float] = []
        label: str | None = None
        last_end = 0
        for match in _LOC.finditer(text):
            between = text[last_end : match.start()]
            if run and between.strip():
                if not self._flush(raw, run, label):
                    return raw
                run = []
            if not run and between.strip():
                label = clean_label(between) or label
            run.append(float(match.group(1)))
            last_end = match.end()
        if run:
            self._flush(raw, run, label)
        if not raw.found and not raw.issues:
            raw.issue("text.no_boxes", "no <loc_N> tokens found", "error")
        return raw


@hookimpl
def register_parsers(register: Any) -> None:
    register(Florence2Parser())
