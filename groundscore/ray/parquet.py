"""Parquet in and out: samples from Parquet files, reports to a resumable Parquet folder.

Why a folder: a Parquet file is written whole (its footer comes last), so a
job preempted while writing one file would lose all of it, and a file cannot
be appended to. Reports go to ``NAME.parquet/part-NNNNN.parquet`` instead,
each part written to a temporary name and renamed when complete: a rerun
reads the ids of the complete parts and skips them, as with JSONL. pyarrow,
pandas and Ray Data (``ray.data.read_parquet``) read the folder as one table.

Columns: ``id``, ``index`` (input order), ``decision``, ``confidence`` and
``report``, the JSON record ``groundscore verify`` writes (verdict details
differ from verifier to verifier, so they stay one JSON string rather than
a schema that changes with the chain).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

REPORT_COLUMNS = ("id", "index", "decision", "confidence", "report")


def is_parquet(path: str | Path) -> bool:
    """A ``.parquet`` path (a file, or a folder of parts)."""
    return str(path).rstrip("/").endswith(".parquet")


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.glob("*.parquet") if p.is_file())
    return [path] if path.exists() else []


def iter_parquet_samples(path: str | Path) -> Iterator[Any]:
    """Samples from Parquet rows whose columns are :class:`~groundscore.model.Sample` fields.

    A row's ``id`` defaults to ``FILE:ROW`` (row counted from 1, as JSONL
    lines are); ``meta`` may be a JSON string; a report table written by
    :class:`ParquetReportWriter` gives back its samples' recorded fields,
    without the completion (a report keeps its parse, not the model's text).
    A row that does not validate becomes a Sample with ``meta.input_error``,
    never an exception.
    """
    import pyarrow.parquet as pq

    from groundscore.inputs.samples import coerce_sample
    from groundscore.model import Sample

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file: {p}")
    for file in _files(p):
        rownum = 0
        for batch in pq.ParquetFile(file).iter_batches(batch_size=4096):
            for data in batch.to_pylist():
                rownum += 1
                sid = f"{file.name}:{rownum}"
                data = {k: v for k, v in data.items() if v is not None}
                if "report" in data and isinstance(data["report"], str) and "completion" not in data:
                    record = json.loads(data["report"])
                    data = {**record.get("sample", {}), "id": data.get("id", sid)}
                if isinstance(data.get("meta"), str):
                    try:
                        data["meta"] = json.loads(data["meta"])
                    except ValueError:
                        data["meta"] = {"meta": data["meta"]}
                data.setdefault("id", sid)
                sample, issue = coerce_sample(data)
                if issue is not None:
                    sample = Sample(id=str(data["id"]), meta={"input_error": f"row {rownum}: {issue.message}"})
                yield sample


class ParquetReportWriter:
    """Appends report rows to a folder of Parquet parts, each part complete or absent."""

    def __init__(self, path: str | Path, rows_per_file: int = 10_000) -> None:
        self.path = Path(path)
        self.rows_per_file = max(1, rows_per_file)
        self.path.mkdir(parents=True, exist_ok=True)
        existing = [int(p.stem.split("-")[-1]) for p in self.path.glob("part-*.parquet") if p.stem.split("-")[-1].isdigit()]
        self._next = max(existing, default=-1) + 1
        self._rows: dict[str, list[Any]] = {c: [] for c in REPORT_COLUMNS}

    def add(self, rid: str, index: int, decision: str, confidence: float, report: str) -> None:
        for column, value in zip(REPORT_COLUMNS, (rid, index, decision, confidence, report), strict=True):
            self._rows[column].append(value)
        if len(self._rows["id"]) >= self.rows_per_file:
            self.flush()

    def flush(self) -> None:
        """Write the rows held so far as one part (temporary name, then an atomic rename)."""
        if not self._rows["id"]:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({
            "id": pa.array(self._rows["id"], pa.string()), "index": pa.array(self._rows["index"], pa.int64()),
            "decision": pa.array(self._rows["decision"], pa.string()),
            "confidence": pa.array(self._rows["confidence"], pa.float64()),
            "report": pa.array(self._rows["report"], pa.string()),
        })
        final = self.path / f"part-{self._next:05d}.parquet"
        tmp = self.path / f".part-{self._next:05d}.parquet.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, final)
        self._next += 1
        self._rows = {c: [] for c in REPORT_COLUMNS}

    def close(self) -> None:
        self.flush()


def parquet_ids(path: str | Path) -> set[str]:
    """Ids in the complete parts of a Parquet report folder (or file)."""
    import pyarrow.parquet as pq

    ids: set[str] = set()
    for file in _files(Path(path)):
        ids.update(str(x) for x in pq.read_table(file, columns=["id"]).column("id").to_pylist())
    return ids


def read_parquet_reports(path: str | Path, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The report records of a Parquet report folder, as ``groundscore verify`` writes them (plus id, index)."""
    import pyarrow.parquet as pq

    out: list[dict[str, Any]] = []
    for file in _files(Path(path)):
        for row in pq.read_table(file, columns=list(columns) if columns else None).to_pylist():
            record = json.loads(row.pop("report")) if "report" in row else {}
            record.update(row)
            out.append(record)
    return out
