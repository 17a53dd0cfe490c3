"""Reward throughput and latency for a GRPO-shaped batch, in process (TRL) and over HTTP (serve).

Run from the repository root (needs the ``[nlp,server,integrations-test]`` extras, for
aiohttp, and ../shared/data)::

    .venv/bin/python benchmarks/bench_reward.py                   # everything
    .venv/bin/python benchmarks/bench_reward.py --skip-server     # in-process only
    .venv/bin/python benchmarks/bench_reward.py --repeat 5 --concurrency 64

The batch: 64 REC prompts x 8 completions = 512 completions from the VLM-R1
logs (refcoco val). Each prompt's group holds the three real outputs for that
question (instruct, original, GRPO checkpoint) and five real outputs written
for *other* expressions of the same image (plausible wrong answers, as a
policy's samples are), so the verifiers see realistic right and wrong answers.

Measured, in the same run and process:

1. baseline: VLM-R1's regex ``iou_reward`` restated (no verifiers);
2. ``groundscore.integrations.trl`` with the schema verifier only;
3. ``groundscore.integrations.trl`` with the default chain (every registered
   verifier: schema, label_match, consistency, spatial, clip when available);
4. ``groundscore serve`` (default chain) as a subprocess, with
   ``--concurrency`` requests in flight from one aiohttp client (the library
   OpenRLHF uses), one query per request as OpenRLHF sends them, then one
   request per prompt group of 8.

Printed: completions/s, per-call (in process: one call = the 512-completion
batch) or per-request (HTTP) latency p50/p99, ratios against the baseline,
and, on every REC log, how often our IoU reward equals VLM-R1's where its
regex reads the box and how many boxes it misses that we score.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from serve_process import running_server  # tests/serve_process.py: one definition of start/wait/stop
from shared_data import REC_LOGS as DEFAULT_DATA  # tests/shared_data.py: one definition of the data folder
from vlm_r1_upstream import upstream_iou_reward  # tests/vlm_r1_upstream.py (the tests folder is not a package)

R1_SUFFIX = " First output the thinking process in <think> </think> tags and then output the final answer in <answer> </answer> tags."


def upstream_iou_rewards(completions: list[Any], solution: list[list[float]], **_: Any) -> list[float]:
    """VLM-R1's ``iou_reward`` over a batch, as its trainer calls it (the baseline); 0.0 where its regex reads no box."""
    return [upstream_iou_reward(c[0]["content"], sol) or 0.0 for c, sol in zip(completions, solution, strict=True)]


def grpo_batch(data: Path, prompts: int = 64, group: int = 8, offset: int = 0) -> list[dict[str, Any]]:
    """64 prompts x 8 real completions (see the module docstring).

    ``offset`` picks another set of prompts, so that repeated timings see new
    text (as successive training steps do) instead of hitting the verifiers'
    content caches.
    """
    files = {k: data / f"{k}_refcoco_val.json" for k in ("instruct-baseline", "original-model", "grpo-ckpt1000")}
    logs = {k: json.loads(p.read_text(encoding="utf-8"))["results"] for k, p in files.items()}
    grpo = logs["grpo-ckpt1000"]
    by_image: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(grpo):
        by_image[r["image"]].append(i)
    rows = []
    picked = [(offset + k * 7) % len(grpo) for k in range(prompts)]
    for i in picked:
        record = grpo[i]
        texts = [logs[k][i]["model_output"] for k in logs]
        others = [j for j in by_image[record["image"]] if j != i] or [(i + 1) % len(grpo)]
        k = 0
        while len(texts) < group:
            j = others[k % len(others)]
            texts.append(logs[list(logs)[k % 3]][j]["model_output"])
            k += 1
        for text in texts:
            rows.append({"prompt": record["question"] + R1_SUFFIX, "completion": text, "solution": record["ground_truth"]})
    return rows


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def time_calls(fn: Any, batches: list[Any]) -> list[float]:
    """Seconds per call; the first batch warms up (lazy model loading is not part of a training step)."""
    fn(batches[0])
    out = []
    for batch in batches[1:]:
        t = time.perf_counter()
        fn(batch)
        out.append(time.perf_counter() - t)
    return out


