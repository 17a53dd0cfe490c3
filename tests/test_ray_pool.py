"""The named Ray reward pool, reached the way verl 0.9.1 and OpenRLHF 0.11.2 call reward functions.

A local Ray runtime (loopback, 2 CPUs) runs a detached pool of two actors;
the rewards that come back through the trainers' own code (verl's
``get_custom_reward_fn`` and reward-loop managers, its ``RewardLoopManager``
with its workers as Ray actors; OpenRLHF's ``SingleTurnAgentExecutor``
loading the reward file) must equal the in-process rewards for the same
responses of the shared REC logs.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from ray_runtime import local_ray  # noqa: E402
from shared_data import REC_LOGS  # noqa: E402

POOL = "test-pool"
REWARD = {"policy": "grounded"}
CHAIN = {"verifiers": ["schema", "spatial"]}
needs_logs = pytest.mark.skipif(not REC_LOGS.exists(), reason="shared logs not present")


@pytest.fixture(scope="module")
def pool():
    from groundscore.ray.reward_pool import start_pool, stop_pool

    with local_ray():
        try:
            yield start_pool(POOL, 2, REWARD, CHAIN, num_cpus=0.5)
        finally:
            stop_pool(POOL)


def _verl_args(name: str, n: int) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    records = json.loads((REC_LOGS / name).read_text())["results"][:n]
    return (["refcoco"] * len(records), [r["model_output"] for r in records], [r["ground_truth"] for r in records],
            [{"question": r["question"], "coords": "original"} for r in records])


def _in_process_verl(*args: Any) -> list[dict[str, float]]:
    from groundscore.integrations.verl import compute_score_batch

    return compute_score_batch(*args, reward_config=REWARD, chain_config=CHAIN)


@needs_logs
def test_pool_rewards_equal_in_process_rewards(pool):
    from groundscore.integrations import ray_pool

    assert len(pool) == 2 and len({i["pid"] for i in pool}) == 2
    args = _verl_args("grpo-ckpt1000_refcoco_val.json", 150)
    expected = _in_process_verl(*args)
    assert ray_pool.compute_score_batch_ray(*args, pool=POOL) == expected

    async def gathered() -> list[dict[str, float]]:  # what verl's reward worker does: one task per response
        return list(await asyncio.gather(*(ray_pool.compute_score_ray_async(a, b, c, d, pool=POOL)
                                           for a, b, c, d in zip(*args, strict=True))))

    assert asyncio.run(gathered()) == expected
    assert [ray_pool.compute_score_ray(*a, pool=POOL) for a in zip(*args, strict=True)][:5] == expected[:5]


@needs_logs
def test_concurrent_single_calls_are_gathered_into_batches(pool):
    from groundscore.integrations import ray_pool
    from groundscore.ray.reward_pool import client

    before = ray.get([a.info.remote() for a in client(POOL).actors()])
    args = _verl_args("original-model_refcoco_val.json", 200)

    async def gathered() -> list[dict[str, float]]:
        return list(await asyncio.gather(*(ray_pool.compute_score_ray_async(a, b, c, d, pool=POOL)
                                           for a, b, c, d in zip(*args, strict=True))))

    assert asyncio.run(gathered()) == _in_process_verl(*args)
    after = ray.get([a.info.remote() for a in client(POOL).actors()])
    calls = sum(a["calls"] - b["calls"] for a, b in zip(after, before, strict=True))
    items = sum(a["items"] - b["items"] for a, b in zip(after, before, strict=True))
    assert items == 200 and calls < 20  # 200 responses in a few pool batches, not 200 calls


@needs_logs
def test_openrlhf_body_equals_in_process_body(pool):
    from groundscore.integrations.openrlhf import OpenRLHFReward
    from groundscore.integrations.ray_pool import openrlhf_body

    records = json.loads((REC_LOGS / "instruct-baseline_refcocog_val.json").read_text())["results"][:80]
    prompts = [r["question"] for r in records]
    queries = [r["question"] + r["model_output"] for r in records]
    labels = [json.dumps(r["ground_truth"]) for r in records]
    expected = OpenRLHFReward(REWARD, chain_config=CHAIN).body(queries, prompts, labels)
    assert openrlhf_body(queries, prompts, labels, pool=POOL) == expected


@needs_logs
def test_the_client_pickles_as_its_settings_and_scores_python_samples(pool):
    import pickle

    from groundscore.inputs import iter_samples
    from groundscore.ray.reward_pool import client
    from groundscore.rewards import Rewarder

    copy = pickle.loads(pickle.dumps(client(POOL)))  # trainers pickle reward functions into their workers
    assert copy.pool == POOL and copy._actors is None
    samples = [s for i, s in enumerate(iter_samples(REC_LOGS / "screenspot-grpo-ckpt334_desktop.json")) if i < 50]
    got = copy.call("rewards", [samples])
    expected = Rewarder(REWARD, chain_config=CHAIN).score(samples)
    assert [(r.reward, r.outcome, r.confidence) for r in got] == [(r.reward, r.outcome, r.confidence) for r in expected]


def test_a_missing_pool_is_an_error_naming_the_start_command(pool):
    from groundscore.integrations.ray_pool import compute_score_batch_ray

    with pytest.raises(RuntimeError, match=r"python -m groundscore\.ray\.reward_pool start --name no-such-pool"):
        compute_score_batch_ray(["x"], ["y"], [None], pool="no-such-pool")


def test_starting_a_running_pool_with_other_settings_is_refused(pool):
    from groundscore.ray.reward_pool import start_pool

    assert [i["pid"] for i in start_pool(POOL, 2, REWARD, CHAIN, num_cpus=0.5)] == [i["pid"] for i in pool]
    with pytest.raises(ValueError, match="other settings"):
        start_pool(POOL, 1, {"policy": "iou"}, CHAIN, num_cpus=0.5)


@needs_logs
def test_a_killed_pool_actor_is_restarted_and_every_reward_still_comes(pool):
    from groundscore.integrations import ray_pool
    from groundscore.ray.reward_pool import client

    actors = client(POOL).actors()
    pid = ray.get(actors[0].info.remote())["pid"]
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    args = _verl_args("grpo-ckpt1000_refcocop_val.json", 60)
    assert ray_pool.compute_score_batch_ray(*args, pool=POOL) == _in_process_verl(*args)
    assert ray.get(actors[0].info.remote())["pid"] != pid


# -- verl 0.9.1's own code -----------------------------------------------------------------------

def _verl_config(overrides: list[str]) -> Any:
    """verl's ``ppo_trainer`` configuration composed by hydra with these overrides (as main_ppo does)."""
    import importlib.util

    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    spec = importlib.util.find_spec("verl")
    assert spec is not None and spec.origin is not None
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(Path(spec.origin).parent / "trainer" / "config"), version_base=None):
        return compose(config_name="ppo_trainer", overrides=overrides)


