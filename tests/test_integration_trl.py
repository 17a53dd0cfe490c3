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
    # without ground truth nothing confirms the box: paid what "not found" is paid; garbage is refuted below it
    assert rewards[2] < rewards[1] == rewards[0]
    assert [r.outcome for r in reward.last_results] == ["unverified", "abstain", "malformed"]
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


@pytest.mark.slow
def test_real_grpo_trainer_step_calls_sync_and_async_rewards(tmp_path: Any) -> None:
    trl = pytest.importorskip("trl")
    datasets = pytest.importorskip("datasets")
    from integration_models import byte_tokenizer, tiny_causal_lm

    tokenizer = byte_tokenizer()
    model = tiny_causal_lm(tokenizer)
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


# --- what TRL 1.16 passes today: reasoning_content, tool turns, PIL images, trainer_state -------

ANSWER = '<answer>[{"bbox_2d": [100, 100, 200, 200], "label": "dog"}]</answer>'
QUERY = "Please provide the bounding box coordinate of the region this sentence describes: dog."


def _trl_parsed(text: str) -> list[dict[str, Any]]:
    """A completion as TRL decodes it when the tokenizer has a response template.

    TRL's own ``add_response_schema`` sets Qwen3's template on a tokenizer
    using TRL's copy of Qwen3's chat template, and TRL's ``parse_response``
    splits the generated ids into ``reasoning_content`` and ``content``
    (what ``GRPOTrainer._generate`` hands the reward functions).
    """
    chat = pytest.importorskip("trl.chat_template_utils")
    from integration_models import tiny_tokenizer

    tok = tiny_tokenizer()
    tok.chat_template = chat.qwen3_chat_template
    tok = chat.add_response_schema(tok)
    prefix = tok.apply_chat_template([{"role": "user", "content": QUERY}], add_generation_prompt=True, tokenize=True)
    prefix = list(prefix["input_ids"] if hasattr(prefix, "keys") else prefix)
    ids = tok(text + "<|im_end|>", add_special_tokens=False)["input_ids"]
    return [chat.parse_response(tok, ids, prefix=prefix)]


def test_think_tags_survive_trl_decoding_so_the_format_term_is_paid() -> None:
    """GRPOTrainer decodes plain completions with ``batch_decode(ids, skip_special_tokens=True)``.

    The test tokenizer keeps ``<think>`` as an ordinary added token, as Qwen's
    tokenizers do: decoded the way TRL decodes, the tags are still there and a
    correct answer with its thinking gets the format credit (1.0), one without
    the tags gets none.
    """
    from integration_models import tiny_processor

    processor = tiny_processor("qwen2_5_vl")
    ids = [processor.tokenizer(text, add_special_tokens=False)["input_ids"] for text in (GOOD, ANSWER)]
    assert processor.tokenizer.convert_tokens_to_ids("<think>") in ids[0]  # one token, as in Qwen's vocabulary
    decoded = processor.batch_decode(ids, skip_special_tokens=True)  # GRPOTrainer's call for plain prompts
    assert decoded[0] == GOOD and "<think>" not in decoded[1]
    reward = grounding_reward({"format_weight": 0.2}, chain_config={"verifiers": ["schema"]}, coords="original")
    out = reward(prompts=[PROMPT] * 2, completions=decoded, solution=[[100, 100, 200, 200]] * 2,
                 image_size=[[640, 480]] * 2)
    assert [r.format for r in reward.last_results] == [1.0, 0.0]
    assert out[0] > out[1]


def test_reasoning_content_is_read_and_a_contradicting_thinking_lowers_the_reward() -> None:
    agree = _trl_parsed("<think>\nThe dog is at the top left.\n</think>\n\n" + ANSWER)
    contradict = _trl_parsed("<think>\nThere is no dog in this image.\n</think>\n\n" + ANSWER)
    bare = [{"role": "assistant", "content": ANSWER}]
    assert agree[0]["reasoning_content"] and "<think>" not in agree[0]["content"]  # TRL moved the thinking out
    prompts = [[{"role": "user", "content": QUERY}]] * 3
    chain = {"verifiers": ["schema", "consistency"]}
    # Without ground truth the reward is the confidence: the contradiction costs reward.
    reward = grounding_reward(chain_config=chain, coords="original")
    r_agree, r_contra, _ = reward(prompts=prompts, completions=[agree, contradict, bare], image_size=[[640, 480]] * 3,
                                  trainer_state=None)
    assert r_contra < r_agree
    # With ground truth: the format credit needs the thinking, and confidence_weight prices the contradiction.
    shaped = grounding_reward({"format_weight": 0.2, "confidence_weight": 0.5}, chain_config=chain, coords="original")
    r_agree, r_contra, r_bare = shaped(prompts=prompts, completions=[agree, contradict, bare],
                                       solution=[[100, 100, 200, 200]] * 3, image_size=[[640, 480]] * 3)
    assert r_bare < r_agree and r_contra < r_agree
    assert [r.format for r in shaped.last_results] == [1.0, 1.0, 0.0]


