"""Chain configuration: which verifiers, their options, weights and thresholds.

Read from a TOML file (a ``groundscore.toml``, or ``pyproject.toml`` whose
``[tool.groundscore]`` table is used) or built in Python. Validated with
pydantic: a typo or a bad value is an error that names the field::

    verifiers = ["schema", "label_match"]   # default: every registered verifier
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

from pathlib import Path
from typing import Any

import tomllib
from pydantic import BaseModel, ConfigDict, Field, model_validator

from groundscore.parse import ParseConfig


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

    verifiers: list[str] | None = Field(default=None, description="Verifiers to run, in order; None means all registered.")
    disable: list[str] = Field(default_factory=list, description="Verifiers never to run.")
    weights: dict[str, float] = Field(default_factory=dict, description="Weight of each verifier in the geometric mean.")
    thresholds: Thresholds = Field(default_factory=Thresholds)
    options: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Per-verifier options, by verifier name.")
    parse: ParseConfig = Field(default_factory=ParseConfig)
    calibration: str | None = Field(default=None, description="Path of a calibration file written by `groundscore calibrate`.")

    @model_validator(mode="after")
    def _weights(self) -> ChainConfig:
        bad = {k: v for k, v in self.weights.items() if not v >= 0}
        if bad:
            raise ValueError(f"weights must be >= 0, got {bad}")
        return self

    @classmethod
    def from_file(cls, path: str | Path) -> ChainConfig:
        """Load a TOML file; for ``pyproject.toml`` the ``[tool.groundscore]`` table."""
        path = Path(path)
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        if path.name == "pyproject.toml" or "tool" in data:
            data = data.get("tool", {}).get("groundscore", {})
        return cls.model_validate(data)


def load_config(config: ChainConfig | dict[str, Any] | str | Path | None) -> ChainConfig:
    """Any accepted form of configuration -> :class:`ChainConfig`."""
    if config is None:
        return ChainConfig()
    if isinstance(config, ChainConfig):
        return config
    if isinstance(config, dict):
        return ChainConfig.model_validate(config)
    return ChainConfig.from_file(config)
