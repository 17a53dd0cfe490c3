"""Config snippets and command lines read from the docs pages, so the tests run what the pages show.

Why: a snippet restated in a test drifts from the page; reading the page
means a changed page changes the test. :func:`code_blocks` gives a page's
fenced blocks by language; :func:`command_lines` joins a shell block's
backslash continuations and splits the lines that run a given program into
argv lists (``...`` placeholders dropped, ``$VARS`` replaced from a mapping).
The tests folder is not a package: test files import this module by name.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rewards"
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def code_blocks(name: str, lang: str | None = None) -> list[str]:
    """The fenced blocks of ``docs/rewards/<name>`` (of one language when given)."""
    return [body for found, body in _FENCE.findall(page(name)) if lang is None or found == lang]


def command_lines(name: str, program: str, env: dict[str, str] | None = None) -> list[list[str]]:
    """Every command line in the page's bash blocks that contains ``program``, as argv (after it)."""
    env = env or {}
    out: list[list[str]] = []
    for block in code_blocks(name, "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            if program not in line or line.lstrip().startswith("#"):
                continue
            for key, value in env.items():
                line = line.replace(f"${{{key}}}", value).replace(f"${key}", value)
            argv = [a for a in shlex.split(line, comments=True) if a != "..."]
            out.append(argv[argv.index(program) + 1:] if program in argv else argv)
    return out
