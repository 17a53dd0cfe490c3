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
    from groundscore.plugins.manager import pm
    try:
        pm.check_pending()
        out["pending"] = None
    except Exception as exc:
        out["pending"] = str(exc)
    out["parsers"] = list(registry.parsers)
    out["policies"] = sorted(registry.reward_policies)
    out["default_chain"] = Chain().names
    names = [n for n in sys.argv[1:] if n in registry.verifiers]
    if names:
        chain = Chain({"verifiers": names})
        report = chain.verify_one({"query": "dog", "coords": "original", "image_size": [640, 480],
                                   "completion": '[{"bbox_2d": [0, 0, 640, 480], "label": "dog"}]'})
        out["verdicts"] = {v.verifier: [v.score, v.code, v.reason] for v in report.verdicts}
    print(json.dumps(out))
    """
)


def _env(pythonpath: Path, **env: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSCORE_")}
    environ["PYTHONPATH"] = os.pathsep.join([str(pythonpath), str(ROOT), environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    environ.update(env)
    return environ


def _run_probe(pythonpath: Path, *verifiers: str, **env: str) -> tuple[dict, str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *verifiers], capture_output=True, text=True, env=_env(pythonpath, **env),
        timeout=120, cwd=pythonpath,
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
    _fake_dist(
        site, "gs-plain", {"plain": "gs_plain"},
        {"gs_plain": """
            def register_verifiers(register):  # the right name, but not marked @hookimpl
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
    assert out["errors"] == []
    expected = {
        "box_area": ("register_verifiers", {"verifiers": ["box_area"]}),
        "box_call": ("register_parsers", {"parsers": ["box_call"]}),
        "hit_rate": ("register_reward_policies", {"reward_policies": ["hit_rate"]}),
    }
    for name, (hook, registered) in expected.items():
        assert out["plugins"][name] == {
            "builtin": False, "version": "0.1.0", "hooks": [hook], "error": None, "registered": registered,
        }
    assert "box_call" in out["parsers"] and "hit_rate" in out["policies"]
    # installing the plugin does not change the default chain: box_area runs only where it is named
    assert "box_area" not in out["default_chain"] and out["default_chain"][0] == "schema"
    # the whole-image box passes the schema gate but box_area says it is implausible
    assert out["verdicts"]["schema"][1] == "ok"
    score, code, reason = out["verdicts"]["box_area"]
    assert code == "box_area.implausible" and score == 0.0 and "100.00%" in reason

    # the parser and the policy, through the installed entry points
    proc = subprocess.run([sys.executable, "-c", EXAMPLE_POLICY_PROBE], capture_output=True, text=True, timeout=120,
                          env=_env(target), cwd=target)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["format"] == "box_call" and got["boxes"] == [[100.0, 100.0, 200.0, 200.0]]
    assert got["rewards"] == [1.0, 0.0, 0.25]  # hit, miss (IoU 0.5 < 0.6), not found
    assert "reward.options.treshold" in got["typo"]

    # without the folder on the path, the plugin is simply not there
    out, _ = _run_probe(tmp_path)
    assert "box_area" not in out["verifiers"] and "box_call" not in out["parsers"]


