"""groundscore.integrations.verl called as verl calls custom reward functions.

With verl importable, its own ``NaiveRewardManager`` (per sample) and
``BatchRewardManager`` (per batch) run over a real ``DataProto`` holding
tokenised prompts and responses. verl 0.9 pins ``transformers<5.11``, so it
cannot share an environment with this project's transformers; these tests run
when verl is on the path (``pip install --no-deps --target DIR verl==0.9.1
tensordict==0.10.0 ray codetiming hydra-core omegaconf pyvers``, then
``PYTHONPATH=DIR``; see docs/rewards/verl.md) and are skipped otherwise. The
first tests need no verl: they check the function's contract directly.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from groundscore.integrations import verl as gs_verl

PROMPT = "Please provide the bounding box coordinate of the region this sentence describes: dog."
GOOD = '<think>the dog</think><answer>[{"bbox_2d": [100, 100, 200, 200], "label": "dog"}]</answer>'
NOT_FOUND = "<think>no dog</think><answer>There is no such object in the image.</answer>"
WRONG = '<think>the dog</think><answer>[{"bbox_2d": [400, 300, 500, 400], "label": "dog"}]</answer>'
CHAIN = {"verifiers": ["schema"]}
EXTRA = {"question": PROMPT, "image_size": [640, 480], "coords": "original"}


def test_compute_score_returns_score_and_the_same_finite_keys_every_time() -> None:
    out = [gs_verl.compute_score("rec", text, [100, 100, 200, 200], EXTRA, chain_config=CHAIN)
           for text in (GOOD, NOT_FOUND, WRONG, "", None)]
    keys = set(out[0])
    assert {"score", "confidence", "iou", "format", "correct", "abstain", "wrong", "schema_failed"} <= keys
    for d in out:
        assert set(d) == keys
        assert all(isinstance(v, float) and math.isfinite(v) for v in d.values())
    good, not_found, wrong, empty, none = (d["score"] for d in out)
    assert good == pytest.approx(1.0) and wrong < not_found < good and empty == none == 0.0
    assert out[0]["correct"] == 1.0 and out[1]["abstain"] == 1.0 and out[2]["wrong"] == 1.0


def test_ground_truth_shapes_and_negative_samples() -> None:
    shapes = ["[100, 100, 200, 200]", "<answer>[100, 100, 200, 200]</answer>",
              {"solution": [[100, 100, 200, 200]], "image_size": [640, 480], "coords": "original"}]
    for gt in shapes:
        assert gs_verl.compute_score("rec", GOOD, gt, EXTRA, chain_config=CHAIN)["score"] == pytest.approx(1.0)
    negative = gs_verl.compute_score("rec", NOT_FOUND, "[]", EXTRA, chain_config=CHAIN)
    assert negative["score"] == 1.0 and negative["correct"] == 1.0
    hallucinated = gs_verl.compute_score("rec", GOOD, [], EXTRA, chain_config=CHAIN)
    assert hallucinated["score"] == 0.0


def test_batch_form_and_async_form_agree_with_the_single_form() -> None:
    texts = [GOOD, NOT_FOUND, WRONG]
    batch = gs_verl.compute_score_batch(["rec"] * 3, texts, [[100, 100, 200, 200]] * 3, [EXTRA] * 3, chain_config=CHAIN)
    single = [gs_verl.compute_score("rec", t, [100, 100, 200, 200], EXTRA, chain_config=CHAIN) for t in texts]
    assert batch == single

    async def run() -> list[dict[str, float]]:
        return list(await asyncio.gather(*(gs_verl.compute_score_async(
            data_source="rec", solution_str=t, ground_truth=[100, 100, 200, 200], extra_info=EXTRA,
            chain_config=CHAIN) for t in texts)))

    assert asyncio.run(run()) == single


def test_garbage_never_raises() -> None:
    out = gs_verl.compute_score_batch([None, 1], [object(), b"\xff\xfe"], [object(), "junk"], [5, {"image_size": "x"}],
                                      chain_config=CHAIN)
    assert [d["score"] for d in out] == [0.0, 0.0]


def test_bad_configuration_is_an_error_not_a_silent_zero() -> None:
    with pytest.raises(ValueError, match="wrong < abstain"):
        gs_verl.compute_score("rec", GOOD, [1, 2, 3, 4], EXTRA, reward_config={"wrong": 0.9}, chain_config=CHAIN)


# -- verl's own reward managers -------------------------------------------------------
def _tiny_tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {c: i for i, c in enumerate(pre_tokenizers.ByteLevel.alphabet())}
    vocab["<pad>"] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>")


def _data_proto(tokenizer: Any, responses: list[str], ground_truths: list[Any], prompt: str = PROMPT,
                extra: dict[str, Any] | None = None) -> Any:
    """A DataProto shaped like verl's rollout output: left-padded prompts, right-padded responses."""
    np = pytest.importorskip("numpy")
    torch = pytest.importorskip("torch")
    from verl import DataProto

    pad = tokenizer.pad_token_id
    prompt_ids = [tokenizer(prompt)["input_ids"] for _ in responses]
    response_ids = [tokenizer(r)["input_ids"] for r in responses]
    p_len = max(len(p) for p in prompt_ids)
    r_len = max(len(r) for r in response_ids)
    prompts = torch.tensor([[pad] * (p_len - len(p)) + p for p in prompt_ids])
    resp = torch.tensor([r + [pad] * (r_len - len(r)) for r in response_ids])
    mask = torch.tensor([[0] * (p_len - len(p)) + [1] * len(p) + [1] * len(r) + [0] * (r_len - len(r))
                         for p, r in zip(prompt_ids, response_ids, strict=True)])
    n = len(responses)
    return DataProto.from_dict(
        tensors={"prompts": prompts, "responses": resp, "attention_mask": mask,
                 "input_ids": torch.cat([prompts, resp], dim=1)},
        non_tensors={
            "data_source": np.array(["refcoco"] * n, dtype=object),
            "reward_model": np.array([{"ground_truth": gt, "style": "rule"} for gt in ground_truths], dtype=object),
            "extra_info": np.array([dict(extra if extra is not None else EXTRA) for _ in range(n)], dtype=object),
        },
    ), [len(r) for r in response_ids]


