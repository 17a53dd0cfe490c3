"""``groundscore serve``: the reward server (OpenRLHF's remote reward protocol).

Needs the ``[server]`` extra (FastAPI, uvicorn, pydantic-settings). See
:mod:`groundscore.server.app`. Nothing is imported until used, so that
``groundscore serve --help`` works on a core install.
"""

__all__ = ["ServeSettings", "create_app", "serve"]


def __getattr__(name: str):
    if name == "ServeSettings":
        from groundscore.server.settings import ServeSettings

        return ServeSettings
    if name in ("create_app", "serve"):
        from groundscore.server import app

        return getattr(app, name)
    raise AttributeError(f"module 'groundscore.server' has no attribute {name!r}")
