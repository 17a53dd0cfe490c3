"""Completion text -> :class:`~groundscore.model.Parsed`, for every registered format.

Steps, the same for every format: cap the text; split R1 tags; pick a parser
(``Sample.format`` when given, else the registered parser whose ``detect``
is most confident); parse the answer (and, when the answer holds nothing, the
text outside the tags, where some models put their box); convert boxes from
the model's coordinate space to original-image pixels. Nothing here raises on
any input: problems become :class:`~groundscore.model.Issue` entries.

Detection asks every parser whose markers occur in the answer (and none of
whose ``excluded_by`` strings do) for a confidence (each ``detect`` is a
substring test, with a bounded regex only behind it), keeps the best, and
records the choice and the rejected alternatives in one ``format.detected``
(or, when another format that reads coordinates in a different space was
nearly as plausible, ``format.ambiguous``) info issue. An explicit
``Sample.format`` is never second-guessed.

This runs for every completion of a training step, so the common shapes
take shortcuts (see ``tests/test_fast_paths.py``, which checks each against
the general path it stands in for).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from groundscore.model import Box, Issue, Parsed, Point, Sample
from groundscore.parse.base import Parser, RawParse, new_box, trusted, unchecked
from groundscore.parse.coords import (
    QWEN_FACTOR,
    QWEN_MAX_PIXELS,
    QWEN_MIN_PIXELS,
    SPACES,
    CoordSpace,
    get_space,
    qwen25_space,
    register_space,
    smart_resize,
)
from groundscore.parse.r1 import split_r1

__all__ = [
    "CoordSpace",
    "ParseConfig",
    "Parser",
    "ParserTable",
    "RawParse",
    "detect_format",
    "get_space",
    "is_no_object_answer",
    "parse_completion",
    "parser_table",
    "register_space",
    "smart_resize",
]

# Explicit "nothing there" answers. Bounded: applied to at most 300 characters.
_NO_OBJECT = re.compile(
    r"^\W*(none|null|n/?a|no|nothing|not found|not present|no object|no such object|"
    r"no match(?:ing)? object|not (?:visible|in the image))\W*$"
    r"|\b(?:there (?:is|are) no|(?:does|do) not (?:exist|appear)|(?:cannot|can ?not|can't|could not|couldn't|unable to) "
    r"(?:find|locate|see|identify|detect)|is not (?:visible|present|in the image)|no (?:such|matching) \w+)\b",
    re.IGNORECASE,
)

# An alternative this close to the chosen format's confidence makes the choice ambiguous.
AMBIGUITY_MARGIN = 0.2


class ParseConfig(BaseModel):
    """Parsing limits and Qwen2.5-VL processor settings."""

    model_config = ConfigDict(extra="forbid")

    max_chars: int = Field(default=65_536, gt=0, description="Longer completions are cut (with an issue).")
    min_pixels: int = Field(default=QWEN_MIN_PIXELS, gt=0)
    max_pixels: int = Field(default=QWEN_MAX_PIXELS, gt=0)
    factor: int = Field(default=QWEN_FACTOR, gt=0)


_QWEN_NAMES = ("qwen25", "smart_resize", "qwen2.5")
_CUSTOM_QWEN: dict[tuple[int, int, int], CoordSpace] = {}


def _space(name: str, config: ParseConfig) -> CoordSpace:
    if name not in _QWEN_NAMES:
        return get_space(name)
    key = (config.min_pixels, config.max_pixels, config.factor)
    if key != (QWEN_MIN_PIXELS, QWEN_MAX_PIXELS, QWEN_FACTOR):
        space = _CUSTOM_QWEN.get(key)
        if space is None:
            space = _CUSTOM_QWEN[key] = qwen25_space(config.min_pixels, config.max_pixels, config.factor)
        return space
    return get_space(name)


def is_no_object_answer(text: str | None) -> bool:
    """True when the answer says explicitly that the target is not there."""
    if text is None:
        return False
    snippet = text.strip()[:300]
    return bool(snippet) and _NO_OBJECT.search(snippet) is not None


def _strings(value: object) -> list[str]:
    """A parser's ``markers`` or ``excluded_by``, keeping only non-empty strings (plugins may get it wrong)."""
    if not isinstance(value, tuple | list | frozenset | set):
        return []
    return [m for m in value if isinstance(m, str) and m]


