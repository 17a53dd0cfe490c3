"""Completion text -> :class:`~groundscore.model.Parsed`, for every registered format.

Steps, the same for every format: cap the text; split R1 tags; pick a parser
(``Sample.format`` when given, else the registered parser whose ``detect``
is most confident); parse the answer (and, when the answer holds nothing, the
text outside the tags, where some models put their box); convert boxes from
the model's coordinate space to original-image pixels. Nothing here raises on
any input: problems become :class:`~groundscore.model.Issue` entries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from groundscore.model import Box, Issue, Parsed, Point, Sample
from groundscore.parse.base import Parser, RawParse
from groundscore.parse.coords import (
    QWEN_FACTOR,
    QWEN_MAX_PIXELS,
    QWEN_MIN_PIXELS,
    CoordSpace,
    get_space,
    qwen25_space,
)
from groundscore.parse.r1 import split_r1

__all__ = ["ParseConfig", "parse_completion", "Parser", "RawParse"]

# Explicit "nothing there" answers. Bounded: applied to at most 300 characters.
_NO_OBJECT = re.compile(
    r"^\W*(none|null|n/?a|no|nothing|not found|not present|no object|no such object|"
    r"no match(?:ing)? object|not (?:visible|in the image))\W*$"
    r"|\b(?:there (?:is|are) no|(?:does|do) not (?:exist|appear)|(?:cannot|can ?not|can't|could not|couldn't|unable to) "
    r"(?:find|locate|see|identify|detect)|is not (?:visible|present|in the image)|no (?:such|matching) \w+)\b",
    re.IGNORECASE,
)


class ParseConfig(BaseModel):
    """Parsing limits and Qwen2.5-VL processor settings."""

    model_config = ConfigDict(extra="forbid")

    max_chars: int = Field(default=65_536, gt=0, description="Longer completions are cut (with an issue).")
    min_pixels: int = Field(default=QWEN_MIN_PIXELS, gt=0)
    max_pixels: int = Field(default=QWEN_MAX_PIXELS, gt=0)
    factor: int = Field(default=QWEN_FACTOR, gt=0)


def _space(name: str, config: ParseConfig) -> CoordSpace:
    if name in ("qwen25", "smart_resize", "qwen2.5") and (
        config.min_pixels, config.max_pixels, config.factor
    ) != (QWEN_MIN_PIXELS, QWEN_MAX_PIXELS, QWEN_FACTOR):
        return qwen25_space(config.min_pixels, config.max_pixels, config.factor)
    return get_space(name)


def is_no_object_answer(text: str | None) -> bool:
    """True when the answer says explicitly that the target is not there."""
    if text is None:
        return False
    snippet = text.strip()[:300]
    return bool(snippet) and _NO_OBJECT.search(snippet) is not None


def detect_format(text: str, parsers: Mapping[str, Parser]) -> tuple[Parser | None, float, list[tuple[str, float]]]:
    """The most confident parser, its confidence, and the others that scored above 0."""
    scored: list[tuple[float, int, Parser]] = []
    for order, parser in enumerate(parsers.values()):
        try:
            conf = float(parser.detect(text))
        except Exception:  # noqa: BLE001 - a plugin's detect must not break parsing
            continue
        if conf > 0:
            scored.append((conf, -order, parser))
    if not scored:
        return None, 0.0, []
    scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
    best = scored[0]
    return best[2], best[0], [(p.name, c) for c, _, p in scored[1:]]


def _run_parser(parser: Parser, text: str) -> RawParse:
    try:
        return parser.parse(text)
    except Exception as exc:  # noqa: BLE001 - third-party parsers are isolated too
        raw = RawParse()
        raw.issue("parser.error", f"parser {parser.name!r} failed: {type(exc).__name__}: {exc}", "error")
        return raw


def parse_completion(
    sample: Sample,
    parsers: Mapping[str, Parser],
    image_size: tuple[int, int] | None = None,
    config: ParseConfig | None = None,
) -> Parsed:
    """Parse one sample's completion into boxes in original-image pixels."""
    config = config or ParseConfig()
    issues: list[Issue] = []
    text = sample.completion
    if len(text) > config.max_chars:
        issues.append(Issue(code="text.too_long", message=f"completion has {len(text)} characters; only the first {config.max_chars} were read"))
        text = text[: config.max_chars]
    if "\x00" in text:
        text = text.replace("\x00", "")
        issues.append(Issue(code="text.nul", message="NUL characters were removed"))

    split = split_r1(text)
    issues.extend(split.issues)
    answer = split.answer or ""

    parser: Parser | None
    confidence = 1.0
    if sample.format:
        parser = parsers.get(sample.format)
        if parser is None:
            issues.append(Issue(code="format.unknown", message=f"no parser named {sample.format!r}; known: {', '.join(parsers)}", severity="error"))
            return Parsed(format=sample.format, think=split.think, answer=answer, issues=issues,
                          has_think_tags=split.has_think, has_answer_tags=split.has_answer)
    else:
        parser, confidence, others = detect_format(answer, parsers)
        if parser is None and split.outside and split.outside != answer:
            parser, confidence, others = detect_format(split.outside, parsers)
        if others and parser is not None:
            alternatives = ", ".join(f"{n} ({c:.2f})" for n, c in others)
            issues.append(Issue(code="format.ambiguous", message=f"read as {parser.name} ({confidence:.2f}); also possible: {alternatives}", severity="info"))

    raw = RawParse()
    if parser is not None:
        raw = _run_parser(parser, answer)
        if not raw.found and split.outside and split.outside.strip() != answer.strip():
            outside = _run_parser(parser, split.outside)
            if outside.found:
                issues.append(Issue(code="answer.outside_tags", message="the box was found outside <answer>"))
                raw = outside
    if not (raw.boxes or raw.points or raw.no_object) and split.think and not is_no_object_answer(answer):
        # "...Final answer: ```json [...]``` </think>" with no (or a truncated) <answer>.
        think_parser = parser or (None if sample.format else detect_format(split.think, parsers)[0])
        if think_parser is not None:
            inner = _run_parser(think_parser, split.think)
            if inner.boxes or inner.points:
                issues.append(Issue(code="answer.in_think", message="no readable box in the answer; the box was read from inside <think>"))
                raw, parser = inner, think_parser
    issues.extend(raw.issues)

    no_object = raw.no_object or (not raw.boxes and not raw.points and is_no_object_answer(answer))
    if parser is None and not no_object:
        issues.append(Issue(code="format.undetected", message="no known grounding format found in the answer", severity="error"))

    coords_name = sample.coords or raw.coords or (parser.default_coords if parser else "original")
    boxes, points = raw.boxes, raw.points
    converted_boxes, converted_points = boxes, points
    converted = False
    try:
        space = _space(coords_name, config)
        converted = not space.needs_size
        if space.needs_size and image_size is None:
            if boxes or points:
                issues.append(Issue(code="coords.no_image_size", message=f"image size unknown: boxes stay in the model's {coords_name} space", severity="info"))
        elif space.needs_size:
            converted_boxes = [Box(**dict(zip(("x1", "y1", "x2", "y2"), space.to_original(b.xyxy, image_size), strict=True)), label=b.label, score=b.score) for b in boxes]
            converted_points = [Point(x=x, y=y, label=p.label) for p in points for x, y in [space.point_to_original(p.x, p.y, image_size)]]
            converted = True
    except (KeyError, ValueError, ZeroDivisionError, OverflowError) as exc:
        issues.append(Issue(code="coords.error", message=str(exc), severity="error"))

    return Parsed(
        format=parser.name if parser else (sample.format or "unknown"),
        format_confidence=confidence if parser else 0.0,
        think=split.think,
        answer=answer,
        boxes=converted_boxes,
        points=converted_points,
        model_boxes=boxes,
        coords=coords_name,
        in_original=converted,
        no_object=no_object,
        has_think_tags=split.has_think,
        has_answer_tags=split.has_answer,
        answer_found=raw.found,
        issues=issues,
    )
