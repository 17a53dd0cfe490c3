"""Samples with their reports and, where known, whether the answer was right.

``filter``, ``calibrate`` and ``eval`` read what ``verify`` reads (JSONL
samples, VLM-R1 evaluation logs) and also the reports ``verify`` wrote. A
report line is reused as it is: its verdicts are not recomputed, so a file
verified once (perhaps on a GPU, with CLIP) can be filtered, calibrated and
evaluated many times on a laptop. Sample lines go through the chain in
batches.

Correctness ("was the answer right?") is either a field the input provides
(``label_field``, looked up in the line, then in ``meta``) or recomputed from
our own parse: the IoU of the FIRST parsed box, in original pixels, with the
best-matching ground-truth box, at least ``iou`` (0.5, the REC convention).
An answer without a box is wrong when there is ground truth. A sample
without ground truth, or whose boxes could not be put in original pixels
(image size unknown), has no label and is left out of calibration and
evaluation, with the reason counted.

Every input line yields exactly one :class:`Item`, in order, including lines
that could not be read (``input_error`` says why).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from groundscore.model import Issue, Parsed, Report, Sample, box_iou

_REPORT_FIELDS = tuple(Report.model_fields)


@dataclass(slots=True)
class Item:
    """One input line: its sample, its report, and its label (None: unknown, see ``label_note``)."""

    index: int
    sample: Sample
    report: Report
    correct: bool | None = None
    label_note: str = ""
    from_report: bool = False
    input_error: str | None = None


def correctness(
    sample: Sample,
    parsed: Parsed,
    *,
    raw: Mapping[str, Any] | None = None,
    label_field: str | None = None,
    iou: float = 0.5,
) -> tuple[bool | None, str]:
    """(correct, how it was decided), or (None, why it cannot be) for one sample."""
    if label_field:
        for source in (raw or {}, (raw or {}).get("sample") or {}, sample.meta):
            if isinstance(source, Mapping) and label_field in source:
                value = _truth(source[label_field])
                if value is None:
                    return None, f"field {label_field!r} is not 0/1/true/false: {source[label_field]!r}"
                return value, f"field {label_field!r}"
        return None, f"no field {label_field!r}"
    if not sample.solution:
        return None, "no ground truth (solution)"
    if parsed.points and not parsed.boxes:  # a click answer: the ScreenSpot rule, point in the target box
        if not parsed.in_original:
            return None, "points not in original pixels (image size unknown)"
        from groundscore.rewards.click import click_hit, click_point

        x, y = click_point(parsed) or (parsed.points[0].x, parsed.points[0].y)
        return click_hit(x, y, sample.solution), "point in box"
    if not parsed.boxes:
        return False, "no box"
    if not parsed.in_original:
        return None, "boxes not in original pixels (image size unknown)"
    first = parsed.boxes[0].xyxy
    best = max((box_iou(first, gt) for gt in sample.solution if len(gt) == 4), default=0.0)
    return best >= iou, f"iou>={iou:g}"


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUTH:
        return _TRUTH[value.strip().lower()]
    return None


_TRUTH = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _report_from_line(line: str) -> tuple[Report | None, dict[str, Any] | None, str | None]:
    """(report, raw dict, error) for a line; report None when it is a sample line."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):  # the sample reader reports the line as unreadable
        return None, None, None
    if not isinstance(data, dict):
        return None, None, None
    if "verdicts" not in data or "parsed" not in data:
        return None, data, None
    try:
        return Report.model_validate({k: data[k] for k in _REPORT_FIELDS if k in data}), data, None
    except ValidationError as exc:
        return None, data, f"unreadable report: {str(exc).splitlines()[0]}"


def _raw_lines(path: Path) -> Iterator[str]:
    """The non-empty lines of a JSONL file, enumerated as :func:`groundscore.inputs.samples.iter_jsonl` does."""
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.strip():
                yield line


