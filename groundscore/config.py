"""Chain configuration: which verifiers, their options, weights and thresholds.

Read from a TOML file (a ``groundscore.toml``, or ``pyproject.toml`` whose
``[tool.groundscore]`` table is used) or built in Python. Validated with
pydantic: a typo or a bad value is an error that names the field::

    verifiers = ["schema", "label_match"]   # default: DEFAULT_VERIFIERS, the built-in list
    enable = ["box_area"]                   # a plugin's verifier, opted in by name
    disable = ["clip"]

    [weights]
    schema = 1.0
    label_match = 2.0

    [thresholds]
    accept = 0.5
    reject = 0.25

    [options.schema]
    require_tags = true
    tolerance_px = 4
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

try:
    import tomllib
except ImportError:  # Python 3.10: the same parser, as a package
    import tomli as tomllib  # type: ignore[no-redef]

from groundscore.parse import ParseConfig

DEFAULT_VERIFIERS: tuple[str, ...] = ("schema", "label_match", "consistency", "spatial", "clip", "agreement")
"""The default chain, by name. Installing a plugin never adds to it: a plugin's
verifier runs only where a configuration names it (``verifiers`` or ``enable``),
so the rewards of an existing configuration do not change with what is installed."""


class Thresholds(BaseModel):
    """``confidence >= accept`` accepts, ``< reject`` rejects, between abstains."""

    model_config = ConfigDict(extra="forbid")

    accept: float = Field(default=0.5, ge=0.0, le=1.0)
    reject: float = Field(default=0.25, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.reject > self.accept:
            raise ValueError(f"thresholds.reject ({self.reject}) must not exceed thresholds.accept ({self.accept})")
        return self


class ChainConfig(BaseModel):
    """Everything that shapes a :class:`~groundscore.chain.Chain`. Deterministic."""

    model_config = ConfigDict(extra="forbid")

    verifiers: list[str] | None = Field(
        default=None,
        description="Verifiers to run, in order; None means DEFAULT_VERIFIERS (those of them that are loaded).",
    )
    enable: list[str] = Field(
        default_factory=list,
        description="Verifiers run after `verifiers` (for example a plugin's, which never runs unless named).",
    )
    disable: list[str] = Field(default_factory=list, description="Verifiers never to run.")
    weights: dict[str, float] = Field(default_factory=dict, description="Weight of each verifier in the geometric mean.")
    thresholds: Thresholds = Field(default_factory=Thresholds)
    options: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Per-verifier options, by verifier name.")
    parse: ParseConfig = Field(default_factory=ParseConfig)
    calibration: str | None = Field(default=None, description="Path of a calibration file written by `groundscore calibrate`.")
    confidence: str = Field(
        default="default",
        description="How verdicts become Report.confidence: 'default' (P(correct) from the confidence model shipped "
        "in the package, fitted by benchmarks/fit_confidence.py), a path to such a model file, or 'combine' (the "
        "weighted geometric mean of the verifiers' scores, not a probability). A `calibration` file, when given, "
        "replaces all three.",
    )
    groups: Literal["given", "derive"] = Field(
        default="given",
        description="given: samples are grouped by Sample.group only; derive: a sample without a group is "
        "grouped with the others of the batch that show the same image (path, bytes or object) and query.",
    )
    strict: bool = Field(
        default=False,
        description="A sample key that is no Sample field ('qeury') makes the sample invalid (not scored); "
        "off, it is a `sample.unknown_key` warning and the sample is verified without it.",
    )
    accept_unverified: bool = Field(
        default=False,
        description="Let an answer be accepted that no verifier could check against the query (label_match, "
        "consistency and clip all missing their extra, their input or their query). Off (the default), such an "
        "answer abstains and its parse carries a `chain.unverified` issue saying what to install or supply.",
    )
    pause_gc: bool = Field(
        default=True,
        description="Pause Python's cyclic garbage collector while a batch is verified (it is re-enabled "
        "afterwards). In a process holding many objects, as a trainer does, collections triggered by the "
        "batch's short-lived objects otherwise cost about a third of the chain's time.",
    )

    @model_validator(mode="after")
    def _weights(self) -> ChainConfig:
        bad = {k: v for k, v in self.weights.items() if not (v >= 0 and math.isfinite(v))}
        if bad:
            raise ValueError(f"weights must be finite and >= 0, got {bad}")
        return self

    def verifier_names(self, registered: Collection[str]) -> list[str]:
        """The verifiers this configuration runs, in order, given the registered names.

        The default list keeps only the built-ins that are loaded (one can be
        blocked with ``GROUNDSCORE_DISABLE``); a name the configuration
        writes itself must be registered (see :meth:`unknown_names`).
        """
        names = list(self.verifiers) if self.verifiers is not None else [n for n in DEFAULT_VERIFIERS if n in registered]
        names += [n for n in self.enable if n not in names]
        return [n for n in names if n not in self.disable]

    def unknown_names(self, registered: Collection[str]) -> list[str]:
        """Verifier names this configuration writes that nothing registered."""
        written = [*(self.verifiers or []), *self.enable, *self.disable, *self.options]
        return [n for n in dict.fromkeys(written) if n not in registered]

    @classmethod
    def from_file(cls, path: str | Path) -> ChainConfig:
        """Load a TOML file; for ``pyproject.toml`` the ``[tool.groundscore]`` table."""
        path = Path(path)
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        where = str(path)
        if path.name == "pyproject.toml" or "tool" in data:
            data = data.get("tool", {}).get("groundscore", {})
            where += " [tool.groundscore]"
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"{where}: {describe_errors(exc)}") from exc


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the field and the bad value."""


def describe_errors(exc: ValidationError, prefix: str = "") -> str:
    """A pydantic error as one clause per field: ``thresholds.accept: Input should be ... (got 1.5)``."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in (prefix, *err.get("loc", ())) if p != "") or "configuration"
        value = err.get("input")
        got = f" (got {value!r})" if "input" in err and not isinstance(value, dict) else ""
        parts.append(f"{where}: {err.get('msg', 'invalid')}{got}")
    return "; ".join(parts)


def plain_data(value: Any) -> Any:
    """Mappings and sequences of any kind as plain dicts and lists.

    Trainers hand configuration over in their own containers (verl passes
    ``reward_kwargs`` as OmegaConf ``DictConfig``/``ListConfig``), which
    pydantic does not take as dicts and lists.
    """
    if isinstance(value, Mapping):
        return {str(k): plain_data(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [plain_data(v) for v in value]
    return value


def load_config(config: ChainConfig | Mapping[str, Any] | str | Path | None) -> ChainConfig:
    """Any accepted form of configuration -> :class:`ChainConfig`; a :class:`ConfigError` names what is wrong."""
    if config is None:
        return ChainConfig()
    if isinstance(config, ChainConfig):
        return config
    if isinstance(config, Mapping):
        try:
            return ChainConfig.model_validate(plain_data(config))
        except ValidationError as exc:
            raise ConfigError(f"invalid groundscore configuration: {describe_errors(exc)}") from exc
    if isinstance(config, str | Path):
        return ChainConfig.from_file(config)
    raise ConfigError(f"a configuration is a ChainConfig, a mapping or a TOML path, not {type(config).__name__}")
