"""The plugin host: entry-point discovery, isolation of broken plugins, allow/block lists, tracing.

Discovery is tested for real: the example distribution in
``plugins/groundscore-example`` is pip-installed into a temporary ``--target``
folder, and a fresh interpreter with that folder on ``PYTHONPATH`` finds it
through ``importlib.metadata`` entry points, exactly as an installed plugin is
found. The venv itself is never touched. Hand-written ``*.dist-info`` folders
(what pip writes: METADATA and entry_points.txt) stand in for installed
packages in the faster tests of broken plugins and environment variables.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from groundscore import hookimpl
from groundscore.plugins import manager
from groundscore.verifiers.base import Verifier

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "plugins" / "groundscore-example"

# Runs in a fresh interpreter: load plugins, verify one sample with the named verifiers, print JSON.
PROBE = textwrap.dedent(
    """
    import json, sys
    from groundscore.plugins.manager import load_plugins
    from groundscore.chain import Chain
    registry = load_plugins()
    out = {
        "verifiers": sorted(registry.verifiers),
        "errors": registry.errors,
        "plugins": {n: {"builtin": p.builtin, "version": p.version, "hooks": p.hooks, "error": p.error,
                        "registered": p.registered} for n, p in registry.plugins.items()},
    }
    names = [n for n in sys.argv[1:] if n in registry.verifiers]
    if names:
        chain = Chain({"verifiers": names})
        report = chain.verify_one({"query": "dog", "coords": "original", "image_size": [640, 480],
                                   "completion": '[{"bbox_2d": [0, 0, 640, 480], "label": "dog"}]'})
        out["verdicts"] = {v.verifier: [v.score, v.code, v.reason] for v in report.verdicts}
    print(json.dumps(out))
    """
)


def _run_probe(pythonpath: Path, *verifiers: str, **env: str) -> tuple[dict, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSCORE_")}
    environ["PYTHONPATH"] = os.pathsep.join([str(pythonpath), environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    environ.update(env)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *verifiers], capture_output=True, text=True, env=environ, timeout=120, cwd=pythonpath,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def _fake_dist(site: Path, dist: str, entry_points: dict[str, str], modules: dict[str, str]) -> None:
    """What pip leaves in site-packages: the modules and a dist-info with the entry points."""
    for name, code in modules.items():
        (site / f"{name}.py").write_text(textwrap.dedent(code))
    info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[groundscore]\n{lines}\n")


GOOD_PLUGIN = """
    from groundscore import Verdict, hookimpl
    from groundscore.verifiers.base import Verifier

    class Always(Verifier):
        name = "always_half"
        def verify_batch(self, contexts):
            return [Verdict(verifier=self.name, score=0.5, reason="half") for _ in contexts]

    @hookimpl
    def register_verifiers(register):
        register(Always)