class _Plan:
    """For one parser set: the distinct strings to look for, and which parsers to ask for each outcome.

    ``present(text)`` is a function generated for this set: one ``in`` test
    per distinct string, grouped by first character (a text without ``<``
    skips every ``<...`` marker with one test), returning a bitmask.
    ``parsers_for(mask)`` maps that mask to the parsers whose markers occur
    and none of whose ``excluded_by`` strings do, cached per mask.
    """

    __slots__ = ("asked", "parsers", "present", "veto", "wake")

    def __init__(self, parsers: tuple[Parser, ...]) -> None:
        self.parsers = parsers
        index: dict[str, int] = {}
        wake: list[int | None] = []  # per parser: bitmask of its markers, None = always asked
        veto: list[int] = []  # per parser: bitmask of the strings that rule it out
        for parser in parsers:
            mask = 0
            for marker in _strings(getattr(parser, "markers", ())):
                mask |= 1 << index.setdefault(marker, len(index))
            wake.append(mask or None)
            mask = 0
            for marker in _strings(getattr(parser, "excluded_by", ())):
                mask |= 1 << index.setdefault(marker, len(index))
            veto.append(mask)
        self.present = _compile_present(index)
        self.wake = wake
        self.veto = veto
        self.asked: dict[int, tuple[Parser, ...]] = {}

    def parsers_for(self, present: int) -> tuple[Parser, ...]:
        """The parsers to ask when the strings in bitmask ``present`` occur, in registration order."""
        asked = self.asked.get(present)
        if asked is None:
            if len(self.asked) >= 4096:
                self.asked.clear()
            asked = self.asked[present] = tuple(
                p
                for p, wake, veto in zip(self.parsers, self.wake, self.veto, strict=True)
                if (wake is None or wake & present) and not veto & present
            )
        return asked


def _compile_present(index: dict[str, int]) -> Callable[[str], int]:
    """A function ``text -> bitmask`` of the strings in ``index`` that occur in ``text``.

    Written out as straight-line code (as :mod:`dataclasses` writes
    ``__init__``): a loop over the strings costs more than the tests
    themselves. Each string enters the source through ``repr``, so any
    string a plugin declares is a safe literal.
    """
    key = tuple(index)
    present = _PRESENT.get(key)
    if present is None:
        if len(_PRESENT) >= 64:
            _PRESENT.clear()
        present = _PRESENT[key] = _write_present(index)
    return present


_PRESENT: dict[tuple[str, ...], Callable[[str], int]] = {}
_MAX_NESTED = 5


def _nested_tests(members: list[tuple[str, int]], indent: str) -> list[str]:
    """Tests for ``members`` (longest first): a marker found implies the markers inside it.

    ``"bbox_2d"`` found means ``"box"`` is there too, without another scan;
    only when it is absent are the shorter ones tested.
    """
    if not members:
        return []
    (marker, bit), rest = members[0], members[1:]
    inside = [(m, b) for m, b in rest if m in marker]
    outside = [(m, b) for m, b in rest if m not in marker]
    found = _nested_tests(outside, indent + "    ")
    missing = _nested_tests(rest, indent + "    ")
    lines = [f"{indent}if {marker!r} in text:", f"{indent}    m |= {bit + sum(b for _, b in inside)}", *found]
    if missing:
        lines += [f"{indent}else:", *missing]
    return lines


def _write_present(index: dict[str, int]) -> Callable[[str], int]:
    by_first: dict[str, list[tuple[str, int]]] = {}
    for marker, i in index.items():
        by_first.setdefault(marker[0], []).append((marker, 1 << i))
    lines = ["def present(text):", "    m = 0"]
    for first, members in by_first.items():
        if len(members) == 1:
            marker, bit = members[0]
            lines.append(f"    if {marker!r} in text: m |= {bit}")
            continue
        lines.append(f"    if {first!r} in text:")
        known = sum(bit for marker, bit in members if marker == first)  # the guard itself
        if known:
            lines.append(f"        m |= {known}")
        rest = [(marker, bit) for marker, bit in members if marker != first]
        if len(rest) <= _MAX_NESTED:
            lines.extend(_nested_tests(sorted(rest, key=lambda mb: -len(mb[0])), "        "))
        else:  # nesting doubles the code per level: flat tests past a handful of markers
            lines.extend(f"        if {marker!r} in text: m |= {bit}" for marker, bit in rest)
    lines.append("    return m")
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), namespace)  # generated from repr() literals only
    return namespace["present"]  # type: ignore[no-any-return]


