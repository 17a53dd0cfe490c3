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
import sys
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
    # A query in which the prompt cannot be found: no response is made up from it (malformed, never paid).
    assert split_completion("no prompt prefix <answer>[]</answer></s>", PROMPT) == ""
    # ... unless it holds the assistant header the prompt ends with.
    assert split_completion("<|im_start|>assistant\n<answer>[]</answer></s>", PROMPT) == "<answer>[]</answer>"
    assert split_completion("no prompt prefix <answer>[]</answer></s>", "") == "no prompt prefix <answer>[]</answer>"
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
    # nothing confirms the box without ground truth, image or group: paid what "not found" is paid (0.2 here)
    assert rewards[1] == pytest.approx(0.2) and rewards[0] == pytest.approx(rewards[1])
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


# --- OpenRLHF 0.11's own code: its argument parser and its VLM prompt path ---------------------

def openrlhf_parser() -> Any:
    """The parser of ``openrlhf.cli.train_ppo_ray``, built by its own ``__main__`` code.

    The module builds its parser inside ``if __name__ == "__main__":``; the
    statements of that block up to ``args = parser.parse_args()`` are run as
    they are, so every flag and default is OpenRLHF's (the module's own
    imports pull in ray, vLLM and deepspeed, which are not installed here).
    """
    import ast

    spec = importlib.util.find_spec("openrlhf.cli.train_ppo_ray")
    if spec is None or spec.origin is None:
        pytest.skip("openrlhf is not importable here")
    source = Path(spec.origin).read_text(encoding="utf-8")
    tree = ast.parse(source)
    main = next(n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test))
    body = []
    for stmt in main.body:
        if "parse_args" in ast.unparse(stmt):
            break
        body.append(stmt)
    namespace: dict[str, Any] = {"__name__": "openrlhf_parser"}
    # The module's own standard-library imports (argparse, os, datetime), not ray/openrlhf.
    imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)
               and ((n.module or "") if isinstance(n, ast.ImportFrom) else n.names[0].name).split(".")[0] in sys.stdlib_module_names]
    module = ast.fix_missing_locations(ast.Module(body=[*imports, *body], type_ignores=[]))
    exec(compile(module, spec.origin, "exec"), namespace)
    return namespace["parser"]


@pytest.mark.slow
def test_openrlhf_parser_accepts_every_documented_command_line() -> None:
    from doc_snippets import command_lines

    parser = openrlhf_parser()
    from openrlhf.utils.config import hierarchize

    lines = command_lines("openrlhf.md", "openrlhf.cli.train_ppo_ray", {"RM_FILE": reward_file.__file__, "GROUNDSCORE_SERVE_TOKEN": "t"})
    assert len(lines) >= 2
    seen_file = False
    for argv in lines:
        args = hierarchize(parser.parse_args(argv))
        assert args.data.label_key == "solution"
        urls = args.reward.remote_url
        assert urls.endswith(".py") or urls.startswith("http://")
        if urls.endswith(".py"):
            seen_file = True
            assert Path(urls).resolve() == Path(reward_file.__file__).resolve()
            assert args.algo.dynamic_filtering_enable is True
    assert seen_file
    for old in (["--remote_rm_url", "x"], ["--label_key", "solution"], ["--dynamic_filtering"]):
        with pytest.raises(SystemExit):
            parser.parse_args(old)


@pytest.mark.slow
def test_openrlhf_vlm_query_layout_is_split_off_the_prompt(schema_only: None) -> None:
    vlm_utils = pytest.importorskip("openrlhf.utils.vlm_utils", reason="openrlhf is not importable here")
    from integration_models import tiny_processor
    from PIL import Image

    processor = tiny_processor("qwen2_5_vl")
    messages = [{"role": "user", "content": [
        {"type": "image"},
        {"type": "text", "text": "Please provide the bounding box coordinate of the region this sentence describes: dog. "
                                 "First output the thinking process in <think> </think> tags and then output the final "
                                 "answer in <answer> </answer> tags."}]}]
    # OpenRLHF's dataset applies the chat template to a string prompt; its executor then
    # tokenises it with the images through process_prompt_with_images and decodes
    # prompt + response ids with special tokens kept.
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    image = Image.new("RGB", (640, 480), (90, 120, 40))
    prompt_ids, mm, _ = vlm_utils.process_prompt_with_images(processor, prompt, [image])
    assert mm is not None and "image_grid_thw" in mm
    tokenizer = processor.tokenizer
    label = json.dumps({"solution": [100, 100, 200, 200], "image_size": [640, 480], "coords": "original"})

    def query(response: str) -> str:
        ids = prompt_ids + tokenizer(response, add_special_tokens=False)["input_ids"]
        return tokenizer.decode(ids, skip_special_tokens=False)

    empty, good = query("<|im_end|>"), query(GOOD)
    assert not empty.startswith(prompt)  # the pad tokens were expanded: the naive split fails
    assert empty.count("<|image_pad|>") > 1 and prompt.count("<|image_pad|>") == 1
    assert split_completion(empty, prompt) == ""
    assert split_completion(good, prompt) == GOOD.removesuffix("<|im_end|>")
    results = gs_openrlhf.default_reward().score([empty, good], [prompt, prompt], [label, label])
    assert results[0].outcome == "malformed" and results[0].format == 0.0
    assert results[1].outcome == "correct" and results[1].format == 1.0
    # The prompt's own "<answer> </answer>" is never read as the answer.
    assert results[0].reward == gs_openrlhf.default_reward().rewarder.config.wrong


def test_the_pages_setup_lines_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's ``RM_FILE=$(python -c ...)`` line prints this file, and its reward configuration loads."""
    import re
    import shlex
    import subprocess

    from doc_snippets import code_blocks

    from groundscore.rewards import load_reward_config

    block = next(b for b in code_blocks("openrlhf.md", "bash") if "RM_FILE=" in b)
    command = re.search(r"RM_FILE=\$\((.+)\)\s*$", block, re.MULTILINE)
    assert command is not None
    argv = shlex.split(command.group(1))
    assert argv[0] == "python"
    printed = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True, check=True).stdout.strip()
    assert Path(printed).resolve() == Path(reward_file.__file__).resolve()
    found = re.search(r"^export GROUNDSCORE_REWARD_CONFIG=('[^']*'|\S+)", block, re.MULTILINE)
    assert found is not None
    value = shlex.split(found.group(1))[0]
    config = load_reward_config(value)
    monkeypatch.setenv("GROUNDSCORE_REWARD_CONFIG", value)
    monkeypatch.setattr(gs_openrlhf, "_default", None)
    assert gs_openrlhf.default_reward().rewarder.config.policy == config.policy
