"""``groundscore serve`` against hostile clients: a real uvicorn server on loopback, in-process.

The chain is the schema verifier alone (fast to load); what is under test is
the HTTP boundary: image paths a client names, body limits without
``Content-Length``, malformed field types, timeouts, disconnects, the token.
An image that passes the checks gives the sample its size (from the header),
which turns a ``norm1000`` answer into pixels: reward 1.0. A refused image
leaves the size unknown: reward 0.0. So the reward shows what the server did.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

from serve_process import free_port  # noqa: E402

from groundscore.integrations.openrlhf import OpenRLHFReward  # noqa: E402
from groundscore.server.app import create_app, warn_exposure  # noqa: E402
from groundscore.server.batcher import MicroBatcher  # noqa: E402
from groundscore.server.images import ImagePolicy, is_loopback  # noqa: E402
from groundscore.server.settings import ServeSettings  # noqa: E402

TOKEN = "tok-9f8e7d6c5b4a"
ANSWER = '<answer>[{"bbox_2d": [0, 0, 500, 500], "label": "dog"}]</answer>'


class _Server:
    """uvicorn in a thread on a free loopback port; stopped on exit."""

    def __init__(self, settings: ServeSettings, reward: OpenRLHFReward | None = None) -> None:
        settings = settings.model_copy(update={"port": free_port()})
        app = create_app(settings, reward or OpenRLHFReward(chain_config={"verifiers": ["schema"]}))
        self.base = f"http://127.0.0.1:{settings.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning",
                                                    access_log=False, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def post(self, body: Any, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {TOKEN}", **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", 30)
        if isinstance(body, bytes) or not isinstance(body, dict | list):
            return httpx.post(f"{self.base}/get_reward", content=body,
                              headers={"content-type": "application/json", **headers}, **kwargs)
        return httpx.post(f"{self.base}/get_reward", json=body, headers=headers, **kwargs)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    base = tmp_path_factory.mktemp("images")
    root = base / "root"
    root.mkdir()
    Image.new("RGB", (200, 100), "white").save(root / "a.png")
    outside = base / "secret.png"
    Image.new("RGB", (200, 100), "white").save(outside)
    (root / "link.png").symlink_to(outside)  # points outside the root
    (root / "inner.png").symlink_to(root / "a.png")  # stays inside
    os.mkfifo(root / "fifo.png")
    Image.new("L", (8000, 8000)).save(root / "huge.png")  # 64 M pixels, a small file
    (root / "big.png").write_bytes((root / "a.png").read_bytes() + b"\0" * 300_000)
    (root / "text.png").write_text("not an image")
    return root


@pytest.fixture(scope="module")
def server(images: Path) -> Iterator[_Server]:
    settings = ServeSettings(token=TOKEN, image_root=str(images), max_body_bytes=20_000, max_image_bytes=200_000,
                             max_image_pixels=10_000_000, max_queries=8)
    with _Server(settings) as srv:
        yield srv


def _reward(srv: _Server, image: str) -> float:
    label = json.dumps({"solution": [0, 0, 100, 50], "image": image, "coords": "norm1000"})
    # OpenRLHF sends the prompt followed by the response as one query string
    r = srv.post({"query": ["dog" + ANSWER], "prompts": ["dog"], "labels": [label]})
    assert r.status_code == 200, r.text
    return float(r.json()["rewards"][0])


def test_image_paths_must_be_regular_bounded_files_inside_the_root(server: _Server, images: Path) -> None:
    assert _reward(server, "a.png") == 1.0  # relative to the root
    assert _reward(server, str(images / "a.png")) == 1.0  # absolute, inside
    assert _reward(server, "inner.png") == 1.0  # a symlink that stays inside
    for refused in ["link.png", "../secret.png", str(images.parent / "secret.png"), "/etc/passwd", "/etc/shadow",
                    "/dev/zero", "/proc/self/environ", "fifo.png", "huge.png", "big.png", "text.png", "missing.png",
                    ".", "a.png\x00x"]:
        started = time.monotonic()
        assert _reward(server, refused) == 0.0, refused
        assert time.monotonic() - started < 10, refused  # the FIFO and /dev/zero never block
    assert httpx.get(f"{server.base}/health", timeout=10).json()["status"] == "ok"


def test_image_policy_reasons_and_default_by_host(images: Path) -> None:
    policy = ImagePolicy(str(images), allow_paths=False, max_bytes=200_000, max_pixels=10_000_000)
    assert policy.check("a.png") == (str((images / "a.png").resolve()), (200, 100))
    for path, reason in [("link.png", "outside"), ("/etc/passwd", "outside"), ("fifo.png", "regular file"),
                         ("huge.png", "exceeds"), ("big.png", "larger"), ("text.png", "header")]:
        with pytest.raises(ValueError, match=reason):
            policy.check(path)
    samples: list[dict[str, Any]] = [{"completion": "", "image": "fifo.png"}]
    policy.apply(samples)
    assert "image" not in samples[0] and "regular file" in samples[0]["meta"]["image_refused"]
    # Without a root: accepted on loopback (still only regular, bounded files), refused elsewhere.
    loopback = ImagePolicy(None, allow_paths=is_loopback("127.0.0.1"), max_bytes=200_000, max_pixels=10_000_000)
    assert loopback.check(str(images / "a.png"))[1] == (200, 100)
    with pytest.raises(ValueError, match="regular file"):
        loopback.check("/dev/zero")
    exposed = ImagePolicy(None, allow_paths=is_loopback("0.0.0.0"), max_bytes=200_000, max_pixels=10_000_000)
    with pytest.raises(ValueError, match="refused"):
        exposed.check(str(images / "a.png"))
    assert [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "127.1.2.3", "0.0.0.0", "10.0.0.1", "::")] == \
        [True, True, True, True, False, False, False]


def test_exposed_server_warns_without_token_and_image_root(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="groundscore.server"):
        warnings = warn_exposure(ServeSettings(host="0.0.0.0"))
    assert len(warnings) == 2 and "without a token" in warnings[0] and "--image-root" in warnings[1]
    assert warn_exposure(ServeSettings(host="0.0.0.0", token=TOKEN, image_root="/tmp")) == []
    assert warn_exposure(ServeSettings()) == []


def test_chunked_body_is_cut_at_the_limit_and_token_never_echoed(server: _Server) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding: chunked
        yield b'{"query": ["'
        for _ in range(1000):
            yield b"x" * 1000
        yield b'"]}'

    r = server.post(chunks())
    assert r.status_code == 413 and "limit" in r.json()["error"]
    small = server.post(iter([b'{"query": ', b'["<answer>[]</answer>"], "labels": ["[]"]}']))
    assert small.status_code == 200 and small.json()["rewards"] == [1.0]
    wrong = httpx.post(f"{server.base}/get_reward?token={TOKEN}x", json={"query": ["a"]}, timeout=10)
    assert wrong.status_code == 401 and TOKEN not in wrong.text
    bad = httpx.post(f"{server.base}/get_reward", json={"query": ["a"]}, timeout=10,
                     headers={"Authorization": f"Bearer {TOKEN[:-1]}é".encode("latin-1")})
    assert bad.status_code == 401 and TOKEN[:-1] not in bad.text


@pytest.mark.parametrize(("body", "status"), [
    ({"query": 5}, 422),
    ({"query": [5]}, 422),
    ({"query": [["a"]]}, 422),
    ({"query": [{"a": 1}]}, 422),
    ({"query": None}, 422),
    ({}, 422),
    ({"query": ["a"], "prompts": ["a", "b"]}, 422),
    ({"query": ["a"], "prompts": 7}, 422),
    ({"query": ["a"], "prompts": [{"x": 1}]}, 422),
    ({"query": ["a"], "labels": "[]"}, 422),
    ({"query": ["a"], "labels": ["[]", "[]"]}, 422),
    ({"query": ["a"] * 9}, 413),
    ({"query": ["a" * 30_000]}, 413),
    (b"\xff\xfe not utf-8", 400),
    (b"[" * 5000, 400),
    (b'{"query": ["a"], "labels": [' + b"1" * 5000 + b"]}", 400),
    (b"null", 422),
    (b'"query"', 422),
])
def test_malformed_fields_get_a_clear_4xx(server: _Server, body: Any, status: int) -> None:
    r = server.post(body)
    assert r.status_code == status, r.text
    assert r.json()["error"]


@pytest.mark.parametrize("label", [
    {"a": {"b": [{"c": [1, {"d": None}]}]}},
    {"solution": {"x": [1, 2]}, "image": {"path": 5}, "image_size": "big", "image_grid_thw": [[1, "a", 3]]},
    {"solution": [1e308, -1e308, 1e308, 1e308], "image_size": [1e300, 1], "coords": "norm1000"},
    {"solution": [0, 0, 10, 10], "coords": "no-such-space", "query": 5},
    [[[[[]]]]], 12, True, None, "", "{not json", "[1, 2",
])
def test_odd_labels_are_content_not_errors(server: _Server, label: Any) -> None:
    r = server.post({"query": [ANSWER], "prompts": [None], "labels": [label]})
    assert r.status_code == 200, r.text
    assert isinstance(r.json()["rewards"][0], float)


def test_nan_in_labels_never_reaches_a_500(server: _Server) -> None:
    body = b'{"query": ["' + ANSWER.replace('"', '\\"').encode() + b'"], "labels": ["{\\"solution\\": [NaN, 0, 1, 1]}"]}'
    r = server.post(body)
    assert r.status_code == 200, r.text


def test_slow_scoring_times_out_and_disconnects_leave_no_work() -> None:
    gate = threading.Event()
    calls: list[int] = []

    def score(items: list[Any]) -> list[Any]:
        calls.append(len(items))
        gate.wait(5)
        return items

    async def run() -> tuple[int, list[int]]:
        batcher = MicroBatcher(score, max_batch=4, max_wait_s=0.001, max_queue=10)
        await batcher.start()
        try:
            first = asyncio.ensure_future(batcher.submit([1]))  # occupies the worker
            await asyncio.sleep(0.05)
            with pytest.raises(asyncio.TimeoutError):
                await batcher.submit([2, 3], timeout=0.05)
            waiting = asyncio.ensure_future(batcher.submit([4]))
            await asyncio.sleep(0.02)
            waiting.cancel()  # what the server does when the client goes away
            await asyncio.gather(waiting, return_exceptions=True)
            pending = batcher.pending
            gate.set()
            assert await first == [1]
            assert await batcher.submit([5]) == [5]
            return pending, list(calls)
        finally:
            gate.set()
            await batcher.stop()

    pending, seen = asyncio.run(run())
    assert pending == 0  # both abandoned requests left the queue
    assert seen == [1, 1]  # ... and were never scored


def test_server_answers_504_after_the_request_timeout() -> None:
    gate = threading.Event()
    reward = OpenRLHFReward(chain_config={"verifiers": ["schema"]})
    score = reward.rewarder.score

    def slow(samples: list[dict[str, Any]]) -> Any:
        gate.wait(10)
        return score(samples)

    settings = ServeSettings(token=TOKEN, request_timeout_s=0.5)
    with _Server(settings, reward) as srv:
        reward.rewarder.score = slow  # type: ignore[method-assign]  # after the warm-up
        try:
            r = srv.post({"query": ["<answer>[]</answer>"]})
            assert r.status_code == 504 and "0.5 s" in r.json()["error"]
            gate.set()
            reward.rewarder.score = score  # type: ignore[method-assign]
            assert srv.post({"query": ["<answer>[]</answer>"], "labels": ["[]"]}).json()["rewards"] == [1.0]
        finally:
            gate.set()


def test_a_client_that_disconnects_takes_its_queued_work_with_it() -> None:
    gate = threading.Event()
    reward = OpenRLHFReward(chain_config={"verifiers": ["schema"]})
    score = reward.rewarder.score
    scored: list[int] = []

    def slow(samples: list[dict[str, Any]]) -> Any:
        scored.append(len(samples))
        gate.wait(10)
        return score(samples)

    with _Server(ServeSettings(token=TOKEN, max_wait_ms=1), reward) as srv:
        reward.rewarder.score = slow  # type: ignore[method-assign]
        try:
            holder = threading.Thread(target=lambda: srv.post({"query": ["<answer>[]</answer>"]}))
            holder.start()  # occupies the worker
            deadline = time.monotonic() + 10
            while not scored and time.monotonic() < deadline:
                time.sleep(0.02)
            with pytest.raises(httpx.ReadTimeout):
                srv.post({"query": ["<answer>[]</answer>"] * 3}, timeout=0.3)  # gives up, closes the connection
            deadline = time.monotonic() + 5
            while httpx.get(f"{srv.base}/health", timeout=10).json()["queue"] and time.monotonic() < deadline:
                time.sleep(0.1)
            assert httpx.get(f"{srv.base}/health", timeout=10).json()["queue"] == 0
            gate.set()
            holder.join(timeout=10)
            assert scored == [1]  # the abandoned three were never scored
        finally:
            gate.set()


def test_cli_refuses_an_image_root_that_is_not_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from groundscore.cli import main

    assert main(["serve", "--image-root", str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err