def _doc_overrides() -> list[str]:
    from doc_snippets import command_lines

    lines = command_lines("../ray.md", "verl.trainer.main_ppo")
    assert len(lines) == 1
    return [a.replace("pool=groundscore", f"pool={POOL}") for a in lines[0]]


def _data_proto(tokenizer: Any, prompts: list[str], responses: list[str], gts: list[Any], extras: list[Any]) -> Any:
    """A DataProto shaped like verl's rollout output: left-padded prompts, right-padded responses."""
    import numpy as np
    import torch
    from verl import DataProto

    pad = tokenizer.pad_token_id
    p_ids = [tokenizer(p)["input_ids"] for p in prompts]
    r_ids = [tokenizer(r)["input_ids"] or [pad] for r in responses]
    p_len, r_len = max(map(len, p_ids)), max(map(len, r_ids))
    mask = [[0] * (p_len - len(p)) + [1] * (len(p) + len(r)) + [0] * (r_len - len(r)) for p, r in zip(p_ids, r_ids, strict=True)]
    prompt_t = torch.tensor([[pad] * (p_len - len(p)) + p for p in p_ids])
    resp_t = torch.tensor([r + [pad] * (r_len - len(r)) for r in r_ids])
    return DataProto.from_dict(
        tensors={"prompts": prompt_t, "responses": resp_t, "attention_mask": torch.tensor(mask),
                 "input_ids": torch.cat([prompt_t, resp_t], dim=1)},
        non_tensors={"data_source": np.array(["refcoco"] * len(prompts), dtype=object),
                     "reward_model": np.array([{"ground_truth": g, "style": "rule"} for g in gts], dtype=object),
                     "extra_info": np.array([dict(e) for e in extras], dtype=object)},
    )


def _verl_batch(name: str, n: int) -> tuple[Any, Any]:
    from integration_models import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    _, responses, gts, extras = _verl_args(name, n)
    return tokenizer, _data_proto(tokenizer, [e["question"] for e in extras], responses, gts, extras)


def _in_process(tmp_path: Path) -> list[str]:
    """The in-process function with the pool's settings (the chain as a TOML file: hydra would hand a DictConfig)."""
    chain = tmp_path / "chain.toml"
    chain.write_text(f"verifiers = {json.dumps(CHAIN['verifiers'])}\n")
    return ["reward.custom_reward_function.path=pkg://groundscore.integrations.verl",
            "reward.custom_reward_function.name=compute_score_async",
            "+reward.custom_reward_function.reward_kwargs.reward_config.policy=grounded",
            f"+reward.custom_reward_function.reward_kwargs.chain_config={chain}"]


