"""Command-line options shared by ``filter``, ``calibrate`` and ``eval``.

They read what ``verify`` reads (JSONL samples, ``--from vlm-r1`` logs) and
the reports ``verify`` wrote, with the same chain options.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_input_arguments(p: argparse.ArgumentParser, *, labels: bool = False) -> None:
    p.add_argument("--from", dest="source", choices=["jsonl", "vlm-r1"], default=None,
                   help="input format (detected when absent); JSONL lines may be samples or reports from `verify`")
    p.add_argument("-c", "--config", default=None, help="a TOML configuration (groundscore.toml or pyproject.toml)")
    p.add_argument("--verifiers", default=None, help="comma-separated verifier names (overrides the config)")
    p.add_argument("--image-root", default=None, help="folder that image paths in VLM-R1 logs are relative to")
    p.add_argument("--batch-size", type=int, default=256, help="samples per chain call (default 256)")
    p.add_argument("--limit", type=int, default=None, help="stop after this many input lines")
    if labels:
        p.add_argument("--label-field", default=None,
                       help="take correctness from this field (0/1/true/false; looked up in the line, then in meta) "
                            "instead of recomputing it as IoU >= --iou with the ground truth")
        p.add_argument("--iou", type=float, default=0.5, help="IoU at which an answer counts as right (default 0.5)")


def chain_from_args(args: argparse.Namespace, *, calibration: str | None = None, use_config_calibration: bool = True) -> Any:
    """The chain the options describe; ``calibration`` overrides the config's calibration file."""
    from groundscore.chain import Chain
    from groundscore.config import load_config

    config = load_config(args.config)
    update: dict[str, Any] = {}
    if args.verifiers:
        update["verifiers"] = [v.strip() for v in args.verifiers.split(",") if v.strip()]
    if calibration is not None:
        update["calibration"] = calibration
    elif not use_config_calibration:
        update["calibration"] = None
    if update:
        config = config.model_copy(update=update)
    return Chain(config)


def items_from_args(args: argparse.Namespace, chain: Any, path: str | None = None) -> Any:
    """Items (one per input line, in order) from the input the options name."""
    from groundscore.labelled import iter_items

    return iter_items(
        path or args.input, args.source, chain, image_root=args.image_root,
        batch_size=max(1, args.batch_size), label_field=getattr(args, "label_field", None),
        iou=getattr(args, "iou", 0.5), limit=args.limit,
    )
