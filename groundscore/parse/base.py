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


@dataclass(slots=True)
class RawParse:
    """A parser's result, coordinates still in the model's own space."""

    boxes: list[Box] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    no_object: bool = False
    found: bool = False
    coords: str | None = None  # a space the text itself declares, overriding the default

    def issue(self, code: str, message: str, severity: str = "warning") -> None:
        self.issues.append(Issue(code=code, message=message, severity=severity))  # type: ignore[arg-type]


class Parser:
    """Base class for format parsers.

    ``name`` is what ``Sample.format`` names. ``default_coords`` is the
    coordinate space (see :mod:`groundscore.parse.coords`) used when the
    sample does not declare one. ``detect`` returns a confidence in [0, 1]
    that ``text`` is in this format; it must be cheap (it runs for every
    parser on every completion when the format is not given).
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
