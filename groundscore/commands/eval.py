"""``groundscore eval LABELLED...``: how well does the confidence tell right from wrong?

For each input (JSONL samples or reports, or a VLM-R1 log): AUROC of every
verifier and of the combined confidence, ECE before and after calibration,
accuracy of the kept answers at coverage 50/70/90/100%, and in the output
folder ``<name>.json`` (all numbers), ``<name>_reliability.png`` and
``<name>_risk_coverage.png``.

Calibration is cross-validated (fitted and tested on folds of the same
input) unless a calibration file is given with ``--calibration`` or in the
configuration; ``--cv`` forces cross-validation.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import IO, Any

from groundscore.commands.input_options import add_input_arguments, chain_from_args, items_from_args


def add_parser(sub: Any) -> None:
    p = sub.add_parser("eval", help="AUROC, calibration error and risk-coverage on labelled outputs, with plots",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", nargs="+", help="labelled inputs: JSONL of samples or reports, or VLM-R1 evaluation logs")
    p.add_argument("-o", "--output-dir", default="groundscore-eval", help="folder for the JSON and PNG files (default groundscore-eval)")
    p.add_argument("--calibration", default=None, help="test this calibration file instead of cross-validating")
    p.add_argument("--cv", action="store_true", help="cross-validate calibration even when the configuration names a file")
    p.add_argument("--method", choices=["auto", "platt", "isotonic", "logistic"], default="auto",
                   help="calibration model when cross-validating (default auto)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fold split (default 0)")
    p.add_argument("--bins", type=int, default=10, help="equal-width bins for ECE and the reliability diagram (default 10)")
    p.add_argument("--no-plots", action="store_true", help="write the JSON only (no matplotlib needed)")
    p.add_argument("--html", action="store_true", help="also write <name>_report/index.html: the HTML report (see `groundscore report`)")
    add_input_arguments(p, labels=True)
    p.set_defaults(func=run)


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render(name: str, result: Any, elapsed: float, out: IO[str]) -> None:
    """The human-readable table for one input."""
    own = f" (input's own field: {_f(result.upstream_accuracy)})" if result.upstream_accuracy is not None else ""
    print(f"\n== {name}: {result.items} lines, {result.labelled} labelled, accuracy {_f(result.accuracy)}{own}, {elapsed:.1f} s", file=out)
    if result.gated:
        print(f"   a gate failed on {result.gated} (confidence 0); {_f(result.gated_accuracy)} of those were right", file=out)
    for why, n in result.unlabelled.items():
        print(f"   unlabelled: {n}x {why}", file=out)
    print(f"{'verifier':<24} {'applied':>8} {'AUROC':>7} {'mean right':>11} {'mean wrong':>11}  note", file=out)
    for v in result.verifiers:
        note = v.top_skip or ""
        if v.gate_failures:
            note = f"gate failed {v.gate_failures}x" + (f"; {note}" if note else "")
        print(f"{v.name:<24} {v.applied:>8} {_f(v.auroc):>7} {_f(v.mean_right):>11} {_f(v.mean_wrong):>11}  {note[:90]}", file=out)
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


def run(args: argparse.Namespace) -> int:
    from groundscore.evaluation import evaluate, write_plots

    chain = chain_from_args(args, calibration=args.calibration, use_config_calibration=not args.cv)
    calibrator = chain.scorer.calibrator
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in args.input:
        start = time.perf_counter()
        items = list(items_from_args(args, chain, path))
        result = evaluate(
            items, scorer=chain.scorer, calibrator=calibrator, method=args.method, folds=max(2, args.folds),
            seed=args.seed, bins=max(1, args.bins), source=str(path), verifiers=chain.names,
        )
        stem = Path(path).stem
        (out_dir / f"{stem}.json").write_text(json.dumps(result.model_dump(mode="json"), indent=1) + "\n", encoding="utf-8")
        written = [out_dir / f"{stem}.json"]
        if not args.no_plots and result.raw is not None:
            written += write_plots(result, out_dir, stem)
        if getattr(args, "html", False):
            from groundscore.report import build_report

            written.append(build_report(items, out_dir / f"{stem}_report", images=args.image_root, title=f"groundscore eval: {Path(path).name}", result=result))
        render(Path(path).name, result, time.perf_counter() - start, sys.stdout)
        print("wrote " + ", ".join(str(p) for p in written), file=sys.stdout)
    return 0
