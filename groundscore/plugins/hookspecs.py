"""The plugin author's contract.

Every hook hands objects to the host through a ``register`` callback (the
shape of datasette's and llm's hooks); the host, not pluggy, decides when to
run them. That is why one failing verifier cannot stop the others: the chain
calls each verifier inside its own ``try``.

Built-in verifiers and parsers register through these same hooks, from the
modules listed in :data:`groundscore.plugins.manager.DEFAULT_PLUGINS`.

Implement a hook in your package with ``from groundscore import hookimpl`` and
declare the module under ``[project.entry-points.groundscore]``::

    [project.entry-points.groundscore]
    my_plugin = "my_package.groundscore_plugin"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

PROJECT_NAME = "groundscore"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_verifiers(register: Callable[..., None]) -> None:
    """Register verifier classes.

    Called once, when plugins are first loaded. Call ``register(cls)`` for
    each :class:`groundscore.verifiers.base.Verifier` subclass; ``cls.name``
    is the name users put in their configuration, and must be unique (a
    second registration of a taken name is reported and ignored).

    Return value: ignored.
    """


@hookspec
def register_parsers(register: Callable[..., None]) -> None:
    """Register completion parsers.

    Called once, when plugins are first loaded. Call ``register(parser)``
    with an instance of :class:`groundscore.parse.base.Parser` (it has a
    ``name``, a ``detect(text)`` confidence and ``parse(text)``). Parsers are
    tried by auto-detection in order of their detect confidence; an explicit
    ``Sample.format`` picks one by name.

    Return value: ignored.
    """


@hookspec
def register_backends(register: Callable[..., None]) -> None:
    """Register model backends (for example CLIP-style image-text scorers).

    Called once, when plugins are first loaded. Call ``register(cls)`` with
    a backend class that has a ``kind`` (``"clip"``) and a ``name``
    (``"open_clip"``); verifiers look backends up by kind and name.

    Return value: ignored.
    """


@hookspec
def register_reward_policies(register: Callable[..., None]) -> None:
    """Register reward policies (reports plus ground truth -> float rewards).

    Called once, when plugins are first loaded. Call ``register(name, fn)``.

    Return value: ignored.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add commands to the ``groundscore`` command line.

    Args:
        cli: The root :class:`click.Group`; add commands with the
            ``@cli.command()`` decorator (as in llm's ``register_commands``).

    Called once, when the command line is built; a plugin whose hook raises
    is reported on stderr and the other commands still work.
    """
