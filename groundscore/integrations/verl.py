"""Reward functions for verl: ``compute_score``, its ``async`` form and a batch form.

verl 0.9.1 loads a custom reward function from the file named by
``reward.custom_reward_function.path`` / ``.name`` (with
``reward.custom_reward_function.reward_kwargs`` bound to it), and every
manager of its reward loop (``naive``, ``dapo``, ``gdpo``, ``remote``,
``rate_limited``) calls it per response, awaiting a coroutine function::

    compute_score(data_source=..., solution_str=..., ground_truth=..., extra_info=..., **reward_kwargs)

``compute_score_batch`` (lists in, list out) is for callers that score a
batch themselves; 0.9.1's reward loop has no batch manager.

A float or a dict with a ``"score"`` key comes back; every other key of the
dict is logged (``reward_extra_info``), so every sample must have the same
keys and finite values. Here: ``score``, ``confidence``, ``iou``, ``format``,
one 0/1 flag per outcome (``correct``, ``abstain``, ``wrong``,
``hallucination``, ``malformed``, ``unscorable``) and ``<verifier>_failed``
per verifier.

Where the data come from:

- ``solution_str``: the decoded response.
- ``ground_truth`` (``reward_model.ground_truth`` in the parquet): a box list,
  ``"[]"`` for a negative sample, VLM-R1's ``<answer>[...]</answer>`` text,
  or an object with ``solution``, ``image``/``image_size``, ``coords``,
  ``image_grid_thw``, ``query``.
- ``extra_info``: the referring expression under ``query`` / ``question`` /
  ``problem`` / ``prompt`` (a REC prompt is read with VLM-R1's template), and
  ``image`` / ``images`` / ``image_path`` / ``image_size`` / ``coords`` /
  ``image_grid_thw`` when the ground truth does not carry them: verl hands
  its ``images`` column to the model only, so ``extra_info`` is the one way
  an image reaches the reward.

``reward_kwargs`` may hold ``reward_config`` (dict or path),
``chain_config`` (dict or path) and ``query_templates``. verl needs a number
for every sample: one that cannot be scored gets 0.0 (``unscorable``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from groundscore.integrations.fields import QueryReader, completion_text, grid_space, image_fields, label_fields
from groundscore.integrations.summary import sample_logs
from groundscore.reward import Rewarder, RewardResult, load_reward_config

log = logging.getLogger("groundscore.integrations.verl")

_QUERY_KEYS = ("query", "question", "problem", "prompt", "expression")
_rewarders: dict[str, Rewarder] = {}
_lock = threading.Lock()


def _rewarder(reward_config: Any, chain_config: Any) -> Rewarder:
    key = json.dumps([repr(reward_config), repr(chain_config)])
    with _lock:
        rewarder = _rewarders.get(key)
        if rewarder is None:
            config = load_reward_config(reward_config)
            if config.unscorable is None:
                config = config.model_copy(update={"unscorable": 0.0})
            rewarder = _rewarders[key] = Rewarder(config, chain_config=chain_config)
        return rewarder


def _sample(solution_str: Any, ground_truth: Any, extra_info: Any, reader: QueryReader) -> dict[str, Any]:
    sample: dict[str, Any] = {"completion": completion_text(solution_str)}
    extra = extra_info if isinstance(extra_info, Mapping) else {}
    query = next((extra[k] for k in _QUERY_KEYS if isinstance(extra.get(k), str | list) and extra.get(k)), None)
    image = extra.get("image") if extra.get("image") is not None else extra.get("images")
    sample.update(image_fields(image, extra.get("image_path"), extra.get("image_size")))
    if isinstance(extra.get("coords"), str):
        sample["coords"] = extra["coords"]
    if extra.get("image_grid_thw") is not None:
        space = grid_space(extra["image_grid_thw"])
        if space:
            sample["coords"] = space
    sample.update(label_fields(ground_truth))
    if query is not None and "query" not in sample:
        sample["query"] = query
    sample["query"] = reader(sample.get("query", ""))
    return sample


def _as_dict(result: RewardResult, verifiers: Sequence[str], unscorable: float) -> dict[str, float]:
    score = result.reward if result.reward is not None else unscorable
    return {"score": float(score), **sample_logs(result, verifiers)}


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[Any],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Any] | None = None,
    *,
    reward_config: Any = None,
    chain_config: Any = None,
    query_templates: Any = None,
    **kwargs: Any,
) -> list[dict[str, float]]:
    """verl's batch reward manager form: one dict per response, in order."""
    n = len(solution_strs)
    extras = list(extra_infos) if extra_infos is not None else [None] * n
    # A bad configuration is the caller's error and is raised; bad data never is.
    rewarder = _rewarder(reward_config, chain_config)
    reader = QueryReader(query_templates)
    unscorable = rewarder.config.unscorable if rewarder.config.unscorable is not None else 0.0
    try:
        samples = []
        for i in range(n):
            try:
                gt = ground_truths[i] if i < len(ground_truths) else None
                samples.append(_sample(solution_strs[i], gt, extras[i] if i < len(extras) else None, reader))
            except Exception as exc:  # noqa: BLE001
                samples.append({"completion": "", "meta": {"input_error": str(exc)}})
        with _lock:
            results = rewarder.score(samples)
        return [_as_dict(r, rewarder.verifier_names, unscorable) for r in results]
    except Exception as exc:
        log.warning("verl reward failed: %s: %s", type(exc).__name__, exc, exc_info=True)
        failed = RewardResult(reward=None, outcome="unscorable", reason=str(exc), policy=rewarder.config.policy)
        return [_as_dict(failed, rewarder.verifier_names, unscorable) for _ in range(n)]


def compute_score(
    data_source: Any = None,
    solution_str: Any = "",
    ground_truth: Any = None,
    extra_info: Any = None,
    *,
    reward_config: Any = None,
    chain_config: Any = None,
    query_templates: Any = None,
    **kwargs: Any,
) -> dict[str, float]:
    """verl's per-sample form (``custom_reward_function.name=compute_score``)."""
    return compute_score_batch(
        [data_source], [solution_str], [ground_truth], [extra_info],
        reward_config=reward_config, chain_config=chain_config, query_templates=query_templates,
    )[0]


async def compute_score_async(
    data_source: Any = None,
    solution_str: Any = "",
    ground_truth: Any = None,
    extra_info: Any = None,
    **kwargs: Any,
) -> dict[str, float]:
    """``async`` per-sample form for verl's reward loop; the chain runs in a worker thread."""
    return await asyncio.to_thread(compute_score, data_source, solution_str, ground_truth, extra_info, **kwargs)
