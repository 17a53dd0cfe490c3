"""``groundscore report IN -o report/``: one static HTML page of a run.

The summary table, reliability and risk-coverage plots, decision counts per
verifier and issue code, and a paged, filterable gallery of samples with
their boxes and points drawn on thumbnails. No server and no CDN: open
``report/index.html`` in a browser. Samples whose images are not found get
text cards; ``--images DIR`` says where to look for them.
"""

from __future__ import annotations

import argparse
from typing import Any

from groundscore.commands.input_options import add_input_arguments, chain_from_args, items_from_args


def add_parser(sub: Any) -> None:
    p = sub.add_parser("report", help="a static HTML report: summary, plots and a gallery of verdicts",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="JSONL of samples or reports, or a VLM-R1 evaluation log")
    p.add_argument("-o", "--output-dir", default="groundscore-report", help="folder for index.html and thumbs/ (default groundscore-report)")
    p.add_argument("--images", default=None, help="folder to look images up in (relative paths, then by file name)")
    p.add_argument("--title", default=None, help="page title (default: the input's name)")
    add_input_arguments(p, labels=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from groundscore.report import build_report

    chain = chain_from_args(args)
    items = list(items_from_args(args, chain, args.input))
    page = build_report(items, args.output_dir, images=args.images or args.image_root,
                        title=args.title or f"groundscore report: {Path(args.input).name}",
                        scorer=chain.scorer, verifiers=chain.names)
    print(f"wrote {page} ({len(items)} samples)")
    return 0
