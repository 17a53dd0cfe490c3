"""The plugin host: loads built-ins and third-party plugins, keeps the registries.

Loading happens on first use (never at ``import groundscore``), once per
process. Each entry point is loaded inside its own ``try``: a plugin that fails
to import or to register is recorded in :func:`load_errors` and skipped, and
the others load as usual.

Environment variables:

- ``GROUNDSCORE_PLUGINS=a,b``: load only these third-party plugins (entry-point
  names); built-ins always load. Empty string: built-ins only.
- ``GROUNDSCORE_DISABLE=c,d``: never load these (entry-point names, or the short
  names of built-ins such as ``schema`` or ``qwen_json``).
- ``GROUNDSCORE_TRACE_PLUGINS=1``: print every hook call and what it
  registered to stderr (for plugin authors whose verifier never fires).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from groundscore.plugins import hookspecs

# Built-in modules, registered exactly like third-party plugins. The short
# name (after the last dot) is what the allow/block lists match.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "groundscore.parse.qwen_json",
    "groundscore.parse.qwen25_text",
    "groundscore.parse.qwen25_points",
    "groundscore.parse.qwen2_vl",
    "groundscore.parse.r1_rec",
    "groundscore.parse.internvl",
    "groundscore.parse.cogvlm",
    "groundscore.parse.florence2",
    "groundscore.parse.kosmos2",
    "groundscore.parse.shikra",
    "groundscore.parse.minigptv2",
    "groundscore.parse.ferret",
    "groundscore.parse.detections",
    "groundscore.parse.gemini",
    "groundscore.parse.paligemma",
    "groundscore.verifiers.schema",
    "groundscore.verifiers.label_match",
    "groundscore.verifiers.consistency",
    "groundscore.verifiers.spatial",
    "groundscore.clip.open_clip_backend",
    "groundscore.clip.transformers_backend",
    "groundscore.verifiers.clip",
    "groundscore.verifiers.agreement",
    "groundscore.reward",
    "groundscore.rewards_consensus",
)

ENTRY_POINT_GROUP = "groundscore"


@dataclass
class PluginInfo:
    """One loaded (or failed) plugin, as ``groundscore plugins`` shows it."""

    name: str
    module: str
    builtin: bool
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Registry:
    """Everything plugins registered, by kind and name."""

    verifiers: dict[str, type] = field(default_factory=dict)
    parsers: dict[str, Any] = field(default_factory=dict)
    backends: dict[tuple[str, str], type] = field(default_factory=dict)
    reward_policies: dict[str, Callable[..., Any]] = field(default_factory=dict)
    plugins: dict[str, PluginInfo] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
pm.add_hookspecs(hookspecs)

_lock = threading.RLock()
_registry: Registry | None = None


def _env_list(name: str) -> set[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return {p.strip() for p in raw.split(",") if p.strip()}


def _allowed(name: str, allow: set[str] | None, block: set[str]) -> bool:
    if name in block:
        return False
    return allow is None or name in allow


def _trace(message: str) -> None:
    if os.environ.get("GROUNDSCORE_TRACE_PLUGINS"):
        print(f"[groundscore plugins] {message}", file=sys.stderr)


def _dist_version(module_name: str) -> str | None:
    """The version of the distribution named like the module's top-level package."""
    try:
        return importlib.metadata.version(module_name.split(".")[0])
    except Exception:  # noqa: BLE001 - not installed, or broken metadata
        return None


def _entry_point_version(ep: importlib.metadata.EntryPoint) -> str | None:
    """The version of the distribution that declares ``ep`` (its name may differ from the module's)."""
    try:
        dist = ep.dist
        if dist is not None:
            return str(dist.version)
    except Exception:  # noqa: BLE001
        pass
    return _dist_version(ep.value.split(":")[0])


def _check_hook_names(registry: Registry, info: PluginInfo, module: Any) -> None:
    """Report ``@hookimpl`` functions that match no hook (a typo means a verifier that never fires)."""
    known = {name for name in dir(hookspecs) if name.startswith("register_")}
    for attr in dir(module):
        if attr.startswith("_") or attr in known:
            continue
        value = getattr(module, attr, None)
        if callable(value) and hasattr(value, f"{hookspecs.PROJECT_NAME}_impl"):
            registry.errors.append(f"{info.name}: {attr!r} is marked @hookimpl but is not a hook; known hooks: {', '.join(sorted(known))}")


