"""Configuration: TOML files, pyproject's [tool.groundscore], and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from groundscore import hookimpl
from groundscore.chain import Chain
from groundscore.config import ChainConfig, ConfigError, Thresholds, load_config

TOML = """
verifiers = ["schema"]

[weights]
schema = 2.0

[thresholds]
accept = 0.7
reject = 0.3

[options.schema]
require_tags = true
tolerance_px = 6
"""


def test_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "groundscore.toml"
    path.write_text(TOML)
    config = load_config(path)
    assert config.verifiers == ["schema"] and config.weights == {"schema": 2.0}
    assert config.thresholds == Thresholds(accept=0.7, reject=0.3)
    chain = Chain(str(path))
    assert chain.verifiers[0].options.require_tags is True and chain.verifiers[0].options.tolerance_px == 6
    # the configured options take effect
    report = chain.verify_one({"completion": '[{"bbox_2d": [1, 2, 30, 40]}]', "coords": "original"})
    assert report.verdict("schema").code == "r1.tags"


def test_pyproject_tool_table(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    body = "\n".join(
        ("[tool.groundscore." + line[1:]) if line.startswith("[") else line for line in TOML.splitlines()
    )
    path.write_text('[project]\nname = "x"\n\n[tool.groundscore]\n' + body)
    config = ChainConfig.from_file(path)
    assert config.verifiers == ["schema"] and config.thresholds.accept == 0.7
    assert config.options == {"schema": {"require_tags": True, "tolerance_px": 6}}
    # a pyproject without the table is the default configuration
    path.write_text('[project]\nname = "x"\n')
    assert ChainConfig.from_file(path) == ChainConfig()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"thresholds": {"accept": 1.5}}, r"thresholds\.accept: Input should be less than or equal to 1 \(got 1\.5\)"),
        ({"thresholds": {"accept": 0.2, "reject": 0.3}}, r"thresholds\.reject \(0\.3\) must not exceed thresholds\.accept \(0\.2\)"),
        ({"verifier": ["schema"]}, r"verifier: Extra inputs are not permitted"),
        ({"weights": {"schema": -1}}, r"weights must be finite and >= 0, got \{'schema': -1\.0\}"),
        ({"weights": {"schema": float("inf")}}, r"weights must be finite"),
        ({"weights": {"schema": "heavy"}}, r"weights\.schema: Input should be a valid number"),
        ({"parse": {"max_chars": 0}}, r"parse\.max_chars: Input should be greater than 0 \(got 0\)"),
        ({"verifiers": "schema"}, r"verifiers: Input should be a valid list"),
    ],
)
def test_bad_values_name_the_field(config: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(config)
    with pytest.raises(ValueError, match=message):  # ConfigError is a ValueError: the CLI prints it
        Chain(config)


def test_file_errors_name_the_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[thresholds]\naccept = 'high'\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: thresholds\.accept: Input should be a valid number"):
        load_config(path)
    path.write_text("verifiers = [schema\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_config(path)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.groundscore]\ndisable = 3\n")
    with pytest.raises(ConfigError, match=r"pyproject\.toml \[tool\.groundscore\]: disable: Input should be a valid list"):
        load_config(pyproject)
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not int"):
        load_config(3)  # type: ignore[arg-type]


def test_unknown_verifier_names_and_options() -> None:
    with pytest.raises(ValueError, match=r"unknown verifier name\(s\) \['label_mtach'\]"):
        Chain({"verifiers": ["schema", "label_mtach"]})
    with pytest.raises(ValueError, match=r"unknown verifier name\(s\) \['nope'\]"):
        Chain({"disable": ["nope"]})
    with pytest.raises(ValueError, match=r"options\.schema\.tolerance: Extra inputs are not permitted"):
        Chain({"verifiers": ["schema"], "options": {"schema": {"tolerance": 3}}})


def test_config_objects_pass_through_and_round_trip() -> None:
    config = ChainConfig(verifiers=["schema"], thresholds=Thresholds(accept=0.9, reject=0.1))
    assert load_config(config) is config
    assert load_config(None) == ChainConfig()
    assert ChainConfig.model_validate_json(config.model_dump_json()) == config


def test_the_default_chain_is_the_named_built_in_list() -> None:
    from groundscore.config import DEFAULT_VERIFIERS
    from groundscore.plugins import manager
    from groundscore.verifiers.base import Verifier

    assert DEFAULT_VERIFIERS == ("schema", "label_match", "consistency", "spatial", "clip", "agreement")
    registered = manager.get_registry().verifiers
    assert Chain().names == [n for n in DEFAULT_VERIFIERS if n in registered]

    class Extra(Verifier):
        name = "config_test_extra"

    class Plugin:
        @hookimpl
        def register_verifiers(self, register):
            register(Extra)

    try:
        manager.register_module(Plugin(), name="config_test_plugin")
        assert "config_test_extra" in manager.get_registry().verifiers
        # installed, yet not run: only a configuration that names it opts in
        assert "config_test_extra" not in Chain().names
        assert Chain({"enable": ["config_test_extra"]}).names[-1] == "config_test_extra"
        assert Chain({"verifiers": ["schema"], "enable": ["config_test_extra"]}).names == ["schema", "config_test_extra"]
        assert Chain({"enable": ["config_test_extra"], "disable": ["config_test_extra"]}).names == Chain().names
    finally:
        manager.load_plugins(reload=True)
    with pytest.raises(ValueError, match=r"unknown verifier name\(s\) \['config_test_extra'\]"):
        Chain({"enable": ["config_test_extra"]})
    # a built-in blocked by GROUNDSCORE_DISABLE leaves the default list without an error
    assert ChainConfig().verifier_names({"schema", "spatial"}) == ["schema", "spatial"]


def test_trainer_containers_are_accepted_as_mappings() -> None:
    """verl hands ``reward_kwargs`` over as OmegaConf containers, nested ones included."""
    omegaconf = pytest.importorskip("omegaconf")
    from groundscore.config import load_config
    from groundscore.rewards import load_reward_config

    kwargs = omegaconf.OmegaConf.create({"chain_config": {"disable": ["clip"]}, "reward_config": {"wrong": -0.5}})
    assert load_config(kwargs.chain_config).disable == ["clip"]
    assert load_reward_config(kwargs.reward_config).wrong == -0.5
