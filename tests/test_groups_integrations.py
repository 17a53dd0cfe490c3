"""Every trainer integration hands the agreement verifier whole groups, through the trainer's own code path.

A group of 8 completions of one prompt in which 7 agree and 1 points
elsewhere: the outlier's agreement is the floor, its reward the lowest,
and every verdict says the group had 8 members.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from groundscore.groups import groups_from_runs
from groundscore.integrations.fields import add_groups
from groundscore.integrations.trl import grounding_reward
from groundscore.verifiers.agreement import AgreementOptions

PROMPT = ("Please provide the bounding box coordinate of the region this sentence describes: {}. First output the "
          "thinking process in <think> </think> tags and then output the final answer in <answer> </answer> tags.")
CHAIN = {"verifiers": ["schema", "agreement"]}
CONSENSUS = {"policy": "consensus"}
FLOOR = AgreementOptions().floor


def answer(box: list[int], label: str) -> str:
    return f'<think>the {label}</think><answer>[{{"bbox_2d": {json.dumps(box)}, "label": "{label}"}}]</answer>'


def group_texts(label: str, outlier: int = 5) -> list[str]:
    """7 jittered boxes on one object, 1 (at ``outlier``) on another."""
    texts = [answer([100 + i, 100, 200, 200 + i], label) for i in range(8)]
    texts[outlier] = answer([400, 300, 500, 400], label)
    return texts


def check_group(results: list[Any], outlier: int, size: int = 8) -> None:
    verdicts = [r.report.verdict("agreement") for r in results]
    assert all(v.score is not None for v in verdicts), [v.reason for v in verdicts]
    assert {v.details["group_size"] for v in verdicts} == {size}
    assert {v.details["group_seen"] for v in verdicts} == {size}
    assert verdicts[outlier].score == pytest.approx(FLOOR) and verdicts[outlier].details["agreeing"] == 0
    others = [r.reward for k, r in enumerate(results) if k != outlier]
    assert results[outlier].reward < min(others)
    assert all(v.details["agreeing"] == size - 2 for k, v in enumerate(verdicts) if k != outlier)


# -- the helpers -------------------------------------------------------------------------------------
def test_groups_from_runs_follow_the_prompt_not_the_position() -> None:
    # TRL with 3 completions per device and 2 per prompt: the second device sees "1 2 2"
    assert groups_from_runs(["p1", "p2", "p2"], 2) == ["r0", "r1", "r1"]
    assert groups_from_runs(["a", "a", "a", "a", "b"], 2) == ["r0", "r0", "r1", "r1", "r2"]  # a prompt drawn twice
    assert groups_from_runs(["a", "b", "a"]) == ["r0", "r1", "r2"]  # not adjacent: not one group
    with pytest.raises(ValueError):
        groups_from_runs(["a"], 0)


def test_add_groups_prefers_a_group_column_then_prompts_then_counts() -> None:
    samples = [{"completion": "x"} for _ in range(4)]
    add_groups(samples, None, {"group": ["u", "u", "v", None]})
    assert [s.get("group") for s in samples] == ["u", "u", "v", None]
    samples = [{"completion": "x"} for _ in range(4)]
    add_groups(samples, ["a", "a", "b", "b"], {}, 2)
    assert [s["group"] for s in samples] == ["r0", "r0", "r1", "r1"] and samples[0]["meta"]["group_size"] == 2
    samples = [{"completion": "x"} for _ in range(4)]
    add_groups(samples, None, {}, 2)
    assert [s["group"] for s in samples] == ["g0", "g0", "g1", "g1"]
    samples = [{"completion": "x"}]
    assert "group" not in add_groups(samples, None, {})[0]


# -- TRL: the reward function as GRPOTrainer calls it, and a real trainer step ----------------------
def test_trl_reward_groups_consecutive_completions_of_one_prompt() -> None:
    fn = grounding_reward(CONSENSUS, chain_config=CHAIN, num_generations=8)
    completions = group_texts("dog", 5) + group_texts("cat", 2)
    prompts = [PROMPT.format("dog")] * 8 + [PROMPT.format("cat")] * 8
    rewards = fn(prompts=prompts, completions=completions, image_size=[[640, 480]] * 16)
    assert len(rewards) == 16
    check_group(fn.last_results[:8], 5)
    check_group(fn.last_results[8:], 2)
    ungrouped = grounding_reward(CONSENSUS, chain_config=CHAIN, groups=False)
    ungrouped(prompts=prompts, completions=completions, image_size=[[640, 480]] * 16)
    assert all(r.report.verdict("agreement").score is None for r in ungrouped.last_results)


def test_trl_process_slice_that_starts_inside_a_group() -> None:
    """One process's share of the generation batch: the end of one group, then a whole one."""
    fn = grounding_reward(CONSENSUS, chain_config=CHAIN, num_generations=8)
    completions = group_texts("dog", 5)[5:] + group_texts("cat", 2)
    prompts = [PROMPT.format("dog")] * 3 + [PROMPT.format("cat")] * 8
    fn(prompts=prompts, completions=completions, image_size=[[640, 480]] * 11)
    head = [r.report.verdict("agreement") for r in fn.last_results[:3]]
    assert {v.details["group_seen"] for v in head} == {3} and head[0].details["group_split"] is True
    check_group(fn.last_results[3:], 2)


