"""Plugins add commands to ``groundscore`` through the register_commands hook."""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any

import click
import pytest

from groundscore import hookimpl
from groundscore.cli import main
from groundscore.plugins.manager import load_plugins, register_module


@pytest.fixture
def plugin_with_a_command() -> Iterator[None]:
    module = types.ModuleType("gs_test_command_plugin")

    @hookimpl
    def register_commands(cli: Any) -> None:
        @cli.command(name="greet-boxes")
        @click.option("--name", default="world", help="who to greet")
        def greet(name: str) -> None:
            """Say hello (a command a plugin added)."""
            click.echo(f"hello {name} from a plugin")

    module.register_commands = register_commands  # type: ignore[attr-defined]
    register_module(module, "gs_test_command_plugin")
    try:
        yield
    finally:
        load_plugins(reload=True)


def test_a_plugin_command_is_listed_and_runs(plugin_with_a_command: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "greet-boxes" in out and "Say hello" in out and "verify" in out
    assert main(["greet-boxes", "--name", "Ada"]) == 0
    assert capsys.readouterr().out.strip() == "hello Ada from a plugin"
    assert main(["greet-boxes", "--nmae", "x"]) == 2  # click's usage error


def test_without_the_plugin_the_command_is_absent(capsys: pytest.CaptureFixture[str]) -> None:
    load_plugins(reload=True)
    assert main(["--help"]) == 0
    assert "greet-boxes" not in capsys.readouterr().out
    assert main(["greet-boxes"]) == 2


def test_the_documented_plugin_command_runs(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    """docs/reference/cli.md's plugin command, as written, reusing the shared input options."""
    import json
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "reference" / "cli.md").read_text()
    code = re.findall(r"```python\n(.*?)```", page, re.DOTALL)[0]
    module = types.ModuleType("gs_doc_command_plugin")
    exec(compile(code, "docs/reference/cli.md", "exec"), module.__dict__)  # the page's own example
    register_module(module, "gs_doc_command_plugin")
    try:
        src = tmp_path / "in.jsonl"
        src.write_text("\n".join(json.dumps(x) for x in (
            {"query": "cup", "completion": '[{"bbox_2d": [1, 2, 30, 40], "label": "cup"}]', "image_size": [100, 100]},
            {"query": "cup", "completion": "[[[["},
            {"query": "cup", "completion": "no box here"},
        )) + "\n")
        assert main(["count-rejects", str(src), "--verifiers", "schema"]) == 0
        assert capsys.readouterr().out.strip() == "2"
        assert main(["count-rejects", "--help"]) == 0
        assert "--image-root" in capsys.readouterr().out  # the shared group came with it
    finally:
        load_plugins(reload=True)