_PLANS: dict[int, _Plan] = {}


class ParserTable(Mapping[str, Parser]):
    """A read-only snapshot of a parser mapping, with its detection plan worked out once.

    :func:`parse_completion` and :func:`detect_format` accept any mapping
    and find its plan in a cache, which costs a look at every parser per
    call; a caller that parses a batch (the chain does, once per batch)
    passes a table instead. It is a copy: registering a parser afterwards
    does not change a table already made.
    """

    __slots__ = ("_parsers", "plan")

    def __init__(self, parsers: Mapping[str, Parser]) -> None:
        self._parsers = dict(parsers)
        self.plan = _plan(parsers)  # cached by the source mapping: a chain's registry gives the same plan each batch

    def __getitem__(self, name: str) -> Parser:
        return self._parsers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parsers)

    def __len__(self) -> int:
        return len(self._parsers)

    def __contains__(self, name: object) -> bool:
        return name in self._parsers

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return self._parsers.get(name, default)

    def __repr__(self) -> str:
        return f"ParserTable({list(self._parsers)})"


def parser_table(parsers: Mapping[str, Parser]) -> ParserTable:
    """``parsers`` as a :class:`ParserTable` (itself when it already is one)."""
    return parsers if type(parsers) is ParserTable else ParserTable(parsers)


def _plan(parsers: Mapping[str, Parser]) -> _Plan:
    """The plan of this parser set: a table's own, else cached by the mapping's id and checked.

    The cached plan holds the parsers themselves, so the identity check is
    exact even if the mapping is mutated or its id reused.
    """
    if type(parsers) is ParserTable:
        return parsers.plan
    values = tuple(parsers.values())
    plan = _PLANS.get(id(parsers))
    if plan is None or plan.parsers != values:
        if len(_PLANS) >= 64:
            _PLANS.clear()
        plan = _PLANS[id(parsers)] = _Plan(values)
    return plan


def detect_format(text: str, parsers: Mapping[str, Parser]) -> tuple[Parser | None, float, list[tuple[str, float]]]:
    """The most confident parser, its confidence, and the others that scored above 0 (best first).

    Only parsers whose :attr:`Parser.markers` occur in ``text`` (and those
    without markers) are asked. Ties go to the parser registered first. A
    ``detect`` that raises or returns something that is not a number counts
    as 0: a plugin's bug must not break parsing.
    """
    plan = parsers.plan if type(parsers) is ParserTable else _plan(parsers)
    best: Parser | None = None
    best_conf = 0.0
    scored: list[tuple[float, Parser]] | None = None
    for parser in plan.parsers_for(plan.present(text)):
        try:
            conf = parser.detect(text)
            if conf > 0:
                if best is None:
                    best, best_conf = parser, conf
                else:
                    if scored is None:
                        scored = [(best_conf, best)]
                    scored.append((conf, parser))
        except Exception:  # noqa: BLE001 - a plugin's detect must not break parsing
            continue
    if best is None:
        return None, 0.0, []
    if scored is None:  # the common case: one format matched
        return best, float(best_conf), []
    best_conf, best = max(scored, key=_first)  # ties go to the parser registered first
    others = [(p.name, float(c)) for c, p in scored if p is not best]
    if len(others) > 1:
        others.sort(key=_second, reverse=True)
    return best, float(best_conf), others


def _first(item: tuple[float, Parser]) -> float:
    return item[0]


def _second(item: tuple[str, float]) -> float:
    return item[1]


def _run_parser(parser: Parser, text: str) -> RawParse:
    """``parser.parse(text)``, with an exception or a wrong return type as a ``parser.error`` issue."""
    try:
        raw = parser.parse(text)
    except Exception as exc:  # noqa: BLE001 - third-party parsers are isolated too
        return _parser_failed(parser, exc)
    return raw if type(raw) is RawParse else _checked_raw(parser, raw)


def _parser_failed(parser: Parser, exc: Exception) -> RawParse:
    raw = RawParse()
    raw.issue("parser.error", f"parser {parser.name!r} failed: {type(exc).__name__}: {exc}", "error")
    return raw


def _checked_raw(parser: Parser, raw: object) -> RawParse:
    """A parser's result that is not exactly a RawParse: a subclass is fine, anything else an issue."""
    if isinstance(raw, RawParse):
        return raw
    bad = RawParse()
    bad.issue("parser.error", f"parser {parser.name!r} returned {type(raw).__name__}, not RawParse", "error")
    return bad


