"""The plugin host: loads built-ins and third-party plugins, keeps the registries.

Loading happens on first use (never at ``import groundscore``), once per
process, in three steps, each through pluggy's own API:

1. every plugin module is imported and ``pm.register``-ed inside its own
   ``try``; pluggy validates the hook signatures here. Blocked names
   (``pm.set_blocked``) are never imported;
2. each plugin's hooks are checked: a marked function that matches no hook
   (a typo) and a function named like a hook but not marked ``@hookimpl``
   are load errors, so the author learns why nothing fires;
3. every hook is called through ``pm.hook.<name>``, one plugin at a time
   (built-ins first; then ``tryfirst``, plain and ``trylast`` plugins), with a ``register``
   callback bound to that plugin (found through ``get_hookimpls()``), so that
   each registration is attributed to its plugin. A plugin that raises while
   registering is rolled back and unregistered; the others load as usual.

Environment variables:

- ``GROUNDSCORE_PLUGINS=a,b``: load only these third-party plugins (entry-point
  names); built-ins always load. Empty string: built-ins only.
- ``GROUNDSCORE_DISABLE=c,d``: never load these (entry-point names, or the short
  names of built-ins such as ``schema`` or ``qwen_json``).
- ``GROUNDSCORE_TRACE_PLUGINS=1``: print every hook call and what it
  registered to stderr (``pm.add_hookcall_monitoring``), for plugin authors
  whose verifier never fires.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import inspect
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from groundscore.parse import coords
from groundscore.plugins import hookspecs

# Built-in modules, registered exactly like third-party plugins. The short
# name (after the last dot) is what the allow/block lists match.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "groundscore.plugins.spaces",
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
    "groundscore.parse.gui_computer_use",
    "groundscore.parse.gui_uitars",
    "groundscore.parse.gui_os_atlas",
    "groundscore.parse.gui_showui",
    "groundscore.parse.gui_seeclick",
    "groundscore.parse.gui_aguvis",
    "groundscore.parse.gui_cogagent",
    "groundscore.parse.gui_action_list",
    "groundscore.verifiers.schema",
    "groundscore.verifiers.label_match",
    "groundscore.verifiers.consistency",
    "groundscore.verifiers.spatial",
    "groundscore.clip.open_clip_backend",
    "groundscore.clip.transformers_backend",
    "groundscore.verifiers.clip",
    "groundscore.verifiers.agreement",
    "groundscore.rewards.grounded",
    "groundscore.rewards.confidence",
    "groundscore.rewards.iou",
    "groundscore.rewards.format",
    "groundscore.rewards.click",
    "groundscore.rewards.consensus",
)

ENTRY_POINT_GROUP = "groundscore"

# The hooks, in the order the host calls them: spaces before the parsers that name them.
HOOK_ORDER: tuple[str, ...] = (
    "register_coord_spaces",
    "register_parsers",
    "register_backends",
    "register_verifiers",
    "register_reward_policies",
)


def _spec_names() -> list[str]:
    """Every hook the host knows (including hooks other modules add to hookspecs)."""
    return sorted(name for name, value in vars(hookspecs).items() if hasattr(value, f"{hookspecs.PROJECT_NAME}_spec"))


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
    reward_policies: dict[str, Any] = field(default_factory=dict)
    coord_spaces: dict[str, Any] = field(default_factory=dict)
    plugins: dict[str, PluginInfo] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
pm.add_hookspecs(hookspecs)

_lock = threading.RLock()
_registry: Registry | None = None
_loading = False
_undo_tracing: Callable[[], None] | None = None


def _env_list(name: str) -> set[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return {p.strip() for p in raw.split(",") if p.strip()}


def _tracing() -> bool:
    return bool(os.environ.get("GROUNDSCORE_TRACE_PLUGINS"))


def _trace(message: str) -> None:
    if _tracing():
        print(f"[groundscore plugins] {message}", file=sys.stderr)


def _monitor_before(hook_name: str, hook_impls: list[Any], kwargs: dict[str, Any]) -> None:
    for impl in hook_impls:
        _trace(f"{impl.plugin_name}: calling {hook_name}")


def _monitor_after(outcome: Any, hook_name: str, hook_impls: list[Any], kwargs: dict[str, Any]) -> None:
    exc = outcome.exception
    if exc is not None:
        names = ", ".join(impl.plugin_name for impl in hook_impls)
        _trace(f"{names}: {hook_name} raised {type(exc).__name__}: {exc}")


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


def hook_problems(plugin: Any) -> list[str]:
    """What is wrong with a registered plugin's hooks, one sentence each (empty when nothing).

    A ``@hookimpl`` whose name is no hook stays *pending* in pluggy (what
    ``pm.check_pending()`` refuses); a function named like a hook without the
    decorator is ignored by pluggy. Both mean a hook that never fires.
    """
    known = _spec_names()
    problems = []
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.has_spec():
            continue
        close = difflib.get_close_matches(caller.name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(f"{caller.name!r} is marked @hookimpl but is not a hook{hint}; known hooks: {', '.join(known)}")
    for name in known:
        value = getattr(plugin, name, None)
        if callable(value) and pm.parse_hookimpl_opts(plugin, name) is None:
            problems.append(f"{name!r} is not marked @hookimpl, so it is never called; add `from groundscore import hookimpl` and `@hookimpl`")
    return problems


class _Load:
    """One load of every plugin: the registry being filled and the plugin objects by name."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.objects: dict[str, Any] = {}

    # -- step 1: import and register ---------------------------------------
    def add(self, name: str, module_name: str, *, builtin: bool, loader: Callable[[], Any],
            version: Callable[[], str | None] | None = None) -> None:
        info = PluginInfo(name=name, module=module_name, builtin=builtin)
        self.registry.plugins[name] = info
        try:
            module = loader()
            info.version = version() if version is not None else (
                _dist_version("groundscore") if builtin else _dist_version(module_name))
            if pm.is_registered(module):  # the same object under another name
                raise ValueError(f"already registered as {pm.get_name(module)!r}")
            pm.register(module, name=name)  # pluggy validates the hook signatures
            problems = hook_problems(module)
            if problems:
                pm.unregister(module)
                raise pluggy.PluginValidationError(module, "; ".join(problems))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            self.fail(info, exc)
            return
        info.hooks = [caller.name for caller in pm.get_hookcallers(module) or []]
        info.hooks.sort(key=lambda h: HOOK_ORDER.index(h) if h in HOOK_ORDER else len(HOOK_ORDER))
        self.objects[name] = module

    def fail(self, info: PluginInfo, exc: BaseException) -> None:
        if isinstance(exc, pluggy.PluginValidationError):
            info.error = f"PluginValidationError: {exc}"
        else:
            info.error = f"{type(exc).__name__}: {exc}"
        self.registry.errors.append(f"plugin {info.name!r} ({info.module}) failed to load: {info.error}")
        _trace(f"{info.name}: FAILED {info.error}")

    # -- step 3: call the hooks --------------------------------------------
    def call_hooks(self) -> None:
        for hook_name in HOOK_ORDER:
            for impl in self.call_order(hook_name):
                name = impl.plugin_name
                info = self.registry.plugins.get(name)
                if info is None or info.error is not None or name not in self.objects:
                    continue
                others = [p for n, p in self.objects.items() if n != name]
                only_this = pm.subset_hook_caller(hook_name, remove_plugins=others)
                try:
                    only_this(register=_Registrar(self.registry, info, hook_name))
                except BaseException as exc:
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                    self.drop(info, exc)

    def call_order(self, hook_name: str) -> list[Any]:
        """The hook's implementations (``pm.hook.<name>.get_hookimpls()``) in the order the host calls them.

        Built-ins first, in :data:`DEFAULT_PLUGINS` order, so that no plugin
        can take a built-in's name; then the plugins: ``tryfirst`` ones
        first, ``trylast`` ones last, the others in load order. Where two
        register the same name, the first wins and the other is reported.
        """
        rank = {name: i for i, name in enumerate(self.objects)}
        plugins = self.registry.plugins

        def key(impl: Any) -> tuple[int, int]:
            info = plugins.get(impl.plugin_name)
            builtin = info is not None and info.builtin
            priority = 0 if builtin else (1 if impl.tryfirst else 3 if impl.trylast else 2)
            return (priority, rank.get(impl.plugin_name, len(rank)))

        return sorted(getattr(pm.hook, hook_name).get_hookimpls(), key=key)

    def drop(self, info: PluginInfo, exc: BaseException) -> None:
        """A plugin that failed while registering is skipped whole: undo what it registered."""
        _roll_back(self.registry, info)
        plugin = self.objects.pop(info.name, None)
        if plugin is not None and pm.is_registered(plugin):
            pm.unregister(plugin)
        self.fail(info, exc)