def report(name: str, n: int, seconds: list[float], baseline: float | None, unit: str = "call") -> float:
    per_s = n / statistics.median(seconds)
    ratio = f"  {baseline / per_s:8.1f}x slower than baseline" if baseline else ""
    print(f"  {name:<42} {per_s:10.0f} completions/s   {unit} p50 {1000 * pct(seconds, 50):8.1f} ms   "
          f"p99 {1000 * pct(seconds, 99):8.1f} ms{ratio}")
    return per_s


def _columns(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "prompts": [r["prompt"] for r in rows],
        "completions": [[{"role": "assistant", "content": r["completion"]}] for r in rows],
        "solution": [r["solution"] for r in rows],
        "coords": ["original"] * len(rows),
    }


def in_process(batches: list[list[dict[str, Any]]]) -> dict[str, float]:
    from groundscore.integrations.trl import grounding_reward

    calls = [_columns(rows) for rows in batches]
    n = len(batches[0])
    print(f"\nIn process, one call = {n} completions ({n // 8} prompts x 8), {len(calls) - 1} timed calls on "
          "different prompts after a warm-up call:")
    base = report("baseline: VLM-R1 regex iou_reward", n,
                  time_calls(lambda c: upstream_iou_rewards(c["completions"], c["solution"]), calls), None)
    schema = grounding_reward(chain_config={"verifiers": ["schema"]})
    out = {"baseline": base}
    out["trl_schema"] = report("TRL function, schema only", n, time_calls(lambda c: schema(**c), calls), base)
    full = grounding_reward()
    print(f"  (default chain: {', '.join(full.rewarder.verifier_names)})")
    out["trl_default"] = report("TRL function, default chain", n, time_calls(lambda c: full(**c), calls), base)
    outcomes: dict[str, int] = defaultdict(int)
    right: list[float] = []
    wrong: list[float] = []
    nones = 0
    for c in calls[1:]:
        rewards = full(**c)
        nones += rewards.count(None)
        for r in full.last_results:
            outcomes[r.outcome] += 1
            if r.iou is not None and r.reward is not None:
                (right if r.iou >= 0.5 else wrong).append(r.reward)
    print(f"  outcomes (default chain): {dict(outcomes)}; mean reward IoU>=0.5: {statistics.mean(right):.3f} "
          f"(n={len(right)}), IoU<0.5: {statistics.mean(wrong):.3f} (n={len(wrong)}); None rewards: {nones}")
    full.close()
    return out


