"""The built-in coordinate spaces, registered through ``register_coord_spaces`` like a plugin's.

The spaces themselves are defined in :mod:`groundscore.parse.coords`
(:data:`~groundscore.parse.coords.BUILTIN_SPACES`), which is also the store
the host fills; this module is the built-in plugin that hands them over, so
that ``GROUNDSCORE_TRACE_PLUGINS`` and ``groundscore plugins`` show them like
any other registration.
"""

from __future__ import annotations

from collections.abc import Callable

from groundscore.parse.coords import BUILTIN_FAMILIES, BUILTIN_SPACES
from groundscore.plugins.hookspecs import hookimpl


@hookimpl
def register_coord_spaces(register: Callable[..., None]) -> None:
    for space, aliases in BUILTIN_SPACES:
        register(space, *aliases)
    for family in BUILTIN_FAMILIES:
        register(family)
