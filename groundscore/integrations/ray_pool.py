"""verl and OpenRLHF reward functions served by a named Ray reward pool, without an HTTP hop.

Start the pool once on the cluster (:func:`groundscore.ray.reward_pool.start_pool`
or ``python -m groundscore.ray.reward_pool start --name NAME --workers N``);
the functions here run inside the trainer's own Ray actors, look the pool's
actors up by name (``ray.get_actor``) and send them the trainer's arguments.
The pool scores them with the same adapter code as the in-process functions
(:mod:`groundscore.integrations.verl`, :mod:`groundscore.integrations.openrlhf`),
so the rewards are the same; the reward and chain configurations are the
pool's, given when it was started.

- verl (``reward.custom_reward_function.name``): :func:`compute_score_ray_async`
  (the reward loop awaits it; concurrent responses are gathered into one pool
  batch), :func:`compute_score_ray` (sync form, same gathering across
  threads), :func:`compute_score_batch_ray`. ``reward_kwargs``: ``pool`` and
  ``namespace``.
- OpenRLHF (``--reward.remote_url`` to :mod:`groundscore.integrations.openrlhf_ray_reward_func`):
  :func:`openrlhf_reward_func`; the pool is named by ``GROUNDSCORE_RAY_POOL``.

A pool that cannot be found is a configuration error and raises, naming the
command that starts it; bad data never raises (the pool's adapters see to it).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import Any

DEFAULT_POOL = "groundscore"


def _client(pool: str | None, namespace: str | None) -> Any:
    from groundscore.ray.reward_pool import NAMESPACE, client

    return client(pool or os.environ.get("GROUNDSCORE_RAY_POOL") or DEFAULT_POOL,
                  namespace or os.environ.get("GROUNDSCORE_RAY_NAMESPACE") or NAMESPACE)


def compute_score_batch_ray(
    data_sources: Sequence[Any],
    solution_strs: Sequence[Any],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Any] | None = None,
    *,
    pool: str | None = None,
    namespace: str | None = None,
    **kwargs: Any,
) -> list[dict[str, float]]:
    """verl's batch form: one reward dict per response, the batch spread over the pool's actors."""
    n = len(solution_strs)
    extras = list(extra_infos) if extra_infos is not None else [None] * n
    return _client(pool, namespace).call("verl", [list(data_sources), list(solution_strs), list(ground_truths), extras])


def compute_score_ray(
    data_source: Any = None,
    solution_str: Any = "",
    ground_truth: Any = None,
    extra_info: Any = None,
    *,
    pool: str | None = None,
    namespace: str | None = None,
    **kwargs: Any,
) -> dict[str, float]:
    """verl's per-response form (sync; verl runs it in a thread, and concurrent calls share a pool batch)."""
    return _submit_one(pool, namespace, data_source, solution_str, ground_truth, extra_info).result()[0]


async def compute_score_ray_async(
    data_source: Any = None,
    solution_str: Any = "",
    ground_truth: Any = None,
    extra_info: Any = None,
    *,
    pool: str | None = None,
    namespace: str | None = None,
    **kwargs: Any,
) -> dict[str, float]:
    """verl's ``async`` per-response form: awaits the pool without blocking verl's event loop."""
    future = _submit_one(pool, namespace, data_source, solution_str, ground_truth, extra_info)
    return (await asyncio.wrap_future(future))[0]


def _submit_one(pool: str | None, namespace: str | None, *columns: Any) -> Any:
    """One verl response sent to the pool (joined with concurrent ones into a pool batch); a future of its list."""
    return _client(pool, namespace).submit("verl", [[value] for value in columns])


def openrlhf_body(queries: Sequence[Any], prompts: Sequence[Any] | None = None, labels: Sequence[Any] | None = None,
                  *, pool: str | None = None, namespace: str | None = None) -> dict[str, Any]:
    """``{"rewards", "scores", "extra_logs"}`` as lists, from the pool (the body the HTTP server answers)."""
    queries = list(queries or [])
    n = len(queries)
    prompts = list(prompts) if prompts is not None else [None] * n
    labels = list(labels) if labels is not None else [None] * n
    prompts = (prompts + [None] * n)[:n]
    labels = (labels + [None] * n)[:n]
    items = _client(pool, namespace).submit("openrlhf", [queries, prompts, labels]).result()
    keys = list(items[0][2]) if items else []
    return {
        "rewards": [float(r) for r, _, _ in items],
        "scores": [float(s) for _, s, _ in items],
        "extra_logs": {k: [float(logs[k]) for _, _, logs in items] for k in keys},
    }


def openrlhf_reward_func(queries: Sequence[Any], prompts: Sequence[Any] | None = None,
                         labels: Sequence[Any] | None = None) -> dict[str, Any]:
    """OpenRLHF's ``reward_func(queries, prompts, labels)``, scored by the pool ``GROUNDSCORE_RAY_POOL``.

    Tensors when torch is importable (always, under OpenRLHF), as the
    in-process :func:`groundscore.integrations.openrlhf.reward_func` returns.
    """
    from groundscore.integrations.openrlhf import as_tensors

    return as_tensors(openrlhf_body(queries, prompts, labels))
