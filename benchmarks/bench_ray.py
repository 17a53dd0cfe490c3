"""Ray engine vs the local engine on the REC completions (VLM-R1 logs), in one run.

Prints records/s for the local engine, the Ray engine with 1 and 2 workers, and
the start-up overhead of a local Ray runtime (ray.init + first actor ready).

    python benchmarks/bench_ray.py [--limit N] [--verifiers schema,spatial]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

LOGS = Path("/work/shared/data/vlmr1-rec-logs")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=None, help="records per log (default all: 18,000 in total)")
    ap.add_argument("--verifiers", default="schema,spatial")
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args()
    config = {"verifiers": args.verifiers.split(",")}
    paths = sorted(LOGS.glob("*.json"))

    from groundscore.chain import Chain
    from groundscore.inputs import iter_samples

    samples = [s for p in paths for i, s in enumerate(iter_samples(p)) if args.limit is None or i < args.limit]
    n = len(samples)
    chain = Chain(config)
    t = time.perf_counter()
    for i in range(0, n, args.batch_size):
        chain.verify(samples[i:i + args.batch_size])
    local_s = time.perf_counter() - t
    print(f"records: {n}  verifiers: {args.verifiers}")
    print(f"local engine          {n / local_s:9.0f} records/s  ({local_s * 1e3 / n:.3f} ms/record)")

    import ray

    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    init_s = time.perf_counter() - t
    from groundscore.ray import read_samples, verify_dataset

    rows = [r for p in paths for r in read_samples(p, limit=args.limit)]
    try:
        t = time.perf_counter()
        verify_dataset(ray.data.from_items(rows[:1]), config, workers=1).take_all()
        first_s = time.perf_counter() - t
        print(f"ray.init              {init_s:9.2f} s;  first 1-record run (actor start + Chain build) {first_s:.2f} s")
        for workers in (1, 2):
            ds = ray.data.from_items(rows, override_num_blocks=max(1, -(-len(rows) // args.batch_size)))
            t = time.perf_counter()
            out = verify_dataset(ds, config, workers=workers, batch_size=args.batch_size).take_all()
            s = time.perf_counter() - t
            assert len(out) == n
            print(f"ray engine, {workers} worker{'s' if workers > 1 else ' '} {n / s:9.0f} records/s  "
                  f"({s:.2f} s incl. actor start; {n / s / (n / local_s):.2f}x local)")
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
