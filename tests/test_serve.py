"""``groundscore serve`` as a real process on loopback, hit like OpenRLHF hits it.

The server runs the default chain (every registered verifier). Good requests
carry labels whose answers name the query, so every gate holds and the reward
is the IoU, computed here independently with ``box_iou``. Bad requests must
get a clear 4xx, and the server must still be healthy afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from groundscore.model import box_iou

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from serve_process import running_server  # noqa: E402 - needs httpx, checked above

TOKEN = "s3cret-token"
MAX_BODY = 64 * 1024
PROMPT = ("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Please provide the bounding box coordinate "
          "of the region this sentence describes: {expr}. First output the thinking process in <think> </think> "
          "tags and then output the final answer in <answer> </answer> tags.<|im_end|>\n<|im_start|>assistant\n")
GT = [100.0, 100.0, 200.0, 220.0]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("serve") / "server.log"
    args = ["--max-body-bytes", str(MAX_BODY), "--max-queries", "64", "--max-wait-ms", "20"]
    with running_server(args, log_path, env={"GROUNDSCORE_SERVE_TOKEN": TOKEN}) as base:
        yield base


def _good_request(i: int) -> tuple[dict[str, Any], list[float], float]:
    """One OpenRLHF-style request (one query) and the reward it must get."""
    expr = ["dog", "cat", "red car", "man in blue shirt"][i % 4]
    box = [100 + i % 7, 100 - i % 5, 200 + i % 11, 220 + i % 3]
    completion = (f'<think>the {expr} is in the middle</think><answer>```json\n[{{"bbox_2d": {box}, '
                  f'"label": "{expr}"}}]\n```</answer><|im_end|>')
    prompt = PROMPT.format(expr=expr)
    label = json.dumps({"solution": GT, "image_size": [640, 480], "coords": "original"})
    iou = box_iou(box, GT)
    return {"query": [prompt + completion], "prompts": [prompt], "labels": [label]}, box, iou


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.slow
def test_concurrent_good_and_bad_requests(server: str) -> None:
    good = [_good_request(i) for i in range(48)]
    big = {"query": ["x" * (MAX_BODY + 10)], "prompts": [""], "labels": [None]}
    bad: list[tuple[str, dict[str, Any], int]] = [
        ("malformed json", {"content": b'{"query": ["a"', "headers": {**_auth(), "content-type": "application/json"}}, 400),
        ("oversized body", {"json": big, "headers": _auth()}, 413),
        ("wrong token", {"json": good[0][0], "headers": {"Authorization": "Bearer nope"}}, 401),
        ("no token", {"json": good[0][0]}, 401),
        ("wrong shape", {"json": {"query": 5}, "headers": _auth()}, 422),
        ("not an object", {"json": ["a", "b"], "headers": _auth()}, 422),
        ("labels length", {"json": {"query": ["a", "b"], "labels": ["[]"]}, "headers": _auth()}, 422),
        ("too many queries", {"json": {"query": ["a"] * 65}, "headers": _auth()}, 413),
        ("not json", {"content": b"query=a", "headers": {**_auth(), "content-type": "application/x-www-form-urlencoded"}}, 415),
    ]

    def post_good(item: tuple[dict[str, Any], list[float], float]) -> tuple[dict[str, Any], float]:
        body, _, iou = item
        r = httpx.post(f"{server}/get_reward", json=body, headers=_auth(), timeout=60)
        assert r.status_code == 200, r.text
        return r.json(), iou

    def post_bad(item: tuple[str, dict[str, Any], int]) -> tuple[str, int, int, dict[str, Any]]:
        name, kwargs, expected = item
        r = httpx.post(f"{server}/get_reward", timeout=60, **kwargs)
        return name, r.status_code, expected, r.json()

    with ThreadPoolExecutor(max_workers=24) as pool:
        good_futures = [pool.submit(post_good, g) for g in good]
        bad_futures = [pool.submit(post_bad, b) for b in bad]
        good_results = [f.result() for f in good_futures]
        bad_results = [f.result() for f in bad_futures]

    for answer, iou in good_results:
        assert set(answer) == {"rewards", "scores", "extra_logs", "outcomes", "reasons"}
        assert answer["rewards"] == [pytest.approx(iou, abs=1e-9)]
        assert answer["scores"] == [1.0 if iou >= 0.5 else 0.0]
        assert answer["extra_logs"]["iou"] == [pytest.approx(iou, abs=1e-9)]
        assert all(len(v) == 1 for v in answer["extra_logs"].values())
    for name, status, expected, body in bad_results:
        assert status == expected, (name, status, body)
        assert body.get("error"), name

    health = httpx.get(f"{server}/health", timeout=10).json()
    assert health["status"] == "ok"
    assert health["completions"] >= len(good)
    # Concurrent one-query requests were scored together, not one chain call each.
    assert health["batches"] < len(good)
    assert health["rejected"] >= len(bad)


@pytest.mark.slow
def test_batched_request_token_in_url_and_bad_content(server: str) -> None:
    items = [_good_request(i) for i in range(5)]
    body = {
        "query": [b["query"][0] for b, _, _ in items] + ["garbage", PROMPT.format(expr="dog") + "<answer>[]</answer>"],
        "prompts": [b["prompts"][0] for b, _, _ in items] + [None, PROMPT.format(expr="dog")],
        "labels": [b["labels"][0] for b, _, _ in items] + ["{not json", json.dumps({"solution": [], "coords": "original"})],
        "extra_field_from_a_newer_openrlhf": 1,
    }
    r = httpx.post(f"{server}/get_reward?token={TOKEN}", json=body, timeout=60)
    assert r.status_code == 200, r.text
    rewards = r.json()["rewards"]
    assert rewards[:5] == [pytest.approx(iou, abs=1e-9) for _, _, iou in items]
    assert rewards[5] == 0.0  # garbage: a reward, not an error
    assert rewards[6] == 1.0  # negative sample answered "none"
    assert httpx.post(f"{server}/", json=body, headers=_auth(), timeout=60).json()["rewards"] == rewards
    assert httpx.get(f"{server}/get_reward", timeout=10).status_code == 405


@pytest.mark.slow
def test_openrlhf_http_client_against_the_server(server: str) -> None:
    agent = pytest.importorskip("openrlhf.utils.agent", reason="openrlhf is not importable here")
    import asyncio

    body, _, iou = _good_request(3)
    executor = agent.SingleTurnAgentExecutor(remote_rm_url=f"{server}/get_reward?token={TOKEN}")
    results = asyncio.run(executor._fetch_rewards_via_http(body["query"], body["prompts"], body["labels"]))
    assert results[0]["rewards"] == [pytest.approx(iou, abs=1e-9)]

