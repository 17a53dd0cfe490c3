"""Ray engine vs the local engine on the REC completions (VLM-R1 logs), in one run.

Prints records/s for the local engine and for ``verify_dataset`` (the path
``groundscore verify --engine ray`` takes: the driver reads the logs and packs
batches, a Ray Data actor pool verifies them) with 1 and 2 workers, the
start-up overhead of a local Ray runtime (``ray.init``; actor start and chain
build), and checks that every report's decision and confidence equal the
local engine's. Then the reward pool: responses/s through the pool (1 and 2
actors) next to the in-process verl function, batch and one-call-per-response.

    python benchmarks/bench_ray.py [--limit N] [--verifiers schema,spatial] [--pool-responses 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from shared_data import REC_LOGS as LOGS


def bench_engine(paths: list[Path], config: dict, limit: int | None, batch_size: int) -> None:
    from groundscore.chain import Chain
    from groundscore.inputs import iter_samples

    t = time.perf_counter()
    samples = [s for p in paths for i, s in enumerate(iter_samples(p)) if limit is None or i < limit]
    read_s = time.perf_counter() - t
    n = len(samples)
    chain = Chain(config)
    t = time.perf_counter()
    local = {}
    for i in range(0, n, batch_size):
        for r in chain.verify(samples[i:i + batch_size]):
            local[r.id] = (r.decision, r.confidence)
    local_s = time.perf_counter() - t
    print(f"records: {n} from {len(paths)} logs  verifiers: {','.join(config['verifiers'])}  batch {batch_size}")
    print(f"reading the logs            {read_s:7.2f} s")
    print(f"local engine          {n / local_s:9.0f} records/s  ({local_s * 1e3 / n:.3f} ms/record)")

    import ray

    from groundscore.ray import verify_dataset

    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    init_s = time.perf_counter() - t
    try:
        t = time.perf_counter()
        verify_dataset(ray.data.from_items([{"id": "x", "index": 0, "sample": samples[0].model_dump_json()}]),
                       config, workers=1).take_all()
        first_s = time.perf_counter() - t
        print(f"ray.init              {init_s:9.2f} s;  first 1-record run (actor start + Chain build) {first_s:.2f} s")
        for workers in (1, 2):
            t = time.perf_counter()
            rows = verify_dataset(paths, config, workers=workers, batch_size=batch_size, limit=None).take_all() \
                if limit is None else \
                verify_dataset(ray.data.from_items([{"id": s.id, "index": i, "sample": s.model_dump_json()}
                                                    for i, s in enumerate(samples)]),
                               config, workers=workers, batch_size=batch_size).take_all()
            s = time.perf_counter() - t
            got = {r["id"]: (r["decision"], r["confidence"]) for r in rows}
            same = "identical to local" if got == local else "DIFFERENT from local"
            print(f"ray engine, {workers} worker{'s' if workers > 1 else ' '} {n / s:9.0f} records/s  "
                  f"({s:.2f} s incl. reading + actor start; {n / s / (n / local_s):.2f}x local; reports {same})")
    finally:
        ray.shutdown()


def bench_pool(paths: list[Path], chain: dict, responses: int) -> None:
    import ray

    from groundscore.integrations import ray_pool
    from groundscore.integrations.verl import compute_score_batch
    from groundscore.ray.reward_pool import start_pool, stop_pool

    records = [r for p in paths for r in json.loads(p.read_text())["results"]][:responses]
    args = (["refcoco"] * len(records), [r["model_output"] for r in records], [r["ground_truth"] for r in records],
            [{"question": r["question"], "coords": "original"} for r in records])
    n = len(records)
    compute_score_batch(*(a[:8] for a in args), chain_config=chain)  # build the in-process chain first
    t = time.perf_counter()
    expected = []
    for i in range(0, n, 256):
        expected += compute_score_batch(*(a[i:i + 256] for a in args), chain_config=chain)
    local_s = time.perf_counter() - t
    print(f"\nreward pool, {n} verl responses (grounded rewards, chain {','.join(chain['verifiers'])})")
    print(f"in-process compute_score_batch  {n / local_s:9.0f} responses/s")
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        for workers in (1, 2):
            name = f"bench-{workers}"
            t = time.perf_counter()
            start_pool(name, workers, None, chain, num_cpus=0.5)
            start_s = time.perf_counter() - t
            t = time.perf_counter()
            got = []
            for i in range(0, n, 256):
                got += ray_pool.compute_score_batch_ray(*(a[i:i + 256] for a in args), pool=name)
            batch_s = time.perf_counter() - t

            async def singles(name: str = name) -> list:
                return list(await asyncio.gather(*(ray_pool.compute_score_ray_async(a, b, c, d, pool=name)
                                                   for a, b, c, d in zip(*args, strict=True))))

            t = time.perf_counter()
            gathered = asyncio.run(singles())
            single_s = time.perf_counter() - t
            same = "identical" if got == expected == gathered else "DIFFERENT"
            print(f"pool, {workers} actor{'s' if workers > 1 else ' '}: start {start_s:5.2f} s; batches of 256 "
                  f"{n / batch_s:7.0f} responses/s; one async call per response {n / single_s:7.0f} responses/s "
                  f"(rewards {same} to in-process)")
            stop_pool(name)
    finally:
        ray.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=None, help="records per log (default all: 18,668 in total)")
    ap.add_argument("--verifiers", default="schema,spatial")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--pool-responses", type=int, default=4000, help="responses sent to the reward pool (0: skip)")
    args = ap.parse_args()
    config = {"verifiers": args.verifiers.split(",")}
    paths = sorted(LOGS.glob("*.json"))
    bench_engine(paths, config, args.limit, args.batch_size)
    if args.pool_responses:
        bench_pool(paths, config, args.pool_responses)


if __name__ == "__main__":
    main()
