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
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from groundscore.model import Box, Issue, Point

M = TypeVar("M", bound=BaseModel)

_MISSING = object()
# per model: (field defaults in field order, factory fields, required fields, field count)
_SHAPES: dict[type, tuple[dict[str, Any], tuple[tuple[str, Any], ...], tuple[str, ...], int]] = {}


def _shape(cls: type[BaseModel]) -> tuple[dict[str, Any], tuple[tuple[str, Any], ...], tuple[str, ...], int]:
    template: dict[str, Any] = {}
    factories = []
    required = []
    for name, info in cls.model_fields.items():
        template[name] = _MISSING if info.default is PydanticUndefined else info.default
        if info.default_factory is not None:
            factories.append((name, info.default_factory))
        elif info.default is PydanticUndefined:
            required.append(name)
    shape = _SHAPES[cls] = (template, tuple(factories), tuple(required), len(template))
    return shape


def unchecked(cls: type[M], **values: Any) -> M:
    """A pydantic model instance built from values the parser made itself, without validation.

    Parsing sits inside training steps: validating boxes whose coordinates
    are floats we just computed buys nothing. ``model_construct`` would skip
    validation too, but in pydantic 2 it costs more than validating (it walks
    every field in Python); this copies a per-model template of defaults,
    laid out in field order (so JSON output looks the same as for a
    validated instance), and sets the instance's ``__dict__`` directly.
    Missing fields get their defaults; a required field that is missing or a
    name that is not a field is a ``TypeError``, as a typo should be. Only
    for models without private attributes or extra fields (Box, Point,
    Issue, Parsed, Verdict, Report).
    """
    template, factories, required, count = _SHAPES.get(cls) or _shape(cls)
    data = template.copy()
    data.update(values)
    if len(data) != count:
        raise TypeError(f"{cls.__name__} has no field(s) {sorted(set(data) - set(template))}")
    for name, factory in factories:
        if data[name] is _MISSING:
            data[name] = factory()
    for name in required:
        if data[name] is _MISSING:
            raise TypeError(f"{cls.__name__}: missing required field {name!r}")
    obj = _new(cls)
    _set_dict(obj, data)
    # a mutable set: pydantic adds to it when a field is assigned later (report.reward = ...)
    _set_fields_set(obj, set(values))
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


_new = object.__new__
# BaseModel's own slots, set through their descriptors: what object.__setattr__ does, without
# looking the name up on every call (these constructors run several times per completion).
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def trusted(cls: type[M], data: dict[str, Any]) -> M:
    """The fastest construction: ``data`` holds EVERY field of ``cls``, in field order.

    For the few hot spots that build one object per completion (boxes,
    verdicts, reports); :func:`unchecked` checks names and fills defaults,
    this does neither, so a test compares its output with a validated
    instance for each model it is used on.
    """
    obj = _new(cls)
    _set_dict(obj, data)
    fields = _ALL_FIELDS.get(cls)
    if fields is None:
        fields = _ALL_FIELDS[cls] = set(cls.model_fields)
    _set_fields_set(obj, fields)  # shared: see below
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


# The "fields set" of every trusted instance of a class is one shared set naming every field.
# Pydantic only ever adds to it (assigning ``report.reward`` adds "reward", already there, so
# nothing changes) or copies it (``model_copy``), so sharing is safe, and it saves building,
# tracking and freeing one set per object, four per completion. Do not mutate
# ``model_fields_set`` of these objects in place.


_ALL_FIELDS: dict[type, set[str]] = {Box: set(Box.model_fields)}
_BOX_FIELDS = _ALL_FIELDS[Box]


def new_box(x1: float, y1: float, x2: float, y2: float, label: str | None = None, score: float | None = None) -> Box:
    """``trusted(Box, ...)`` written out: the one object every parsed box needs, built at least cost.

    The values must already be what validation would make of them (floats,
    a ``str`` or None label, a float or None score).
    """
    box = _new(Box)
    _set_dict(box, {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "label": label, "score": score, "action": None})
    _set_fields_set(box, _BOX_FIELDS)  # shared, as in trusted()
    _set_extra(box, None)
    _set_private(box, None)
    return box


MAX_BOXES = 1000
"""Every parser stops reading boxes (and points) after this many, with an issue."""


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
        self.issues.append(unchecked(Issue, code=code, message=message, severity=severity))

    def add_box(
        self, x1: float, y1: float, x2: float, y2: float, label: str | None = None, score: float | None = None
    ) -> bool:
        """Append a box (model space); False, with one ``box.too_many`` issue, past :data:`MAX_BOXES`.

        Built with :func:`trusted`: the values are floats the parser made,
        so pydantic validation would only cost time on the hot path.
        """
        if len(self.boxes) >= MAX_BOXES:
            if not any(i.code == "box.too_many" for i in self.issues):
                self.issue("box.too_many", f"more than {MAX_BOXES} boxes; the rest are ignored", "error")
            return False
        self.found = True
        self.boxes.append(new_box(x1, y1, x2, y2, label, score))
        return True

    def add_point(self, x: float, y: float, label: str | None = None) -> bool:
        """Append a point (model space); False past :data:`MAX_BOXES` points."""
        if len(self.points) >= MAX_BOXES:
            if not any(i.code == "point.too_many" for i in self.issues):
                self.issue("point.too_many", f"more than {MAX_BOXES} points; the rest are ignored", "error")
            return False
        self.found = True
        self.points.append(unchecked(Point, x=x, y=y, label=label))
        return True


class Parser:
    """Base class for format parsers.

    ``name`` is what ``Sample.format`` names. ``default_coords`` is the
    coordinate space (see :mod:`groundscore.parse.coords`) used when the
    sample does not declare one. ``detect`` returns a confidence in [0, 1]
    that ``text`` is in this format; it must be cheap (it runs on every
    completion when the format is not given): a substring test, with any
    regex only behind it.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    default_coords: ClassVar[str] = "original"
    example: ClassVar[str] = ""
    markers: ClassVar[tuple[str, ...]] = ()
    """Substrings of which at least one occurs in every text ``detect`` accepts.

    Auto-detection tests each distinct marker once per completion and asks
    only the parsers whose markers occur (and every parser without markers),
    so fifteen formats cost little more than one. Empty: always asked.
    ``detect`` must still be right on its own.
    """
    excluded_by: ClassVar[tuple[str, ...]] = ()
    """Substrings whose presence means ``detect`` returns 0: the parser is not asked then.

    Qwen's ``"bbox_2d"`` rules out the detector-list format, a ``{`` the
    bracketed-phrase formats. A promise about ``detect``, tested for every
    built-in parser.
    """

    def detect(self, text: str) -> float:
        raise NotImplementedError

    def parse(self, text: str) -> RawParse:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"
