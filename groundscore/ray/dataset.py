"""``verify_dataset``: samples (files or a Ray Dataset) -> a Ray Dataset of reports.

Samples are read with the same readers as the local engine
(:mod:`groundscore.inputs`), so ids and fields are identical and the reports
can be compared one for one. Each row carries ``id`` and ``index`` (input
order) so the order can be restored after the parallel run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import ray
import ray.data

from groundscore.config import ChainConfig, load_config
from groundscore.ray.actor import ChainActor


def read_samples(
    paths: str | Path | Sequence[str | Path], source: str | None = None, image_root: str | Path | None = None,
    skip_ids: Iterable[str] = (), limit: int | None = None,
) -> list[dict[str, Any]]:
    """Rows ``{id, index, sample}`` (sample as JSON) from JSONL / VLM-R1 files; ids in ``skip_ids`` are left out."""
    from groundscore.inputs import iter_samples

    if isinstance(paths, (str, Path)):
        paths = [paths]
    skip = set(skip_ids)
    rows: list[dict[str, Any]] = []
    index = 0
    for path in paths:
        for sample in iter_samples(path, source, image_root):
            if limit is not None and index >= limit:
                break
            if sample.id not in skip:
                rows.append({"id": str(sample.id), "index": index, "sample": sample.model_dump_json()})
            index += 1
    return rows


def verify_dataset(
    dataset_or_paths: Any,
    config: ChainConfig | dict[str, Any] | str | Path | None = None,
    *,
    workers: int = 1,
    gpus_per_worker: float = 0.0,
    batch_size: int = 256,
    source: str | None = None,
    image_root: str | Path | None = None,
    skip_ids: Iterable[str] = (),
    max_restarts: int = 3,
    limit: int | None = None,
) -> ray.data.Dataset:
    """A lazy Ray Dataset of report rows ``{id, index, decision, confidence, report, pid}``.

    ``dataset_or_paths`` is a Ray Dataset with ``id``/``index``/``sample`` columns
    or file path(s). One Chain per actor in a pool of ``workers`` actors;
    ``gpus_per_worker`` > 0 puts the actors on GPUs (for CLIP). Actors that die are
    restarted (``max_restarts``) and their batches retried, so a killed worker
    costs time, not records.
    """
    cfg = load_config(config).model_dump(mode="json")
    if isinstance(dataset_or_paths, ray.data.Dataset):
        ds = dataset_or_paths
    else:
        rows = read_samples(dataset_or_paths, source, image_root, skip_ids, limit)
        if not rows:
            return ray.data.from_items([])
        blocks = max(1, min(200, -(-len(rows) // max(1, batch_size))))
        ds = ray.data.from_items(rows, override_num_blocks=blocks)
    return ds.map_batches(
        ChainActor,
        fn_constructor_kwargs={"config": cfg},
        batch_size=batch_size,
        batch_format="numpy",
        concurrency=max(1, workers),
        num_gpus=gpus_per_worker or None,
        num_cpus=1,
        max_restarts=max_restarts,
        max_task_retries=-1,
    )
