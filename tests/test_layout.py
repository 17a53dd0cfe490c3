"""The package's layout: no import cycles, small modules, a plugin host below what it hosts.

The import graph is read with ``ast`` from the source, so a cycle is found
whether or not a test happens to import the modules in the order that breaks.
Both module-level and function-level imports count; only imports under
``if TYPE_CHECKING:`` are left out (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "groundscore"
MAX_LINES = 600

# What the plugin host may import: the contracts plugins implement and the small value types.
HOST = "groundscore.plugins.manager"
HOST_MAY_IMPORT = {
    "groundscore.plugins.hookspecs",
    "groundscore.parse.coords",
    "groundscore.verifiers.base",
    "groundscore.rewards.base",
}
# What the host hosts or serves: it must not reach them, even through a contract's imports.
LAYERS_ABOVE_THE_HOST = (
    "groundscore.chain", "groundscore.rewards.", "groundscore.verifiers.", "groundscore.scoring",
    "groundscore.integrations", "groundscore.commands", "groundscore.server", "groundscore.ray", "groundscore.cli",
)


def _modules(package: Path) -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for path in package.rglob("*.py"):
        parts = list(path.with_suffix("").relative_to(package.parent).parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skipped


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the groundscore modules it imports (a package's ``__init__`` when the package is named)."""
    mods = _modules(package)

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for module, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        skipped = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                # `from pkg import sub` imports the submodule; `from mod import name` the module
                targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in mods else source for a in node.names]
            for target in targets:
                if not target.startswith("groundscore"):
                    continue
                resolved = resolve(target)
                # importing a.b.c runs a/b/__init__.py first: the sub-package's __init__ is imported too
                parents = [".".join(resolved.split(".")[:k]) for k in range(2, resolved.count(".") + 1)] if resolved else []
                for name in (*parents, resolved):
                    if name and name != module and not module.startswith(name + "."):
                        graph[module].add(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_package_has_no_import_cycle() -> None:
    found = cycles(import_graph())
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_function_level_imports_count(tmp_path: Path) -> None:
    package = tmp_path / "groundscore"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("def f():\n    from groundscore import high\n")
    (package / "high.py").write_text("from groundscore.low import f\n")
    (package / "typed.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from groundscore import high\n")
    graph = import_graph(package)
    assert graph["groundscore.low"] == {"groundscore.high"}
    assert graph["groundscore.typed"] == set()
    assert cycles(graph) == [["groundscore.high", "groundscore.low"]]


def test_the_plugin_host_imports_only_contracts() -> None:
    graph = import_graph()
    direct = {m for m in graph[HOST] if not any(c.startswith(m + ".") for c in HOST_MAY_IMPORT)}  # package inits
    assert direct <= HOST_MAY_IMPORT, f"the plugin host imports {sorted(direct - HOST_MAY_IMPORT)}"
    reached, todo = set(), [HOST]
    while todo:
        for target in graph[todo.pop()] - reached:
            reached.add(target)
            todo.append(target)
    above = sorted(m for m in reached if m not in HOST_MAY_IMPORT and m.startswith(LAYERS_ABOVE_THE_HOST))
    assert above == [], f"the plugin host reaches {above}"


def test_no_module_is_over_600_lines() -> None:
    long = {str(p.relative_to(PACKAGE.parent)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_top_level_holds_only_the_entry_points_and_shared_types() -> None:
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert top == ["__init__", "__main__", "_compat", "chain", "cli", "config", "issues", "model", "reward"]


def test_the_old_reward_module_reexports_the_rewards_package() -> None:
    import warnings

    import groundscore.rewards as rewards

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import groundscore.reward as old
    for name in rewards.__all__:
        assert getattr(old, name) is getattr(rewards, name)


def test_old_paths_of_moved_modules_are_the_moved_modules() -> None:
    import importlib
    import warnings

    from groundscore._compat import MOVED

    for old, new in MOVED.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module = importlib.import_module(old)
        assert module is importlib.import_module(new)
        assert any(issubclass(w.category, DeprecationWarning) and new in str(w.message) for w in caught)
