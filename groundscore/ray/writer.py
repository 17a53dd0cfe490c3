"""Writing report rows as JSONL, once per id, resumable.

A rerun reads the ids already written and skips them, so a preempted job
continues where it stopped; a retried batch after a worker restart cannot
write an id twice either (the writer keeps a set of ids seen).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def written_ids(path: str | Path) -> set[str]:
    """Ids already in a JSONL report file (a torn last line is ignored)."""
    p = Path(path)
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


def write_reports(ds: Any, path: str | Path, on_batch: Callable[[dict[str, Any]], None] | None = None) -> int:
    """Append the rows of ``ds`` to ``path`` (JSONL, one report per line), skipping ids already there.

    ``on_batch`` sees each batch after it is written (progress, or a test that kills a worker mid-run).
    """
    p = Path(path)
    seen = written_ids(p)
    n = 0
    with p.open("a", encoding="utf-8") as fh:
        for batch in ds.iter_batches(batch_format="numpy", batch_size=None):
            for rid, index, report in zip(batch["id"], batch["index"], batch["report"], strict=True):
                rid = str(rid)
                if rid in seen:
                    continue
                seen.add(rid)
                row = json.loads(report)
                row["id"] = rid
                row["index"] = int(index)
                fh.write(json.dumps(row) + "\n")
                n += 1
            fh.flush()
            if on_batch is not None:
                on_batch(batch)
    return n
