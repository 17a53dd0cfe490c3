"""``groundscore serve``: the reward server (OpenRLHF's remote reward protocol).

Needs the ``[server]`` extra (FastAPI and uvicorn). See :mod:`groundscore.server.app`.
"""

from groundscore.server.settings import ServeSettings

__all__ = ["ServeSettings", "create_app", "serve"]


def __getattr__(name: str):
    if name in ("create_app", "serve"):
        from groundscore.server import app

        return getattr(app, name)
    raise AttributeError(f"module 'groundscore.server' has no attribute {name!r}")