EXAMPLE_POLICY_PROBE = textwrap.dedent(
    """
    import json
    from groundscore.rewards import Rewarder
    rewarder = Rewarder({"policy": "hit_rate", "options": {"threshold": 0.6, "not_found": 0.25}},
                        chain_config={"verifiers": ["schema"]})
    gt = [100, 100, 200, 200]
    batch = [{"query": "dog", "completion": 'BOX(100, 100, 200, 200, "dog")', "image_size": [640, 480], "solution": gt},
             {"query": "dog", "completion": 'BOX(100, 100, 150, 200, "dog")', "image_size": [640, 480], "solution": gt},
             {"query": "dog", "completion": "[]", "image_size": [640, 480], "solution": gt}]
    results = rewarder.score(batch)
    try:
        Rewarder({"policy": "hit_rate", "options": {"treshold": 0.6}}, chain=rewarder.chain)
        typo = ""
    except ValueError as exc:
        typo = str(exc)
    parsed = results[0].report.parsed
    print(json.dumps({"rewards": [r.reward for r in results], "format": parsed.format,
                      "boxes": [list(b.xyxy) for b in parsed.boxes], "typo": typo}))
    """
)


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
    # a misspelt hook or a hook without @hookimpl is a load error that says what to fix
    typo = out["plugins"]["typo"]["error"]
    assert typo.startswith("PluginValidationError") and "'register_verifier' is marked @hookimpl but is not a hook" in typo
    assert "did you mean 'register_verifiers'?" in typo
    plain = out["plugins"]["plain"]["error"]
    assert "'register_verifiers' is not marked @hookimpl" in plain
    assert out["pending"] is None  # pluggy's own check: nothing unknown stays registered


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


def test_coordinate_spaces_come_from_the_hook_and_go_with_their_plugin() -> None:
    from groundscore.parse.coords import CoordSpace, SpaceFamily, get_space

    class SpacesPlugin:
        @hookimpl
        def register_coord_spaces(self, register):
            register(CoordSpace("norm2048_plugin", "0..2048", lambda s: (s[0] / 2048, s[1] / 2048)), "n2048_plugin")
            register(CoordSpace("norm1000", "a plugin that tries to take a built-in name", lambda s: (1.0, 1.0)))
            register(SpaceFamily("grid_plugin", "n x n grid", lambda p: CoordSpace(f"grid_plugin:{p}", "grid", lambda s, n=int(p): (s[0] / n, s[1] / n))))

    registry = manager.get_registry()
    assert registry.plugins["spaces"].registered["coord_spaces"][:2] == ["original", "pixels"]
    builtin_norm1000 = get_space("norm1000")
    try:
        info = manager.register_module(SpacesPlugin(), name="spaces_plugin")
        assert info.error is None
        assert info.registered == {"coord_spaces": ["norm2048_plugin", "n2048_plugin", "grid_plugin:"]}
        assert any("'norm1000' is taken" in e for e in registry.errors)
        assert get_space("norm1000") is builtin_norm1000  # a built-in name cannot be taken over
        assert get_space("n2048_plugin").to_original((1024, 0, 2048, 2048), (100, 50)) == (50, 0, 100, 50)
        assert get_space("grid_plugin:10").to_original((1, 1, 2, 2), (100, 100)) == (10, 10, 20, 20)
        # the integrations' resized-input spaces are a built-in family: nothing is registered at run time
        assert get_space("input:640x480").to_original((320, 240, 640, 480), (1280, 960)) == (640, 480, 1280, 960)
    finally:
        manager.load_plugins(reload=True)
    with pytest.raises(KeyError, match="n2048_plugin"):
        get_space("n2048_plugin")
    assert get_space("norm1000").name == "norm1000"


