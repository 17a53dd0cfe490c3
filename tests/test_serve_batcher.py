"""The micro-batcher and the app's limits, in-process (no subprocess, real threads and event loop)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from groundscore.server.batcher import MicroBatcher, QueueFull


def test_concurrent_submissions_share_batches_and_keep_order() -> None:
    calls: list[list[int]] = []

    def score(items: list[int]) -> list[int]:
        calls.append(list(items))
        time.sleep(0.02)  # a chain call takes time; requests keep arriving meanwhile
        return [x * 10 for x in items]

    async def run() -> list[list[int]]:
        batcher = MicroBatcher(score, max_batch=8, max_wait_s=0.01, max_queue=100)
        await batcher.start()
        try:
            return list(await asyncio.gather(*(batcher.submit([i, i + 100]) for i in range(20))))
        finally:
            await batcher.stop()

    results = asyncio.run(run())
    assert results == [[i * 10, (i + 100) * 10] for i in range(20)]
    assert len(calls) < 20  # batched
    assert max(len(c) for c in calls) <= 8
    assert sorted(x for c in calls for x in c) == sorted([i for i in range(20)] + [i + 100 for i in range(20)])


def test_queue_full_is_refused_and_a_failing_batch_fails_only_its_requests() -> None:
    release = threading.Event()

    def score(items: list[Any]) -> list[Any]:
        if "boom" in items:
            raise RuntimeError("model crashed")
        release.wait(5)
        return items

    async def run() -> None:
        batcher = MicroBatcher(score, max_batch=4, max_wait_s=0.0, max_queue=6)
        await batcher.start()
        try:
            first = asyncio.create_task(batcher.submit(["a", "b", "c", "d"]))  # being scored, blocked
            await asyncio.sleep(0.05)
            waiting = asyncio.create_task(batcher.submit(["e", "f", "g", "h", "i", "j"]))  # fills the queue
            await asyncio.sleep(0.01)
            with pytest.raises(QueueFull):
                await batcher.submit(["k"])
            release.set()
            assert await first == ["a", "b", "c", "d"]
            assert await waiting == ["e", "f", "g", "h", "i", "j"]
            with pytest.raises(RuntimeError, match="model crashed"):
                await batcher.submit(["boom"])
            assert await batcher.submit(["after"]) == ["after"]  # still serving
        finally:
            await batcher.stop()

    asyncio.run(run())


def test_app_limits_in_process() -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from groundscore.integrations.openrlhf import OpenRLHFReward
    from groundscore.server.app import create_app
    from groundscore.server.settings import ServeSettings

    settings = ServeSettings(token="t", max_body_bytes=2000, max_queries=3)
    app = create_app(settings, OpenRLHFReward(chain_config={"verifiers": ["schema"]}))
    with TestClient(app) as client:
        auth = {"Authorization": "Bearer t"}
        ok = client.post("/get_reward", json={"query": ["<answer>[]</answer>"], "labels": ["[]"]}, headers=auth)
        assert ok.status_code == 200 and ok.json()["rewards"] == [1.0]
        one = client.post("/get_reward", json={"query": "<answer>[]</answer>", "labels": ["[]"]}, headers=auth)
        assert one.status_code == 422 and "'query' must be a list" in one.json()["error"]  # as the docs say
        assert client.post("/get_reward", json={"query": ["a"] * 4}, headers=auth).status_code == 413
        assert client.post("/get_reward", content=b"x" * 3000, headers={**auth, "content-type": "application/json"}).status_code == 413
        assert client.post("/get_reward", content=b"[" * 1500, headers={**auth, "content-type": "application/json"}).status_code in (400, 422)
        assert client.post("/get_reward", json={"query": ["a"]}, headers={"Authorization": "Bearer T"}).status_code == 401
        assert client.post("/get_reward", json={"query": [1]}, headers=auth).status_code == 422
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["rejected"] == 6 and health["verifiers"] == ["schema"]
