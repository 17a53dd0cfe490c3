"""``--engine local|ray`` and the Ray options, shared by the commands.

The Ray engine lives in :mod:`groundscore.ray`; this module only adds the
flags and hands a parsed command to it, so the commands stay as they are.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_engine_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: this process; ray: a Ray Data actor pool (needs the [ray] extra)")
    p.add_argument("--address", default=None, help="Ray cluster: 'auto' (a `ray start` cluster) or ray://HOST:PORT; "
                                                   "absent: a local Ray runtime")
    p.add_argument("--workers", type=int, default=1, help="Ray actors, one Chain each (default 1)")
    p.add_argument("--gpus-per-worker", type=float, default=0.0, help="GPUs per Ray actor (for clip; default 0)")


def run_verify_on_ray(args: argparse.Namespace) -> int:
    """``verify --engine ray``: reports to ``--output`` (JSONL), resumable; a rerun skips ids already written."""
    import ray

    from groundscore.commands.input_options import chain_from_args
    from groundscore.ray import verify_dataset, write_reports
    from groundscore.ray.writer import written_ids

    if args.output in (None, "-"):
        print("error: --engine ray writes to a file; pass -o PATH", file=sys.stderr)
        return 2
    config: Any = chain_from_args(args).config
    ray.init(address=args.address, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    try:
        ds = verify_dataset(args.input, config, workers=args.workers, gpus_per_worker=args.gpus_per_worker,
                            batch_size=max(1, args.batch_size), source=args.source, image_root=args.image_root,
                            skip_ids=written_ids(args.output), limit=args.limit)
        n = write_reports(ds, args.output)
    finally:
        ray.shutdown()
    print(f"wrote {n} reports to {args.output}", file=sys.stderr)
    return 0