class _Registrar:
    """The ``register`` callback handed to one plugin's implementation of one hook."""

    def __init__(self, registry: Registry, info: PluginInfo, hook_name: str) -> None:
        self.registry = registry
        self.info = info
        self.hook_name = hook_name

    def _add(self, kind: str, name: str) -> None:
        self.info.registered.setdefault(kind, []).append(name)
        _trace(f"{self.info.name}: registered {kind} {name!r}")

    def _taken(self, what: str, name: Any) -> None:
        self.registry.errors.append(f"{self.info.name}: {what} {name!r} is taken; ignored")

    def __call__(self, obj: Any, *args: Any) -> None:
        getattr(self, self.hook_name)(obj, *args)

    def register_verifiers(self, cls: Any) -> None:
        from groundscore.verifiers.base import Verifier

        if not (isinstance(cls, type) and issubclass(cls, Verifier)):
            raise TypeError(f"register_verifiers: {cls!r} is not a subclass of groundscore.verifiers.base.Verifier")
        name = getattr(cls, "name", "") or ""
        if not name:
            raise ValueError(f"verifier {cls!r} has no name")
        if name in self.registry.verifiers:
            return self._taken("verifier name", name)
        self.registry.verifiers[name] = cls
        self._add("verifiers", name)

    def register_parsers(self, parser: Any) -> None:
        name = getattr(parser, "name", "") or ""
        if not name or not isinstance(name, str):
            raise ValueError(f"parser {parser!r} has no name")
        if name in self.registry.parsers:
            return self._taken("parser name", name)
        self.registry.parsers[name] = parser
        self._add("parsers", name)

    def register_backends(self, cls: Any) -> None:
        key = (getattr(cls, "kind", ""), getattr(cls, "name", ""))
        if not all(key):
            raise ValueError(f"backend {cls!r} needs a kind and a name")
        if key in self.registry.backends:
            return self._taken("backend", key)
        self.registry.backends[key] = cls
        self._add("backends", f"{key[0]}:{key[1]}")

    def register_reward_policies(self, policy: Any, *legacy: Any) -> None:
        from groundscore.rewards.base import as_policy

        policy = as_policy(policy, *legacy)
        if policy.name in self.registry.reward_policies:
            return self._taken("reward policy", policy.name)
        self.registry.reward_policies[policy.name] = policy
        self._add("reward_policies", policy.name)

    def register_coord_spaces(self, space: Any, *aliases: str) -> None:
        if isinstance(space, coords.SpaceFamily):
            names = [f"{space.prefix}:"]
        elif isinstance(space, coords.CoordSpace):
            names = [space.name, *aliases]
        else:
            raise TypeError(f"register_coord_spaces: {space!r} is neither a CoordSpace nor a SpaceFamily")
        if names[0] in self.registry.coord_spaces:
            return self._taken("coordinate space", names[0])
        free = [names[0]]
        for alias in names[1:]:
            if alias in self.registry.coord_spaces:
                self._taken("coordinate space alias", alias)
            else:
                free.append(alias)
        if isinstance(space, coords.SpaceFamily):
            coords.register_family(space)
        else:
            coords.register_space(space, *free[1:])
        for n in free:
            self.registry.coord_spaces[n] = space
            self._add("coord_spaces", n)


