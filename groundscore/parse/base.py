"""What a parser is: one output format, text in, boxes in the model's space out.

A parser knows the syntax of one model family's answer (Qwen2.5-VL JSON,
InternVL ``<ref>/<box>``, ...) and the coordinate space that family writes
in by default. It does not know about R1 tags (:mod:`groundscore.parse.r1`
strips them first) nor about the image: converting to original pixels is
:mod:`groundscore.parse.coords`' job, done once for every format.

Parsers must never raise on any text and must run in time linear in the
text's length: they sit inside training loops and are fed adversarial junk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from groundscore.model import Box, Issue, Point

MAX_BOXES = 100
"""Every parser stops reading boxes (and points) after this many, with an issue (``box.too_many``).

The ``schema`` gate's default ``max_boxes`` (100): an answer with more fails
that gate whatever its other boxes say, and reading one costs about as much
per box as the rest of the chain costs per answer, so reading 1,000 let one
completion cost 20 typical ones. A configuration that allows more than 100
boxes still fails on ``box.too_many`` (the parser says what it left out)."""


@dataclass(slots=True)
class RawParse:
    """A parser's result, coordinates still in the model's own space."""

    boxes: list[Box] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    no_object: bool = False
    found: bool = False
    coords: str | None = None  # a space the text itself declares, overriding the default
    candidates: list[tuple[list[Box], list[Point], str]] = field(default_factory=list)
    """A hedge's candidates: (boxes, points, where written), model space; empty when there is no hedge."""

    def issue(self, code: str, message: str, severity: str = "warning") -> None:
        self.issues.append(Issue(code=code, message=message, severity=severity))

    def hedge(self, code: str, groups: list[tuple[list[int], list[int], str]], what: str) -> None:
        """Record a hedge: several candidates for one target, given as indices into ``boxes`` and ``points``."""
        self.hedge_places(code, [([self.boxes[i] for i in b], [self.points[i] for i in p], w) for b, p, w in groups], what)

    def hedge_places(self, code: str, groups: list[tuple[list[Box], list[Point], str]], what: str) -> None:
        """Record a hedge from the candidates' own boxes and points (``hedge.*`` issue, every candidate kept)."""
        self.candidates = groups
        listed = "; ".join(
            f"{where}: " + ", ".join([*(str(list(b.xyxy)) for b in boxes), *(f"({q.x}, {q.y})" for q in points)])
            for boxes, points, where in groups
        )
        self.issue(code, f"{what}: {len(groups)} candidates for one target ({listed[:600]})")

    def add_box(
        self, x1: float, y1: float, x2: float, y2: float, label: str | None = None, score: float | None = None,
        action: str | None = None,
    ) -> bool:
        """Append a box (model space); False, with one ``box.too_many`` issue, past :data:`MAX_BOXES`."""
        if len(self.boxes) >= MAX_BOXES:
            if not any(i.code == "box.too_many" for i in self.issues):
                self.issue("box.too_many", f"more than {MAX_BOXES} boxes; the rest are ignored", "error")
            return False
        self.found = True
        self.boxes.append(Box(x1=x1, y1=y1, x2=x2, y2=y2, label=label, score=score, action=action))
        return True

    def add_point(self, x: float, y: float, label: str | None = None, action: str | None = None) -> bool:
        """Append a point (model space); False past :data:`MAX_BOXES` points."""
        if len(self.points) >= MAX_BOXES:
            if not any(i.code == "point.too_many" for i in self.issues):
                self.issue("point.too_many", f"more than {MAX_BOXES} points; the rest are ignored", "error")
            return False
        self.found = True
        self.points.append(Point(x=x, y=y, label=label, action=action))
        return True


class Parser:
    """Base class for format parsers.

    ``name`` is what ``Sample.format`` names. ``default_coords`` is the
    coordinate space (see :mod:`groundscore.parse.coords`) used when the
    sample does not declare one. ``detect`` returns a confidence in [0, 1]
    that ``text`` is in this format, and is the one place a parser says what
    it recognises. It must be cheap (every parser's ``detect`` runs on every
    completion whose format is not given): a substring test, with any regex
    only behind it. Return one of the confidences of
    :mod:`groundscore.parse.detection` (they decide which parser wins).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    default_coords: ClassVar[str] = "original"
    example: ClassVar[str] = ""
    def detect(self, text: str) -> float:
        raise NotImplementedError

    def parse(self, text: str) -> RawParse:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"
