"""``groundscore plugins``: what is loaded, from where, and what it registered."""

from __future__ import annotations

import json
from typing import Any

import click

from groundscore.commands.options import Command, json_option, namespace


@click.command("plugins", cls=Command, help=__doc__, short_help="list loaded plugins, verifiers, parsers and backends")
@json_option("print JSON instead of a table")
def command(**options: Any) -> int:
    return run(namespace(**options))


def describe() -> dict[str, Any]:
    """Everything ``groundscore plugins`` shows, as plain data."""
    from groundscore.config import DEFAULT_VERIFIERS
    from groundscore.plugins.manager import get_registry

    registry = get_registry()
    verifiers = []
    for name, cls in registry.verifiers.items():
        try:
            missing = cls().unavailable()
        except Exception as exc:  # noqa: BLE001 - describing must not fail
            missing = f"cannot be constructed with default options: {type(exc).__name__}: {exc}"
        verifiers.append({
            "name": name,
            "description": getattr(cls, "description", ""),
            "gate": bool(getattr(cls, "is_gate", False)),
            "malformed_gate": bool(getattr(cls, "malformed_gate", False)),
            # what its score can show: a reward pays above "not found" only on confirming evidence
            "evidence": getattr(cls, "evidence", "refuting"),
            "available": missing is None,
            "unavailable_reason": missing,
            "module": cls.__module__,
            "default": name in DEFAULT_VERIFIERS,
            # a verifier outside the default list runs only where a configuration names it
            "enable": None if name in DEFAULT_VERIFIERS else f'enable = ["{name}"] in [tool.groundscore] (or verifiers = [..., "{name}"])',
        })
    return {
        "plugins": [
            {
                "name": p.name, "module": p.module, "builtin": p.builtin, "version": p.version,
                "hooks": p.hooks, "registered": p.registered, "error": p.error,
            }
            for p in registry.plugins.values()
        ],
        "verifiers": verifiers,
        "parsers": [
            {"name": name, "description": getattr(p, "description", ""), "default_coords": getattr(p, "default_coords", None)}
            for name, p in registry.parsers.items()
        ],
        "backends": [{"kind": k, "name": n, "module": cls.__module__} for (k, n), cls in registry.backends.items()],
        "reward_policies": [
            {"name": name, "description": getattr(cls, "description", ""), "module": cls.__module__,
             "options": sorted(cls.Options.model_fields) if hasattr(cls, "Options") else []}
            for name, cls in registry.reward_policies.items()
        ],
        "errors": registry.errors,
    }


def run(args: Any) -> int:
    info = describe()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{'plugin':<22} {'version':<10} {'source':<9} hooks")
    for p in info["plugins"]:
        source = "builtin" if p["builtin"] else "installed"
        status = f"  ERROR: {p['error']}" if p["error"] else ""
        print(f"{p['name']:<22} {p['version'] or '-':<10} {source:<9} {', '.join(p['hooks'])}{status}")
    print(f"\n{'verifier':<16} {'evidence':<11} {'gate':<5} {'ready':<6} {'default':<8} description")
    for v in info["verifiers"]:
        flags = f"{'yes' if v['gate'] else 'no':<5} {'yes' if v['available'] else 'no':<6} {'yes' if v['default'] else 'no':<8}"
        print(f"{v['name']:<16} {v['evidence']:<11} {flags} {v['description']}")
        if not v["available"]:
            print(f"{'':<50}-> {v['unavailable_reason']}")
        if v["enable"]:
            print(f"{'':<50}-> not in the default chain; to run it: {v['enable']}")
    print("evidence: confirming = can show the box is on its target (pixels, agreement); refuting = can only show it "
          "is wrong.\nWithout ground truth a reward pays above 'not found' only on confirming evidence.")
    print(f"\nparsers: {', '.join(p['name'] for p in info['parsers'])}")
    if info["backends"]:
        print(f"backends: {', '.join(b['kind'] + ':' + b['name'] for b in info['backends'])}")
    if info["reward_policies"]:
        print(f"reward policies: {', '.join(p['name'] for p in info['reward_policies'])}")
    for error in info["errors"]:
        print(f"error: {error}")
    return 0
