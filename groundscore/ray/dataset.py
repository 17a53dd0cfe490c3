"""``verify_dataset``: samples (files or a Ray Dataset) -> a Ray Dataset of reports.

Samples are read with the same readers as the local engine
(:mod:`groundscore.inputs.samples`; Parquet through :mod:`groundscore.ray.parquet`),
so ids and fields are identical and the reports can be compared one for one.
Each row carries ``id`` and ``index`` (input order) so the order can be
restored after the parallel run.

Groups stay whole: the agreement verifier compares the answers of one group,
so a batch that holds half a group would give other verdicts than the local
engine. Input read from files is therefore cut into batches on the driver,
where every sample's group is known (``Sample.group``, or the derived group
with ``ChainConfig.groups = "derive"``): members of a group are put next to
each other (groups in the order of their first member) and a batch ends only
between groups. Each batch travels as one row (a ``chunk``), so Ray Data can
neither split nor merge it; the actor verifies a chunk in one chain call and
returns one report row per sample. A Ray Dataset with a ``group`` column is
grouped the same way with Ray Data's ``groupby``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import ray
import ray.data

from groundscore.config import ChainConfig, load_config
from groundscore.ray.actor import ChainActor


def _iter_file(
    path: str | Path, source: str | None, image_root: str | Path | None, strict: bool = False
) -> Iterator[Any]:
    from groundscore.inputs.samples import iter_samples
    from groundscore.ray.parquet import is_parquet, iter_parquet_samples

    if is_parquet(path) and source in (None, "parquet"):
        return iter_parquet_samples(path)
    return iter_samples(path, source, image_root, strict=strict)


def read_samples(
    paths: str | Path | Sequence[str | Path], source: str | None = None, image_root: str | Path | None = None,
    skip_ids: Iterable[str] = (), limit: int | None = None, *, groups: str | None = None, strict: bool = False,
) -> list[dict[str, Any]]:
    """Rows ``{id, index, sample}`` (sample as JSON) from JSONL / VLM-R1 / Parquet files; ids in ``skip_ids`` are left out.

    ``groups`` (``"given"`` or ``"derive"``, as :attr:`ChainConfig.groups`) adds
    a ``group`` column: the sample's group id, or None when it has none.
    ``strict`` (as :attr:`ChainConfig.strict`): a JSONL line with a key that
    is no sample field is read as an unreadable line.
    """
    from groundscore.groups.grouping import assign_groups

    if isinstance(paths, (str, Path)):
        paths = [paths]
    skip = set(skip_ids)
    rows: list[dict[str, Any]] = []
    index = 0
    for path in paths:
        for sample in _iter_file(path, source, image_root, strict):
            if limit is not None and index >= limit:
                break
            if sample.id not in skip:
                row = {"id": str(sample.id), "index": index, "sample": sample.model_dump_json()}
                if groups is not None:
                    row["group"] = assign_groups([sample], groups)[0]
                rows.append(row)
            index += 1
    return rows


def pack_batches(rows: Sequence[dict[str, Any]], batch_size: int) -> list[dict[str, Any]]:
    """Rows -> one row per batch (``chunk``: the samples' JSON, ``ids``, ``indices``), never splitting a group.

    Members of a group are moved next to the first one; ungrouped rows keep
    their place. A batch closes before a group that would overflow
    ``batch_size``; a group larger than ``batch_size`` is a batch of its own.
    """
    ordered: list[list[dict[str, Any]]] = []  # runs that must stay together
    by_group: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = row.get("group")
        if key is None:
            ordered.append([row])
        elif key in by_group:
            by_group[key].append(row)
        else:
            by_group[key] = [row]
            ordered.append(by_group[key])
    batches: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    for run in ordered:
        if current and len(current) + len(run) > batch_size:
            batches.append(current)
            current = []
        current.extend(run)
    if current:
        batches.append(current)
    return [_chunk(batch) for batch in batches]


def _chunk(batch: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"chunk": json.dumps([r["sample"] for r in batch]), "ids": json.dumps([r["id"] for r in batch]),
            "indices": json.dumps([int(r["index"]) for r in batch])}


def _pack_group(group: dict[str, Any]) -> dict[str, Any]:
    """One group of a Ray Dataset (numpy batch of its rows) -> one chunk row."""
    rows = [{"id": str(i), "index": int(x), "sample": str(s)}
            for i, x, s in zip(group["id"], group["index"], group["sample"], strict=True)]
    packed = _chunk(rows)
    return {k: [v] for k, v in packed.items()}


def _with_group_key(row: dict[str, Any]) -> dict[str, Any]:
    """An ungrouped row is a group of its own (Ray's groupby would put every None together)."""
    if row.get("group") is None:
        row = {**row, "group": f"\x00{row['id']}"}
    return row


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
    max_restarts: int | None = None,
    limit: int | None = None,
    groups_per_batch: int | None = None,
) -> ray.data.Dataset:
    """A lazy Ray Dataset of report rows ``{id, index, decision, confidence, report, pid}``.

    ``dataset_or_paths`` is a Ray Dataset with ``id``/``index``/``sample``
    columns (and optionally ``group``) or file path(s): JSONL, VLM-R1 logs,
    Parquet. One Chain per actor in a pool of ``workers`` actors;
    ``gpus_per_worker`` > 0 puts the actors on GPUs (for CLIP). Actors that die
    are restarted (``max_restarts``; None: Ray Data's default, without limit)
    and their batches retried, so a killed
    worker costs time, not records. Groups are never split across batches
    (see the module docstring); for a Ray Dataset with a ``group`` column a
    batch holds ``groups_per_batch`` groups (default ``batch_size // 8``).
    """
    chain_config = load_config(config)
    cfg = chain_config.model_dump(mode="json")
    actor_options: dict[str, Any] = {
        "fn_constructor_kwargs": {"config": cfg}, "batch_format": "numpy", "concurrency": max(1, workers),
        "num_gpus": gpus_per_worker or None, "num_cpus": 1,
    }
    if max_restarts is not None:  # else Ray Data's default: restarted without limit, batches retried
        actor_options["max_restarts"] = max_restarts
    if isinstance(dataset_or_paths, ray.data.Dataset):
        ds = dataset_or_paths
        if "group" not in (ds.columns() or []):
            return ds.map_batches(ChainActor, batch_size=batch_size, **actor_options)
        packed = ds.map(_with_group_key).groupby("group").map_groups(_pack_group, batch_format="numpy")
        per_batch = groups_per_batch or max(1, batch_size // 8)
        return packed.map_batches(ChainActor, batch_size=per_batch, **actor_options)
    rows = read_samples(dataset_or_paths, source, image_root, skip_ids, limit, groups=chain_config.groups,
                        strict=chain_config.strict)
    if not rows:
        return ray.data.from_items([])
    chunks = pack_batches(rows, max(1, batch_size))
    ds = ray.data.from_items(chunks, override_num_blocks=max(1, min(200, len(chunks))))
    return ds.map_batches(ChainActor, batch_size=1, **actor_options)