def _roll_back(registry: Registry, info: PluginInfo) -> None:
    """Remove what a plugin registered (before it failed, or on reload)."""
    for kind, names in info.registered.items():
        for n in names:
            if kind == "backends":
                registry.backends.pop(tuple(n.split(":", 1)), None)  # type: ignore[arg-type]
            elif kind == "coord_spaces":
                registry.coord_spaces.pop(n, None)
                coords.unregister_space(n)
            else:
                getattr(registry, kind).pop(n, None)
    info.registered = {}


def _reset() -> None:
    """Forget the previous load: unregister every plugin, undo its spaces, unblock names."""
    global _undo_tracing
    if _registry is not None:
        # only the process-wide space store: a chain built before keeps its registry intact
        for info in _registry.plugins.values():
            for name in info.registered.get("coord_spaces", []):
                coords.unregister_space(name)
    for name, plugin in list(pm.list_name_plugin()):
        if plugin is None:
            pm.unblock(name)
        else:
            pm.unregister(plugin)
    if _undo_tracing is not None:
        _undo_tracing()
        _undo_tracing = None
    importlib.invalidate_caches()


def load_plugins(*, reload: bool = False) -> Registry:
    """Load built-in and entry-point plugins once; return the registry.

    Thread-safe and idempotent. ``reload=True`` forgets what was loaded and
    loads again (used by tests and after installing a plugin in-process).
    A call made while plugins are loading (a plugin's hook that looks up a
    coordinate space) gets the registry being filled.
    """
    global _registry, _undo_tracing
    with _lock:
        if _loading and _current is not None:
            return _current.registry
        if _registry is not None and not reload:
            return _registry
        _reset()
        _registry = None
        allow = _env_list("GROUNDSCORE_PLUGINS")
        block = _env_list("GROUNDSCORE_DISABLE") or set()
        for name in block:
            pm.set_blocked(name)
        if _tracing():
            _undo_tracing = pm.add_hookcall_monitoring(_monitor_before, _monitor_after)
        load = _Load(Registry())
        _set_current(load)
        try:
            for module_name in DEFAULT_PLUGINS:
                short = module_name.rsplit(".", 1)[-1]
                # Built-ins are always allowed by an allow-list of third-party
                # names, but can be blocked by name like any plugin.
                if pm.is_blocked(short):
                    _trace(f"{short}: built-in skipped by GROUNDSCORE_DISABLE")
                    continue
                load.add(short, module_name, builtin=True, loader=lambda m=module_name: importlib.import_module(m))
            for ep in _entry_points():
                if ep.name in load.registry.plugins:  # checked first: blocking a taken name would unregister it
                    load.registry.errors.append(f"plugin name {ep.name!r} is taken; {ep.value} ignored")
                    continue
                if allow is not None and ep.name not in allow:
                    pm.set_blocked(ep.name)
                if pm.is_blocked(ep.name):
                    _trace(f"{ep.name}: skipped by GROUNDSCORE_PLUGINS/GROUNDSCORE_DISABLE")
                    continue
                load.add(ep.name, ep.value, builtin=False, loader=ep.load, version=lambda ep=ep: _entry_point_version(ep))
            load.call_hooks()
        finally:
            _set_current(None)
        _registry = load.registry
        return _registry


