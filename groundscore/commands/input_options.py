"""Reading what the input options name: the chain, the samples, the labelled items.

``verify``, ``filter``, ``calibrate``, ``eval`` and ``report`` read the same
inputs (JSONL samples, ``--from vlm-r1`` logs, reports written by
``verify``) with the same chain options (:func:`groundscore.commands.options.input_options`).
Several logs answering the same questions are merged into groups
(:func:`groundscore.groups.grouping.merge_logs`) when ``--merge-logs`` says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from groundscore.model import Sample

MERGE_SHARE = 0.5
"""``--merge-logs auto`` merges when every other input answers at least this share of the first one's questions."""


def chain_from_args(args: Any, *, calibration: str | None = None, use_config_calibration: bool = True) -> Any:
    """The chain the options describe; ``calibration`` overrides the config's calibration file."""
    from groundscore.chain import Chain
    from groundscore.config import load_config

    check_image_root(args)
    config = load_config(args.config)
    update: dict[str, Any] = {}
    if args.verifiers:
        update["verifiers"] = [v.strip() for v in args.verifiers.split(",") if v.strip()]
    if getattr(args, "strict", False):
        update["strict"] = True
    if calibration is not None:
        update["calibration"] = calibration
    elif not use_config_calibration:
        update["calibration"] = None
    if update:
        config = config.model_copy(update=update)
    return Chain(config)


def reading_strict(args: Any) -> bool:
    """Whether the readers treat an unknown sample key as an unreadable line: ``--strict`` or the config's ``strict``.

    The readers make the samples before the chain sees them, so the chain's own
    ``strict`` (which applies to mappings it is handed) would never see a JSONL
    line's keys: the setting is applied where the lines are read.
    """
    if getattr(args, "strict", False):
        return True
    from groundscore.config import load_config

    return bool(load_config(getattr(args, "config", None)).strict)


def check_image_root(args: Any) -> None:
    """``--image-root`` must be a folder: one that is not would silently leave every image unread."""
    root = getattr(args, "image_root", None)
    if root and not os.path.isdir(root):
        raise ValueError(f"--image-root {root!r} is not a directory")


def check_inputs(args: Any, paths: Sequence[str] | None = None) -> None:
    """Every input is a readable file and ``--image-root`` a folder, before any output is opened.

    A mistyped input name must fail while nothing has been written: the
    readers open their files lazily, after the command has opened its output.
    """
    from groundscore.inputs.samples import not_a_file

    check_image_root(args)
    for path in paths if paths is not None else input_paths(args):
        problem = not_a_file(path)
        if problem is not None:
            raise (FileNotFoundError if problem.startswith("no such file") else ValueError)(problem)
        with open(path, "rb"):  # a file we may not read says so now (PermissionError, one line)
            pass


def input_paths(args: Any) -> list[str]:
    """The inputs a command was given (``inputs``, or the single ``input``)."""
    paths = getattr(args, "inputs", None)
    return list(paths) if paths else [args.input]


def should_merge(args: Any, paths: Sequence[str]) -> bool:
    """Whether several inputs are one set of questions answered several times (``--merge-logs``)."""
    mode = getattr(args, "merge_logs", "no")
    if len(paths) < 2 or mode == "no":
        return False
    if mode == "yes":
        return True
    from groundscore.groups.grouping import question_key
    from groundscore.inputs.samples import iter_samples

    keys = [
        {question_key(s) for s in iter_samples(p, args.source, args.image_root, strict=reading_strict(args))
         if not s.meta.get("input_error")}
        for p in paths
    ]
    first = keys[0]
    return bool(first) and all(len(first & other) >= MERGE_SHARE * len(first) for other in keys[1:])


def merged_samples(args: Any, paths: Sequence[str]) -> list[Sample]:
    """Every record of every input: grouped by question across the inputs, then the unreadable lines.

    A question answered by only some inputs is a smaller group (no record
    is dropped); lines that could not be read follow, ungrouped, so that each
    still gets its output line.
    """
    from groundscore.groups.grouping import merge_logs
    from groundscore.inputs.samples import iter_samples

    strict = reading_strict(args)
    samples = merge_logs(paths, args.source, args.image_root, require_all=False, strict=strict)
    for path in paths:
        samples += [s for s in iter_samples(path, args.source, args.image_root, strict=strict) if s.meta.get("input_error")]
    return samples


def samples_from_args(args: Any) -> Iterator[Sample]:
    """The samples of every input, in order (merged into groups when the inputs answer the same questions)."""
    from groundscore.inputs.samples import iter_samples

    paths = input_paths(args)
    if should_merge(args, paths):
        samples: Iterable[Sample] = merged_samples(args, paths)
    else:
        strict = reading_strict(args)
        samples = (s for p in paths for s in iter_samples(p, args.source, args.image_root, strict=strict))
    limit = args.limit
    for i, sample in enumerate(samples):
        if limit is not None and i >= limit:
            return
        yield sample


def items_from_args(args: Any, chain: Any, path: str | None = None) -> Any:
    """Items (one per input line, in order) from the input the options name."""
    from groundscore.scoring.labelled import iter_items

    return iter_items(
        path or args.input, args.source, chain, image_root=args.image_root,
        batch_size=max(1, args.batch_size), label_field=getattr(args, "label_field", None),
        iou=getattr(args, "iou", 0.5), limit=args.limit, strict=reading_strict(args),
    )


def items_from_samples(args: Any, chain: Any, samples: Iterable[Sample]) -> Any:
    """Items from samples already read (merged logs), verified in batches that keep groups whole."""
    from groundscore.scoring.labelled import iter_sample_items

    return iter_sample_items(
        samples, chain, batch_size=max(1, args.batch_size), label_field=getattr(args, "label_field", None),
        iou=getattr(args, "iou", 0.5), limit=args.limit,
    )


def is_unreadable(report: Any) -> bool:
    """A report of an input line that could not be read at all."""
    return any(i.code == "input.unreadable" for i in report.parsed.issues)


def unreadable_note(unreadable: int, total: int, paths: Sequence[str], source: str | None) -> list[str]:
    """What the summary says about unreadable lines; when most failed, which ``--from`` to try."""
    if not unreadable:
        return []
    lines = [f"unreadable input lines: {unreadable} of {total} ({100 * unreadable / max(1, total):.1f}%)"]
    if unreadable * 2 > total:
        lines.append("most input lines could not be read: " + _source_hint(paths, source))
    return lines


def _source_hint(paths: Sequence[str], source: str | None) -> str:
    """Name the ``--from`` that fits the first input, from its first bytes."""
    try:
        with Path(paths[0]).open("rb") as fh:
            head = fh.read(4096).lstrip()
    except OSError:
        head = b""
    if head.startswith(b"{") and b'"results"' in head and source != "vlm-r1":
        return "it looks like a VLM-R1 evaluation log; try --from vlm-r1"
    if source == "vlm-r1":
        return "it does not read as a VLM-R1 log; try --from jsonl (one JSON object per line)"
    return "check the format: --from jsonl reads one JSON object per line, --from vlm-r1 a VLM-R1 evaluation log"
