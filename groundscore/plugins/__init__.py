"""The pluggy host: hook specifications and plugin loading."""

from groundscore.plugins.hookspecs import hookimpl, hookspec
from groundscore.plugins.manager import get_registry, load_errors, load_plugins, register_module

__all__ = ["get_registry", "hookimpl", "hookspec", "load_errors", "load_plugins", "register_module"]
