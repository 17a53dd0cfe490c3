"""Which extra a missing module comes from, said in one line.

The command modules import nothing optional at start-up, so ``groundscore
--help`` and every command that needs no extra run on a core install
(``pip install groundscore``). A command that reaches for a module of an
extra that is not installed fails with one line naming the extra, instead of
a traceback: :func:`missing_extra_line` writes it, :class:`~groundscore.commands.options.Command`
prints it, and :func:`require` lets a command check before it opens any output.
"""

from __future__ import annotations

import importlib.util

EXTRA_OF: dict[str, str] = {
    "spacy": "nlp",
    "en_core_web_sm": "nlp",
    "torch": "clip",
    "torchvision": "clip",
    "open_clip": "clip",
    "transformers": "hf",
    "fastapi": "server",
    "uvicorn": "server",
    "httpx": "server",
    "pydantic_settings": "server",
    "numpy": "eval",
    "sklearn": "eval",
    "matplotlib": "eval",
    "ray": "ray",
    "pyarrow": "ray",
    "pandas": "ray",
}
"""Top-level module -> the extra of pyproject.toml that installs it."""


class MissingExtra(ImportError):
    """A module of an extra is not installed; the message is the one line to print."""


def missing_extra_line(command: str, exc: ImportError) -> str:
    """One line for ``exc``: the module, the extra and the pip command that installs it."""
    root = (exc.name or "").split(".")[0]
    extra = EXTRA_OF.get(root)
    if isinstance(exc, MissingExtra) or extra is None:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"groundscore {command}: {text}"
    return f"groundscore {command}: needs {root} from the [{extra}] extra: pip install 'groundscore[{extra}]'"


def require(command: str, *modules: str) -> None:
    """Raise :class:`MissingExtra` naming the extra when one of ``modules`` cannot be imported.

    Finds the modules without importing them, so a command can check what it
    will need before it reads its input or opens any output.
    """
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            extra = EXTRA_OF.get(module.split(".")[0], "all")
            raise MissingExtra(f"needs {module} from the [{extra}] extra: pip install 'groundscore[{extra}]'",
                               name=module)
