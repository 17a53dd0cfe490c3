"""``groundscore serve`` in a subprocess on a free loopback port, for tests that talk to a real server.

One definition for every test that needs a live server: start it, wait for
``/health``, hand back its base URL, and stop it (terminate, then kill) on the
way out. A server that exits or does not answer within 120 s is a
``RuntimeError`` that carries its log.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(args: Sequence[str], log_path: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``groundscore serve --port PORT *args``; yields ``http://127.0.0.1:PORT`` once ``/health`` answers."""
    port = free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "groundscore", "serve", "--port", str(port), *args],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited with {proc.returncode}: {log_path.read_text()}")
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start in 120 s: {log_path.read_text()}")
                time.sleep(0.25)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
