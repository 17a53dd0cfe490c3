"""CPU instructions per completion of parse + schema + scoring, counted by valgrind: a noise-free measure.

Run::

    .venv/bin/python benchmarks/count_instructions.py            # 2,048 completions of the REC logs
    .venv/bin/python benchmarks/count_instructions.py --root ../other-checkout   # another version

Wall-clock throughput on a shared machine swings by a factor of two from
one minute to the next, so two runs of ``bench_parse.py`` cannot rank two
versions of the code. The number of instructions the process executes does
not depend on the neighbours: this script runs the same chain twice under
``valgrind --tool=callgrind`` (once verifying nothing after the warm-up,
once verifying 2,048 completions sampled from the logs, in batches of 256)
and prints the difference per completion. The warm-up (the other 952
sampled completions) loads every module and cache first, so neither import
nor first-use cost is counted. Needs ``valgrind`` on the PATH; takes about
two minutes. Hash randomisation is fixed (``PYTHONHASHSEED=0``) so that two
runs of the same code give the same count.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from shared_data import REC_LOGS  # tests/shared_data.py: one definition of the data folder

MEASURED = 2048
WARM_UP = 952


def child(root: str, count: int, data: Path) -> None:
    """Inside valgrind: warm up, then verify ``count`` completions."""
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]  # honour --root
    sys.path.insert(0, root)
    from groundscore.chain import Chain
    from groundscore.inputs import iter_samples

    samples = [s for path in sorted(data.glob("*.json")) for s in iter_samples(path, "vlm-r1")]
    chosen = random.Random(0).sample(samples, MEASURED + WARM_UP)
    chain = Chain({"verifiers": ["schema"]})
    chain.verify(chosen[MEASURED:])
    for i in range(0, count, 256):
        chain.verify(chosen[i : min(count, i + 256)])


def instructions(root: str, count: int, data: Path) -> int:
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__,
           "--child", "--root", root, "--count", str(count), "--data", str(data)]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}, check=True)
    match = re.search(r"refs:\s+([\d,]+)", out.stderr)
    if match is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{out.stderr[-2000:]}")
    return int(match.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[1]), help="checkout whose groundscore to count")
    ap.add_argument("--data", type=Path, default=REC_LOGS, help="folder of VLM-R1 REC logs")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, default=MEASURED, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.root, args.count, args.data)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind); nothing counted")
        return 1
    base = instructions(args.root, 0, args.data)
    full = instructions(args.root, MEASURED, args.data)
    print(f"{args.root}: {(full - base) / MEASURED:,.0f} instructions per completion "
          f"(parse + schema + scoring, {MEASURED:,} REC-log completions, batches of 256)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