def _collect(registry: Registry, info: PluginInfo, module: Any) -> None:
    """Call this plugin's hooks alone, so its registrations are attributed to it."""

    def add(kind: str, name: str) -> None:
        info.registered.setdefault(kind, []).append(name)
        _trace(f"{info.name}: registered {kind} {name!r}")

    def register_verifier(cls: type) -> None:
        from groundscore.verifiers.base import Verifier

        if not (isinstance(cls, type) and issubclass(cls, Verifier)):
            raise TypeError(f"register_verifiers: {cls!r} is not a subclass of groundscore.verifiers.base.Verifier")
        name = getattr(cls, "name", "") or ""
        if not name:
            raise ValueError(f"verifier {cls!r} has no name")
        if name in registry.verifiers:
            registry.errors.append(f"{info.name}: verifier name {name!r} is taken; ignored")
            return
        registry.verifiers[name] = cls
        add("verifiers", name)

    def register_parser(parser: Any) -> None:
        name = getattr(parser, "name", "") or ""
        if not name:
            raise ValueError(f"parser {parser!r} has no name")
        if name in registry.parsers:
            registry.errors.append(f"{info.name}: parser name {name!r} is taken; ignored")
            return
        registry.parsers[name] = parser
        add("parsers", name)

    def register_backend(cls: type) -> None:
        key = (getattr(cls, "kind", ""), getattr(cls, "name", ""))
        if not all(key):
            raise ValueError(f"backend {cls!r} needs a kind and a name")
        if key in registry.backends:
            registry.errors.append(f"{info.name}: backend {key!r} is taken; ignored")
            return
        registry.backends[key] = cls
        add("backends", f"{key[0]}:{key[1]}")

    def register_policy(name: str, fn: Callable[..., Any]) -> None:
        if name in registry.reward_policies:
            registry.errors.append(f"{info.name}: reward policy {name!r} is taken; ignored")
            return
        registry.reward_policies[name] = fn
        add("reward_policies", name)

    callbacks = {
        "register_verifiers": register_verifier,
        "register_parsers": register_parser,
        "register_backends": register_backend,
        "register_reward_policies": register_policy,
    }
    for hook_name, callback in callbacks.items():
        impl = getattr(module, hook_name, None)
        if impl is None or not callable(impl):
            continue
        info.hooks.append(hook_name)
        _trace(f"{info.name}: calling {hook_name}")
        impl(register=callback)


_KINDS = {"verifiers": "verifiers", "parsers": "parsers", "reward_policies": "reward_policies"}


def _roll_back(registry: Registry, info: PluginInfo) -> None:
    """Remove what a plugin registered before it failed: a failed plugin is skipped whole."""
    for kind, names in info.registered.items():
        if kind == "backends":
            for key in names:
                registry.backends.pop(tuple(key.split(":", 1)), None)  # type: ignore[arg-type]
        elif kind in _KINDS:
            table = getattr(registry, _KINDS[kind])
            for n in names:
                table.pop(n, None)
    info.registered = {}


def _load_one(
    registry: Registry, name: str, module_name: str, *, builtin: bool, loader: Callable[[], Any],
    version: Callable[[], str | None] | None = None,
) -> None:
    info = PluginInfo(name=name, module=module_name, builtin=builtin)
    registry.plugins[name] = info
    module = None
    try:
        module = loader()
        if version is not None:
            info.version = version()
        else:
            info.version = _dist_version("groundscore") if builtin else _dist_version(module_name)
        # pluggy checks the hook signatures first; then each hook is called on its own
        if not pm.is_registered(module):
            pm.register(module, name=name)
        _check_hook_names(registry, info, module)
        _collect(registry, info, module)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        _roll_back(registry, info)
        if module is not None and pm.is_registered(module):
            pm.unregister(module)
        info.error = f"{type(exc).__name__}: {exc}"
        registry.errors.append(f"plugin {name!r} ({module_name}) failed to load: {info.error}")
        _trace(f"{name}: FAILED {info.error}")


def load_plugins(*, reload: bool = False) -> Registry:
    """Load built-in and entry-point plugins once; return the registry.

    Thread-safe and idempotent. ``reload=True`` forgets what was loaded and
    loads again (used by tests and after installing a plugin in-process).
    """
    global _registry
    with _lock:
        if _registry is not None and not reload:
            return _registry
        if reload:
            for plugin in list(pm.get_plugins()):
                pm.unregister(plugin)
            importlib.invalidate_caches()
        registry = Registry()
        allow = _env_list("GROUNDSCORE_PLUGINS")
        block = _env_list("GROUNDSCORE_DISABLE") or set()
        for module_name in DEFAULT_PLUGINS:
            short = module_name.rsplit(".", 1)[-1]
            # Built-ins are always allowed by an allow-list of third-party
            # names, but can be blocked by name like any plugin.
            if short in block:
                _trace(f"{short}: built-in skipped by GROUNDSCORE_DISABLE")
                continue
            _load_one(
                registry, short, module_name, builtin=True,
                loader=lambda m=module_name: importlib.import_module(m),
            )
        for ep in _entry_points():
            if not _allowed(ep.name, allow, block):
                _trace(f"{ep.name}: skipped by GROUNDSCORE_PLUGINS/GROUNDSCORE_DISABLE")
                continue
            if ep.name in registry.plugins:
                registry.errors.append(f"plugin name {ep.name!r} is taken; {ep.value} ignored")
                continue
            _load_one(
                registry, ep.name, ep.value, builtin=False, loader=ep.load,
                version=lambda ep=ep: _entry_point_version(ep),
            )
        _registry = registry
        return registry


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    try:
        return list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
    except Exception as exc:  # noqa: BLE001 - broken metadata of some other package
        _trace(f"could not read entry points: {exc}")
        return []


def get_registry() -> Registry:
    """The registry, loading plugins on first call."""
    return load_plugins()


def load_errors() -> list[str]:
    """Problems met while loading plugins (failed imports, taken names)."""
    return list(get_registry().errors)


def register_module(module: Any, name: str | None = None) -> PluginInfo:
    """Register an already-imported module or object as a plugin, in-process.

    For tests and notebooks; installed packages should use entry points.
    """
    registry = get_registry()
    plugin_name = name or getattr(module, "__name__", repr(module))
    with _lock:
        _load_one(registry, plugin_name, getattr(module, "__name__", plugin_name), builtin=False, loader=lambda: module)
    return registry.plugins[plugin_name]