@pytest.mark.slow
def test_verl_batch_and_naive_reward_managers_use_our_functions() -> None:
    pytest.importorskip("verl.workers.reward_manager", reason="verl is not importable here (see the module docstring)")
    from functools import partial

    from verl.workers.reward_manager.batch import BatchRewardManager
    from verl.workers.reward_manager.naive import NaiveRewardManager

    tokenizer = _tiny_tokenizer()
    responses = [GOOD, NOT_FOUND, WRONG, "nonsense"]
    gts = ["[100, 100, 200, 200]"] * 3 + ["[]"]
    expected = [d["score"] for d in gs_verl.compute_score_batch(["refcoco"] * 4, responses, gts, [EXTRA] * 4, chain_config=CHAIN)]

    batch_manager = BatchRewardManager(tokenizer, num_examine=0, compute_score=partial(gs_verl.compute_score_batch, chain_config=CHAIN))
    data, lengths = _data_proto(tokenizer, responses, gts)
    out = batch_manager(data, return_dict=True)
    tensor = out["reward_tensor"]
    for i, length in enumerate(lengths):
        assert tensor[i, length - 1].item() == pytest.approx(expected[i], abs=1e-6)  # the reward sits on the last token
        assert tensor[i].sum().item() == pytest.approx(expected[i], abs=1e-6)
    info = out["reward_extra_info"]
    assert all(len(v) == 4 for v in info.values())  # the same keys for every sample
    assert info["abstain"] == [0.0, 1.0, 0.0, 0.0]

    naive = NaiveRewardManager(tokenizer, num_examine=0, compute_score=partial(gs_verl.compute_score, chain_config=CHAIN))
    data, lengths = _data_proto(tokenizer, responses, gts)
    out = naive(data, return_dict=True)
    for i, length in enumerate(lengths):
        assert out["reward_tensor"][i, length - 1].item() == pytest.approx(expected[i], abs=1e-6)


# -- verl 0.9.1's own configuration and reward loop, driven by the docs page ----------------------

def _compose(overrides: list[str]) -> Any:
    """verl's ``ppo_trainer`` configuration composed by hydra with these overrides (as main_ppo does)."""
    pytest.importorskip("hydra")
    import importlib.util
    from pathlib import Path

    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    spec = importlib.util.find_spec("verl")
    if spec is None or spec.origin is None:
        pytest.skip("verl is not importable here")
    config_dir = Path(spec.origin).parent / "trainer" / "config"
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        return compose(config_name="ppo_trainer", overrides=overrides)


