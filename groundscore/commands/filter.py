"""``groundscore filter IN -o OUT``: keep accepted answers, abstain on (or drop) the rest.

Reads JSONL samples, ``--from vlm-r1`` logs, or reports written by
``verify`` (their verdicts are reused). Every input line gets exactly one
decision, in order: in ``abstain`` and ``annotate`` modes OUT has one line
per input line; in ``drop`` mode OUT holds the kept answers only and every
decision (kept or dropped, with its reason) goes to ``--decisions``
(default ``OUT.decisions.jsonl``).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import click

from groundscore.commands.options import (
    Command,
    calibration_file_option,
    engine_options,
    input_options,
    namespace,
    output_option,
    quiet_option,
)


@click.command("filter", cls=Command, help=__doc__,
               short_help="keep accepted answers; replace the others by an abstention, or drop them")
@click.argument("input")
@output_option("the filtered answers")
@click.option("--mode", type=click.Choice(["abstain", "drop", "annotate"]), default="abstain",
              help="what happens to answers that are not kept (default abstain: empty answer plus reason)")
@click.option("--threshold", type=float, default=None,
              help="keep answers with confidence >= this (default: the chain's accept threshold)")
@calibration_file_option("a calibration file from `groundscore calibrate` (overrides the config)")
@click.option("--decisions", default=None,
              help="also write every decision here (JSONL, one per input line); default in drop mode: OUT.decisions.jsonl")
@quiet_option()
@click.option("--no-progress", is_flag=True, help="no progress bar")
@input_options
@engine_options
def command(**options: Any) -> int:
    return run(namespace(**options))


def run(args: Any) -> int:
    from groundscore.commands.input_options import check_inputs

    check_inputs(args)
    if getattr(args, "engine", "local") == "ray":
        from groundscore.commands.engine_options import ray_args, reports_on_ray

        _check(args)
        with reports_on_ray(args) as reports:
            return _run(ray_args(args, reports), shown=(args.input, args.source))
    return _run(args, shown=(args.input, args.source))


def _check(args: Any) -> str | None:
    """Usage errors, before any work; returns the decisions file."""
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise ValueError(f"--threshold must be in [0, 1], got {args.threshold}")
    decisions_path: str | None = args.decisions
    if decisions_path is None and args.mode == "drop":
        if args.output == "-":
            raise ValueError("--mode drop writing to stdout needs --decisions PATH, so that dropped answers are on record")
        decisions_path = str(Path(args.output)) + ".decisions.jsonl"
    return decisions_path


def _run(args: Any, shown: tuple[str, str | None]) -> int:
    from contextlib import ExitStack

    from groundscore.commands.input_options import chain_from_args, is_unreadable, items_from_args, unreadable_note
    from groundscore.commands.output import json_line, output_file
    from groundscore.commands.progress import counted
    from groundscore.commands.tally import InputTally
    from groundscore.scoring.filtering import filter_reports, result_record

    decisions_path = _check(args)
    chain = chain_from_args(args, calibration=args.calibration)
    counts: Counter[str] = Counter()
    unreadable = 0
    tally = InputTally()
    # both files appear only when every line is written: an error leaves existing ones as they were
    with ExitStack() as stack:
        out = stack.enter_context(output_file(args.output))
        decisions = stack.enter_context(output_file(decisions_path)) if decisions_path else None
        for item in counted(items_from_args(args, chain), "filter", disable=getattr(args, "no_progress", False)):
            result = filter_reports([item.report], [item.sample], threshold=args.threshold, mode=args.mode, start=item.index)[0]
            counts[result.action] += 1
            unreadable += is_unreadable(item.report)
            tally.add(item.report)
            record = result_record(result, item.sample)
            line = json_line(record)
            if result.action != "drop":
                out.write(line)
            if decisions is not None:
                decisions.write(json_line({"id": result.id, **record["filter"]}))
    total = sum(counts.values())
    if not args.quiet:
        parts = ", ".join(f"{k} {counts.get(k, 0)}" for k in ("keep", "abstain", "drop"))
        where = f"; decisions in {decisions_path}" if decisions_path else ""
        print(f"{total} input lines: {parts}{where}", file=sys.stderr)
    for line in unreadable_note(unreadable, total, [shown[0]], shown[1]):
        print(line, file=sys.stderr)
    for line in tally.lines():
        print(line, file=sys.stderr)
    return 0
