"""The reward server's default settings, written once.

They live apart from :mod:`groundscore.server.settings` because that module
needs pydantic-settings (the ``[server]`` extra), while ``groundscore serve
--help`` and ``groundscore --help`` must work on a core install and still
print the defaults.
"""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 8000,
    "token": None,
    "max_body_bytes": 8 * 1024 * 1024,
    "max_queries": 4096,
    "max_queue": 16384,
    "max_batch": 512,
    "max_wait_ms": 5.0,
    "request_timeout_s": 300.0,
    "image_root": None,
    "max_image_bytes": 64 * 1024 * 1024,
    "max_image_pixels": 50_000_000,
    "reward_config": None,
    "chain_config": None,
    "query_templates": None,
}
"""Each setting's default; :class:`~groundscore.server.settings.ServeSettings` declares its fields with these."""