def _doc_overrides(reward_file: Any) -> list[list[str]]:
    from doc_snippets import command_lines

    lines = command_lines("verl.md", "verl.trainer.main_ppo")
    assert len(lines) >= 2
    return [[a.replace("groundscore_reward.py", str(reward_file)) for a in argv] for argv in lines]


def _doc_row() -> dict[str, Any]:
    import ast

    from doc_snippets import code_blocks

    rows = [ast.literal_eval(b) for b in code_blocks("verl.md", "python") if '"reward_model"' in b]
    assert len(rows) == 1
    return rows[0]


def _reward_file(tmp_path: Any) -> Any:
    from doc_snippets import code_blocks

    body = next(b for b in code_blocks("verl.md", "python") if b.startswith("# groundscore_reward.py"))
    path = tmp_path / "groundscore_reward.py"
    path.write_text(body)
    return path


@pytest.mark.slow
def test_documented_command_lines_compose_and_verl_returns_our_function(tmp_path: Any) -> None:
    reward = pytest.importorskip("verl.trainer.ppo.reward", reason="verl is not importable here")
    path = _reward_file(tmp_path)
    for overrides in _doc_overrides(path):
        config = _compose(overrides)
        assert config.reward.custom_reward_function.path == str(path)
        fn = reward.get_custom_reward_fn(config)
        assert fn is not None
        name = config.reward.custom_reward_function.name
        assert fn.args[0].__name__ == name and fn.args[0].__module__ == "groundscore.integrations.verl"
        kwargs = fn.args[1]
        if "reward_config" in kwargs:
            assert kwargs["reward_config"]["policy"] == "grounded" and list(kwargs["chain_config"]["disable"]) == ["clip"]
    # The pre-0.9 top-level keys are not where 0.9.1 looks: no custom function comes back.
    try:
        old = _compose([f"+custom_reward_function.path={path}", "+custom_reward_function.name=compute_score"])
    except Exception:  # noqa: BLE001 - refused outright is just as safe
        return
    assert reward.get_custom_reward_fn(old) is None


@pytest.mark.slow
def test_reward_loop_managers_score_a_dataproto_with_the_documented_row(tmp_path: Any) -> None:
    reward = pytest.importorskip("verl.trainer.ppo.reward", reason="verl is not importable here")
    from omegaconf import OmegaConf

    row = _doc_row()
    gt = row["reward_model"]["ground_truth"]
    extra = dict(row["extra_info"])
    prompt = row["prompt"][0]["content"]
    # The row's ground truth in Qwen2.5-VL's resized pixels of a 640x480 image (smart_resize keeps 644x476).
    good = '<think>the dog</think><answer>[{"bbox_2d": [15, 133, 123, 466], "label": "dog"}]</answer>'
    responses = [good, NOT_FOUND, "nonsense", ""]
    tokenizer = _tiny_tokenizer()
    expected = [gs_verl.compute_score(row["data_source"], r, gt, extra, reward_config={"policy": "grounded"},
                                      chain_config={"disable": ["clip"]})["score"] for r in responses]
    assert expected[0] > 0.9 and expected[1] == pytest.approx(0.25) and expected[2] == expected[3] == 0.0
    path = _reward_file(tmp_path)
    seen = set()
    for overrides in _doc_overrides(path):
        config = _compose([*overrides, "+reward.custom_reward_function.reward_kwargs.reward_config.policy=grounded",
                           "+reward.custom_reward_function.reward_kwargs.chain_config.disable=[clip]"]
                          if "reward_kwargs" not in " ".join(overrides) else overrides)
        manager_name = config.reward.reward_manager.name
        seen.add(manager_name)
        data, _ = _data_proto(tokenizer, responses, [gt] * len(responses), prompt=prompt, extra=extra)

        async def run(config: Any = config, data: Any = data) -> list[dict[str, Any]]:
            manager = reward.load_reward_manager(config, tokenizer)
            return [await manager.run_single(data[i:i + 1]) for i in range(len(data))]

        outs = asyncio.run(run())
        scores = [o["reward_score"] for o in outs]
        assert scores == pytest.approx(expected, abs=1e-6), manager_name
        keys = {k for o in outs for k in o["reward_extra_info"]}
        assert all(set(o["reward_extra_info"]) == keys for o in outs)  # the same keys for every response
        assert OmegaConf.is_config(config)
    assert {"naive", "dapo"} <= seen
