"""``--engine ray``: the commands' verification on a Ray Data actor pool.

The Ray engine lives in :mod:`groundscore.ray`; this module hands it what
the options name and brings the reports back. ``verify`` writes them to
``--output`` (resumable: a rerun skips ids already written). ``filter`` and
``eval`` verify on Ray into a report file, in input order, then read that
file exactly as they read any reports ``verify`` wrote (verdicts reused,
confidence and decision recomputed by this command's scorer), so their
results are those of ``--engine local``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _merged_file(args: Any, paths: list[str], folder: str) -> str:
    """The merged samples of several logs as one JSONL file (each line a Sample, ``group`` set).

    The Ray engine reads it like any JSONL input, so it sees each sample's
    group on the driver and can keep a group's answers in one batch.
    """
    from groundscore.commands.input_options import merged_samples
    from groundscore.commands.output import json_line

    samples = merged_samples(args, paths)
    path = Path(folder) / "merged.jsonl"
    with path.open("w", encoding="utf-8", errors="backslashreplace") as fh:
        for sample in samples:
            fh.write(json_line(sample.model_dump(mode="json")))
    return str(path)


def _verify_to(args: Any, output: str) -> int:
    """Verify the inputs on Ray, appending report lines to ``output`` (ids already there are skipped)."""
    import ray

    from groundscore.commands.input_options import chain_from_args, input_paths, should_merge
    from groundscore.ray import verify_dataset, write_reports
    from groundscore.ray.writer import written_ids

    config: Any = chain_from_args(args).config
    paths = input_paths(args)
    started = not ray.is_initialized()
    if started:
        ray.init(address=args.address, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    try:
        with tempfile.TemporaryDirectory(prefix="groundscore-merge-") as tmp:
            data: Any = paths if len(paths) > 1 else paths[0]
            source, image_root = args.source, args.image_root
            if should_merge(args, paths):
                data, source, image_root = _merged_file(args, paths, tmp), "jsonl", None
            ds = verify_dataset(data, config, workers=args.workers, gpus_per_worker=args.gpus_per_worker,
                                batch_size=max(1, args.batch_size), source=source, image_root=image_root,
                                skip_ids=written_ids(output), limit=args.limit)
            return write_reports(ds, output)
    finally:
        if started:
            ray.shutdown()


def run_verify_on_ray(args: Any) -> int:
    """``verify --engine ray``: reports to ``--output`` (JSONL), resumable; a rerun skips ids already written."""
    if args.output in (None, "-"):
        print("error: --engine ray writes to a file; pass -o PATH", file=sys.stderr)
        return 2
    n = _verify_to(args, args.output)
    print(f"wrote {n} reports to {args.output}", file=sys.stderr)
    return 0


@contextmanager
def reports_on_ray(args: Any) -> Iterator[str]:
    """A temporary JSONL file of the inputs' reports, verified on Ray, in input order.

    Yields its path; ``filter`` and ``eval`` read it as reports written by
    ``verify``. The file is removed afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="groundscore-ray-") as tmp:
        raw = Path(tmp) / "unordered.jsonl"
        _verify_to(args, str(raw))
        rows = [json.loads(line) for line in raw.read_text(encoding="utf-8").splitlines() if line.strip()]
        rows.sort(key=lambda r: int(r.get("index", 0)))
        # a report keeps the sample's fields but not the model's text, which filter passes on when it keeps an answer
        completions = _completions(args)
        for row in rows:
            if isinstance(row.get("sample"), dict):
                row["sample"]["completion"] = completions.get(str(row.get("id")), "")
        ordered = Path(tmp) / "reports.jsonl"
        with ordered.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
        yield str(ordered)


def _completions(args: Any) -> dict[str, str]:
    """Sample id -> completion, read again from the inputs on the driver."""
    from groundscore.commands.input_options import samples_from_args

    return {str(s.id): s.completion for s in samples_from_args(args)}


def ray_args(args: Any, reports: str) -> Any:
    """The command's options, reading ``reports`` (a JSONL file of reports) instead of the inputs."""
    from types import SimpleNamespace

    return SimpleNamespace(**{**vars(args), "input": reports, "inputs": [reports], "source": "jsonl",
                              "limit": None, "merge_logs": "no", "engine": "local"})
