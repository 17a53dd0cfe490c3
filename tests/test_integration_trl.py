"""groundscore.integrations.trl called as TRL's GRPOTrainer calls reward functions.

The fast tests call the function with exactly the keyword arguments of
``GRPOTrainer._calculate_rewards`` (prompts, completions, completion_ids,
trainer_state, log_extra, log_metric and the dataset columns). The slow test
runs a real ``GRPOTrainer`` step on a tiny randomly initialised model built
here (no downloads), with the sync and the async form side by side.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest

from groundscore.integrations.trl import AsyncGroundingReward, GroundingReward, grounding_reward

PROMPT = "Please provide the bounding box coordinate of the region this sentence describes: dog. First output the thinking process in <think> </think> tags and then output the final answer in <answer> </answer> tags."
GOOD = '<think>the dog</think><answer>```json\n[{"bbox_2d": [100, 100, 200, 200], "label": "dog"}]\n```</answer>'
NOT_FOUND = "<think>no dog</think><answer>There is no such object in the image.</answer>"
WRONG = '<think>the dog</think><answer>```json\n[{"bbox_2d": [400, 300, 500, 400], "label": "dog"}]\n```</answer>'


class Recorder:
    """Stands in for the trainer's own ``_log_metric`` / ``_log_completion_extra`` (plain collectors)."""

    def __init__(self) -> None:
        self.metrics: dict[str, list[float]] = defaultdict(list)
        self.extra: dict[str, list[Any]] = defaultdict(list)

    def log_metric(self, name: str, value: float) -> None:
        self.metrics[name].append(value)

    def log_extra(self, column: str, values: list[Any]) -> None:
        self.extra[column].extend(values)


@pytest.fixture(scope="module")
def reward() -> GroundingReward:
    return grounding_reward(chain_config={"verifiers": ["schema"]})


def trl_kwargs(recorder: Recorder, n: int, **columns: Any) -> dict[str, Any]:
    return {"completion_ids": [[1, 2, 3]] * n, "trainer_state": object(),
            "log_extra": recorder.log_extra, "log_metric": recorder.log_metric, **columns}


def test_standard_format_with_solution_column(reward: GroundingReward) -> None:
    rec = Recorder()
    completions = [GOOD, NOT_FOUND, WRONG, ""]
    rewards = reward(prompts=[PROMPT] * 4, completions=completions,
                     **trl_kwargs(rec, 4, solution=[[100, 100, 200, 200]] * 4, image_size=[[640, 480]] * 4,
                                  coords=["original"] * 4))
    assert len(rewards) == 4
    good, not_found, wrong, empty = rewards
    assert good == pytest.approx(1.0)
    assert wrong < not_found < good and empty < not_found
    # log_metric got batch means, log_extra one outcome per completion.
    assert rec.metrics["groundscore/reward"] == [pytest.approx(sum(rewards) / 4)]
    assert rec.metrics["groundscore/rate/abstain"] == [0.25]
    assert rec.metrics["groundscore/gate_failed/schema"] == [0.25]  # only the empty completion
    assert "groundscore/verifier/schema" in rec.metrics
    assert rec.extra["groundscore_outcome"] == ["correct", "abstain", "wrong", "malformed"]


def test_conversational_format_and_multimodal_prompt(reward: GroundingReward) -> None:
    from PIL import Image

    image = Image.new("RGB", (1000, 800))
    prompt = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": PROMPT}]}]
    completions = [[{"role": "assistant", "content": GOOD}], [{"role": "assistant", "content": [{"type": "text", "text": NOT_FOUND}]}]]
    rewards = reward(prompts=[prompt] * 2, completions=completions,
                     **trl_kwargs(Recorder(), 2, image=[image, image], solution=["<answer>[100, 100, 200, 200]</answer>"] * 2))
    # The image (a PIL image) gives the size; boxes are read as Qwen2.5-VL smart_resize'd pixels and mapped.
    first = reward.last_results[0]
    assert first.report.parsed.in_original
    assert first.iou is not None and rewards[0] is not None
    assert rewards[1] == pytest.approx(0.25)


def test_query_is_the_referring_expression(reward: GroundingReward) -> None:
    reward(prompts=[PROMPT], completions=[GOOD], **trl_kwargs(Recorder(), 1))
    custom = GroundingReward(rewarder=reward.rewarder, query_templates=r"Find (?P<expr>.+?) please")
    assert custom.query_reader("Find the red car please") == "the red car"
    column = GroundingReward(rewarder=reward.rewarder, query_column="expression")
    column(prompts=["ignored"], completions=[GOOD], **trl_kwargs(Recorder(), 1, expression=["the dog"]))
    assert reward.query_reader(PROMPT) == "dog"
    with pytest.raises(ValueError, match="expr"):
        GroundingReward(rewarder=reward.rewarder, query_templates=r"no group")


