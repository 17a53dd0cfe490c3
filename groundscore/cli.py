"""The ``groundscore`` command line.

Each command lives in its own module under :mod:`groundscore.commands` and
exposes ``add_parser(subparsers)``, which adds its sub-parser and sets
``func`` (taking the parsed ``argparse.Namespace``, returning an exit code).
Adding a command is adding a module and a line to :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS: tuple[str, ...] = (
    "groundscore.commands.verify",
    "groundscore.commands.plugins",
    "groundscore.commands.demo",
    "groundscore.commands.filter",
    "groundscore.commands.calibrate",
    "groundscore.commands.eval",
    "groundscore.commands.serve",
    "groundscore.commands.parse",
    "groundscore.commands.draw",
    "groundscore.commands.report",
)


def build_parser() -> argparse.ArgumentParser:
    from groundscore import __version__

    parser = argparse.ArgumentParser(
        prog="groundscore",
        description="Verify grounding outputs of vision-language models and score them.",
    )
    parser.add_argument("--version", action="version", version=f"groundscore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS:
        importlib.import_module(module_name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"groundscore {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