@pytest.mark.slow
@needs_logs
def test_verl_reward_managers_get_the_pool_function_and_score_like_in_process(pool, tmp_path):
    reward = pytest.importorskip("verl.trainer.ppo.reward", reason="verl is not importable here")
    config = _verl_config(_doc_overrides())
    fn = reward.get_custom_reward_fn(config)
    assert fn.args[0].__name__ == "compute_score_ray_async" and fn.args[1] == {"pool": POOL}
    tokenizer, data = _verl_batch("grpo-ckpt1000_refcocog_val.json", 48)

    def scores(overrides: list[str]) -> list[dict[str, Any]]:
        async def run() -> list[dict[str, Any]]:
            manager = reward.load_reward_manager(_verl_config(overrides), tokenizer)
            return list(await asyncio.gather(*(manager.run_single(data[i:i + 1]) for i in range(len(data)))))
        return asyncio.run(run())

    for manager in ("naive", "dapo"):
        via_pool = scores([*_doc_overrides(), f"reward.reward_manager.name={manager}"])
        assert via_pool == scores([*_in_process(tmp_path), f"reward.reward_manager.name={manager}"]), manager
    assert {o["reward_score"] for o in via_pool} != {0.0}


@pytest.mark.slow
@needs_logs
def test_verl_reward_loop_manager_workers_reach_the_pool_from_their_actors(pool, tmp_path):
    """verl's ``RewardLoopManager`` starts its reward workers as Ray actors; their reward calls go to the pool."""
    pytest.importorskip("verl.experimental.reward_loop.reward_loop", reason="verl is not importable here")
    from verl.experimental.reward_loop.reward_loop import RewardLoopManager

    tokenizer, data = _verl_batch("instruct-baseline_refcoco_val.json", 40)
    tokenizer.save_pretrained(tmp_path)
    model = [f"actor_rollout_ref.model.path={tmp_path}", "reward.num_workers=1"]
    via_pool = RewardLoopManager(_verl_config([*_doc_overrides(), *model])).compute_rm_score(data)
    in_process = RewardLoopManager(_verl_config([*_in_process(tmp_path), *model])).compute_rm_score(data)
    assert via_pool.batch["rm_scores"].tolist() == in_process.batch["rm_scores"].tolist()
    assert via_pool.meta_info["reward_extra_keys"] == in_process.meta_info["reward_extra_keys"]
    for key in in_process.meta_info["reward_extra_keys"]:
        assert via_pool.non_tensor_batch[key].tolist() == in_process.non_tensor_batch[key].tolist(), key
    assert via_pool.batch["rm_scores"].sum().item() > 0


# -- OpenRLHF 0.11.2's own code ------------------------------------------------------------------

@pytest.mark.slow
@needs_logs
def test_openrlhf_executor_loads_the_pool_file_and_scores_like_in_process(pool, monkeypatch):
    agent = pytest.importorskip("openrlhf.utils.agent", reason="openrlhf is not importable here")
    import groundscore.integrations.openrlhf_ray_reward_func as pool_file
    from groundscore.integrations.openrlhf import OpenRLHFReward

    monkeypatch.setenv("GROUNDSCORE_RAY_POOL", POOL)
    records = json.loads((REC_LOGS / "grpo-ckpt1000_refcoco_val.json").read_text())["results"][:40]
    prompts = [r["question"] for r in records]
    queries = [r["question"] + r["model_output"] for r in records]
    labels = [json.dumps(r["ground_truth"]) for r in records]
    executor = agent.SingleTurnAgentExecutor(remote_rm_url=[pool_file.__file__])
    assert executor.reward_func is not None

    async def one_query_per_call() -> list[dict[str, Any]]:  # as execute() does, many rollouts at once
        return [r[0] for r in await asyncio.gather(*(executor._fetch_rewards_via_func([q], [p], [lab])
                                                     for q, p, lab in zip(queries, prompts, labels, strict=True)))]

    got = asyncio.run(one_query_per_call())
    expected = OpenRLHFReward(REWARD, chain_config=CHAIN).body(queries, prompts, labels)
    assert [float(g["rewards"][0]) for g in got] == pytest.approx(expected["rewards"], abs=1e-6)
    assert [float(g["scores"][0]) for g in got] == pytest.approx(expected["scores"], abs=1e-6)
    for key, values in expected["extra_logs"].items():
        assert [float(g["extra_logs"][key][0]) for g in got] == pytest.approx(values, abs=1e-6), key


@pytest.mark.slow
def test_openrlhf_parser_accepts_the_documented_pool_command_line():
    from doc_snippets import command_lines
    from test_integration_openrlhf import openrlhf_parser

    import groundscore.integrations.openrlhf_ray_reward_func as pool_file

    parser = openrlhf_parser()
    from openrlhf.utils.config import hierarchize

    lines = command_lines("../ray.md", "openrlhf.cli.train_ppo_ray", {"RM_FILE": pool_file.__file__})
    assert len(lines) == 1
    args = hierarchize(parser.parse_args(lines[0]))
    assert Path(args.reward.remote_url).resolve() == Path(pool_file.__file__).resolve()
    assert args.data.label_key == "solution"
