"""The ``groundscore`` command line: a click group, built as llm builds its own.

Each built-in command is a click command in its own module under
:mod:`groundscore.commands` (``groundscore.commands.verify.command``, ...).
The options several commands share are written once, as decorators, in
:mod:`groundscore.commands.options` (``input_options``, ``label_options``,
``engine_options``, ...). Plugins add their own commands through the
``register_commands`` hook, called with the root group when the command
line is built, so a plugin's command is listed in ``groundscore --help``
and runs like a built-in one.

Exit codes: 0 success; 1 a command's "nothing found" (``parse``, ``draw``);
2 a usage or input error (one line on stderr, no traceback); 130 interrupted.
"""

from __future__ import annotations

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
"""The modules of the built-in commands, in the order ``--help`` lists them; each has a ``command``."""


class Group(click.Group):
    """The root group: lists commands in the order they were added (built-ins first, then plugins')."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


def build_cli() -> click.Group:
    """The root group: the built-in commands, then those plugins register."""
    from groundscore import __version__
    from groundscore.commands.options import CONTEXT_SETTINGS
    from groundscore.plugins.manager import register_commands

    @click.group(name="groundscore", cls=Group, invoke_without_command=True, context_settings=CONTEXT_SETTINGS,
                 help="Verify grounding outputs of vision-language models and score them.")
    @click.version_option(__version__, "--version", prog_name="groundscore", message="%(prog)s %(version)s")
    @click.pass_context
    def cli(ctx: click.Context) -> int | None:
        if ctx.invoked_subcommand is None:
            click.echo(ctx.get_help())
            return 2
        return None

    for module_name in COMMANDS:
        cli.add_command(importlib.import_module(module_name).command)
    for error in register_commands(cli):
        print(f"groundscore: {error}", file=sys.stderr)
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    from groundscore.commands.output import safe_stream

    safe_stream(sys.stdout)
    safe_stream(sys.stderr)
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
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return int(rv) if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
