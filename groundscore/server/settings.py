"""Settings of the reward server, validated once at start-up.

Read by pydantic-settings from, highest priority first: command-line flags
(passed as keyword arguments), ``GROUNDSCORE_SERVE_*`` environment variables
(e.g. ``GROUNDSCORE_SERVE_TOKEN``, ``GROUNDSCORE_SERVE_MAX_BATCH``), a TOML
settings file (``groundscore serve --settings FILE``), then the defaults
below, which are written here once (the command's help reads them from here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from groundscore.server.defaults import DEFAULTS


class ServeSettings(BaseSettings):
    """What ``groundscore serve`` runs with.

    Limits exist so that a runaway client cannot take the server down: a body
    over ``max_body_bytes`` is refused (413) before it is read whole, a
    request with more than ``max_queries`` queries is refused (413), and when
    ``max_queue`` completions already wait the request is refused (503 with
    ``Retry-After``; OpenRLHF's client retries). A request whose scores are
    not ready after ``request_timeout_s`` gets 504 and its queued work is
    dropped. Image paths in labels are checked by
    :class:`groundscore.server.images.ImagePolicy`: inside ``image_root``
    when set; refused without it unless the server listens on loopback.
    """

    model_config = SettingsConfigDict(extra="forbid", env_prefix="GROUNDSCORE_SERVE_")

    host: str = Field(default=DEFAULTS["host"], description="Interface to bind; 0.0.0.0 exposes the server to the network.")
    port: int = Field(default=DEFAULTS["port"], ge=0, le=65535)
    token: str | None = Field(default=DEFAULTS["token"], description="When set, requests need 'Authorization: Bearer <token>' (or ?token=).")
    max_body_bytes: int = Field(default=DEFAULTS["max_body_bytes"], gt=0)
    max_queries: int = Field(default=DEFAULTS["max_queries"], gt=0, description="Most queries in one request.")
    max_queue: int = Field(default=DEFAULTS["max_queue"], gt=0, description="Most completions waiting to be scored.")
    max_batch: int = Field(default=DEFAULTS["max_batch"], gt=0, description="Most completions in one chain call.")
    max_wait_ms: float = Field(default=DEFAULTS["max_wait_ms"], ge=0, description="How long the first waiting request waits for others to join its batch.")
    request_timeout_s: float = Field(default=DEFAULTS["request_timeout_s"], gt=0, description="Longest a request waits for its scores (504 after).")
    image_root: str | None = Field(default=DEFAULTS["image_root"], description="Image paths in labels must resolve inside this directory.")
    max_image_bytes: int = Field(default=DEFAULTS["max_image_bytes"], gt=0, description="Largest image file a label may name.")
    max_image_pixels: int = Field(default=DEFAULTS["max_image_pixels"], gt=0, description="Most pixels (width x height, from the header) of an image.")
    reward_config: str | None = Field(default=DEFAULTS["reward_config"], description="Reward policy: TOML/JSON path or inline JSON.")
    chain_config: str | None = Field(default=DEFAULTS["chain_config"], description="Verifier chain: TOML path.")
    query_templates: list[str] | None = Field(default=DEFAULTS["query_templates"], description="Regexes with (?P<expr>...) reading the expression from the prompt.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags, then the environment, then the TOML file named by :meth:`load` (no .env, no secrets dir)."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if settings_cls.model_config.get("toml_file"):
            sources.append(TomlConfigSettingsSource(settings_cls))
        return tuple(sources)

    @classmethod
    def load(cls, file: str | Path | None = None, **flags: Any) -> ServeSettings:
        """The settings from ``flags`` (those not None), the environment and ``file``.

        Args:
            file: A TOML file of settings (``port = 8001``, ``max_batch = 256``);
                a ``[serve]`` table is not needed. None reads no file.
            **flags: Values given on the command line; None means "not given".

        Returns:
            The validated settings.

        Raises:
            FileNotFoundError: ``file`` does not exist.
            pydantic.ValidationError: a value is out of range or a key is unknown.
        """
        given = {k: v for k, v in flags.items() if v is not None}
        if file is None:
            return cls(**given)
        path = Path(file)
        if not path.is_file():
            raise FileNotFoundError(f"no such settings file: {path}")
        bound = type(cls.__name__, (cls,), {"model_config": {**cls.model_config, "toml_file": path}})
        return bound(**given)

    @classmethod
    def default(cls, name: str) -> Any:
        """The default of one setting, for help texts (so each default is written once)."""
        return DEFAULTS[name]
