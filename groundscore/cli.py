"""The ``groundscore`` command line: a click group.

Each built-in command lives in its own module under
:mod:`groundscore.commands` and exposes ``add_parser(subparsers)``, which adds
its argparse sub-parser and sets ``func``; the click group hands a command's
arguments to that parser, so every flag and exit code stays as it was.
Plugins add their own (click) commands through the ``register_commands``
hook, called with the group when the command line is built.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

import click

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


def _run_argparse(name: str, args: Sequence[str]) -> int:
    parsed = build_parser().parse_args([name, *args])
    try:
        return int(parsed.func(parsed) or 0)
    except KeyboardInterrupt:
        return 130
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"groundscore {name}: error: {exc}", file=sys.stderr)
        return 2


def _builtin_command(name: str, help_text: str | None) -> click.Command:
    """A click command whose arguments are parsed by the command's own argparse parser."""

    def callback(args: tuple[str, ...]) -> int:
        return _run_argparse(name, args)

    return click.Command(
        name, callback=callback, help=help_text, short_help=help_text, add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
    )


def build_cli() -> click.Group:
    """The root group: the built-in commands, then those plugins register."""
    from groundscore import __version__
    from groundscore.plugins.manager import register_commands

    @click.group(name="groundscore", invoke_without_command=True,
                 help="Verify grounding outputs of vision-language models and score them.")
    @click.version_option(__version__, "--version", prog_name="groundscore", message="%(prog)s %(version)s")
    @click.pass_context
    def cli(ctx: click.Context) -> int | None:
        if ctx.invoked_subcommand is None:
            click.echo(ctx.get_help())
            return 2
        return None

    sub = build_parser()._subparsers._group_actions[0]  # type: ignore[union-attr]
    helps = {a.dest: a.help for a in sub._choices_actions}
    for name in sub.choices:
        cli.add_command(_builtin_command(name, helps.get(name)))
    for error in register_commands(cli):
        print(f"groundscore: {error}", file=sys.stderr)
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    cli = build_cli()
    try:
        rv: Any = cli.main(args=list(argv) if argv is not None else sys.argv[1:], prog_name="groundscore",
                           standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except click.Abort:
        return 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return int(rv) if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