def test_without_ground_truth_and_without_logging_callbacks(reward: GroundingReward) -> None:
    rewards = reward(prompts=[PROMPT] * 3, completions=[GOOD, NOT_FOUND, "garbage"], completion_ids=None,
                     image_size=[[640, 480]] * 3)
    assert rewards[2] < rewards[1] < rewards[0]
    assert [r.policy for r in reward.last_results] == ["confidence"] * 3


def test_garbage_columns_never_raise(reward: GroundingReward) -> None:
    rewards = reward(prompts=[None, 5, [{"role": "user"}], object()], completions=[None, 7, [{}], [object()]],
                     **trl_kwargs(Recorder(), 4, solution=[object(), "junk", [1, 2], None],
                                  image=[b"not an image", "/no/such/file.png", 3, None],
                                  image_grid_thw=[[1, "x", 2], None, [1, 10, 10], -1]))
    assert len(rewards) == 4
    assert all(r is None or isinstance(r, float) for r in rewards)


@pytest.mark.slow  # importing trl takes ~15 s here
def test_trl_sees_the_right_name_and_sync_or_async() -> None:
    utils = pytest.importorskip("trl.trainer.utils")
    sync = grounding_reward(chain_config={"verifiers": ["schema"]})
    asynchronous = grounding_reward(chain_config={"verifiers": ["schema"]}, asynchronous=True, name="gs_async")
    assert isinstance(asynchronous, AsyncGroundingReward)
    assert utils.get_callable_name(sync) == "groundscore"
    assert utils.get_callable_name(asynchronous) == "gs_async"
    assert not utils.is_async_callable(sync)
    assert utils.is_async_callable(asynchronous)


def test_async_form_gives_the_same_rewards(reward: GroundingReward) -> None:
    asynchronous = AsyncGroundingReward(rewarder=reward.rewarder)
    kwargs = dict(prompts=[PROMPT] * 3, completions=[GOOD, NOT_FOUND, WRONG],
                  solution=[[100, 100, 200, 200]] * 3, image_size=[[640, 480]] * 3, coords=["original"] * 3)

    async def both() -> list[list[float | None]]:
        return list(await asyncio.gather(asynchronous(**kwargs), asynchronous(**kwargs)))

    first, second = asyncio.run(both())
    assert first == second == reward(**kwargs)


def _tiny_tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {c: i for i, c in enumerate(pre_tokenizers.ByteLevel.alphabet())}
    vocab["<pad>"] = len(vocab)
    vocab["<eos>"] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>")


@pytest.mark.slow
def test_real_grpo_trainer_step_calls_sync_and_async_rewards(tmp_path: Any) -> None:
    trl = pytest.importorskip("trl")
    datasets = pytest.importorskip("datasets")
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = _tiny_tokenizer()
    model = Qwen2ForCausalLM(Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, intermediate_size=32, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.eos_token_id,
    ))
    rows = [{"prompt": PROMPT, "solution": [10, 10, 40, 40], "image_size": [64, 64]}] * 4
    sync = grounding_reward(chain_config={"verifiers": ["schema"]})
    asynchronous = grounding_reward(chain_config={"verifiers": ["schema"]}, asynchronous=True, name="gs_async")
    args = trl.GRPOConfig(
        output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=4, max_completion_length=8,
        max_steps=1, logging_steps=1, report_to="none", use_cpu=True, save_strategy="no", bf16=False,
    )
    trainer = trl.GRPOTrainer(model=model, reward_funcs=[sync, asynchronous], args=args,
                              train_dataset=datasets.Dataset.from_list(rows), processing_class=tokenizer)
    trainer.train()
    logged = trainer.state.log_history[0]
    for fn in (sync, asynchronous):
        assert len(fn.last_results) == 4
        assert all(r.grounded for r in fn.last_results)  # the solution column reached the function
        mean = sum(r.reward for r in fn.last_results) / 4
        assert logged[f"rewards/{fn.__name__}/mean"] == pytest.approx(mean)
        # log_metric went through the trainer into its logs.
        assert logged[f"{fn.__name__}/rate/malformed"] == pytest.approx(
            sum(r.outcome == "malformed" for r in fn.last_results) / 4)
        assert f"{fn.__name__}/verifier/schema" in logged