"""


@pytest.fixture
def fake_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    _fake_dist(site, "gs-good", {"good": "gs_good"}, {"gs_good": GOOD_PLUGIN})
    _fake_dist(site, "gs-broken", {"broken": "gs_broken"}, {"gs_broken": "raise ImportError('needs a library that is not installed')\n"})
    _fake_dist(
        site, "gs-half", {"half": "gs_half"},
        {"gs_half": """
            from groundscore import hookimpl
            from groundscore.verifiers.base import Verifier

            class Half(Verifier):
                name = "half_registered"

            @hookimpl
            def register_verifiers(register):
                register(Half)
                raise RuntimeError("registration fails after the first verifier")
        """},
    )
    _fake_dist(
        site, "gs-typo", {"typo": "gs_typo"},
        {"gs_typo": """
            from groundscore import hookimpl

            @hookimpl
            def register_verifier(register):  # singular: not a hook
                pass
        """},
    )
    return site


@pytest.mark.slow
def test_example_distribution_installs_and_runs_through_entry_points(tmp_path: Path) -> None:
    src = tmp_path / "groundscore-example"
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = tmp_path / "target"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--quiet", "--target", str(target), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert list(target.glob("groundscore_example-0.1.0.dist-info"))

    out, _ = _run_probe(target, "schema", "box_area")
    plugin = out["plugins"]["box_area"]
    assert plugin == {
        "builtin": False, "version": "0.1.0", "hooks": ["register_verifiers"], "error": None,
        "registered": {"verifiers": ["box_area"]},
    }
    # the whole-image box passes the schema gate but box_area says it is implausible
    assert out["verdicts"]["schema"][1] == "ok"
    score, code, reason = out["verdicts"]["box_area"]
    assert code == "box_area.implausible" and score == 0.0 and "100.00%" in reason

    # without the folder on the path, the plugin is simply not there
    out, _ = _run_probe(tmp_path)
    assert "box_area" not in out["verifiers"]


def test_broken_plugins_are_reported_and_skipped(fake_site: Path) -> None:
    out, _ = _run_probe(fake_site, "schema", "always_half")
    assert out["plugins"]["good"]["error"] is None
    assert out["plugins"]["good"]["version"] == "1.2.3"
    assert out["verdicts"]["always_half"] == [0.5, "ok", "half"]
    assert out["verdicts"]["schema"][1] == "ok"

    broken = out["plugins"]["broken"]
    assert broken["error"] == "ImportError: needs a library that is not installed"
    assert any("'broken'" in e and "failed to load" in e for e in out["errors"])
    # a plugin that fails half-way through registering is skipped whole
    assert out["plugins"]["half"]["error"].startswith("RuntimeError")
    assert "half_registered" not in out["verifiers"]
    # a misspelt hook is loaded but reported, so the author learns why nothing fires
    assert out["plugins"]["typo"]["error"] is None
    assert any("register_verifier'" in e and "not a hook" in e for e in out["errors"])


def test_allow_list_loads_only_the_named_plugins(fake_site: Path) -> None:
    out, _ = _run_probe(fake_site, GROUNDSCORE_PLUGINS="good")
    assert set(p for p, info in out["plugins"].items() if not info["builtin"]) == {"good"}
    assert "always_half" in out["verifiers"] and "schema" in out["verifiers"]

    out, _ = _run_probe(fake_site, GROUNDSCORE_PLUGINS="")
    assert all(info["builtin"] for info in out["plugins"].values())


def test_block_list_skips_plugins_and_builtins(fake_site: Path) -> None:
    out, _ = _run_probe(fake_site, GROUNDSCORE_DISABLE="good, schema")
    assert "good" not in out["plugins"] and "always_half" not in out["verifiers"]
    assert "schema" not in out["verifiers"]
    assert "broken" in out["plugins"]


def test_trace_prints_hook_calls(fake_site: Path) -> None:
    _, err = _run_probe(fake_site, GROUNDSCORE_TRACE_PLUGINS="1", GROUNDSCORE_PLUGINS="good,broken")
    assert "[groundscore plugins] good: calling register_verifiers" in err
    assert "[groundscore plugins] good: registered verifiers 'always_half'" in err
    assert "[groundscore plugins] broken: FAILED ImportError" in err
    assert "typo: skipped by GROUNDSCORE_PLUGINS/GROUNDSCORE_DISABLE" in err
    _, quiet = _run_probe(fake_site)
    assert "[groundscore plugins]" not in quiet


class _Named(Verifier):
    name = "in_process_example"


class _InProcessPlugin:
    """A plugin object (not a module) registered in-process, as a notebook would."""

    @hookimpl
    def register_verifiers(self, register):
        register(_Named)


def test_register_module_in_process_and_bad_registrations() -> None:
    try:
        info = manager.register_module(_InProcessPlugin(), name="in_process")
        assert info.error is None and info.registered == {"verifiers": ["in_process_example"]}
        assert manager.get_registry().verifiers["in_process_example"] is _Named

        class NotAVerifier:
            name = "nope"

        class BadPlugin:
            @hookimpl
            def register_verifiers(self, register):
                register(NotAVerifier)

        bad = manager.register_module(BadPlugin(), name="bad_in_process")
        assert bad.error is not None and "not a subclass" in bad.error
        assert "nope" not in manager.get_registry().verifiers
    finally:
        manager.load_plugins(reload=True)
    assert "in_process_example" not in manager.get_registry().verifiers


def test_builtins_register_through_the_same_hooks() -> None:
    registry = manager.get_registry()
    assert registry.plugins["schema"].builtin
    assert registry.plugins["schema"].registered == {"verifiers": ["schema"]}
    assert registry.plugins["qwen_json"].registered == {"parsers": ["qwen25_json"]}
    assert registry.errors == []