def test_tryfirst_orders_plugins_and_the_first_registration_wins(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    template = """
        from groundscore import Verdict, hookimpl
        from groundscore.verifiers.base import Verifier

        class V(Verifier):
            name = "shared_name"
            description = "{who}"
            def verify_batch(self, contexts):
                return [Verdict(verifier=self.name, score=1.0) for _ in contexts]

        @hookimpl{mark}
        def register_verifiers(register):
            register(V)
    """
    _fake_dist(site, "gs-a", {"aaa": "gs_a"}, {"gs_a": template.format(who="plain", mark="")})
    _fake_dist(site, "gs-b", {"bbb": "gs_b"}, {"gs_b": template.format(who="tryfirst", mark="(tryfirst=True)")})
    out, _ = _run_probe(site)
    assert out["plugins"]["bbb"]["registered"] == {"verifiers": ["shared_name"]}
    assert out["plugins"]["aaa"]["registered"] == {}
    assert any("aaa: verifier name 'shared_name' is taken" in e for e in out["errors"])


def test_plugins_command_shows_hook_errors_and_how_to_enable_a_verifier(fake_site: Path) -> None:
    environ = _env(fake_site)
    proc = subprocess.run([sys.executable, "-m", "groundscore", "plugins"], capture_output=True, text=True,
                          env=environ, timeout=120, cwd=fake_site)
    assert proc.returncode == 0, proc.stderr
    assert "did you mean 'register_verifiers'?" in proc.stdout
    assert "'register_verifiers' is not marked @hookimpl" in proc.stdout
    line = next(i for i, text in enumerate(proc.stdout.splitlines()) if text.startswith("always_half"))
    assert 'enable = ["always_half"]' in proc.stdout.splitlines()[line + 1]
    data = json.loads(subprocess.run([sys.executable, "-m", "groundscore", "plugins", "--json"], capture_output=True,
                                     text=True, env=environ, timeout=120, cwd=fake_site).stdout)
    verifiers = {v["name"]: v for v in data["verifiers"]}
    assert verifiers["schema"]["default"] and verifiers["schema"]["malformed_gate"]
    assert not verifiers["always_half"]["default"]


def test_the_plugin_guide_shows_the_example_plugin_files() -> None:
    """The guide's verifier, parser and policy code are the example's files, included by mkdocs snippets."""
    import re

    page = (ROOT / "docs" / "concepts" / "plugins.md").read_text(encoding="utf-8")
    included = re.findall(r'^--8<-- "([^"]+)"$', page, flags=re.MULTILINE)
    module_dir = "plugins/groundscore-example/src/groundscore_example"
    for name in ("box_area.py", "box_call.py", "hit_rate.py"):
        assert f"{module_dir}/{name}" in included
    assert "plugins/groundscore-example/pyproject.toml" in included
    for path in included:
        assert (ROOT / path).is_file(), path
    mkdocs = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "pymdownx.snippets" in mkdocs and "check_paths: true" in mkdocs
    # every entry point of the example is a module the guide shows
    pyproject = (EXAMPLE / "pyproject.toml").read_text(encoding="utf-8")
    modules = re.findall(r'^\w+ = "groundscore_example\.(\w+)"$', pyproject, flags=re.MULTILINE)
    assert sorted(modules) == ["box_area", "box_call", "hit_rate"]
    for heading in ("**A verifier**", "**A format (parser)**", "**A reward policy**"):
        assert heading in page


def test_an_entry_point_named_like_a_builtin_cannot_replace_or_block_it(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _fake_dist(site, "gs-impostor", {"schema": "gs_impostor"}, {"gs_impostor": GOOD_PLUGIN})
    for env in ({}, {"GROUNDSCORE_PLUGINS": "other"}):
        out, _ = _run_probe(site, "schema", **env)
        assert out["plugins"]["schema"]["builtin"] and out["plugins"]["schema"]["registered"] == {"verifiers": ["schema"]}
        assert out["verdicts"]["schema"][1] == "ok" and "always_half" not in out["verifiers"]
        assert any("plugin name 'schema' is taken" in e for e in out["errors"])


def test_every_verifier_declares_what_its_score_can_show() -> None:
    """Evidence roles: only pixels and agreement among sampled answers confirm; the text checks only refute."""
    from groundscore.commands.plugins import describe
    from groundscore.plugins.manager import get_registry

    roles = {name: cls.evidence for name, cls in get_registry().verifiers.items()}
    assert {name: roles[name] for name in ("schema", "label_match", "consistency", "spatial")} == dict.fromkeys(
        ("schema", "label_match", "consistency", "spatial"), "refuting")
    assert roles["clip"] == roles["agreement"] == "confirming"
    assert set(roles.values()) <= {"confirming", "refuting"}
    shown = {v["name"]: v["evidence"] for v in describe()["verifiers"]}
    assert shown == roles
