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
``chain_config`` (dict or path), ``query_templates``, and for groups
``group_size`` and ``group_timeout``.

Groups: verl samples ``actor_rollout_ref.rollout.n`` responses per prompt,
marked by one ``uid`` per prompt in the batch, but its reward loop calls
the function once per response. With ``group_size`` (bind it to
``${actor_rollout_ref.rollout.n}``) the responses of one prompt meet in a
:class:`~groundscore.groups.gather.GroupGatherer` and are scored together, so
the ``agreement`` verifier compares them and the ``consensus`` policy pays
against their consensus. The key is ``extra_info["uid"]``, which
:class:`groundscore.integrations.verl_manager.GroupRewardManager` copies
from the batch's ``uid`` (verl's own managers do not pass it); without it,
the data source, ground truth and question. Use the ``async`` form
(``compute_score_async``): a waiting response then holds no thread. verl needs a number
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
from groundscore.rewards.base import RewardResult
from groundscore.rewards.options import load_reward_config
from groundscore.rewards.rewarder import Rewarder

log = logging.getLogger("groundscore.integrations.verl")

_QUERY_KEYS = ("query", "question", "problem", "prompt", "expression")
_rewarders: dict[str, Rewarder] = {}
_lock = threading.Lock()


def _plain(value: Any) -> Any:
    """Hydra's ``DictConfig`` / ``ListConfig`` (nested ``reward_kwargs``) as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray):
        return [_plain(v) for v in value]
    return value


def _rewarder(reward_config: Any, chain_config: Any) -> Rewarder:
    reward_config, chain_config = _plain(reward_config), _plain(chain_config)
    key = json.dumps([repr(reward_config), repr(chain_config)])
    with _lock:
        rewarder = _rewarders.get(key)
        if rewarder is None:
            config = load_reward_config(reward_config)
            if config.unscorable is None:
                config = config.model_copy(update={"unscorable": 0.0})
            rewarder = _rewarders[key] = Rewarder(config, chain_config=chain_config)
        return rewarder


_gatherers: dict[tuple[str, int, float], Any] = {}
_VOLATILE = ("num_turns", "rollout_reward_scores", "uid")  # extra_info keys that differ between one prompt's responses


def _gatherer(rewarder: Rewarder, size: int, timeout: float | None) -> Any:
    from groundscore.groups.gather import DEFAULT_TIMEOUT, GroupGatherer

    key = (str(id(rewarder)), int(size), float(timeout or DEFAULT_TIMEOUT))
    with _lock:
        gatherer = _gatherers.get(key)
        if gatherer is None:
            def score(samples: list[dict[str, Any]]) -> list[RewardResult]:
                with _lock:
                    return rewarder.score(samples)

            gatherer = _gatherers[key] = GroupGatherer(score, int(size), key[2])
        return gatherer


def group_key(data_source: Any, ground_truth: Any, extra_info: Any) -> str:
    """What the responses of one prompt share: verl's ``uid`` when the manager passed it, else the question."""
    import hashlib

    extra = extra_info if isinstance(extra_info, Mapping) else {}
    uid = extra.get("uid")
    if uid is not None:
        return f"uid:{uid}"
    stable = {k: v for k, v in extra.items() if k not in _VOLATILE}
    text = repr((data_source, ground_truth, sorted(stable.items(), key=lambda kv: str(kv[0]))))
    return "q:" + hashlib.blake2b(text.encode(errors="replace"), digest_size=12).hexdigest()


def _grouped(data_source: Any, solution_str: Any, ground_truth: Any, extra_info: Any, reward_config: Any,
             chain_config: Any, query_templates: Any, group_size: int) -> tuple[Any, dict[str, Any], Rewarder, float]:
    rewarder = _rewarder(reward_config, chain_config)
    unscorable = rewarder.config.unscorable if rewarder.config.unscorable is not None else 0.0
    try:
        sample = _sample(solution_str, ground_truth, extra_info, QueryReader(query_templates))
    except Exception as exc:  # noqa: BLE001
        sample = {"completion": "", "meta": {"input_error": str(exc)}}
    return group_key(data_source, ground_truth, extra_info), sample, rewarder, unscorable


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
    group_size: int | None = None,
    group_timeout: float | None = None,
    **kwargs: Any,
) -> dict[str, float]:
    """verl's per-sample form (``custom_reward_function.name=compute_score``).

    With ``group_size`` > 1 it waits (this thread) for the prompt's other
    responses; prefer :func:`compute_score_async` then.
    """
    if group_size and group_size > 1:
        key, sample, rewarder, unscorable = _grouped(data_source, solution_str, ground_truth, extra_info,
                                                     reward_config, chain_config, query_templates, group_size)
        try:
            result = _gatherer(rewarder, group_size, group_timeout).submit(key, sample)
        except Exception as exc:
            log.warning("verl reward failed: %s: %s", type(exc).__name__, exc, exc_info=True)
            result = RewardResult(reward=None, outcome="unscorable", reason=str(exc), policy=rewarder.config.policy)
        return _as_dict(result, rewarder.verifier_names, unscorable)
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
    """``async`` per-sample form for verl's reward loop; the chain runs in a worker thread.

    With ``group_size`` > 1 the response waits, holding no thread, for the
    other responses of its prompt, and the group is scored together.
    """
    group_size = kwargs.get("group_size")
    if group_size and group_size > 1:
        key, sample, rewarder, unscorable = _grouped(
            data_source, solution_str, ground_truth, extra_info, kwargs.get("reward_config"),
            kwargs.get("chain_config"), kwargs.get("query_templates"), group_size)
        try:
            result = await _gatherer(rewarder, group_size, kwargs.get("group_timeout")).submit_async(key, sample)
        except Exception as exc:
            log.warning("verl reward failed: %s: %s", type(exc).__name__, exc, exc_info=True)
            result = RewardResult(reward=None, outcome="unscorable", reason=str(exc), policy=rewarder.config.policy)
        return _as_dict(result, rewarder.verifier_names, unscorable)
    return await asyncio.to_thread(compute_score, data_source, solution_str, ground_truth, extra_info, **kwargs)
