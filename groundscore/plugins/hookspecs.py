"""The plugin author's contract.

Every hook hands objects to the host through a ``register`` callback (the
shape of datasette's and llm's hooks). The host calls each hook through
``pm.hook.<name>``, one plugin at a time in pluggy's order (``tryfirst`` /
``trylast`` are honoured), so that what each plugin registered is attributed
to it and one plugin that fails to register is skipped whole while the others
load. The host, not pluggy, runs the verifiers: the chain calls each one
inside its own ``try``.

Built-in verifiers, parsers, coordinate spaces and reward policies register
through these same hooks, from the modules listed in
:data:`groundscore.plugins.manager.DEFAULT_PLUGINS`.

Implement a hook in your package with ``from groundscore import hookimpl`` and
declare the module under ``[project.entry-points.groundscore]``::

    [project.entry-points.groundscore]
    my_plugin = "my_package.groundscore_plugin"

A function named like a hook but not marked ``@hookimpl``, or a marked
function whose name is not a hook (``register_verifier``), is a load error
that ``groundscore plugins`` shows: such a plugin would otherwise load and
silently do nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

PROJECT_NAME = "groundscore"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_coord_spaces(register: Callable[..., None]) -> None:
    """Register coordinate spaces (how a model's numbers map to original pixels).

    Called once, when plugins are first loaded, before the parsers. Call
    ``register(space, *aliases)`` with a
    :class:`groundscore.parse.coords.CoordSpace`; its ``name`` (and each
    alias) is what ``Sample.coords`` and ``Parser.default_coords`` name. A
    :class:`groundscore.parse.coords.SpaceFamily` registers a parametrised
    family instead: ``register(SpaceFamily("input", build))`` makes
    ``"input:640x480"`` resolve to ``build("640x480")``. A taken name is
    reported and ignored.

    Return value: ignored.
    """


@hookspec
def register_verifiers(register: Callable[..., None]) -> None:
    """Register verifier classes.

    Called once, when plugins are first loaded. Call ``register(cls)`` for
    each :class:`groundscore.verifiers.base.Verifier` subclass; ``cls.name``
    is the name users put in their configuration, and must be unique (a
    second registration of a taken name is reported and ignored).

    A registered verifier never runs until a configuration names it:
    ``verifiers = [..., "my_verifier"]`` (the default chain is the fixed list
    :data:`groundscore.config.DEFAULT_VERIFIERS`), so installing a plugin never
    changes the rewards of an existing configuration.

    Declare the verifier's ``evidence`` (part of the contract, shown by
    ``groundscore plugins``): ``"confirming"`` when a high score is evidence
    that the answer is on its target (it reads the pixels, or compares
    independently sampled answers), ``"refuting"`` (the default) when it can
    only show that an answer is wrong. Without ground truth the host pays an
    answer above ``abstain`` only on confirming evidence, so a verifier that
    declares itself confirming must not be satisfiable from the text alone.

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
    """Register reward policies (a report plus ground truth -> one reward).

    Called once, when plugins are first loaded. Call ``register(policy)``
    with a :class:`groundscore.rewards.base.RewardPolicy` subclass (or instance):
    it has a ``name``, an ``Options`` pydantic model (``extra="forbid"``, so
    a typo in ``[reward.options]`` names the bad key) and
    ``score(report, solution, context) -> RewardResult``.

    The host's contract, the same for every policy:

    - the policy's ``score`` returns the *base* reward; the host adds
      ``format_weight * format`` (VLM-R1's format term) to every non-None
      reward, and caps a ``correct`` answer at ``abstain`` (outcome
      ``unverified``) when a verifier listed in ``require_checked`` gave no
      score on it. A policy never applies either itself;
    - the host turns an exception or a non-finite reward into ``unscorable``;
    - the shared reward values (``correct``, ``abstain``, ``wrong``...) are
      in ``context.config``, the validated ``[reward.options]`` in
      ``self.options``; ``context.malformed(gates)`` says whether a failed
      gate means a malformed answer (the verifier's ``malformed_gate``).

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