def test_tool_turns_the_answer_is_the_last_assistant_text() -> None:
    completion = [
        {"role": "assistant", "reasoning_content": "I should zoom in.", "content": "",
         "tool_calls": [{"type": "function", "function": {"name": "zoom", "arguments": {"box": [0, 0, 320, 240]}}}]},
        {"role": "tool", "name": "zoom", "content": "zoomed"},
        {"role": "assistant", "reasoning_content": "The dog is at the top left.", "content": ANSWER},
    ]
    reward = grounding_reward(chain_config={"verifiers": ["schema"]}, coords="original")
    assert reward(prompts=[QUERY], completions=[completion], solution=[[100, 100, 200, 200]],
                  image_size=[[640, 480]]) == [pytest.approx(1.0)]
    assert reward.last_results[0].format == 1.0


def test_pil_image_column_reaches_the_verifiers() -> None:
    from PIL import Image

    seen: list[Any] = []
    image = Image.new("RGB", (640, 480), (200, 10, 10))
    reward = grounding_reward(chain_config={"verifiers": ["schema"]}, coords="original")
    original = reward.rewarder.chain.verify

    def recording(samples: Any) -> Any:
        seen.extend(s.image for s in samples)
        return original(samples)

    reward.rewarder.chain.verify = recording  # type: ignore[method-assign]
    rewards = reward(prompts=[QUERY] * 2, completions=[ANSWER] * 2, solution=[[100, 100, 200, 200]] * 2,
                     image=[image, None], images=[None, [image]])
    assert rewards == [pytest.approx(1.0)] * 2
    assert seen == [image, image] and all(isinstance(s, Image.Image) for s in seen)


def test_reward_objects_pickle_and_work_after_unpickling() -> None:
    import pickle

    from groundscore.integrations.trl import LinearSchedule

    for fn in (grounding_reward(), grounding_reward(asynchronous=True),
               grounding_reward({"policy": "grounded"}, chain_config={"verifiers": ["schema"]}, coords="original",
                                format_weight_schedule=LinearSchedule(0.5, 0.0, 10), task_column="task", tasks=["rec"])):
        blob = pickle.dumps(fn)
        back = pickle.loads(blob)
        assert type(back) is type(fn) and back.__name__ == fn.__name__
        assert back.rewarder.config == fn.rewarder.config and back.rewarder.verifier_names == fn.rewarder.verifier_names
    out = back(prompts=[QUERY], completions=[ANSWER], solution=[[100, 100, 200, 200]], task=["rec"])
    assert out == [pytest.approx(1.0)]  # step 0: format weight 0.5, but no <think>: format 0


def test_trainer_state_drives_a_format_weight_schedule() -> None:
    from types import SimpleNamespace

    from groundscore.integrations.trl import LinearSchedule

    recorder = Recorder()
    reward = grounding_reward(chain_config={"verifiers": ["schema"]}, coords="original",
                              format_weight_schedule=LinearSchedule(0.5, 0.0, 100))
    text = "<think>the dog</think>" + ANSWER
    rewards = [reward(prompts=[QUERY], completions=[text], solution=[[100, 100, 200, 200]],
                      trainer_state=SimpleNamespace(global_step=step), log_metric=recorder.log_metric)[0]
               for step in (0, 50, 100, 500)]
    assert rewards == pytest.approx([1.5, 1.25, 1.0, 1.0])
    assert recorder.metrics["groundscore/format_weight"] == pytest.approx([0.5, 0.25, 0.0, 0.0])


def test_multi_task_rows_and_rows_without_ground_truth_get_none() -> None:
    reward = grounding_reward(chain_config={"verifiers": ["schema"]}, coords="original", task_column="task",
                              tasks=["rec"], none_without_solution=True)
    out = reward(prompts=[QUERY] * 3, completions=[ANSWER] * 3,
                 solution=[[100, 100, 200, 200], [100, 100, 200, 200], None], task=["rec", "math", "rec"])
    assert out[0] == pytest.approx(1.0) and out[1] is None and out[2] is None