def over_http(batches: list[list[dict[str, Any]]], concurrency: int, baseline: float | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "serve.log"  # a file, not a pipe: a full pipe would stall the server
        t0 = time.perf_counter()
        try:
            with running_server([], log_path) as base:  # tests/serve_process.py: start, wait for /health, stop
                return _measure_http(base, batches, concurrency, baseline, time.perf_counter() - t0)
        except Exception:
            if log_path.exists():
                print("server log (tail):\n" + log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise


def _measure_http(base: str, batches: list[list[dict[str, Any]]], concurrency: int, baseline: float | None,
                  start_s: float) -> dict[str, float]:
    import httpx

    out: dict[str, float] = {}
    print(f"\nOver HTTP (groundscore serve, default chain, started in {start_s:.1f} s), {concurrency} requests in flight "
          "from one aiohttp client (OpenRLHF's client library):")
    def label(r: dict[str, Any]) -> str:
        return json.dumps({"solution": r["solution"], "coords": "original"})

    def bodies(rows: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
        return [{"query": [r["prompt"] + r["completion"] for r in rows[g:g + size]],
                 "prompts": [r["prompt"] for r in rows[g:g + size]],
                 "labels": [label(r) for r in rows[g:g + size]]} for g in range(0, len(rows), size)]

    warm, single_rows, grouped_rows = batches[0], batches[1], batches[min(2, len(batches) - 1)]
    n = len(single_rows)
    async def run(requests: list[dict[str, Any]]) -> tuple[list[float], float]:
        """OpenRLHF's client library (aiohttp), one event loop, ``concurrency`` requests in flight."""
        import aiohttp

        gate = asyncio.Semaphore(concurrency)
        timeout = aiohttp.ClientTimeout(total=180)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency), timeout=timeout) as session:
            async def post(body: dict[str, Any]) -> float:
                async with gate:
                    t = time.perf_counter()
                    async with session.post(f"{base}/get_reward", json=body) as r:
                        r.raise_for_status()
                        await r.json()
                    return time.perf_counter() - t

            t0 = time.perf_counter()
            latencies = await asyncio.gather(*(post(b) for b in requests))
            return list(latencies), time.perf_counter() - t0

    asyncio.run(run(bodies(warm, 1)))  # warm-up
    for name, requests in (("one query per request (OpenRLHF)", bodies(single_rows, 1)),
                           ("8 queries per request", bodies(grouped_rows, 8))):
        latencies, wall = asyncio.run(run(requests))
        per_s = n / wall
        ratio = f"  {baseline / per_s:8.1f}x slower than baseline" if baseline else ""
        print(f"  {name:<42} {per_s:10.0f} completions/s   request p50 {1000 * pct(latencies, 50):8.1f} ms   "
              f"p99 {1000 * pct(latencies, 99):8.1f} ms{ratio}")
        out[name] = per_s
    health = httpx.get(f"{base}/health", timeout=10).json()
    print(f"  server: {health['batches']} chain calls for {health['completions']} completions "
          f"(largest batch {health['largest_batch']})")
    return out


def equivalence(data: Path) -> None:
    """Our VLM-R1 iou_reward against VLM-R1's, on every REC log."""
    from groundscore.integrations import vlm_r1

    print("\nIoU reward vs VLM-R1's iou_reward on every log (ground truth, boxes taken as original pixels):")
    print(f"  {'log':<40} {'n':>5} {'regex reads':>11} {'equal':>6} {'regex misses':>12} {'we score >0':>11}")
    for path in sorted(data.glob("*.json")):
        records = json.loads(path.read_text(encoding="utf-8"))["results"]
        completions = [[{"role": "assistant", "content": r["model_output"]}] for r in records]
        solutions = [r["ground_truth"] for r in records]
        ours = vlm_r1.iou_reward(completions, solutions)
        reads = equal = misses = scored = 0
        for c, s, o in zip(completions, solutions, ours, strict=True):
            reference = upstream_iou_reward(c[0]["content"], s)
            if reference is not None:
                reads += 1
                equal += abs(reference - o) < 1e-9
            else:
                misses += 1
                scored += o > 0
        print(f"  {path.name:<40} {len(records):>5} {reads:>11} {equal:>6} {misses:>12} {scored:>11}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeat", type=int, default=5, help="timed calls (each on different prompts)")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--skip-server", action="store_true")
    ap.add_argument("--skip-in-process", action="store_true")
    ap.add_argument("--skip-equivalence", action="store_true")
    args = ap.parse_args()
    batches = [grpo_batch(args.data, offset=k) for k in range(args.repeat + 1)]
    print(f"groundscore reward benchmark: {len(batches[0])} completions per batch, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs")
    results = in_process(batches) if not args.skip_in_process else {"baseline": None}
    if not args.skip_server:
        try:
            import aiohttp  # noqa: F401
            import httpx  # noqa: F401
        except ImportError as exc:
            print(f"\nOver HTTP: skipped ({exc.name} is missing: pip install -e '.[server,integrations-test]')")
        else:
            results.update(over_http(batches, args.concurrency, results["baseline"]))
    if not args.skip_equivalence:
        equivalence(args.data)


if __name__ == "__main__":
    main()
