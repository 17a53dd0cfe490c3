"""The server's settings: flags over GROUNDSCORE_SERVE_* variables over a TOML file over the defaults."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from groundscore.server.settings import ServeSettings


def test_settings_come_from_flags_then_environment_then_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "serve.toml"
    file.write_text('port = 8101\nmax_batch = 64\ntoken = "from-file"\n', encoding="utf-8")
    monkeypatch.delenv("GROUNDSCORE_SERVE_TOKEN", raising=False)
    s = ServeSettings.load(file)
    assert (s.port, s.max_batch, s.token, s.max_queue) == (8101, 64, "from-file", ServeSettings.default("max_queue"))
    monkeypatch.setenv("GROUNDSCORE_SERVE_TOKEN", "from-env")
    monkeypatch.setenv("GROUNDSCORE_SERVE_MAX_BATCH", "32")
    s = ServeSettings.load(file, max_batch=None, port=9000)
    assert (s.port, s.max_batch, s.token) == (9000, 32, "from-env")
    assert isinstance(s, ServeSettings)
    monkeypatch.setenv("GROUNDSCORE_SERVE_MAX_BATCH", "0")
    with pytest.raises(pydantic.ValidationError, match="max_batch"):
        ServeSettings.load()
    bad = tmp_path / "bad.toml"
    bad.write_text("max_bacth = 3\n", encoding="utf-8")
    monkeypatch.delenv("GROUNDSCORE_SERVE_MAX_BATCH")
    with pytest.raises(pydantic.ValidationError, match="max_bacth"):
        ServeSettings.load(bad)
    with pytest.raises(FileNotFoundError):
        ServeSettings.load(tmp_path / "missing.toml")
