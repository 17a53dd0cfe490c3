"""``groundscore eval LABELLED...``: how well does the confidence tell right from wrong?

For each input (JSONL samples or reports, or a VLM-R1 log): AUROC of every
verifier and of the combined confidence, ECE before and after calibration,
accuracy of the kept answers at coverage 50/70/90/100%, and in the output
folder ``<name>.json`` (all numbers), ``<name>_reliability.png`` and
``<name>_risk_coverage.png``.

Calibration is cross-validated (fitted and tested on folds of the same
input) unless a calibration file is given with ``--calibration`` or in the
configuration; ``--cv`` forces cross-validation.

Several logs answering the same questions (records matched by image and
question, ``--merge-logs``) are verified together, each question a group
with one answer per log, so that ``agreement`` compares the answers: the
results cover every answer of every log (``A+B+C.json``) and each log's
answers alone (``A.json``, ...).

    groundscore eval A.json B.json C.json --from vlm-r1 -o eval-out
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

import click

from groundscore.commands.options import (
    Command,
    calibration_file_option,
    engine_options,
    fit_options,
    input_options,
    label_options,
    logs_options,
    namespace,
    output_dir_option,
)


@click.command("eval", cls=Command, help=__doc__,
               short_help="AUROC, calibration error and risk-coverage on labelled outputs, with plots")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@output_dir_option("groundscore-eval", "the JSON and PNG files")
@calibration_file_option("test this calibration file instead of cross-validating")
@click.option("--cv", is_flag=True, help="cross-validate calibration even when the configuration names a file")
@fit_options("calibration model when cross-validating (default auto)", "cross-validation folds (default 5)")
@click.option("--bins", type=int, default=10, help="equal-width bins for ECE and the reliability diagram (default 10)")
@click.option("--no-plots", is_flag=True, help="write the JSON only (no matplotlib needed)")
@click.option("--no-progress", is_flag=True, help="no progress bar")
@click.option("--html", is_flag=True, help="also write <name>_report/index.html: the HTML report (see `groundscore report`)")
@input_options
@label_options
@logs_options
@engine_options
def command(inputs: tuple[str, ...], **options: Any) -> int:
    return run(namespace(inputs=list(inputs), input=inputs[0], **options))


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render(name: str, result: Any, elapsed: float, out: IO[str]) -> None:
    """The human-readable table for one input.

    Per verifier: AUROC on the answers it scored, and (``all``) on every
    labelled answer with a missing score counted as 0.
    """
    own = f" (input's own field: {_f(result.upstream_accuracy)})" if result.upstream_accuracy is not None else ""
    print(f"\n== {name}: {result.items} lines, {result.labelled} labelled, accuracy {_f(result.accuracy)}{own}, {elapsed:.1f} s", file=out)
    if result.gated:
        print(f"   a gate failed on {result.gated} (confidence 0); {_f(result.gated_accuracy)} of those were right", file=out)
    for why, n in result.unlabelled.items():
        print(f"   unlabelled: {n}x {why}", file=out)
    print(f"{'verifier':<24} {'applied':>8} {'AUROC':>7} {'all':>7} {'mean right':>11} {'mean wrong':>11}  note", file=out)
    for v in result.verifiers:
        note = v.top_skip or ""
        if v.gate_failures:
            note = f"gate failed {v.gate_failures}x" + (f"; {note}" if note else "")
        print(f"{v.name:<24} {v.applied:>8} {_f(v.auroc):>7} {_f(v.auroc_all):>7} {_f(v.mean_right):>11} "
              f"{_f(v.mean_wrong):>11}  {note[:90]}", file=out)
    cal = result.calibration
    rows = [("raw", result.raw), ("calibrated", result.calibrated)]
    print(f"{'confidence':<24} {'AUROC':>7} {'ECE':>7} {'logloss':>8} " + " ".join(f"{'acc@' + format(c.coverage, '.0%'):>8}" for c in (result.raw.coverage if result.raw else [])), file=out)
    for label, m in rows:
        if m is None:
            continue
        print(f"{label:<24} {_f(m.auroc):>7} {_f(m.ece):>7} {_f(m.log_loss):>8} " + " ".join(f"{_f(c.accuracy):>8}" for c in m.coverage), file=out)
    if result.calibrated is not None:
        print(f"{'threshold (calibrated)':<24} {'':>7} {'':>7} {'':>8} "
              + " ".join(f"{_f(c.threshold):>8}" for c in result.calibrated.coverage), file=out)
    if cal is not None:
        detail = f"{cal.mode}"
        if cal.folds:
            detail += f", {cal.folds} folds, methods {', '.join(cal.methods)}, fold ECE max {max(cal.fold_ece):.3f}"
        elif cal.methods:
            detail += f" ({', '.join(cal.methods)})"
        print(f"calibration: {detail}", file=out)


def run(args: Any) -> int:
    from groundscore.commands.extras import require
    from groundscore.commands.input_options import check_inputs, input_paths
    from groundscore.commands.output import output_dir

    check_inputs(args)
    require("eval", "numpy", *(() if args.no_plots else ("matplotlib",)))
    with output_dir(args.output_dir) as out_dir:
        return _run(args, out_dir, input_paths(args))


def _run(args: Any, out_dir: Path, paths: list[str]) -> int:
    """Evaluate each input (or the merged logs) into ``out_dir``."""
    from groundscore.commands.input_options import chain_from_args, should_merge

    chain = chain_from_args(args, calibration=args.calibration, use_config_calibration=not args.cv)
    if should_merge(args, paths):
        start = time.perf_counter()
        items = _items(args, chain, paths)
        stems = [Path(p).stem for p in paths]
        name = "+".join(stems) if len("+".join(stems)) <= 150 else f"{stems[0]}+{len(stems) - 1}"
        print(f"{len(paths)} logs answering the same questions: {len(items)} answers verified in groups", file=sys.stdout)
        _evaluate(args, chain, items, name, " + ".join(Path(p).name for p in paths), out_dir, start)
        for path in paths:
            own = [item for item in items if item.sample.meta.get("log") == Path(path).name]
            _evaluate(args, chain, own, Path(path).stem, f"{Path(path).name} (in groups)", out_dir, time.perf_counter())
        return 0
    for path in paths:
        start = time.perf_counter()
        items = _items(args, chain, [path])
        _evaluate(args, chain, items, Path(path).stem, Path(path).name, out_dir, start, source=str(path))
    return 0


def _items(args: Any, chain: Any, paths: list[str]) -> list[Any]:
    """The labelled items of ``paths`` (one input, or logs merged into groups), verified here or on Ray."""
    from groundscore.commands.input_options import items_from_args, items_from_samples, merged_samples
    from groundscore.commands.progress import counted

    one = SimpleNamespace(**{**vars(args), "inputs": paths, "input": paths[0]})
    shown = "eval " + (Path(paths[0]).name if len(paths) == 1 else f"{len(paths)} logs")
    off = getattr(args, "no_progress", False)
    if getattr(args, "engine", "local") == "ray":
        from groundscore.commands.engine_options import ray_args, reports_on_ray

        with reports_on_ray(one) as reports:
            return list(counted(items_from_args(ray_args(one, reports), chain), shown, disable=off))
    if len(paths) > 1:
        return list(counted(items_from_samples(one, chain, merged_samples(one, paths)), shown, disable=off))
    return list(counted(items_from_args(one, chain), shown, disable=off))


def _evaluate(args: Any, chain: Any, items: list[Any], stem: str, shown: str, out_dir: Path, start: float,
              source: str | None = None) -> None:
    """Evaluate ``items``; write ``<stem>.json`` (and the plots, the HTML report) and print the table."""
    from groundscore.scoring.evaluation import evaluate, write_plots

    result = evaluate(
        items, scorer=chain.scorer, calibrator=chain.scorer.calibrator, method=args.method, folds=max(2, args.folds),
        seed=args.seed, bins=max(1, args.bins), source=source or shown, verifiers=chain.names,
    )
    from groundscore.commands.output import write_text

    write_text(out_dir / f"{stem}.json", json.dumps(result.model_dump(mode="json"), indent=1) + "\n")
    written = [out_dir / f"{stem}.json"]
    if not args.no_plots and result.raw is not None:
        written += write_plots(result, out_dir, stem)
    if args.html:
        from groundscore.report import build_report

        written.append(build_report(items, out_dir / f"{stem}_report", images=args.image_root,
                                    title=f"groundscore eval: {shown}", result=result))
    render(shown, result, time.perf_counter() - start, sys.stdout)
    print("wrote " + ", ".join(str(p) for p in written), file=sys.stdout)
    from groundscore.commands.tally import warn_about_inputs

    warn_about_inputs(items)