_current: _Load | None = None


def _set_current(load: _Load | None) -> None:
    global _current, _loading
    _current = load
    _loading = load is not None


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
    """Problems met while loading plugins (failed imports, taken names, bad hooks)."""
    return list(get_registry().errors)


def register_module(module: Any, name: str | None = None) -> PluginInfo:
    """Register an already-imported module or object as a plugin, in-process.

    For tests and notebooks; installed packages should use entry points. Its
    hooks are called through ``pm.hook`` exactly as at load time; what it
    registers goes after what is there (a taken name is reported).
    """
    registry = get_registry()
    plugin_name = name or getattr(module, "__name__", None) or repr(module)
    with _lock:
        load = _Load(registry)
        load.objects = {n: p for n, p in pm.list_name_plugin() if p is not None}
        before = set(load.objects)
        load.add(plugin_name, getattr(module, "__name__", plugin_name) if inspect.ismodule(module) else type(module).__name__,
                 builtin=False, loader=lambda: module)
        if plugin_name in load.objects:
            # only the new plugin's hooks: the others have registered already
            load.objects = {plugin_name: load.objects[plugin_name], **{n: load.objects[n] for n in before}}
            _call_one(load, plugin_name)
    return registry.plugins[plugin_name]


def _call_one(load: _Load, name: str) -> None:
    info = load.registry.plugins[name]
    others = [p for n, p in load.objects.items() if n != name]
    for hook_name in HOOK_ORDER:
        if hook_name not in info.hooks:
            continue
        try:
            pm.subset_hook_caller(hook_name, remove_plugins=others)(register=_Registrar(load.registry, info, hook_name))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            load.drop(info, exc)
            return


def register_commands(cli: Any) -> list[str]:
    """Let every loaded plugin add commands to ``cli`` through ``pm.hook.register_commands``; returns the errors."""
    load_plugins()
    try:
        pm.hook.register_commands(cli=cli)
    except Exception as exc:  # noqa: BLE001 - a broken plugin command must not take the CLI down
        return [f"a plugin's register_commands failed: {type(exc).__name__}: {exc}"]
    return []


def _load_for_lookup() -> bool:
    """A coordinate space was looked up before any plugin loaded: load them now (not while loading)."""
    if _registry is not None or _loading:
        return False
    load_plugins()
    return True


coords.set_host_loader(_load_for_lookup)
