"""Reading samples from files: groundscore's JSONL, and VLM-R1 evaluation logs.

Every reader yields :class:`~groundscore.model.Sample` objects and never stops
on one bad line: a line that cannot be read becomes a Sample whose ``meta``
holds ``input_error`` (so an output line still exists for it; nothing is
dropped silently).
"""

from __future__ import annotations

import difflib
import json
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from groundscore.inputs.hygiene import clean_text
from groundscore.inputs.prompts import referring_expression
from groundscore.model import Issue, Sample

SOURCES = ("jsonl", "vlm-r1")


def not_a_file(path: str | Path) -> str | None:
    """Why ``path`` cannot be read as a file (missing, a directory, a FIFO, a name too long), or None.

    Checked with ``os.stat`` before anything opens the path: opening a FIFO
    that nobody writes to blocks forever, and a directory or an over-long
    name would otherwise surface as a traceback.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return f"no such file: {path}"
    except OSError as exc:  # ENAMETOOLONG, EACCES, ELOOP, ...
        return f"cannot read {str(path)[:120]!r}{'...' if len(str(path)) > 120 else ''}: {exc.strerror or exc}"
    except ValueError as exc:  # an embedded NUL
        return f"cannot read {str(path)[:120]!r}: {exc}"
    if stat.S_ISDIR(mode):
        return f"{path} is a directory, not a file"
    if stat.S_ISFIFO(mode):
        return f"{path} is a FIFO (named pipe), not a regular file; write the data to a file first"
    if not stat.S_ISREG(mode):
        return f"{path} is not a regular file"
    return None


def _exists(path: Path) -> bool:
    """``path.exists()`` that is False, not an exception, for a name the system refuses (too long, NUL)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def detect_source(path: Path) -> str:
    """``vlm-r1`` for a JSON object with a ``results`` list, else ``jsonl``."""
    with path.open("rb") as fh:
        head = fh.read(4096).lstrip()
    if head.startswith(b"{") and b'"results"' in head[:4096] and path.suffix == ".json":
        return "vlm-r1"
    return "jsonl"


def iter_jsonl(path: Path, *, strict: bool = False) -> Iterator[Sample]:
    """One Sample per non-empty line; bad lines become Samples with ``meta.input_error``.

    Bytes that are not UTF-8 are read as lone surrogates
    (``surrogateescape``), which :class:`~groundscore.model.Sample` then
    replaces by U+FFFD and notes (``text.replaced``) in the field that held
    them: one cleaning step, where the sample is made. ``strict``: see
    :func:`coerce_sample`.
    """
    with path.open("r", encoding="utf-8", errors="surrogateescape") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise ValueError(f"expected a JSON object, got {type(data).__name__}")
                data.setdefault("id", f"{path.name}:{lineno}")
                # a report written by `verify` carries the sample fields under "sample"
                if "sample" in data and isinstance(data["sample"], dict) and "completion" not in data:
                    data = {**data["sample"], "id": data.get("id")}
                sample, issue = coerce_sample(_resolve_image(data, path), solution_parser=ambiguous_targets, strict=strict)
                if issue is not None:  # an unreadable line is verified as empty, never on half its fields
                    sample = Sample(id=f"{path.name}:{lineno}", meta={"input_error": f"line {lineno}: {issue.message}"})
                yield sample
            except RecursionError:  # json.loads, or anything after it, on a line nested too deeply
                yield Sample(id=f"{path.name}:{lineno}", meta={"input_error": f"line {lineno}: nested too deeply to read"})
            except ValueError as exc:
                yield Sample(id=f"{path.name}:{lineno}", meta={"input_error": f"line {lineno}: {exc}".splitlines()[0]})


