"""``groundscore serve`` errors and responsiveness, against a real server process on loopback.

What is checked is what a client sees and what the log says: every error
body is the documented ``{"error": ...}`` (router 404/405 included), a string
``query`` is 422 as docs/rewards/serve.md says, ``/health`` answers while a
request that takes seconds of CPU is prepared and scored, and a client that
hangs up in the middle of its body leaves neither a 500 nor a traceback in
the log. The chain is the schema verifier alone, which loads in a second.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from serve_process import running_server  # noqa: E402 - needs httpx, checked above

ANSWER = '<answer>[{"bbox_2d": [10, 10, 50, 50], "label": "dog"}]</answer>'
LABEL = json.dumps({"solution": [10, 10, 50, 50], "image_size": [100, 100], "coords": "original"})


class _Live:
    def __init__(self, base: str, log: Path) -> None:
        self.base = base
        self.log = log


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Live]:
    folder = tmp_path_factory.mktemp("serve-errors")
    config = folder / "chain.toml"
    config.write_text('verifiers = ["schema"]\n')
    log = folder / "server.log"
    with running_server(["--config", str(config), "--max-wait-ms", "1"], log) as base:
        yield _Live(base, log)


def _post(live: _Live, body: Any, **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("timeout", 60)
    return httpx.post(f"{live.base}/get_reward", json=body, **kwargs)


def test_a_string_query_is_422_with_an_error_body(live: _Live) -> None:
    r = _post(live, {"query": "dog" + ANSWER, "prompts": ["dog"], "labels": [LABEL]})
    assert r.status_code == 422, r.text
    assert set(r.json()) == {"error"} and "'query' must be a list" in r.json()["error"]
    r = _post(live, {"query": ["dog" + ANSWER], "prompts": "dog"})
    assert r.status_code == 422 and "'prompts'" in r.json()["error"]
    ok = _post(live, {"query": ["dog" + ANSWER], "prompts": ["dog"], "labels": [LABEL]})
    assert ok.status_code == 200 and ok.json()["rewards"] == [1.0]


def test_router_errors_use_the_documented_schema(live: _Live) -> None:
    wrong_method = httpx.get(f"{live.base}/get_reward", timeout=10)
    assert wrong_method.status_code == 405
    assert set(wrong_method.json()) == {"error"}, wrong_method.text  # not FastAPI's {"detail": ...}
    assert "POST" in wrong_method.headers.get("allow", "")
    for method, path in (("GET", "/nowhere"), ("PUT", "/"), ("DELETE", "/health")):
        r = httpx.request(method, f"{live.base}{path}", timeout=10)
        assert r.status_code in (404, 405), (method, path, r.status_code)
        assert set(r.json()) == {"error"} and r.json()["error"], r.text


@pytest.mark.slow
def test_health_answers_while_a_heavy_request_is_handled(live: _Live) -> None:
    # Prompts that cost the query reader the most it can spend (about 5-15 ms of CPU each): 500
    # of them are seconds of CPU. Before, the samples were built on the event loop, so /health
    # waited for all of it; now that work runs in a thread and the loop keeps answering.
    prompt = "Locate " * 585
    n = 500
    body = {"query": [prompt + ANSWER] * n, "prompts": [prompt] * n, "labels": [LABEL] * n}
    result: dict[str, Any] = {}

    def heavy() -> None:
        start = time.perf_counter()
        result["response"] = _post(live, body, timeout=300)
        result["seconds"] = time.perf_counter() - start

    thread = threading.Thread(target=heavy)
    thread.start()
    latencies: list[float] = []
    time.sleep(0.2)  # the request is in
    while thread.is_alive():
        start = time.perf_counter()
        assert httpx.get(f"{live.base}/health", timeout=60).status_code == 200
        latencies.append(time.perf_counter() - start)
        time.sleep(0.05)
    thread.join()
    assert result["response"].status_code == 200 and len(result["response"].json()["rewards"]) == n
    assert latencies, "the heavy request finished before /health was asked"
    # Ratio, not a fixed budget: on a loaded machine both grow, but /health must not wait
    # for the heavy request (a blocked loop makes the slowest /health about as long as it).
    assert result["seconds"] > 1.0, "the request was not heavy enough to show anything"
    assert max(latencies) < result["seconds"] / 3, (
        f"/health took up to {max(latencies):.2f} s while a {result['seconds']:.2f} s request ran")


def test_a_client_hanging_up_mid_body_is_no_error(live: _Live) -> None:
    before = live.log.read_text(errors="replace")
    host, port = live.base.removeprefix("http://").split(":")
    for _ in range(3):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"POST /get_reward HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100000\r\n\r\n" + b'{"query": ["' + b"x" * 5000)
            time.sleep(0.2)  # the server is reading the body
    time.sleep(0.5)
    health = httpx.get(f"{live.base}/health", timeout=10)
    assert health.status_code == 200
    logged = live.log.read_text(errors="replace")[len(before):]
    assert "Traceback" not in logged and "500" not in logged and "request failed" not in logged, logged
    assert _post(live, {"query": ["dog" + ANSWER], "prompts": ["dog"], "labels": [LABEL]}).json()["rewards"] == [1.0]


def test_a_label_the_server_cannot_use_is_answered_with_a_reason_and_logged(live: _Live) -> None:
    """A bare box without the image size cannot be compared with the answer: the reward is ``unscorable``
    (0.0 for OpenRLHF), and the answer says why per sample, beside a usable label, and the log says it once."""
    before = live.log.read_text(errors="replace")
    qwen = '<answer>[{"bbox_2d": [100, 100, 500, 500], "label": "dog"}]</answer>'
    r = _post(live, {"query": ["dog" + qwen, "dog" + ANSWER], "prompts": ["dog", "dog"],
                     "labels": ["[100, 100, 500, 500]", LABEL]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["outcomes"][0] == "unscorable" and body["rewards"][0] == 0.0
    assert "image size unknown" in body["reasons"][0], body["reasons"]
    assert body["outcomes"][1] == "correct" and body["rewards"][1] == 1.0
    deadline = time.monotonic() + 10
    logged = ""
    while time.monotonic() < deadline:
        logged = live.log.read_text(errors="replace")[len(before):]
        if "could not be scored" in logged:
            break
        time.sleep(0.1)
    assert "1 of 2 samples could not be scored" in logged and "image size unknown" in logged, logged
