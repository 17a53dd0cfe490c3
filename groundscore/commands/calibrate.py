"""``groundscore calibrate LABELLED -o calib.json``: fit a calibrator on outputs with ground truth.

Correctness is recomputed from our own parse (IoU of the first box with the
ground truth >= 0.5) unless ``--label-field`` names a field that holds it.
``--method auto`` fits Platt scaling, isotonic regression and a logistic
model over per-verifier scores, and keeps the one with the lowest held-out
log-loss. Use the file with ``calibration = "calib.json"`` in the
configuration, or ``--calibration`` on ``filter`` and ``eval``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from groundscore.commands.input_options import chain_from_args, items_from_args
from groundscore.commands.options import Command, fit_options, input_options, label_options, namespace


@click.command("calibrate", cls=Command, help=__doc__, short_help="fit a calibration file on labelled outputs")
@click.argument("input")
@click.option("-o", "--output", required=True, help="where to write the calibration file (JSON)")
@fit_options("calibration model (default auto: lowest held-out log-loss)", "folds for choosing the method (default 5)")
@click.option("--no-progress", is_flag=True, help="no progress bar")
@input_options
@label_options
def command(**options: Any) -> int:
    return run(namespace(**options))


def run(args: Any) -> int:
    from groundscore.commands.extras import require
    from groundscore.commands.input_options import check_inputs
    from groundscore.commands.progress import counted
    from groundscore.commands.tally import warn_about_inputs
    from groundscore.scoring.evaluation import calibration_rows, fit_on_rows

    check_inputs(args)
    require("calibrate", "numpy")
    chain = chain_from_args(args, use_config_calibration=False)
    items = list(counted(items_from_args(args, chain), "calibrate", disable=args.no_progress))
    warn_about_inputs(items)
    rows, unlabelled = calibration_rows(items, chain.scorer)
    label = f"field {args.label_field!r}" if args.label_field else f"iou>={args.iou:g}"
    calibrator = fit_on_rows(rows, args.method, folds=max(2, args.folds), seed=args.seed, info={
        "label": label, "source": Path(args.input).name, "weights": dict(chain.config.weights),
    })
    from groundscore.commands.output import write_text

    write_text(args.output, calibrator.file.model_dump_json(indent=2) + "\n")  # what Calibrator.save writes, all or nothing
    info = calibrator.file.fitted
    print(f"fitted {calibrator.method} on {info.n} samples ({info.positives} right); "
          f"{len(rows) - info.n} more labelled samples failed a gate (confidence 0, not calibrated)", file=sys.stderr)
    if unlabelled:
        print("unlabelled, left out: " + ", ".join(f"{n}x {why}" for why, n in unlabelled.most_common()), file=sys.stderr)
    if info.heldout_log_loss:
        print("held-out log-loss: " + ", ".join(f"{m} {v:.4f}" for m, v in info.heldout_log_loss.items()), file=sys.stderr)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
