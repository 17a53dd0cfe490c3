"""A report as ``verify`` writes it: the Report plus the sample fields that later commands need.

``filter``, ``calibrate``, ``eval`` and ``report`` read these records back
without running the chain again, and the Ray engine writes the same records
from its workers; both import this one function, so the written shape is
defined once, below the command line and the engines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from groundscore.model import Report, Sample


def report_record(report: Report, sample: Sample) -> dict[str, Any]:
    """A report as written to JSONL: the Report plus the sample fields needed later."""
    record = report.model_dump(mode="json")
    image = sample.image if isinstance(sample.image, str | Path) else None
    record["sample"] = {
        "id": sample.id,
        "query": sample.query,
        "solution": sample.solution,
        "image": str(image) if image is not None else None,
        "image_size": list(sample.image_size) if sample.image_size else None,
        "meta": sample.meta,
        "group": sample.group,
    }
    if sample.alternatives:  # an ambiguous query's acceptable targets: read back as they were given
        record["sample"]["alternatives"] = sample.alternatives
    return record