def test_coords_auto_from_the_processor_without_image_grid_thw() -> None:
    from integration_models import MAX_PIXELS, tiny_processor

    from groundscore.integrations.model_coords import resolve_coords

    processor = tiny_processor("qwen2_5_vl")
    space = resolve_coords("auto", processor)
    assert space == f"qwen25px:{4 * 28 * 28}-{MAX_PIXELS}-28"
    assert resolve_coords("auto", tiny_processor("qwen2_vl")) == "norm1000"
    assert resolve_coords("auto", model_family="qwen3_vl") == "norm1000"
    assert resolve_coords("auto", min_pixels=3136, max_pixels=12845056) == "qwen25"
    with pytest.raises(ValueError):
        resolve_coords("auto", model_family="no-such-model")
    # The box the processor's resize implies: a 640x480 image becomes what the processor feeds the model.
    from PIL import Image

    image = Image.new("RGB", (640, 480))
    grid = processor.image_processor(images=[image], return_tensors="pt")["image_grid_thw"][0].tolist()
    rh, rw = grid[1] * 14, grid[2] * 14
    box = [100 * rw / 640, 100 * rh / 480, 200 * rw / 640, 200 * rh / 480]
    text = '<answer>[{"bbox_2d": %s, "label": "dog"}]</answer>' % [round(v, 2) for v in box]
    reward = grounding_reward(chain_config={"verifiers": ["schema"]}, processor=processor)
    with_grid = grounding_reward(chain_config={"verifiers": ["schema"]})
    by_processor = reward(prompts=[QUERY], completions=[text], solution=[[100, 100, 200, 200]], image=[image])
    by_grid = with_grid(prompts=[QUERY], completions=[text], solution=[[100, 100, 200, 200]], image=[image],
                        image_grid_thw=[grid])
    assert by_processor == pytest.approx(by_grid) and by_processor[0] > 0.98
    default = grounding_reward(chain_config={"verifiers": ["schema"]}, coords="qwen25")
    assert default(prompts=[QUERY], completions=[text], solution=[[100, 100, 200, 200]], image=[image])[0] < by_processor[0]


@pytest.mark.slow
def test_real_grpo_trainer_step_with_a_vlm_conversational_dataset_and_an_image_column(tmp_path: Any) -> None:
    trl = pytest.importorskip("trl")
    datasets = pytest.importorskip("datasets")
    from integration_models import tiny_processor, tiny_qwen25_vl
    from PIL import Image

    processor = tiny_processor("qwen2_5_vl")
    model = tiny_qwen25_vl(processor)
    images = [Image.new("RGB", (640, 480), (i * 40, 80, 120)) for i in range(4)]
    rows = [{"prompt": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": PROMPT}]}],
             "image": images[i], "solution": [100, 100, 200, 200]} for i in range(4)]
    seen: list[Any] = []

    class Recording(GroundingReward):
        def compute(self, prompts: Any = None, completions: Any = None, completion_ids: Any = None, **kwargs: Any) -> Any:
            seen.append({"image": kwargs.get("image"), "completions": completions,
                         "step": getattr(kwargs.get("trainer_state"), "global_step", None)})
            return super().compute(prompts, completions, completion_ids, **kwargs)

    fn = Recording(chain_config={"verifiers": ["schema"]}, processor=processor, name="groundscore")
    args = trl.GRPOConfig(
        output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=4, max_completion_length=8,
        max_steps=1, logging_steps=1, report_to="none", use_cpu=True, save_strategy="no", bf16=False,
    )
    trainer = trl.GRPOTrainer(model=model, reward_funcs=[fn], args=args,
                              train_dataset=datasets.Dataset.from_list(rows), processing_class=processor)
    trainer.train()
    assert seen, "TRL never called the reward"
    call = seen[0]
    assert all(isinstance(im, Image.Image) and im.size == (640, 480) for im in call["image"])
    assert all(isinstance(c, list) and c[0]["role"] == "assistant" for c in call["completions"])  # conversational
    assert call["step"] == 0
    assert len(fn.last_results) == 4 and all(r.grounded for r in fn.last_results)
    logged = trainer.state.log_history[0]
    assert logged["rewards/groundscore/mean"] == pytest.approx(sum(r.reward for r in fn.last_results) / 4)


@pytest.mark.slow
def test_the_documented_options_block_runs_and_is_what_trl_can_call() -> None:
    import pickle
    from types import SimpleNamespace

    from doc_snippets import code_blocks

    block = next(b for b in code_blocks("trl.md", "python") if "format_weight_schedule" in b and "# not runnable" not in b)
    namespace: dict[str, Any] = {}
    exec(block, namespace)
    reward = namespace["reward"]
    assert reward.default_coords == "qwen25px:3136-1003520-28"
    text = "<think>the dog</think>" + ANSWER
    out = reward(prompts=[QUERY] * 2, completions=[[{"role": "assistant", "content": text}]] * 2,
                 solution=[[100, 100, 200, 200]] * 2, image_size=[[640, 480]] * 2, task=["rec", "ocr"],
                 trainer_state=SimpleNamespace(global_step=0))
    assert out[1] is None and out[0] is not None and reward.last_results[0].format == 1.0
    assert pickle.loads(pickle.dumps(reward)).default_coords == reward.default_coords
