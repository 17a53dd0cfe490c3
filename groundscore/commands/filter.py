"""``groundscore filter IN -o OUT``: keep accepted answers, abstain on (or drop) the rest.

Reads JSONL samples, ``--from vlm-r1`` logs, or reports written by
``verify`` (their verdicts are reused). Every input line gets exactly one
decision, in order: in ``abstain`` and ``annotate`` modes OUT has one line
per input line; in ``drop`` mode OUT holds the kept answers only and every
decision (kept or dropped, with its reason) goes to ``--decisions``
(default ``OUT.decisions.jsonl``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from groundscore.commands.input_options import add_input_arguments, chain_from_args, items_from_args


def add_parser(sub: Any) -> None:
    p = sub.add_parser("filter", help="keep accepted answers; replace the others by an abstention, or drop them",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="JSONL of samples or reports, or a VLM-R1 evaluation log")
    p.add_argument("-o", "--output", default="-", help="where to write the filtered answers (JSONL); '-' for stdout")
    p.add_argument("--mode", choices=["abstain", "drop", "annotate"], default="abstain",
                   help="what happens to answers that are not kept (default abstain: empty answer plus reason)")
    p.add_argument("--threshold", type=float, default=None,
                   help="keep answers with confidence >= this (default: the chain's accept threshold)")
    p.add_argument("--calibration", default=None, help="a calibration file from `groundscore calibrate` (overrides the config)")
    p.add_argument("--decisions", default=None,
                   help="also write every decision here (JSONL, one per input line); default in drop mode: OUT.decisions.jsonl")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary")
    add_input_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from groundscore.filtering import filter_reports, result_record

    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise ValueError(f"--threshold must be in [0, 1], got {args.threshold}")
    chain = chain_from_args(args, calibration=args.calibration)
    decisions_path = args.decisions
    if decisions_path is None and args.mode == "drop":
        if args.output == "-":
            raise ValueError("--mode drop writing to stdout needs --decisions PATH, so that dropped answers are on record")
        decisions_path = str(Path(args.output)) + ".decisions.jsonl"
    counts: Counter[str] = Counter()
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    decisions = open(decisions_path, "w", encoding="utf-8") if decisions_path else None
    try:
        for item in items_from_args(args, chain):
            result = filter_reports([item.report], [item.sample], threshold=args.threshold, mode=args.mode, start=item.index)[0]
            counts[result.action] += 1
            record = result_record(result, item.sample)
            line = json.dumps(record, ensure_ascii=False) + "\n"
            if result.action != "drop":
                out.write(line)
            if decisions is not None:
                decisions.write(json.dumps({"id": result.id, **record["filter"]}, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
        if decisions is not None:
            decisions.close()
    if not args.quiet:
        total = sum(counts.values())
        parts = ", ".join(f"{k} {counts.get(k, 0)}" for k in ("keep", "abstain", "drop"))
        where = f"; decisions in {decisions_path}" if decisions_path else ""
        print(f"{total} input lines: {parts}{where}", file=sys.stderr)
    return 0
