"""A reward function for TRL's ``GRPOTrainer``.

TRL calls every reward function with keyword arguments::

    reward_func(prompts=..., completions=..., completion_ids=...,
                trainer_state=..., log_extra=..., log_metric=..., **dataset_columns)

and takes one float (or None) per completion back. Completions are strings,
or lists of chat messages for conversational datasets; dataset columns
(``solution``, ``image``, ``image_path``, ``image_size``, ``image_grid_thw``,
...) arrive as lists with one entry per completion. A function whose
``__call__`` is ``async`` is awaited concurrently with the other reward
functions.

Usage::

    from trl import GRPOTrainer
    from groundscore.integrations.trl import grounding_reward

    trainer = GRPOTrainer(model=..., reward_funcs=[grounding_reward()], train_dataset=...)

When TRL passes ``log_metric``, the function logs the batch means of the
reward, confidence, IoU, each verifier's score and each outcome's share
(``groundscore/verifier/schema``, ``groundscore/rate/abstain``, ...); when it
passes ``log_extra``, the outcome of every completion becomes a column of the
completions table.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from groundscore.integrations.fields import QueryReader, samples_from_columns
from groundscore.integrations.summary import batch_metrics
from groundscore.reward import Rewarder, RewardResult

log = logging.getLogger("groundscore.integrations.trl")


class GroundingReward:
    """Callable reward function with TRL's signature.

    ``config`` is a :class:`~groundscore.reward.RewardConfig` (or dict / TOML
    path); ``chain_config`` configures the verifiers. ``query_templates``
    override how the referring expression is read from the prompt (regexes
    with a ``(?P<expr>...)`` group; VLM-R1's REC template by default);
    ``query_column`` reads it from a dataset column instead. ``default_coords``
    is the coordinate space assumed when no ``coords`` column is passed
    (None: the format's own default, ``qwen25`` for Qwen2.5-VL JSON).
    """

    def __init__(
        self,
        config: Any = None,
        *,
        chain_config: Any = None,
        rewarder: Rewarder | None = None,
        name: str = "groundscore",
        query_templates: str | Sequence[str] | None = None,
        query_column: str | None = None,
        default_coords: str | None = None,
        log_metrics: bool = True,
    ) -> None:
        self.rewarder = rewarder if rewarder is not None else Rewarder(config, chain_config=chain_config)
        self.__name__ = name
        self.query_reader = QueryReader(query_templates)
        self.query_column = query_column
        self.default_coords = default_coords
        self.log_metrics = log_metrics
        self._lock = threading.Lock()
        self.last_results: list[RewardResult] = []

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its lock (a lock cannot be pickled; Ray and multiprocessing pickle rewards)."""
        state = self.__dict__.copy()
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def compute(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Any = None,
        **kwargs: Any,
    ) -> list[float | None]:
        """The rewards; also logs through ``log_metric`` / ``log_extra`` when given."""
        completions = list(completions or [])
        try:
            samples = samples_from_columns(
                completions, list(prompts) if prompts is not None else None, kwargs, self.query_reader,
                query_column=self.query_column, default_coords=self.default_coords,
            )
            with self._lock:
                results = self.rewarder.score(samples)
        except Exception as exc:
            log.warning("reward computation failed: %s: %s", type(exc).__name__, exc, exc_info=True)
            return [self.rewarder.config.unscorable] * len(completions)
        self.last_results = results
        self._log(results, kwargs)
        return [r.reward for r in results]

    def _log(self, results: list[RewardResult], kwargs: Mapping[str, Any]) -> None:
        if not self.log_metrics:
            return
        log_metric: Callable[[str, float], None] | None = kwargs.get("log_metric")
        log_extra: Callable[[str, list[Any]], None] | None = kwargs.get("log_extra")
        try:
            if callable(log_metric):
                for key, value in batch_metrics(results, self.rewarder.verifier_names).items():
                    log_metric(f"{self.__name__}/{key}", value)
            if callable(log_extra):
                log_extra(f"{self.__name__}_outcome", [r.outcome for r in results])
        except Exception as exc:  # noqa: BLE001 - logging must not cost the rewards
            log.warning("logging reward metrics failed: %s: %s", type(exc).__name__, exc)

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Any = None,
        **kwargs: Any,
    ) -> list[float | None]:
        return self.compute(prompts, completions, completion_ids, **kwargs)

    def close(self) -> None:
        self.rewarder.close()


class AsyncGroundingReward(GroundingReward):
    """The same reward, ``async``: TRL awaits it alongside its other async reward functions.

    The verifier chain runs in a worker thread, so the event loop stays free.
    """

    async def __call__(  # type: ignore[override]
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Any = None,
        **kwargs: Any,
    ) -> list[float | None]:
        return await asyncio.to_thread(self.compute, prompts, completions, completion_ids, **kwargs)


def grounding_reward(
    config: Any = None,
    *,
    chain_config: Any = None,
    asynchronous: bool = False,
    **options: Any,
) -> GroundingReward:
    """A TRL reward function. ``asynchronous=True`` gives the ``async`` form.

    ``config``: reward policy settings (:class:`~groundscore.reward.RewardConfig`,
    a dict, or a TOML/JSON path); ``chain_config``: verifier settings;
    ``options``: see :class:`GroundingReward`.
    """
    cls = AsyncGroundingReward if asynchronous else GroundingReward
    return cls(config, chain_config=chain_config, **options)