def _resolve_image(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Relative image paths are relative to the input file."""
    image = data.get("image")
    if isinstance(image, str) and image and not Path(image).is_absolute():
        candidate = path.parent / image
        if _exists(candidate):
            data = {**data, "image": str(candidate)}
    return data


def vlm_r1_record_to_sample(record: dict[str, Any], sample_id: str, image_root: Path | None = None) -> Sample:
    """One VLM-R1 evaluation-log record -> Sample.

    The logs hold no image sizes (the COCO images are not shipped), so
    coordinates are taken as original pixels, which is what VLM-R1's own
    evaluation compares against ``ground_truth``; pass ``image_root`` to read
    the sizes from the images when you have them.
    """
    image = record.get("image")
    image_path = None
    if image_root is not None and isinstance(image, str):
        candidate = image_root / image
        image_path = str(candidate) if _exists(candidate) else None
    gt = record.get("ground_truth")
    return Sample(
        id=sample_id,
        query=referring_expression(str(record.get("question", ""))),
        completion=record.get("model_output") or "",
        image=image_path,
        coords=None if image_path else "original",
        solution=gt if isinstance(gt, list) and gt else None,
        meta={
            "image": image,
            "question": record.get("question"),
            "upstream_correct": record.get("correct"),
            "upstream_extracted": record.get("extracted_answer"),
        },
    )


def iter_vlm_r1(path: Path, image_root: Path | None = None) -> Iterator[Sample]:
    """Samples from a VLM-R1 evaluation log (``{"results": [record, ...]}``)."""
    with path.open("r", encoding="utf-8", errors="surrogateescape") as fh:  # see iter_jsonl
        try:
            data = json.load(fh)
        except RecursionError:
            raise ValueError(f"{path.name}: nested too deeply to read as a VLM-R1 log") from None
        except ValueError as exc:
            raise ValueError(f"{path.name} is not a JSON document ({exc}); for one JSON object per line use --from jsonl") from None
    records = data.get("results", []) if isinstance(data, dict) else data
    if not isinstance(records, list):
        what = "results" if isinstance(data, dict) else "the log"
        raise ValueError(f"{path.name}: {what!r} must be a list of records, got {type(records).__name__ if records is not None else 'null'}")
    for index, record in enumerate(records):
        sid = f"{path.stem}:{index}"
        if not isinstance(record, dict):
            yield Sample(id=sid, meta={"input_error": f"record {index} is not an object"})
            continue
        try:
            yield vlm_r1_record_to_sample(record, sid, image_root)
        except (ValueError, ValidationError) as exc:
            yield Sample(id=sid, meta={"input_error": str(exc).splitlines()[0]})


def iter_samples(
    path: str | Path, source: str | None = None, image_root: str | Path | None = None, *, strict: bool = False
) -> Iterator[Sample]:
    """Samples from ``path``; ``source`` is ``jsonl``, ``vlm-r1`` or None to detect; ``strict``: see :func:`coerce_sample`."""
    p = Path(path)
    problem = not_a_file(p)
    if problem is not None:
        if problem.startswith("no such file"):
            raise FileNotFoundError(problem)
        raise ValueError(problem)
    if image_root is not None and not os.path.isdir(image_root):
        raise ValueError(f"image root {str(image_root)!r} is not a directory")
    kind = source or detect_source(p)
    if kind == "vlm-r1":
        return iter_vlm_r1(p, Path(image_root) if image_root else None)
    if kind == "jsonl":
        return iter_jsonl(p, strict=strict)
    raise ValueError(f"unknown input source {kind!r}; choose from {', '.join(SOURCES)}")


# -- one way in: Python objects -> Samples -------------------------------------------
SAMPLE_SHAPES = (
    "a groundscore.Sample, a mapping of Sample fields (e.g. {'query': ..., 'completion': ...}), "
    "or an iterable (list, tuple, generator) of those"
)


def _invalid(message: str) -> Issue:
    return Issue(code="sample.invalid", message=message[:300], severity="error")


SAMPLE_KEYS: frozenset[str] = frozenset(Sample.model_fields)
"""The keys a sample mapping may hold; any other is a mistake worth saying (``sample.unknown_key``)."""


KEY_HINTS: dict[str, str] = {
    "prompt": "query", "question": "query", "text": "query", "expression": "query", "referring_expression": "query",
    "response": "completion", "output": "completion", "answer": "completion", "generation": "completion",
    "image_path": "image", "img": "image", "image_file": "image", "file_name": "image",
    "ground_truth": "solution", "gt": "solution", "bbox": "solution", "gt_bbox": "solution", "label": "solution",
}
"""Keys other tools use for a Sample field, which no spelling distance would find ("prompt" -> ``query``)."""


def _meant(name: str) -> str | None:
    """The Sample field ``name`` probably meant: a known alias, else the closest spelling."""
    if name.lower() in KEY_HINTS:
        return KEY_HINTS[name.lower()]
    close = difflib.get_close_matches(name, SAMPLE_KEYS, n=1, cutoff=0.7)
    return close[0] if close else None


def unknown_keys_issue(data: Mapping[Any, Any], *, strict: bool = False) -> Issue | None:
    """The issue for keys of ``data`` that are no Sample field ("qeury"), or None when there are none.

    A warning by default (the key is ignored and the sample is verified
    without it); with ``strict`` a ``sample.invalid`` error, so the sample is
    not scored at all. The message suggests the field a key probably meant.
    """
    unknown = [k for k in data if k not in SAMPLE_KEYS]
    if not unknown:
        return None
    names = []
    for key in unknown[:5]:
        name = clean_text(key if isinstance(key, str) else repr(key))[0][:40]
        meant = _meant(name)
        names.append(f"{name!r} (did you mean {meant!r}?)" if meant else repr(name))
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    listed = ", ".join(names) + more
    if strict:
        return _invalid(f"unknown sample key(s) {listed}; a sample's keys are {', '.join(sorted(SAMPLE_KEYS))}")
    return Issue(code="sample.unknown_key", message=f"unknown sample key(s) {listed} ignored", severity="warning")


def ambiguous_targets(value: Any) -> Any:
    """An ambiguous query's ground truth (``{"ambiguous": [A, B]}``, as dict or JSON text) read; any other value as given.

    For the file readers: a line may write the ambiguous shape that the
    reward path reads (:mod:`groundscore.rewards.solution`), and every other
    ``solution`` is validated as before.
    """
    if (isinstance(value, Mapping) and ("ambiguous" in value or "targets" in value)) or (
            isinstance(value, str) and '"ambiguous"' in value[:100_000]):
        from groundscore.rewards.solution import parse_solution

        parsed = parse_solution(value)
        return parsed if parsed is not None else value
    return value


def coerce_sample(
    item: Any, *, solution_parser: Callable[[Any], Any] | None = None, strict: bool = False
) -> tuple[Sample, Issue | None]:
    """One item of a batch -> a Sample, plus the issue that made it invalid.

    Never raises: model text is data, so a field that does not validate
    still yields a Sample (its readable text fields kept) with a
    ``sample.invalid`` error issue, and the chain reports it like any other
    finding. A bare string or bytes inside a batch is taken as a completion.
    Text is cleaned on the way in (see :mod:`groundscore.inputs.hygiene`); what
    was cleaned, and keys that are no Sample field, are noted on
    :attr:`Sample.input_issues <groundscore.model.Sample.input_issues>`.

    Args:
        item: A :class:`~groundscore.model.Sample`, a mapping of its fields,
            or a completion as ``str``/``bytes``.
        solution_parser: Turns a ``solution`` that is not already a list of
            boxes (e.g. the JSON string a dataset column holds) into one; used
            by the reward path. None keeps ``solution`` as given.
        strict: An unknown key ("qeury") makes the sample invalid instead
            of a warning.

    Returns:
        ``(sample, issue)``; ``issue`` is None when the item was valid.
    """
    if type(item) is Sample or isinstance(item, Sample):
        return item, None
    try:
        if isinstance(item, Mapping):
            data = dict(item)
            unknown = unknown_keys_issue(data, strict=strict)
            if solution_parser is not None and "solution" in data:
                value = data["solution"]
                if not (value is None or (isinstance(value, list) and all(isinstance(b, list) for b in value))):
                    data["solution"] = solution_parser(value)
            alternatives = getattr(data.get("solution"), "alternatives", None)
            if alternatives and "alternatives" not in data:
                # an ambiguous query's acceptable targets (groundscore.rewards.solution.AmbiguousSolution)
                data["alternatives"] = alternatives
                data["solution"] = list(data["solution"])
            try:
                sample = Sample.model_validate(data)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ())) or "sample"
                safe = {k: data.get(k) for k in ("query", "completion", "id") if isinstance(data.get(k), str | bytes | None)}
                try:
                    sample = Sample.model_validate(safe)
                except ValidationError:
                    sample = Sample()
                return sample, _invalid(clean_text(f"invalid sample field {where!r}: {first.get('msg', exc)}")[0])
            if unknown is not None and unknown.severity == "error":
                return sample, unknown
            if unknown is not None:
                sample.add_input_issue(unknown)
            return sample, None
        if isinstance(item, str | bytes):
            return Sample(completion=item), None
        return Sample(), _invalid(f"a sample must be a Sample or a mapping, got {type(item).__name__}")
    except Exception as exc:  # noqa: BLE001 - a validator's TypeError, a broken Mapping: an issue, never an exception
        return Sample(), _invalid(clean_text(f"the sample could not be read: {type(exc).__name__}: {exc}")[0])


def check_batch_type(samples: Any) -> None:
    """Raise ``TypeError`` naming the accepted shapes when ``samples`` is no sample and no batch.

    A bare ``str``/``bytes`` (which would otherwise be iterated one character
    at a time), ``None`` and numbers are programming errors, not model output.
    """
    if isinstance(samples, Sample | Mapping):
        return
    if samples is None or isinstance(samples, str | bytes | bytearray) or not isinstance(samples, Iterable):
        hint = " (wrap one completion as {'completion': text})" if isinstance(samples, str | bytes | bytearray) else ""
        raise TypeError(f"expected {SAMPLE_SHAPES}; got {type(samples).__name__}{hint}")


def coerce_samples(
    samples: Any, *, solution_parser: Callable[[Any], Any] | None = None, strict: bool = False
) -> list[tuple[Sample, Issue | None]]:
    """The one way in: whatever the Python API, the integrations or the CLI were given -> Samples.

    ``groundscore.verify``, :meth:`Chain.verify <groundscore.chain.Chain.verify>`,
    the :class:`~groundscore.rewards.rewarder.Rewarder`, the trainer integrations and the
    command line all read their input through this function, so they agree on
    what a sample is and on what becomes an issue.

    Args:
        samples: One Sample or mapping (a batch of one), or an iterable of
            Samples, mappings or completion strings.
        solution_parser: See :func:`coerce_sample`.
        strict: See :func:`coerce_sample` (``ChainConfig.strict`` sets it).

    Returns:
        One ``(sample, issue)`` per item, in order. A generator that fails
        half-way ends the batch with one invalid sample carrying its error.

    Raises:
        TypeError: ``samples`` is a bare ``str``/``bytes``, ``None``, a number
            or another non-iterable; the message names the accepted shapes.
    """
    check_batch_type(samples)
    items: list[Any]
    if isinstance(samples, Sample | Mapping):
        items = [samples]
    else:
        items = []
        try:
            items.extend(samples)
        except Exception as exc:  # noqa: BLE001 - a generator that fails half-way: one bad sample, reported
            items.append(_Failed(exc))
    out: list[tuple[Sample, Issue | None]] = []
    for item in items:
        if isinstance(item, _Failed):
            message = clean_text(f"the sample could not be read: {type(item.exc).__name__}: {item.exc}")[0]
            out.append((Sample(), _invalid(message)))
        else:
            out.append(coerce_sample(item, solution_parser=solution_parser, strict=strict))
    return out


class _Failed:
    """Marks where an input iterable raised, so its error becomes that position's issue."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
