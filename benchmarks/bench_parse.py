"""Throughput of parse + schema + scoring on the VLM-R1 REC logs, next to the bare upstream regex.

Run::

    .venv/bin/python benchmarks/bench_parse.py            # all 11 logs, 5 repetitions
    .venv/bin/python benchmarks/bench_parse.py --repeat 9 --batch 512

Every completion of every log in ``--data`` is verified by a fresh
``Chain({"verifiers": ["schema"]})`` (one process, batches of ``--batch``
samples, as a reward function sees them in a training step), and the same
completions are run through the regex VLM-R1 uses
(``<answer>(.*?)</answer>`` then ``\\[(\\d+),\\s*(\\d+),\\s*(\\d+),\\s*(\\d+)]``)
in the same run. Each measurement is repeated and the median is printed
(the minimum and maximum too): machines are noisy, a single run is not a
number. Next to wall-clock throughput, throughput per second of this
process's CPU time is printed: on a shared machine it is the steadier of the
two. A fresh chain per repetition means no cache carries over between runs.

Two inputs are timed: ``Sample`` objects built beforehand (what a caller that
already has samples pays), and plain dicts (what a trainer's reward function
pays, validation of each sample included). The ratio to the regex must stay at
or above :data:`MIN_RATIO`: the parse path is written for clarity, not speed,
but must stay far from being a training step's cost.

``--root OTHER`` also times the *default* chain (every built-in verifier, as
``Chain()`` builds it) on ``--default-n`` completions of the logs, for this
checkout and for the checkout at ``OTHER`` (e.g. a ``git worktree`` of the
previous commit), each in its own subprocess with that checkout first on
``sys.path``, repetitions alternating so both see the same machine load.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from shared_data import REC_LOGS as DEFAULT_DATA  # tests/shared_data.py: one definition of the data folder

MIN_RATIO = 0.02
"""Least acceptable parse+schema+scoring throughput as a share of the bare regex's (about 10,000/s here)."""

ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
BBOX = re.compile(r"\[(\d+),\s*(\d+),\s*(\d+),\s*(\d+)]")


def upstream_regex(completions: list[str]) -> int:
    """VLM-R1's extraction: the first bbox inside <answer>; returns how many it found."""
    found = 0
    for text in completions:
        m = ANSWER.search(text)
        if m:
            b = BBOX.search(m.group(1).strip())
            if b:
                _ = [int(b.group(i)) for i in range(1, 5)]
                found += 1
    return found


def load(data: Path) -> tuple[list[Any], list[dict[str, Any]]]:
    from groundscore.inputs import iter_samples

    samples = []
    for path in sorted(data.glob("*.json")):
        samples.extend(iter_samples(path, "vlm-r1"))
    dicts = [
        {"id": s.id, "query": s.query, "completion": s.completion, "coords": s.coords, "solution": s.solution}
        for s in samples
    ]
    return samples, dicts


def run_chain(items: list[Any], batch: int) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, completions with a box)."""
    from groundscore.chain import Chain

    chain = Chain({"verifiers": ["schema"]})
    found = 0
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(items), batch):
        for report in chain.verify(items[i : i + batch]):
            found += bool(report.parsed.boxes)
    return time.perf_counter() - start, time.process_time() - cpu, found


# Run in a subprocess with another checkout first on sys.path: only public API that every version has.
_DEFAULT_CHAIN_TIMER = r"""
import gc, json, sys, time
from pathlib import Path
from groundscore.chain import Chain
from groundscore.inputs import iter_samples
import groundscore
data, n, batch = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
samples = []
for path in sorted(data.glob("*.json")):
    samples.extend(iter_samples(path, "vlm-r1"))
