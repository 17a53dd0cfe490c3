"""How much of the ground-truth gain the label-free rewards recover, over several draws of questions.

One simulation (``benchmarks/grpo_sim.py``, 60 questions, 40 steps) is one
draw of questions; the label-free share of the ground-truth gain moves a
lot from one draw to the next, so a single run says little about a target
such as "at least 50%". This script runs the real pools for each seed with
``auto`` (with and without ground truth: the gain is measured against the
same draw's ground-truth run), ``consensus`` and a plain majority vote
(test-time RL's reward, no verifier: the label-free reference), and prints
one row per seed and their mean.

Run from the repository root (about two minutes a seed on 2 cores)::

    .venv/bin/python benchmarks/grpo_seeds.py                      # seeds 0-3
    .venv/bin/python benchmarks/grpo_seeds.py --seeds 0,1,2,3,4,5
    .venv/bin/python benchmarks/grpo_seeds.py --write-docs         # also its block of docs/what-optimising-does.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from statistics import mean
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grpo_pools import data_dir
from grpo_report import DOC
from grpo_sim import Settings, recovery, run_all

MARKERS = ("<!-- grpo-seeds:start -->", "<!-- grpo-seeds:end -->")
RUNS = ("auto, no GT", "consensus, no GT", "majority vote, no GT")


def one_seed(seed: int, data: Path) -> dict[str, Any]:
    """The real pools of one draw: the GT run's start and end, and each label-free run's share of its gain."""
    settings = Settings(seed=seed)
    result = run_all(settings, ["auto", "consensus", "majority"], ["real"], data, log=lambda _: None)
    by = {s["run"]: s for s in result["summaries"]}
    gt = by["auto, GT"]
    shares = recovery(result["summaries"], "real")
    return {"seed": seed, "gt_start": gt["start"]["correct"], "gt_end": gt["end"]["correct"],
            "shares": {run: shares.get(run) for run in RUNS},
            "abstain_end": {run: by[run]["end"]["abstain"] for run in RUNS if run in by}}


def table(rows: list[dict[str, Any]]) -> str:
    head = "| seed | correct with ground truth | " + " | ".join(f"{r}: share of the gain" for r in RUNS) + " |"
    lines = [head, "|---|---|" + "---:|" * len(RUNS)]
    for row in rows:
        cells = [f"{row['shares'][r]:.0%}" if row["shares"].get(r) is not None else "–" for r in RUNS]
        lines.append(f"| {row['seed']} | {row['gt_start']:.2f} → {row['gt_end']:.2f} | " + " | ".join(cells) + " |")
    means = [mean(row["shares"][r] for row in rows if row["shares"].get(r) is not None) for r in RUNS]
    lines.append("| mean | | " + " | ".join(f"{m:.0%}" for m in means) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2,3")
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    for seed in (int(s) for s in args.seeds.split(",") if s.strip()):
        rows.append(one_seed(seed, args.data or data_dir()))
        print(f"seed {seed}: " + ", ".join(f"{r} {v:.0%}" for r, v in rows[-1]["shares"].items() if v is not None), flush=True)
    text = (f"Real pools, 60 questions and 40 steps per seed (the main table is seed 0); the share of the same draw's "
            f"ground-truth gain (`auto` with ground truth).\n\n{table(rows)}")
    print(text)
    if args.write_docs:
        doc = DOC.read_text(encoding="utf-8")
        start, end = MARKERS
        a, b = doc.index(start) + len(start), doc.index(end)
        DOC.write_text(doc[:a] + "\n" + text + "\n" + doc[b:], encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
