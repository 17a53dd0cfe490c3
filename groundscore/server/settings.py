"""Settings of the reward server, validated once at start-up."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ServeSettings(BaseModel):
    """What ``groundscore serve`` runs with.

    Limits exist so that a runaway client cannot take the server down: a body
    over ``max_body_bytes`` is refused (413) before it is read whole, a
    request with more than ``max_queries`` queries is refused (413), and when
    ``max_queue`` completions already wait the request is refused (503 with
    ``Retry-After``; OpenRLHF's client retries).
    """

    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="127.0.0.1", description="Interface to bind; 0.0.0.0 exposes the server to the network.")
    port: int = Field(default=8000, ge=0, le=65535)
    token: str | None = Field(default=None, description="When set, requests need 'Authorization: Bearer <token>' (or ?token=).")
    max_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    max_queries: int = Field(default=4096, gt=0, description="Most queries in one request.")
    max_queue: int = Field(default=16384, gt=0, description="Most completions waiting to be scored.")
    max_batch: int = Field(default=512, gt=0, description="Most completions in one chain call.")
    max_wait_ms: float = Field(default=5.0, ge=0, description="How long the first waiting request waits for others to join its batch.")
    reward_config: str | None = Field(default=None, description="Reward policy: TOML/JSON path or inline JSON.")
    chain_config: str | None = Field(default=None, description="Verifier chain: TOML path.")
    query_templates: list[str] | None = Field(default=None, description="Regexes with (?P<expr>...) reading the expression from the prompt.")