@pytest.mark.slow
def test_real_grpo_trainer_step_hands_the_reward_whole_groups(tmp_path: Any) -> None:
    """GRPOTrainer's own sampler, generation and reward call; the completions come from a rollout function."""
    trl = pytest.importorskip("trl")
    datasets = pytest.importorskip("datasets")
    from integration_models import byte_tokenizer, tiny_causal_lm

    tokenizer = byte_tokenizer()
    model = tiny_causal_lm(tokenizer)
    labels = ["dog", "cat"]
    rows = [{"prompt": PROMPT.format(label), "image_size": [640, 480]} for label in labels]
    outliers = {"dog": 5, "cat": 2}
    seen_prompts: list[list[str]] = []

    def rollout(prompts: list[str], trainer: Any) -> dict[str, Any]:
        seen_prompts.append(list(prompts))
        position: dict[str, int] = {}
        texts = []
        for p in prompts:
            label = next(lab for lab in labels if f": {lab}." in p)
            k = position[label] = position.get(label, -1) + 1
            texts.append(group_texts(label, outliers[label])[k % 8])
        completion_ids = [tokenizer(t)["input_ids"] for t in texts]
        return {"prompt_ids": [tokenizer(p)["input_ids"] for p in prompts], "completion_ids": completion_ids,
                "logprobs": [[0.0] * len(c) for c in completion_ids]}

    fn = grounding_reward(CONSENSUS, chain_config=CHAIN, num_generations=8)
    args = trl.GRPOConfig(
        output_dir=str(tmp_path), per_device_train_batch_size=16, num_generations=8, max_completion_length=160,
        max_steps=1, logging_steps=1, report_to="none", use_cpu=True, save_strategy="no", bf16=False,
    )
    trainer = trl.GRPOTrainer(model=model, reward_funcs=[fn], args=args, rollout_func=rollout,
                              train_dataset=datasets.Dataset.from_list(rows), processing_class=tokenizer)
    trainer.train()
    assert seen_prompts and len(fn.last_results) == 16
    order = seen_prompts[0]
    for start in (0, 8):
        label = next(lab for lab in labels if f": {lab}." in order[start])
        assert all(f": {label}." in p for p in order[start:start + 8])  # TRL's layout: 8 consecutive per prompt
        check_group(fn.last_results[start:start + 8], outliers[label])