def iter_items(
    path: str | Path,
    source: str | None = None,
    chain: Any = None,
    *,
    image_root: str | Path | None = None,
    batch_size: int = 256,
    label_field: str | None = None,
    iou: float = 0.5,
    limit: int | None = None,
    strict: bool = False,
) -> Iterator[Item]:
    """One :class:`Item` per input line, in order; reports reused, samples verified by ``chain``.

    ``strict``: a JSONL line with a key that is no sample field is an
    unreadable line (see :func:`groundscore.inputs.samples.coerce_sample`).

    ``chain`` defaults to the default :class:`~groundscore.chain.Chain`. Report
    lines keep their verdicts, but their confidence and decision are
    recomputed by ``chain.scorer`` so that this command's weights,
    thresholds and calibration apply to every line alike.
    """
    from groundscore.inputs.samples import detect_source, iter_samples

    if chain is None:
        from groundscore.chain import Chain

        chain = Chain()
    p = Path(path)
    samples = iter_samples(p, source, image_root, strict=strict)
    kind = source or detect_source(p)
    # For JSONL, each sample is paired with its raw line (to find reports and label fields); both
    # readers skip the same blank lines, and strict=True makes any mismatch loud, never a silent shift.
    pairs: Iterable[tuple[Sample, str | None]] = (
        zip(samples, _raw_lines(p), strict=True) if kind == "jsonl" else ((s, None) for s in samples)
    )
    pending: list[tuple[int, Sample, Report | None, dict[str, Any] | None, str | None]] = []
    index = 0
    for sample, line in pairs:
        if limit is not None and index >= limit:
            break
        if len(pending) >= batch_size and not _same_group(sample, pending[-1][1]):
            yield from _finish(pending, chain, label_field, iou)
            pending = []
        report, raw, error = _report_from_line(line) if line is not None else (None, None, None)
        pending.append((index, sample, report, raw, error))
        index += 1
    if pending:
        yield from _finish(pending, chain, label_field, iou)


def iter_sample_items(
    samples: Iterable[Sample],
    chain: Any = None,
    *,
    batch_size: int = 256,
    label_field: str | None = None,
    iou: float = 0.5,
    limit: int | None = None,
) -> Iterator[Item]:
    """One :class:`Item` per sample already read (e.g. logs merged by :func:`groundscore.groups.grouping.merge_logs`).

    Batches of about ``batch_size`` never split a group whose members are
    consecutive, so that ``agreement`` sees whole groups.
    """
    if chain is None:
        from groundscore.chain import Chain

        chain = Chain()
    pending: list[tuple[int, Sample, Report | None, dict[str, Any] | None, str | None]] = []
    for index, sample in enumerate(samples):
        if limit is not None and index >= limit:
            break
        if len(pending) >= batch_size and not _same_group(sample, pending[-1][1]):
            yield from _finish(pending, chain, label_field, iou)
            pending = []
        pending.append((index, sample, None, None, None))
    if pending:
        yield from _finish(pending, chain, label_field, iou)


def _same_group(sample: Sample, previous: Sample) -> bool:
    """Whether ``sample`` continues ``previous``'s group (then a batch must not end between them)."""
    return sample.group is not None and sample.group == previous.group


def _finish(
    pending: list[tuple[int, Sample, Report | None, dict[str, Any] | None, str | None]],
    chain: Any,
    label_field: str | None,
    iou: float,
) -> Iterator[Item]:
    to_run = [sample for _, sample, report, _, _ in pending if report is None]
    fresh = iter(chain.verify(to_run) if to_run else [])
    for index, sample, report, raw, error in pending:
        from_report = report is not None
        if report is None:
            report = next(fresh)
        else:
            try:
                report.confidence, report.decision = chain.scorer.score(report.verdicts, sample.query, report.parsed)
            except Exception as exc:  # noqa: BLE001 - a calibrator bug: keep the line, say why
                report.confidence, report.decision = 0.0, "abstain"
                error = f"could not score the report's verdicts: {type(exc).__name__}: {exc}"
        input_error = error or sample.meta.get("input_error")
        if input_error and not any(i.code == "input.unreadable" for i in report.parsed.issues):
            report.parsed.issues.insert(0, Issue(code="input.unreadable", message=str(input_error), severity="error"))
        if input_error:
            correct, note = None, f"input error: {input_error}"
        else:
            correct, note = correctness(sample, report.parsed, raw=raw, label_field=label_field, iou=iou)
        yield Item(
            index=index, sample=sample, report=report, correct=correct, label_note=note,
            from_report=from_report, input_error=str(input_error) if input_error else None,
        )
