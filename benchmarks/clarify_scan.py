"""Clarifying questions on the shared logs: how many real completions are read as one, and what reading costs.

Run::

    .venv/bin/python benchmarks/clarify_scan.py
    .venv/bin/python benchmarks/clarify_scan.py --data /path/to/shared/data --repeat 5

The REC logs (Qwen2.5-VL 3B and 7B, before and after GRPO) hold no clarifying
question: those models never ask. So what this measures on real data is the
other direction, the one that can cost a training run: every completion's
answer region is read by :func:`groundscore.parse.clarify.read_clarification`,
and the script prints how many are read as a clarification (each one would be
a box answer or a malformed one misread), how many answers hold a ``?`` at all
(the only ones the reader looks at past its first scan), and the reader's time
per completion next to the time of splitting the R1 tags in the same run (the
baseline every completion already pays), median of ``--repeat`` runs.
The recognition side (every form of asking read, with its candidates) is
tested on real-looking examples in ``tests/test_clarify.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from shared_data import SHARED_DATA  # noqa: E402

from groundscore.parse.clarify import read_clarification  # noqa: E402
from groundscore.parse.r1 import split_r1  # noqa: E402


def completions(data: Path) -> list[str]:
    out: list[str] = []
    for folder in ("vlmr1-rec-logs", "vlmr1-3b-logs"):
        for path in sorted((data / folder).glob("*.json")):
            records = json.loads(path.read_text())["results"]
            out.extend(r["model_output"] for r in records if isinstance(r.get("model_output"), str))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    texts = completions(args.data)
    if not texts:
        print(f"no logs under {args.data}")
        return 1
    answers = [split_r1(t).answer or "" for t in texts]
    read = [a for a in answers if read_clarification(a) is not None]
    asking = sum("?" in a for a in answers)
    print(f"completions: {len(texts)} (REC logs, 3B and 7B)")
    print(f"answers holding '?': {asking}")
    print(f"read as a clarifying question: {len(read)} ({100 * len(read) / len(texts):.3f}%)")
    for a in read[:5]:
        print(f"  {a[:160]!r}")

    def timed(fn: object) -> float:
        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            for t in (texts if fn is split_r1 else answers):
                fn(t)  # type: ignore[operator]
            runs.append(time.perf_counter() - start)
        return statistics.median(runs) / len(texts) * 1e6

    split_us, read_us = timed(split_r1), timed(read_clarification)
    print(f"per completion (median of {args.repeat}): split_r1 {split_us:.2f} us, read_clarification {read_us:.2f} us "
          f"(ratio {read_us / split_us:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
