"""``groundscore calibrate LABELLED -o calib.json``: fit a calibrator on outputs with ground truth.

Correctness is recomputed from our own parse (IoU of the first box with the
ground truth >= 0.5) unless ``--label-field`` names a field that holds it.
``--method auto`` fits Platt scaling, isotonic regression and a logistic
model over per-verifier scores, and keeps the one with the lowest held-out
log-loss. Use the file with ``calibration = "calib.json"`` in the
configuration, or ``--calibration`` on ``filter`` and ``eval``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from groundscore.commands.input_options import add_input_arguments, chain_from_args, items_from_args


def add_parser(sub: Any) -> None:
    p = sub.add_parser("calibrate", help="fit a calibration file on labelled outputs",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="JSONL of samples or reports with ground truth, or a VLM-R1 evaluation log")
    p.add_argument("-o", "--output", required=True, help="where to write the calibration file (JSON)")
    p.add_argument("--method", choices=["auto", "platt", "isotonic", "logistic"], default="auto",
                   help="calibration model (default auto: lowest held-out log-loss)")
    p.add_argument("--folds", type=int, default=5, help="folds for choosing the method (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fold split (default 0)")
    add_input_arguments(p, labels=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from groundscore.evaluation import calibration_rows, fit_on_rows

    chain = chain_from_args(args, use_config_calibration=False)
    rows, unlabelled = calibration_rows(items_from_args(args, chain), chain.scorer)
    label = f"field {args.label_field!r}" if args.label_field else f"iou>={args.iou:g}"
    calibrator = fit_on_rows(rows, args.method, folds=max(2, args.folds), seed=args.seed, info={
        "label": label, "source": Path(args.input).name, "weights": dict(chain.config.weights),
    })
    calibrator.save(args.output)
    info = calibrator.file.fitted
    print(f"fitted {calibrator.method} on {info.n} samples ({info.positives} right); "
          f"{len(rows) - info.n} more labelled samples failed a gate (confidence 0, not calibrated)", file=sys.stderr)
    if unlabelled:
        print("unlabelled, left out: " + ", ".join(f"{n}x {why}" for why, n in unlabelled.most_common()), file=sys.stderr)
    if info.heldout_log_loss:
        print("held-out log-loss: " + ", ".join(f"{m} {v:.4f}" for m, v in info.heldout_log_loss.items()), file=sys.stderr)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
