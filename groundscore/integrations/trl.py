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

Conversational completions may carry the thinking in ``reasoning_content``
(TRL parses it out when the tokenizer has a response template) and tool
turns; PIL images in ``image`` / ``images`` columns reach the verifiers as
pixels; ``trainer_state.global_step`` drives a ``format_weight_schedule``;
``task_column`` / ``tasks`` and ``none_without_solution`` give None (TRL
ignores it) for rows another reward function scores. The object pickles (by
its settings: the verifier chain is rebuilt on unpickling).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from groundscore.integrations.fields import QueryReader, add_groups, column, samples_from_columns
from groundscore.integrations.model_coords import pixel_limits, resolve_coords
from groundscore.integrations.summary import batch_metrics
from groundscore.rewards.base import RewardResult
from groundscore.rewards.options import load_reward_config
from groundscore.rewards.rewarder import Rewarder

log = logging.getLogger("groundscore.integrations.trl")


@dataclass(frozen=True)
class LinearSchedule:
    """A value moving linearly from ``start`` to ``end`` over ``steps`` training steps, then held.

    A plain dataclass (not a lambda) so that a reward holding it pickles.
    E.g. ``LinearSchedule(0.5, 0.0, 200)``: format credit that teaches the
    tags early and fades once the model writes them.
    """

    start: float
    end: float
    steps: int

    def __call__(self, step: int) -> float:
        if self.steps <= 0 or step >= self.steps:
            return float(self.end)
        return float(self.start + (self.end - self.start) * max(step, 0) / self.steps)


