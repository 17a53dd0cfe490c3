"""``groundscore report IN -o report/``: one static HTML page of a run.

The summary table, reliability and risk-coverage plots, decision counts per
verifier and issue code, and a paged, filterable gallery of samples with
their boxes and points drawn on thumbnails. No server and no CDN: open
``report/index.html`` in a browser. Samples whose images are not found get
text cards; ``--images DIR`` says where to look for them.
"""

from __future__ import annotations

from typing import Any

import click

from groundscore.commands.input_options import chain_from_args, items_from_args
from groundscore.commands.options import Command, input_options, label_options, namespace, output_dir_option


@click.command("report", cls=Command, help=__doc__,
               short_help="a static HTML report: summary, plots and a gallery of verdicts")
@click.argument("input")
@output_dir_option("groundscore-report", "index.html and thumbs/")
@click.option("--images", default=None, help="folder to look images up in (relative paths, then by file name)")
@click.option("--title", default=None, help="page title (default: the input's name)")
@click.option("--no-progress", is_flag=True, help="no progress bar")
@input_options
@label_options
def command(**options: Any) -> int:
    return run(namespace(**options))


def run(args: Any) -> int:
    from pathlib import Path

    from groundscore.commands.extras import require
    from groundscore.commands.input_options import check_inputs
    from groundscore.commands.progress import counted
    from groundscore.commands.tally import warn_about_inputs
    from groundscore.report import build_report

    check_inputs(args)
    chain = chain_from_args(args)
    items = list(counted(items_from_args(args, chain, args.input), "report", disable=args.no_progress))
    warn_about_inputs(items)
    if any(i.correct is not None for i in items):  # the summary and plots of labelled items need numpy
        require("report", "numpy")
    page = build_report(items, args.output_dir, images=args.images or args.image_root,
                        title=args.title or f"groundscore report: {Path(args.input).name}",
                        scorer=chain.scorer, verifiers=chain.names)
    print(f"wrote {page} ({len(items)} samples)")
    return 0