# -- VLM-R1: the reward called as its VLMGRPOTrainer calls reward functions ----------------------------
def test_vlm_r1_trainer_call_groups_consecutive_completions() -> None:
    from vlm_r1_upstream import trainer_reward_call

    from groundscore.integrations import vlm_r1

    fn = vlm_r1.make_grounding_reward(CONSENSUS, CHAIN, num_generations=8)
    inputs, prompts, completions = [], [], []
    for label, outlier in (("dog", 5), ("cat", 2)):
        for text in group_texts(label, outlier):
            inputs.append({"prompt": [], "problem": label, "image_path": [f"/data/{label}.jpg"],
                           "image_size": [640, 480]})
            prompts.append([{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": PROMPT.format(label)}]}])
            completions.append([{"role": "assistant", "content": text}])
    rewards = trainer_reward_call(fn, inputs, prompts, completions)
    assert len(rewards) == 16
    for start, outlier in ((0, 5), (8, 2)):
        group = rewards[start:start + 8]
        assert group[outlier] < min(r for k, r in enumerate(group) if k != outlier)
        assert group[outlier] < 0.25 < min(r for k, r in enumerate(group) if k != outlier)  # below "not found"
    # one completion per call (no group): the outlier is no longer told apart
    alone = [trainer_reward_call(fn, [inputs[k]], [prompts[k]], [completions[k]])[0] for k in (0, 5)]
    assert alone[0] == pytest.approx(alone[1])


# -- the gatherer: members that arrive one call at a time ---------------------------------------------
def test_gatherer_scores_a_group_once_when_it_fills_and_a_partial_group_after_the_timeout() -> None:
    import asyncio
    import threading

    from groundscore.groups.gather import GroupGatherer

    calls: list[list[dict[str, Any]]] = []

    def score(samples: list[dict[str, Any]]) -> list[str]:
        calls.append(samples)
        return [f"{s['group']}:{len(samples)}" for s in samples]

    gatherer: GroupGatherer[str] = GroupGatherer(score, 3, timeout=0.3)
    out: list[str] = []
    threads = [threading.Thread(target=lambda k=k: out.append(gatherer.submit("p", {"completion": str(k)}))) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and len(calls[0]) == 3 and len(set(out)) == 1 and out[0].endswith(":3")
    assert all(s["meta"]["group_size"] == 3 for s in calls[0])
    # a fourth member with the same key opens a new group; alone, it is scored after the timeout
    assert gatherer.submit("p", {"completion": "late"}).endswith(":1")
    assert gatherer.pending == 0

    async def two_coroutines() -> list[str]:
        return list(await asyncio.gather(gatherer.submit_async("q", {}), gatherer.submit_async("q", {})))

    partial = asyncio.run(two_coroutines())
    assert [p.split(":")[1] for p in partial] == ["2", "2"]  # 2 of 3 came: scored together at the timeout

    def broken(samples: list[dict[str, Any]]) -> list[str]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):  # every waiter is released, with the error
        GroupGatherer(broken, 1).submit("x", {})
    with pytest.raises(ValueError):
        GroupGatherer(score, 0)


# -- OpenRLHF: its executor calls the reward file once per response ---------------------------------------
OPENRLHF_PROMPT = ("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>" + PROMPT + "<|im_end|>\n"
                   "<|im_start|>assistant\n")


def _openrlhf_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any, size: int, timeout: float = 30.0) -> None:
    import groundscore.integrations.openrlhf as gs_openrlhf

    config = tmp_path / "chain.toml"
    config.write_text('verifiers = ["schema", "agreement"]\n')
    monkeypatch.setenv("GROUNDSCORE_CONFIG", str(config))
    monkeypatch.setenv("GROUNDSCORE_REWARD_CONFIG", json.dumps(CONSENSUS))
    monkeypatch.setenv("GROUNDSCORE_GROUP_SIZE", str(size))
    monkeypatch.setenv("GROUNDSCORE_GROUP_TIMEOUT", str(timeout))
    monkeypatch.setattr(gs_openrlhf, "_default", None)


def _openrlhf_rows(label: str, outlier: int) -> tuple[list[str], list[str], list[str]]:
    prompt = OPENRLHF_PROMPT.format(label)
    gt = json.dumps({"image_size": [640, 480], "coords": "original"})  # no ground truth: the consensus pays
    texts = group_texts(label, outlier)
    return [prompt + t + "<|im_end|>" for t in texts], [prompt] * 8, [gt] * 8


@pytest.mark.slow
def test_openrlhf_executor_one_response_per_call_is_scored_with_its_group(monkeypatch: pytest.MonkeyPatch,
                                                                           tmp_path: Any) -> None:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    agent = pytest.importorskip("openrlhf.utils.agent", reason="openrlhf is not importable here")
    import groundscore.integrations.openrlhf_reward_func as reward_file

    _openrlhf_env(monkeypatch, tmp_path, 8)
    executor = agent.SingleTurnAgentExecutor(remote_rm_url=reward_file.__file__)
    rows = [_openrlhf_rows("dog", 5), _openrlhf_rows("cat", 2)]
    calls = [(q, p, lab) for queries, prompts, labels in rows for q, p, lab in zip(queries, prompts, labels, strict=True)]

    async def rollout() -> list[Any]:
        # OpenRLHF's actor loop on a machine with enough cores for the 16 responses in flight
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(32))
        return list(await asyncio.gather(*(executor._fetch_rewards_via_func([q], [p], [lab]) for q, p, lab in calls)))

    results = asyncio.run(rollout())
    rewards = [float(r[0]["rewards"][0]) for r in results]
    for start, outlier in ((0, 5), (8, 2)):
        group = rewards[start:start + 8]
        assert group[outlier] < 0.25 < min(r for k, r in enumerate(group) if k != outlier), group


def test_openrlhf_partial_group_is_scored_after_the_timeout_and_says_so(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from groundscore.integrations.openrlhf import OpenRLHFReward

    reward = OpenRLHFReward(CONSENSUS, chain_config=CHAIN, group_size=8, group_timeout=0.5)
    queries, prompts, labels = _openrlhf_rows("dog", 5)
    with ThreadPoolExecutor(3) as pool:  # only 3 of the 8 responses ever come
        results = list(pool.map(lambda k: reward.score([queries[k]], [prompts[k]], [labels[k]])[0], (0, 1, 5)))
    verdicts = [r.report.verdict("agreement") for r in results]
    assert {v.details["group_seen"] for v in verdicts} == {3} and all(v.details["group_split"] for v in verdicts)
    assert "saw 3 of 8" in verdicts[0].reason
    # a call holding whole groups (an HTTP batch) is grouped directly
    batch = reward.score(queries, prompts, labels)
    check_group(batch, 5)


# -- verl: its reward loop calls the function once per response; the manager passes uid ---------------------
@pytest.mark.slow
def test_verl_reward_loop_gathers_a_prompts_responses_by_uid(tmp_path: Any) -> None:
    import asyncio

    reward = pytest.importorskip("verl.trainer.ppo.reward", reason="verl is not importable here")
    np = pytest.importorskip("numpy")
    from test_integration_verl import _compose, _data_proto, _tiny_tokenizer
    from verl import DataProto

    import groundscore.integrations.verl_manager as manager_module

    path = tmp_path / "groundscore_reward.py"
    path.write_text("from groundscore.integrations.verl import compute_score_async  # noqa: F401\n")
    config = _compose([
        f"reward.custom_reward_function.path={path}", "reward.custom_reward_function.name=compute_score_async",
        "+reward.custom_reward_function.reward_kwargs.group_size=8",
        "+reward.custom_reward_function.reward_kwargs.reward_config.policy=consensus",
        "+reward.custom_reward_function.reward_kwargs.chain_config.verifiers=[schema,agreement]",
        "reward.reward_manager.source=importlib", "reward.reward_manager.name=GroupRewardManager",
        f"+reward.reward_manager.module.path={manager_module.__file__}",
    ])
    tokenizer = _tiny_tokenizer()
    parts = []
    for label, outlier in (("dog", 5), ("cat", 2)):
        extra = {"question": PROMPT.format(label), "image_size": [640, 480], "coords": "original", "index": 0}
        data, _ = _data_proto(tokenizer, group_texts(label, outlier), [{"image_size": [640, 480]}] * 8,
                              prompt=PROMPT.format(label), extra=extra)
        parts.append(data)
    batch = DataProto.concat(parts)
    # the same dataset index and question text in both prompts' extra_info: only uid tells them apart
    for info in batch.non_tensor_batch["extra_info"]:
        info["question"] = "Please provide the bounding box coordinate of the region this sentence describes: it."
    batch.non_tensor_batch["uid"] = np.array(["u-dog"] * 8 + ["u-cat"] * 8, dtype=object)

    async def run() -> list[dict[str, Any]]:
        manager = reward.load_reward_manager(config, tokenizer)
        assert type(manager).__name__ == "GroupRewardManager"
        # as verl's RewardLoopWorker.compute_score_batch: one task per response, gathered
        return list(await asyncio.gather(*(manager.run_single(batch[i:i + 1]) for i in range(len(batch)))))

    outs = asyncio.run(run())
    scores = [o["reward_score"] for o in outs]
    for start, outlier in ((0, 5), (8, 2)):
        group = scores[start:start + 8]
        assert group[outlier] < 0.25 < min(s for k, s in enumerate(group) if k != outlier), group


# -- the server: group ids in the request, or derived ----------------------------------------------------
@pytest.mark.slow
def test_server_request_with_groups(tmp_path: Any) -> None:
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("fastapi")
    from serve_process import running_server

    config = tmp_path / "chain.toml"
    config.write_text('verifiers = ["schema", "agreement"]\n')
    args = ["--config", str(config), "--reward-config", json.dumps(CONSENSUS)]
    queries, prompts, labels = _openrlhf_rows("dog", 5)
    with running_server(args, tmp_path / "server.log") as base:
        def post(extra: dict[str, Any]) -> list[float]:
            response = httpx.post(f"{base}/get_reward", json={"query": queries, "prompts": prompts, "labels": labels,
                                                               **extra}, timeout=60)
            assert response.status_code == 200, response.text
            return response.json()["rewards"]

        for extra in ({"groups": ["q7"] * 8, "group_size": 8}, {"groups": "derive"}):
            rewards = post(extra)
            assert rewards[5] < 0.25 < min(r for k, r in enumerate(rewards) if k != 5), (extra, rewards)
        plain = post({})  # no groups: every answer alone, the outlier not told apart
        assert plain[5] == pytest.approx(plain[0])
        assert httpx.post(f"{base}/get_reward", json={"query": queries, "groups": "sometimes"}).status_code == 422
