"""groundscore.integrations.openrlhf as OpenRLHF uses a ``--remote_rm_url`` Python file.

OpenRLHF loads the file with ``importlib.util.spec_from_file_location`` and
calls ``reward_func(queries, prompts, labels)`` from a worker thread, one
query per call. When OpenRLHF's own executor is importable (it installs only
without its GPU dependencies: ``pip install --no-deps openrlhf==0.11.2
aiohttp pylatexenc``), its ``SingleTurnAgentExecutor`` drives the file;
otherwise the test loads the file exactly as it does.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

import groundscore.integrations.openrlhf as gs_openrlhf
import groundscore.integrations.openrlhf_reward_func as reward_file
from groundscore.integrations.fields import QueryReader
from groundscore.integrations.openrlhf import OpenRLHFReward, build_samples, split_completion

# A Qwen2.5-VL chat-templated REC prompt, as OpenRLHF passes it (special tokens kept).
PROMPT = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
          "<|vision_start|><|image_pad|><|vision_end|>Please provide the bounding box coordinate of the region this "
          "sentence describes: dog. First output the thinking process in <think> </think> tags and then output the "
          "final answer in <answer> </answer> tags.<|im_end|>\n<|im_start|>assistant\n")
GOOD = '<think>the dog</think><answer>[{"bbox_2d": [100, 100, 200, 200], "label": "dog"}]</answer><|im_end|>'
NOT_FOUND = "<think>none</think><answer>There is no such object in the image.</answer><|im_end|>"
LABEL = json.dumps({"solution": [100, 100, 200, 200], "image_size": [640, 480], "coords": "original"})


@pytest.fixture()
def schema_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Configure the file's process-wide reward through its environment variables."""
    config = tmp_path / "chain.toml"
    config.write_text('verifiers = ["schema"]\n')
    monkeypatch.setenv("GROUNDSCORE_CONFIG", str(config))
    monkeypatch.setenv("GROUNDSCORE_REWARD_CONFIG", '{"abstain": 0.2}')
    monkeypatch.setattr(gs_openrlhf, "_default", None)


def test_split_completion_and_query_reading() -> None:
    assert split_completion(PROMPT + GOOD, PROMPT) == GOOD.removesuffix("<|im_end|>")
    assert split_completion("no prompt prefix <answer>[]</answer></s>", PROMPT) == "no prompt prefix <answer>[]</answer>"
    assert split_completion(PROMPT + GOOD, None).startswith("<|im_start|>system")
    assert QueryReader()(PROMPT) == "dog"
    assert QueryReader(r"Find (?P<expr>[^.]+)\.")("<|im_start|>user\nFind the cat.<|im_end|>\n") == "the cat"


def test_labels_in_every_documented_shape() -> None:
    labels = ["[100, 100, 200, 200]", "[[100, 100, 200, 200]]", LABEL, "[]", "", None, "{broken", 17]
    samples = build_samples([PROMPT + GOOD] * len(labels), [PROMPT] * len(labels), labels, QueryReader())
    assert [s.get("solution") for s in samples] == [
        [[100.0, 100.0, 200.0, 200.0]], [[100.0, 100.0, 200.0, 200.0]], [[100.0, 100.0, 200.0, 200.0]],
        [], None, None, None, None,
    ]
    assert samples[2]["image_size"] == (640, 480) and samples[2]["coords"] == "original"
    assert all(s["query"] == "dog" for s in samples)
    with_query = build_samples(["x"], [""], [json.dumps({"solution": [], "query": "red car"})], QueryReader())
    assert with_query[0]["query"] == "red car" and with_query[0]["solution"] == []


def _load_like_openrlhf(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("reward_func", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module.reward_func


@pytest.mark.slow  # imports torch
def test_reward_file_loaded_as_openrlhf_loads_it(schema_only: None) -> None:
    torch = pytest.importorskip("torch")
    reward_func = _load_like_openrlhf(reward_file.__file__)
    out = reward_func([PROMPT + GOOD, PROMPT + NOT_FOUND, PROMPT + "garbage"], [PROMPT] * 3, [LABEL] * 3)
    assert set(out) == {"rewards", "scores", "extra_logs"}
    assert isinstance(out["rewards"], torch.Tensor) and out["rewards"].shape == (3,)
    assert out["rewards"].tolist() == pytest.approx([1.0, 0.2, 0.0])  # abstain=0.2 from the environment
    assert out["scores"].tolist() == [1.0, 0.0, 0.0]  # correctness with ground truth
    logs = out["extra_logs"]
    assert logs["abstain"].tolist() == [0.0, 1.0, 0.0] and logs["schema_failed"].tolist() == [0.0, 0.0, 1.0]
    assert all(v.shape == (3,) for v in logs.values())


def test_without_ground_truth_scores_are_the_confidence(schema_only: None) -> None:
    out = gs_openrlhf.reward_func([PROMPT + GOOD, PROMPT + NOT_FOUND], [PROMPT] * 2, [None, ""])
    rewards = [float(v) for v in out["rewards"]]
    assert rewards[1] == pytest.approx(0.2) and rewards[0] > rewards[1]
    assert [float(v) for v in out["scores"]] == [float(v) for v in out["extra_logs"]["confidence"]]


def test_garbage_never_raises(schema_only: None) -> None:
    reward = OpenRLHFReward(chain_config={"verifiers": ["schema"]})
    body = reward.body([None, 3, "x" * 100_000, "\x00<answer>"], [None, 5, "", "p"], [object(), "[1,2", None, "{}"])
    assert len(body["rewards"]) == 4 and all(isinstance(r, float) for r in body["rewards"])
    assert all(len(v) == 4 for v in body["extra_logs"].values())


@pytest.mark.slow
def test_openrlhf_executor_drives_the_file(schema_only: None) -> None:
    agent = pytest.importorskip("openrlhf.utils.agent", reason="openrlhf is not importable here (see the module docstring)")
    executor = agent.SingleTurnAgentExecutor(remote_rm_url=reward_file.__file__)
    assert executor.reward_func is not None
    results = asyncio.run(executor._fetch_rewards_via_func([PROMPT + GOOD], [PROMPT], [LABEL]))
    info = results[0]
    assert float(info["rewards"][0]) == pytest.approx(1.0)
    # What OpenRLHF then does with it (samples_generator): one tensor per key.
    torch = pytest.importorskip("torch")
    for value in info["extra_logs"].values():
        torch.tensor([value.flatten()[0].item()])


def test_huge_queries_are_cut_and_odd_types_never_raise() -> None:
    from groundscore.integrations.fields import MAX_TEXT

    prompt = "p" * 1000
    completion = split_completion(prompt + "<answer>[]</answer>" + "x" * (3 * MAX_TEXT), prompt)
    assert completion.startswith("<answer>[]</answer>") and len(completion) == MAX_TEXT
    samples = build_samples([5, None, ["a"], {"content": "b"}], [1, {"x": 2}], [{"a": {"b": {}}}, [[[]]]], QueryReader())
    assert len(samples) == 4 and all(isinstance(s["completion"], str) for s in samples)
