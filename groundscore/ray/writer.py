"""Writing report rows once per id, resumable: JSONL lines, or a Parquet folder.

A rerun reads the ids already written and skips them, so a preempted job
continues where it stopped; a retried batch after a worker restart cannot
write an id twice either (the writer keeps a set of ids seen). A path that
ends in ``.parquet`` (or ``format="parquet"``) is written as a folder of
Parquet parts (:mod:`groundscore.ray.parquet`); anything else as JSONL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from groundscore.ray.parquet import ParquetReportWriter, is_parquet, parquet_ids, read_parquet_reports

FORMATS = ("jsonl", "parquet")


def report_format(path: str | Path, format: str | None = None) -> str:
    """``parquet`` for a ``.parquet`` path, else ``jsonl``; an explicit ``format`` wins."""
    if format is not None:
        if format not in FORMATS:
            raise ValueError(f"unknown report format {format!r}; choose from {', '.join(FORMATS)}")
        return format
    return "parquet" if is_parquet(path) else "jsonl"


def written_ids(path: str | Path, format: str | None = None) -> set[str]:
    """Ids already in a report file (JSONL: a torn last line is ignored; Parquet: complete parts)."""
    p = Path(path)
    if report_format(p, format) == "parquet":
        return parquet_ids(p)
    ids: set[str] = set()
    if not p.exists():
        return ids
    with p.open("r", encoding="utf-8") as fh:
        for line in fh:
            try:
                ids.add(str(json.loads(line)["id"]))
            except (ValueError, KeyError, TypeError):
                continue
    return ids


def read_reports(path: str | Path, format: str | None = None, *, ordered: bool = True) -> list[dict[str, Any]]:
    """The report records written to ``path`` (either format), in input order when ``ordered``."""
    p = Path(path)
    if report_format(p, format) == "parquet":
        records = read_parquet_reports(p)
    else:
        records = [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    if ordered:
        records.sort(key=lambda r: r.get("index", 0))
    return records


def write_reports(ds: Any, path: str | Path, on_batch: Callable[[dict[str, Any]], None] | None = None, *,
                  format: str | None = None, rows_per_file: int = 10_000) -> int:
    """Append the rows of ``ds`` to ``path``, one report per id, skipping ids already there; returns how many.

    JSONL: one report per line, flushed after each batch. Parquet: a part
    every ``rows_per_file`` rows and at the end (a preempted run loses at most
    the rows of the part it was filling). ``on_batch`` sees each batch after
    it is written (progress, or a test that kills a worker mid-run).
    """
    p = Path(path)
    kind = report_format(p, format)
    seen = written_ids(p, kind)
    n = 0
    parquet = ParquetReportWriter(p, rows_per_file) if kind == "parquet" else None
    fh = None if parquet is not None else p.open("a", encoding="utf-8")
    try:
        for batch in ds.iter_batches(batch_format="numpy", batch_size=None):
            for rid, index, decision, confidence, report in zip(batch["id"], batch["index"], batch["decision"],
                                                                batch["confidence"], batch["report"], strict=True):
                rid = str(rid)
                if rid in seen:
                    continue
                seen.add(rid)
                if parquet is not None:
                    parquet.add(rid, int(index), str(decision), float(confidence), str(report))
                else:
                    row = json.loads(report)
                    row["id"] = rid
                    row["index"] = int(index)
                    fh.write(json.dumps(row) + "\n")
                n += 1
            if fh is not None:
                fh.flush()
            if on_batch is not None:
                on_batch(batch)
    finally:
        if parquet is not None:
            parquet.close()
        if fh is not None:
            fh.close()
    return n
