"""Completion text -> :class:`~groundscore.model.Parsed`, the same steps for every format.

Cap the text; split R1 tags; pick a parser (``Sample.format`` when given,
else the one :func:`~groundscore.parse.detection.detect_format` is most
confident in); parse the answer (and, when the answer holds nothing, the
text outside the tags, where some models put their box); convert boxes from
the model's coordinate space to original-image pixels
(:mod:`groundscore.parse.resolve`). Nothing here raises on any input:
problems become :class:`~groundscore.model.Issue` entries (codes in
:mod:`groundscore.issues`). An explicit ``Sample.format`` is never
second-guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from groundscore.model import Candidate, Issue, Parsed, Sample
from groundscore.parse.base import Parser, RawParse
from groundscore.parse.clarify import read_clarification
from groundscore.parse.coords import CoordSpace
from groundscore.parse.detection import detect_format, detection_issue
from groundscore.parse.r1 import split_r1
from groundscore.parse.resolve import ParseConfig, resolve_space, to_original

# Explicit "nothing there" answers. Bounded: applied to at most 300 characters.
_NO_OBJECT = re.compile(
    r"^\W*(none|null|n/?a|no|nothing|not found|not present|no object|no such object|"
    r"no match(?:ing)? object|not (?:visible|in the image))\W*$"
    r"|\b(?:there (?:is|are) no|(?:does|do) not (?:exist|appear)|(?:cannot|can ?not|can't|could not|couldn't|unable to) "
    r"(?:find|locate|see|identify|detect)|is not (?:visible|present|in the image)|no (?:such|matching) \w+)\b",
    re.IGNORECASE,
)


def is_no_object_answer(text: str | None) -> bool:
    """True when the answer says explicitly that the target is not there."""
    if text is None:
        return False
    snippet = text.strip()[:300]
    return bool(snippet) and _NO_OBJECT.search(snippet) is not None


def _issue(code: str, message: str, severity: str = "warning") -> Issue:
    return Issue(code=code, message=message, severity=severity)


def _run_parser(parser: Parser, text: str) -> RawParse:
    """``parser.parse(text)``, with an exception or a wrong return type as a ``parser.error`` issue."""
    try:
        raw = parser.parse(text)
    except Exception as exc:  # noqa: BLE001 - third-party parsers are isolated too
        raw = RawParse()
        raw.issue("parser.error", f"parser {parser.name!r} failed: {type(exc).__name__}: {exc}", "error")
        return raw
    if isinstance(raw, RawParse):
        return raw
    bad = RawParse()
    bad.issue("parser.error", f"parser {parser.name!r} returned {type(raw).__name__}, not RawParse", "error")
    return bad


def parse_completion(
    sample: Sample,
    parsers: Mapping[str, Parser],
    image_size: tuple[int, int] | None = None,
    config: ParseConfig | None = None,
) -> Parsed:
    """Parse one sample's completion into boxes in original-image pixels."""
    config = config or _DEFAULT_CONFIG
    issues: list[Issue] = []
    text = sample.completion
    if len(text) > config.max_chars:
        issues.append(_issue("text.too_long", f"completion has {len(text)} characters; only the first {config.max_chars} were read"))
        text = text[: config.max_chars]
    if "\x00" in text:
        text = text.replace("\x00", "")
        issues.append(_issue("text.nul", "NUL characters were removed"))

    split = split_r1(text)
    issues.extend(split.issues)
    answer = split.answer or ""
    outside = split.outside
    if outside and outside.strip() == answer.strip():  # no tags: the same text
        outside = ""

    parser: Parser | None
    confidence = 1.0
    if sample.format:
        parser = parsers.get(sample.format)
        if parser is None:
            issues.append(_issue("format.unknown", f"no parser named {sample.format!r}; known: {', '.join(parsers)}", "error"))
            return Parsed(
                format=sample.format, format_confidence=0.0, think=split.think, answer=answer, issues=issues,
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
            issues.append(detection_issue(parser, confidence, others, where, parsers))

    raw = RawParse()
    if parser is not None:
        raw = _run_parser(parser, answer)
        if not raw.found and outside:
            outside_raw = _run_parser(parser, outside)
            if outside_raw.found:
                issues.append(_issue("answer.outside_tags", "the box was found outside <answer>"))
                raw = outside_raw
    clarify = read_clarification(answer)
    if not (raw.boxes or raw.points or raw.no_object) and clarify is None:  # a question is the answer: no box hunt
        raw, parser = _last_resorts(sample, parsers, split.think, text, answer, raw, parser, issues)
    if split.other_answers and parser is not None and (raw.boxes or raw.points):
        _other_answers(raw, parser, split.other_answers)
    issues.extend(raw.issues)

    no_object = raw.no_object or (not raw.boxes and not raw.points and is_no_object_answer(answer))
    if clarify is not None and (raw.boxes or raw.points):  # a box AND a question: the box is read, the hedge flagged
        issues.append(_issue("clarify.hedge", f"the answer gives a box and also asks: {clarify.question[:120]!r}"))
        clarify = None
    elif clarify is not None:  # asking which object is meant: an answer, neither malformed nor "not found"
        no_object = False
        issues[:] = [i for i in issues if i.code not in _NO_ANSWER_ISSUES]
        issues.append(_issue("clarify.asked", f"the answer asks which object is meant ({clarify.via})", "info"))
    if parser is None and not no_object and clarify is None:
        issues.append(_issue("format.undetected", "no known grounding format found in the answer", "error"))

    coords_name = sample.coords or raw.coords or (parser.default_coords if parser else "original")
    boxes, points, converted = raw.boxes, raw.points, False
    space: CoordSpace | None = None
    try:
        space = resolve_space(coords_name, config)
        boxes, points, converted = to_original(raw, space, image_size)
        if not converted and (boxes or points):
            issues.append(_issue("coords.no_image_size", f"image size unknown: boxes stay in the model's {coords_name} space", "info"))
    except (KeyError, ValueError, ZeroDivisionError, OverflowError, TypeError) as exc:
        issues.append(_issue("coords.error", str(exc).strip("'\""), "error"))

    candidates = _candidates(raw, space, image_size)
    # validated: pydantic-core checks these instances and lists cheaply (model_construct is slower in Python)
    return Parsed(
        candidates=candidates,
        format=parser.name if parser else (sample.format or "unknown"),
        format_confidence=confidence if parser else 0.0,
        think=split.think,
        answer=answer,
        boxes=boxes,
        points=points,
        model_boxes=raw.boxes,
        coords=coords_name,
        in_original=converted,
        no_object=no_object,
        clarify=clarify,
        has_think_tags=split.has_think,
        has_answer_tags=split.has_answer,
        answer_found=raw.found,
        issues=issues,
    )


def _other_answers(raw: RawParse, parser: Parser, others: list[str]) -> None:
    """Several ``<answer>`` blocks: every block's boxes become candidates (``hedge.answers``).

    The last block stays the one read (the R1 splitter's choice, and what
    ``Parsed.boxes`` holds); a block that repeats it, or holds nothing, is no
    second candidate.
    """
    if raw.candidates:
        return  # the read answer already hedges within itself; one hedge is enough to flag
    groups = [(list(raw.boxes), list(raw.points), "the last <answer>")]
    seen = [tuple(dict.fromkeys([b.xyxy for b in raw.boxes] + [(p.x, p.y) for p in raw.points]))]
    for n, other in enumerate(others):
        inner = _run_parser(parser, other)
        key = tuple(dict.fromkeys([b.xyxy for b in inner.boxes] + [(p.x, p.y) for p in inner.points]))
        if not key or key in seen:
            continue
        seen.append(key)
        groups.append((inner.boxes, inner.points, f"<answer> {n + 1}"))
    if len(groups) > 1:
        raw.hedge_places("hedge.answers", groups, "several <answer> blocks hold different answers")


def _candidates(raw: RawParse, space: CoordSpace | None, image_size: tuple[int, int] | None) -> list[Candidate] | None:
    """The hedge's candidates in the same space as ``Parsed.boxes`` (original pixels when the size is known)."""
    if not raw.candidates:
        return None
    out = []
    for boxes, points, where in raw.candidates:
        if space is not None:
            try:
                boxes, points, _ = to_original(RawParse(boxes=boxes, points=points), space, image_size)
            except (ValueError, ZeroDivisionError, OverflowError, TypeError):
                pass
        out.append(Candidate(boxes=boxes, points=points, source=where))
    return out


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

# What a parser says when it found no box; beside a clarifying question that is expected, not a fault.
_NO_ANSWER_ISSUES = frozenset({"gui.no_coordinate", "gui.action_without_place", "json.no_boxes", "json.missing"})