def _issue(code: str, message: str, severity: str = "warning") -> Issue:
    return unchecked(Issue, code=code, message=message, severity=severity)


def _detection_issue(
    parser: Parser, confidence: float, others: list[tuple[str, float]], where: str, parsers: Mapping[str, Parser]
) -> Issue:
    """:func:`_make_detection_issue`, memoised: one shared (frozen) Issue per detection outcome.

    Formatting the message costs about a tenth of parsing a completion, and a
    batch sees the same few outcomes over and over.
    """
    key = (parser, confidence, tuple(others), where, tuple(parsers.get(n) for n, _ in others)) if others else (parser, confidence, where)
    try:
        issue = _DETECTION_ISSUES.get(key)
    except TypeError:  # an unhashable third-party parser
        return _make_detection_issue(parser, confidence, others, where, parsers)
    if issue is None:
        if len(_DETECTION_ISSUES) >= 4096:
            _DETECTION_ISSUES.clear()
        issue = _DETECTION_ISSUES[key] = _make_detection_issue(parser, confidence, others, where, parsers)
    return issue


_DETECTION_ISSUES: dict[tuple[object, ...], Issue] = {}


def _make_detection_issue(
    parser: Parser, confidence: float, others: list[tuple[str, float]], where: str, parsers: Mapping[str, Parser]
) -> Issue:
    """One info issue: the format read, its confidence, and the formats rejected.

    ``format.ambiguous`` only when a rejected format came within
    :data:`AMBIGUITY_MARGIN` *and* would have read the numbers in another
    coordinate space, that is, when the choice changes the boxes.
    """
    rejected = ", ".join(f"{n} ({c:.2f})" for n, c in others)
    text = f"read as {parser.name} ({confidence:.2f}) from the {where}"
    if not others:
        return _issue("format.detected", text + "; no other format matched", "info")
    space = parser.default_coords
    close = [
        n for n, c in others
        if c >= confidence - AMBIGUITY_MARGIN and getattr(parsers.get(n), "default_coords", None) != space
    ]
    code = "format.ambiguous" if close else "format.detected"
    return _issue(code, f"{text}; rejected: {rejected}", "info")


def _convert(
    raw: RawParse, space: CoordSpace, image_size: tuple[int, int] | None
) -> tuple[list[Box], list[Point], bool]:
    """Boxes and points in original pixels (or unchanged, False, when that is impossible)."""
    if not space.needs_size:
        if space.layout == "xyxy":
            return raw.boxes, raw.points, True
        image_size = (1, 1)
    elif image_size is None:
        return raw.boxes, raw.points, False
    boxes = []
    for b in raw.boxes:
        x1, y1, x2, y2 = space.to_original((b.x1, b.y1, b.x2, b.y2), image_size)
        boxes.append(new_box(x1, y1, x2, y2, b.label, b.score) if b.action is None else Box(
            x1=x1, y1=y1, x2=x2, y2=y2, label=b.label, score=b.score, action=b.action))
    points = []
    for p in raw.points:
        x, y = space.point_to_original(p.x, p.y, image_size)
        points.append(unchecked(Point, x=x, y=y, label=p.label, action=p.action))
    return boxes, points, True


