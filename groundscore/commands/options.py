"""The option groups the commands share, each written once as a click decorator.

A command stacks the groups it needs (``@input_options``, ``@label_options``,
``@engine_options``, ...) on top of its own options, so that a flag means the
same thing, with the same default and help, on every command that has it.
:class:`Command` is the command class every built-in uses: it turns the
errors a user can fix (a missing file, a bad value) into one line on stderr
and exit code 2, the code click gives usage errors; a module of an extra
that is not installed becomes one line naming the extra.

Command callbacks receive the options as keyword arguments and hand them to
the command's ``run(args)`` as one :class:`types.SimpleNamespace`, so the
logic of a command is a plain function that tests and other commands can
call with any object that has the attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 110}
"""Every command answers ``-h`` as well as ``--help``."""

USAGE_ERROR = 2
"""Exit code of a usage or input error (what click and argparse use)."""

INPUT_FORMATS = ("jsonl", "vlm-r1")
CALIBRATION_METHODS = ("auto", "platt", "isotonic", "logistic")


class Command(click.Command):
    """A built-in command: input and usage errors become ``groundscore NAME: error: ...`` and exit 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("context_settings", CONTEXT_SETTINGS)
        if kwargs.get("help"):
            kwargs["help"] = keep_examples(kwargs["help"])
        super().__init__(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            return 130
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except ImportError as exc:
            # an extra that is not installed: one line naming it (see groundscore.commands.extras)
            from groundscore.commands.extras import missing_extra_line

            click.echo(missing_extra_line(ctx.info_name or "", exc), err=True)
            return USAGE_ERROR
        except (ValueError, OSError, KeyError, RecursionError) as exc:
            # what a user can fix: name the command and say it in one line, no traceback
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if isinstance(exc, KeyError):
                message = f"missing key {exc}"
            if isinstance(exc, RecursionError):
                message = "input nested too deeply to read"
            click.echo(f"groundscore {ctx.info_name}: error: {message}", err=True)
            return USAGE_ERROR


def keep_examples(doc: str) -> str:
    """A module docstring as command help: indented example blocks are kept as written, not rewrapped."""
    import inspect

    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(
        "\b\n" + p if all(line.startswith("    ") for line in p.splitlines() if line.strip()) else p for p in paragraphs
    )


def namespace(**kwargs: Any) -> SimpleNamespace:
    """The options of one command call as attributes (``args.source``, ``args.limit``, ...)."""
    return SimpleNamespace(**kwargs)


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Apply ``decorators`` so that the options appear in ``--help`` in the order written."""

    def apply(f: F) -> F:
        for decorator in reversed(decorators):
            f = decorator(f)
        return f

    return apply


def config_option(help_text: str = "a TOML configuration (groundscore.toml or pyproject.toml)") -> Callable[[F], F]:
    return click.option("-c", "--config", default=None, help=help_text)


def input_options(f: F) -> F:
    """What to read and which chain reads it: ``--from``, ``-c/--config``, ``--verifiers``, ``--image-root``,
    ``--batch-size``, ``--limit``, ``--strict``."""
    return _stack(
        click.option("--from", "source", type=click.Choice(INPUT_FORMATS), default=None,
                     help="input format (detected when absent); JSONL lines may be samples or reports from `verify`"),
        config_option(),
        click.option("--verifiers", default=None, help="comma-separated verifier names (overrides the config)"),
        click.option("--image-root", default=None, help="folder that image paths in VLM-R1 logs are relative to"),
        click.option("--batch-size", type=int, default=256, show_default=False, help="samples per chain call (default 256)"),
        click.option("--limit", type=int, default=None, help="stop after this many input lines"),
        click.option("--strict", is_flag=True, default=False,
                     help="a JSONL line with a key that is no sample field ('qeury') is an unreadable line, not "
                          "scored (default: a sample.unknown_key warning; also `strict = true` in the config)"),
    )(f)


def label_options(f: F) -> F:
    """Where correctness comes from: ``--label-field`` or IoU with the ground truth at ``--iou``."""
    return _stack(
        click.option("--label-field", default=None,
                     help="take correctness from this field (0/1/true/false; looked up in the line, then in meta) "
                          "instead of recomputing it as IoU >= --iou with the ground truth"),
        click.option("--iou", type=float, default=0.5, help="IoU at which an answer counts as right (default 0.5)"),
    )(f)


def engine_options(f: F) -> F:
    """Where the chain runs: ``--engine local|ray`` and the Ray settings."""
    return _stack(
        click.option("--engine", type=click.Choice(["local", "ray"]), default="local",
                     help="local: this process; ray: a Ray Data actor pool (needs the [ray] extra)"),
        click.option("--address", default=None, help="Ray cluster: 'auto' (a `ray start` cluster) or ray://HOST:PORT; "
                                                      "absent: a local Ray runtime"),
        click.option("--workers", type=int, default=1, help="Ray actors, one Chain each (default 1)"),
        click.option("--gpus-per-worker", type=float, default=0.0, help="GPUs per Ray actor (for clip; default 0)"),
    )(f)


def logs_options(f: F) -> F:
    """How several inputs combine: ``--merge-logs auto|yes|no``."""
    return click.option(
        "--merge-logs", type=click.Choice(["auto", "yes", "no"]), default="auto",
        help="several inputs answering the same questions (records matched by image and question) are verified "
             "together, each question a group with one answer per input; auto: when every input answers most of "
             "the first one's questions (default auto)",
    )(f)


def output_option(what: str, default: str | None = "-") -> Callable[[F], F]:
    """``-o/--output``: a JSONL file, ``-`` for stdout."""
    return click.option("-o", "--output", default=default, help=f"where to write {what} (JSONL); '-' for stdout")


def output_dir_option(default: str, what: str) -> Callable[[F], F]:
    """``-o/--output-dir``: the folder a command writes its files to."""
    return click.option("-o", "--output-dir", default=default, help=f"folder for {what} (default {default})")


def quiet_option(help_text: str = "no summary") -> Callable[[F], F]:
    return click.option("-q", "--quiet", is_flag=True, help=help_text)


def json_option(help_text: str) -> Callable[[F], F]:
    return click.option("--json", is_flag=True, help=help_text)


def calibration_file_option(help_text: str) -> Callable[[F], F]:
    return click.option("--calibration", default=None, help=help_text)


def fit_options(method_help: str, folds_help: str) -> Callable[[F], F]:
    """How a calibrator is chosen and tested: ``--method``, ``--folds``, ``--seed``."""
    return _stack(
        click.option("--method", type=click.Choice(CALIBRATION_METHODS), default="auto", help=method_help),
        click.option("--folds", type=int, default=5, help=folds_help),
        click.option("--seed", type=int, default=0, help="seed of the fold split (default 0)"),
    )


def completion_options(f: F) -> F:
    """How ``parse`` and ``draw`` read one completion and its format: ``--file``, ``--format``, ``--coords``."""
    return _stack(
        click.option("--file", default=None, help="read the completion from this file"),
        click.option("--format", "format", default=None, help="parser name (auto-detected when absent)"),
        click.option("--coords", default=None,
                     help="coordinate space, e.g. norm1000, qwen25, original:xywh (the format's default when absent)"),
    )(f)