def _global_step(trainer_state: Any) -> int | None:
    """``TrainerState.global_step`` (or a mapping's ``global_step``); None when absent."""
    value = trainer_state.get("global_step") if isinstance(trainer_state, Mapping) else getattr(trainer_state, "global_step", None)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class GroundingReward:
    """Callable reward function with TRL's signature.

    ``config`` is a :class:`~groundscore.rewards.options.RewardConfig` (or dict / TOML
    path); ``chain_config`` configures the verifiers. ``query_templates``
    override how the referring expression is read from the prompt (regexes
    with a ``(?P<expr>...)`` group; VLM-R1's REC template by default);
    ``query_column`` reads it from a dataset column instead.

    Coordinates: ``coords`` is the space the boxes are written in when no
    ``coords`` / ``image_grid_thw`` column says otherwise (a space name, or
    ``"auto"``: chosen from ``model_family`` or the ``processor``'s class and
    its min/max pixels; see :mod:`groundscore.integrations.model_coords`).
    ``processor``, ``min_pixels`` and ``max_pixels`` alone imply ``"auto"``.
    ``default_coords`` is the older name of ``coords``.

    Groups: the completions of one prompt are compared with each other by
    the ``agreement`` verifier (and paid against their consensus by the
    ``consensus`` policy). ``GRPOTrainer`` lays them out consecutively, so
    consecutive completions with the same prompt and image form a group,
    cut at ``num_generations`` when given (pass the trainer's
    ``num_generations``: it also lets a verdict say when a process saw only
    part of a group); a ``group_column`` dataset column overrides this;
    ``groups=False`` turns grouping off.

    Shaping and multi-task: ``format_weight_schedule(step) -> float``
    replaces ``config.format_weight`` at each step (read from TRL's
    ``trainer_state``); rows whose ``task_column`` value is not in ``tasks``,
    and with ``none_without_solution`` rows without ground truth, get None.
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
        coords: str | None = None,
        processor: Any = None,
        model_family: str | None = None,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        format_weight_schedule: Callable[[int], float] | None = None,
        task_column: str | None = None,
        tasks: Sequence[str] | None = None,
        none_without_solution: bool = False,
        log_metrics: bool = True,
        num_generations: int | None = None,
        groups: bool = True,
        group_column: str = "group",
    ) -> None:
        if num_generations is not None and num_generations <= 0:
            raise ValueError(f"num_generations must be positive, got {num_generations}")
        self._config = config
        self._chain_config = chain_config
        self._own_rewarder = rewarder is None
        self.rewarder = rewarder if rewarder is not None else Rewarder(config, chain_config=chain_config)
        self.__name__ = name
        self.query_templates = query_templates
        self.query_reader = QueryReader(query_templates)
        self.query_column = query_column
        # The processor itself is not kept (it does not need to pickle): only its resize numbers.
        if processor is not None:
            lo, hi, _ = pixel_limits(processor, min_pixels, max_pixels)
            min_pixels, max_pixels = min_pixels or lo, max_pixels or hi
        self.coords_request = coords if coords is not None else default_coords
        self.model_family = model_family
        self.min_pixels, self.max_pixels = min_pixels, max_pixels
        self.default_coords = resolve_coords(self.coords_request, processor, model_family=model_family,
                                             min_pixels=min_pixels, max_pixels=max_pixels)
        self.format_weight_schedule = format_weight_schedule
        self.task_column = task_column
        self.tasks = frozenset(tasks) if tasks is not None else None
        self.none_without_solution = none_without_solution
        self.log_metrics = log_metrics
        self.num_generations = num_generations
        self.groups = groups
        self.group_column = group_column
        self._lock = threading.Lock()
        self._scheduled: dict[float, Rewarder] = {}
        self.last_results: list[RewardResult] = []

    # -- pickling: the settings travel, the chain (models, locks) is rebuilt ------------------
    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in vars(self).items() if k not in ("_lock", "_scheduled", "last_results")}
        # A rewarder built here is rebuilt from its settings; one passed in travels as it is.
        state["rewarder"] = None if self._own_rewarder else self.rewarder
        state["_reward_config"] = self.rewarder.config.model_dump()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        reward_config = state.pop("_reward_config")
        rewarder = state.pop("rewarder")
        vars(self).update(state)
        self.rewarder = rewarder if rewarder is not None else Rewarder(reward_config, chain_config=self._chain_config)
        self._lock = threading.Lock()
        self._scheduled = {}
        self.last_results = []

    def _rewarder_at(self, trainer_state: Any) -> Rewarder:
        """The rewarder for this step: the same chain, the scheduled format weight."""
        if self.format_weight_schedule is None:
            return self.rewarder
        step = _global_step(trainer_state)
        weight = float(self.format_weight_schedule(step if step is not None else 0))
        if weight == self.rewarder.config.format_weight:
            return self.rewarder
        rewarder = self._scheduled.get(weight)
        if rewarder is None:
            config = load_reward_config(self.rewarder.config.model_copy(update={"format_weight": weight}).model_dump())
            rewarder = self._scheduled[weight] = Rewarder(config, chain=self.rewarder.chain)
            if len(self._scheduled) > 64:  # a continuous schedule: keep the cache small
                self._scheduled.pop(next(iter(self._scheduled)))
        return rewarder

    def _skipped(self, i: int, sample: Mapping[str, Any], kwargs: Mapping[str, Any]) -> bool:
        if self.tasks is not None and self.task_column:
            if column(kwargs, self.task_column, i) not in self.tasks:
                return True
        return self.none_without_solution and sample.get("solution") is None

    def compute(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Any = None,
        **kwargs: Any,
    ) -> list[float | None]:
        """The rewards; also logs through ``log_metric`` / ``log_extra`` when given."""
        completions = list(completions or [])
        rewarder = self.rewarder
        try:
            rewarder = self._rewarder_at(kwargs.get("trainer_state"))
            samples = samples_from_columns(
                completions, list(prompts) if prompts is not None else None, kwargs, self.query_reader,
                query_column=self.query_column, default_coords=self.default_coords,
            )
            if getattr(self, "groups", True):  # objects pickled before grouping existed have no attribute
                add_groups(samples, list(prompts) if prompts is not None else None, kwargs,
                           getattr(self, "num_generations", None), getattr(self, "group_column", "group"))
            keep = [i for i, s in enumerate(samples) if not self._skipped(i, s, kwargs)]
            with self._lock:
                scored = rewarder.score([samples[i] for i in keep])
        except Exception as exc:
            log.warning("reward computation failed: %s: %s", type(exc).__name__, exc, exc_info=True)
            return [rewarder.config.unscorable] * len(completions)
        rewards: list[float | None] = [None] * len(completions)
        for i, result in zip(keep, scored, strict=True):
            rewards[i] = result.reward
        self.last_results = scored
        self._log(scored, kwargs, rewarder)
        return rewards

    def _log(self, results: list[RewardResult], kwargs: Mapping[str, Any], rewarder: Rewarder) -> None:
        if not self.log_metrics or not results:
            return
        log_metric: Callable[[str, float], None] | None = kwargs.get("log_metric")
        log_extra: Callable[[str, list[Any]], None] | None = kwargs.get("log_extra")
        try:
            if callable(log_metric):
                for key, value in batch_metrics(results, rewarder.verifier_names).items():
                    log_metric(f"{self.__name__}/{key}", value)
                if self.format_weight_schedule is not None:
                    log_metric(f"{self.__name__}/format_weight", rewarder.config.format_weight)
            if callable(log_extra) and len(results) == len(kwargs.get("completion_ids") or results):
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

    ``config``: reward policy settings (:class:`~groundscore.rewards.options.RewardConfig`,
    a dict, or a TOML/JSON path); ``chain_config``: verifier settings;
    ``options``: see :class:`GroundingReward` (``processor=``, ``coords="auto"``,
    ``format_weight_schedule=``, ``task_column=``/``tasks=``, ``none_without_solution=``,
    ``num_generations=`` / ``groups=`` / ``group_column=``).
    """
    cls = AsyncGroundingReward if asynchronous else GroundingReward
    return cls(config, chain_config=chain_config, **options)