def parse_completion(
    sample: Sample,
    parsers: Mapping[str, Parser],
    image_size: tuple[int, int] | None = None,
    config: ParseConfig | None = None,
) -> Parsed:
    """Parse one sample's completion into boxes in original-image pixels."""
    config = config or _DEFAULT_CONFIG
    issues: list[Issue] = []
    fields = sample.__dict__  # dict lookups: a pydantic attribute read costs several times more
    text = fields["completion"]
    declared_format, declared_coords = fields["format"], fields["coords"]
    if len(text) > config.max_chars:
        issues.append(_issue("text.too_long", f"completion has {len(text)} characters; only the first {config.max_chars} were read"))
        text = text[: config.max_chars]
    if "\x00" in text:
        text = text.replace("\x00", "")
        issues.append(_issue("text.nul", "NUL characters were removed"))

    split = split_r1(text)
    if split.issues:
        issues.extend(split.issues)
    answer = split.answer or ""
    outside = split.outside
    if outside and (outside is answer or outside.strip() == answer.strip()):  # no tags: the same text
        outside = ""

    parser: Parser | None
    confidence = 1.0
    if declared_format:
        parser = parsers.get(declared_format)
        if parser is None:
            issues.append(_issue("format.unknown", f"no parser named {declared_format!r}; known: {', '.join(parsers)}", "error"))
            return unchecked(
                Parsed,
                format=declared_format, format_confidence=0.0, think=split.think, answer=answer, issues=issues,
                has_think_tags=split.has_think, has_answer_tags=split.has_answer,
            )
        issues.append(_issue("format.declared", f"read as {parser.name}, as the sample declares", "info"))
    else:
        parser, confidence, others = detect_format(answer, parsers)
        where = "answer"
        if parser is None and outside:
            parser, confidence, others = detect_format(outside, parsers)
            where = "text outside the tags"
        if parser is not None:
            issues.append(_detection_issue(parser, confidence, others, where, parsers))

    if parser is not None:
        try:
            raw = parser.parse(answer)
        except Exception as exc:  # noqa: BLE001 - third-party parsers are isolated too
            raw = _parser_failed(parser, exc)
        if type(raw) is not RawParse:
            raw = _checked_raw(parser, raw)
        if not raw.found and outside:
            outside_raw = _run_parser(parser, outside)
            if outside_raw.found:
                issues.append(_issue("answer.outside_tags", "the box was found outside <answer>"))
                raw = outside_raw
    else:
        raw = RawParse()
    if not (raw.boxes or raw.points or raw.no_object):
        raw, parser = _last_resorts(sample, parsers, split.think, text, answer, raw, parser, issues)
    if raw.issues:
        issues.extend(raw.issues)

    no_object = raw.no_object or (not raw.boxes and not raw.points and is_no_object_answer(answer))
    if parser is None and not no_object:
        issues.append(_issue("format.undetected", "no known grounding format found in the answer", "error"))

    coords_name = declared_coords or raw.coords or (parser.default_coords if parser else "original")
    boxes, points, converted = raw.boxes, raw.points, False
    try:
        # the registered space itself; Qwen's spaces depend on the processor settings in ``config``
        space = SPACES.get(coords_name) if coords_name not in _QWEN_NAMES else None
        if space is None:
            space = _space(coords_name, config)
        if not space.needs_size and space.layout == "xyxy":  # original pixels already (or a fixed-scale space)
            converted = True
        else:
            boxes, points, converted = _convert(raw, space, image_size)
            if not converted and (boxes or points):
                issues.append(_issue("coords.no_image_size", f"image size unknown: boxes stay in the model's {coords_name} space", "info"))
    except (KeyError, ValueError, ZeroDivisionError, OverflowError, TypeError) as exc:
        issues.append(_issue("coords.error", str(exc).strip("'\""), "error"))

    # every field, in field order: built without validation (the values are the parser's own)
    return trusted(Parsed, {
        "format": parser.name if parser else (declared_format or "unknown"),
        "format_confidence": confidence if parser else 0.0,
        "think": split.think,
        "answer": answer,
        "boxes": boxes,
        "points": points,
        "model_boxes": raw.boxes,
        "coords": coords_name,
        "in_original": converted,
        "no_object": no_object,
        "has_think_tags": split.has_think,
        "has_answer_tags": split.has_answer,
        "answer_found": raw.found,
        "issues": issues,
    })


def _last_resorts(
    sample: Sample, parsers: Mapping[str, Parser], think: str | None, text: str, answer: str,
    raw: RawParse, parser: Parser | None, issues: list[Issue],
) -> tuple[RawParse, Parser | None]:
    """No box in the answer: look in ``<think>``, then in the whole text; each find is flagged.

    "...Final answer: ```json [...]``` </think>" with no (or a truncated)
    ``<answer>``; then the whole text, for tags that sit inside JSON strings.
    """
    for code, region, where in (
        ("answer.in_think", think, "inside <think>"), ("answer.whole_text", text, "from the whole completion"),
    ):
        if raw.boxes or raw.points or raw.no_object or is_no_object_answer(answer):
            break
        if not region or region.strip() == answer.strip():
            continue
        region_parser = parser or (None if sample.format else detect_format(region, parsers)[0])
        if region_parser is not None:
            inner = _run_parser(region_parser, region)
            if inner.boxes or inner.points:
                issues.append(_issue(code, f"no readable box in the answer; the box was read {where}"))
                raw, parser = inner, region_parser
    return raw, parser


_DEFAULT_CONFIG = ParseConfig()