step = max(1, len(samples) // n)
samples = samples[::step][:n]
chain = Chain()
chain.verify(samples[:batch])  # warm-up: models, caches and imports are not what is timed
gc.collect()
start = time.perf_counter()
for i in range(0, len(samples), batch):
    chain.verify(samples[i : i + batch])
print(json.dumps({"n": len(samples), "seconds": time.perf_counter() - start, "module": groundscore.__file__}))
"""


def time_default_chain(root: Path, data: Path, n: int, batch: int) -> dict[str, Any]:
    """One timing of ``Chain()`` on ``n`` log completions, with the checkout at ``root`` imported."""
    env = {**os.environ, "PYTHONPATH": str(root.resolve())}
    out = subprocess.run(
        [sys.executable, "-c", _DEFAULT_CHAIN_TIMER, str(data), str(n), str(batch)],
        cwd=root, env=env, capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def compare_default_chain(other: Path, data: Path, n: int, batch: int, repeat: int) -> None:
    here = Path(__file__).resolve().parents[1]
    rates: dict[Path, list[float]] = {here: [], other: []}
    for _ in range(repeat):
        for root in (other, here):
            result = time_default_chain(root, data, n, batch)
            rates[root].append(result["n"] / result["seconds"])
    print(f"default chain (Chain(), every built-in verifier), {n} completions, batch {batch}, {repeat} alternating runs:")
    for label, root in (("this checkout", here), (f"other: {other}", other)):
        print(f"  {label:40} median {statistics.median(rates[root]):8,.0f}/s  [{min(rates[root]):,.0f}, {max(rates[root]):,.0f}]")
    print(f"  this / other: {statistics.median(rates[here]) / statistics.median(rates[other]):.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of VLM-R1 REC logs")
    ap.add_argument("--repeat", type=int, default=5, help="repetitions; the median is reported")
    ap.add_argument("--batch", type=int, default=256, help="samples per Chain.verify call")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one chain run instead")
    ap.add_argument("--root", type=Path, help="another checkout: also time the default chain there and here")
    ap.add_argument("--default-n", type=int, default=2048, help="completions for the default-chain comparison")
    args = ap.parse_args(argv)

    samples, dicts = load(args.data)
    completions = [s.completion for s in samples]
    n = len(samples)
    print(f"{n} completions from {len(list(args.data.glob('*.json')))} logs in {args.data}; batch {args.batch}; "
          f"{args.repeat} repetitions (median, [min, max])")
    if args.profile:
        import cProfile
        import pstats

        cProfile.runctx("run_chain(samples, args.batch)", globals(), {"samples": samples, "args": args, "run_chain": run_chain}, "/tmp/bench_parse.prof")
        pstats.Stats("/tmp/bench_parse.prof").sort_stats("cumulative").print_stats(30)
        return 0

    names = ["upstream regex", "groundscore (Sample objects)", "groundscore (dicts)"]
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    found: dict[str, int] = {}
    for _ in range(args.repeat):
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        found[names[0]] = upstream_regex(completions)
        wall[names[0]].append(n / (time.perf_counter() - t))
        cpu[names[0]].append(n / max(1e-9, time.process_time() - c))
        for name, items in ((names[1], samples), (names[2], dicts)):
            dt, dc, found[name] = run_chain(items, args.batch)
            wall[name].append(n / dt)
            cpu[name].append(n / dc)

    base_wall, base_cpu = statistics.median(wall[names[0]]), statistics.median(cpu[names[0]])
    print(f"{'method':30} {'wall /s':>10} {'[min':>9} {'max]':>9} {'cpu /s':>10} {'x regex':>8} {'boxes':>7}")
    for name in names:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        print(f"{name:30} {w:10,.0f} {min(wall[name]):9,.0f} {max(wall[name]):9,.0f} {c:10,.0f} "
              f"{w / base_wall:8.3f} {found[name]:7,}")
    ours = statistics.median(wall[names[1]])
    ours_cpu = statistics.median(cpu[names[1]])
    ratio = ours / base_wall
    print(f"regex baseline wall/cpu: {base_wall:,.0f} / {base_cpu:,.0f} per s")
    print(f"parse+schema+scoring / regex: {ratio:.3f} (must be >= {MIN_RATIO}): {'ok' if ratio >= MIN_RATIO else 'TOO SLOW'} "
          f"(median wall {ours:,.0f}/s; CPU time {ours_cpu:,.0f}/s)")
    if args.root is not None:
        compare_default_chain(args.root, args.data, args.default_n, args.batch, args.repeat)
    return 0 if ratio >= MIN_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
