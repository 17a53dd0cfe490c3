"""Reward functions for VLM-R1 (``src/open-r1-multimodal``), drop-in for its own.

VLM-R1 calls each reward function as ``fn(completions, solution, **kwargs)``
with conversational completions (``completion[0]["content"]``), ``solution``
as a box list or ``"<answer>[x1, y1, x2, y2]</answer>"`` text in original
pixels, and, in its REC trainer, ``image_path`` (a list of paths per sample)
and ``image_grid_thw`` (rows ``[t, h, w]``): the model answers in the pixels
of the resized input, ``grid * 14``, and VLM-R1 maps the box to the original
image size read from ``image_path``. These functions do the same.

- :func:`iou_reward`: VLM-R1's accuracy reward where its regex finds the box
  in a completion with one ``<answer>`` block (``[int, int, int, int]``
  inside it), and the right IoU where it does not (floats, boxes outside
  ``<answer>``, broken fences, spaces inside brackets). With two answer
  blocks, or an ``<answer>`` inside the thinking, VLM-R1 reads the *first*
  and groundscore the last: the numbers differ there.
- :func:`iou_reward_vlm_r1`: the ``vlm_r1`` compatibility mode, which reads
  the answer as upstream does (the first ``<answer>``, the first integer box
  in it, nothing otherwise): VLM-R1's number for every completion.
- :func:`format_reward`: VLM-R1's format reward (tags around a grounding answer).
- :func:`grounding_reward`: the shaped reward with the verifiers on
  (hallucination < "not found" < correct).

VLM-R1's scripts run with ``--is_reward_customized_from_vlm_module True``,
which resolves every reward name through the VLM module's
``select_reward_func(func, task_type)`` and bypasses ``reward_funcs_registry``;
:func:`patch_vlm_module` routes that hook to these functions::

    from open_r1.vlm_modules.qwen_module import Qwen2VLModule
    from groundscore.integrations import vlm_r1
    vlm_r1.patch_vlm_module(Qwen2VLModule)

VLM-R1 turns the list into a tensor, so no None is returned: a sample that
cannot be scored gets 0.0.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from typing import Any

from cachetools import LRUCache

from groundscore.integrations.fields import QueryReader, add_groups, samples_from_columns
from groundscore.parse.r1 import tag_blocks
from groundscore.rewards.options import RewardConfig, load_reward_config
from groundscore.rewards.rewarder import Rewarder

log = logging.getLogger("groundscore.integrations.vlm_r1")

#: The ``iou`` policy set to reproduce VLM-R1 exactly: plain IoU, its IoU formula, its one-box reading.
VLM_R1_IOU = RewardConfig(policy="iou", options={"plain": True, "iou_formula": "vlm_r1", "matching": "first"}, unscorable=0.0)
#: The format policy (``<think>`` and ``<answer>`` around a readable answer).
VLM_R1_FORMAT = RewardConfig(policy="format", unscorable=0.0)

# one Rewarder per distinct configuration (its models load once); bounded, least recently used goes first
_rewarders: LRUCache[tuple[str, str], Rewarder] = LRUCache(maxsize=32)
_lock = threading.Lock()


def _rewarder(config: RewardConfig, chain_config: Any) -> Rewarder:
    key = (config.model_dump_json(), repr(chain_config))
    with _lock:
        rewarder = _rewarders.get(key)
        if rewarder is None:
            rewarder = _rewarders[key] = Rewarder(config, chain_config=chain_config)
        return rewarder


def _run(config: RewardConfig, completions: Sequence[Any], solution: Any, kwargs: dict[str, Any],
         chain_config: Any = None, query_templates: Any = None, groups: bool = False,
         num_generations: int | None = None) -> list[float]:
    n = len(completions) if completions is not None else 0
    rewarder = _rewarder(config, chain_config)  # a bad configuration raises; bad data never does
    try:
        columns = dict(kwargs)
        if solution is not None:
            columns["solution"] = solution
        prompts = columns.pop("prompts", None)
        samples = samples_from_columns(
            list(completions), prompts, columns, QueryReader(query_templates),
            query_column="problem" if "problem" in columns else None,
            default_coords="original",
        )
        if groups:
            add_groups(samples, prompts, columns, num_generations)
        with _lock:
            results = rewarder.score(samples)
        fallback = 0.0 if config.unscorable is None else config.unscorable
        return [r.reward if r.reward is not None else fallback for r in results]
    except Exception as exc:
        log.warning("reward failed: %s: %s", type(exc).__name__, exc, exc_info=True)
        return [0.0] * n


def iou_reward(completions: Sequence[Any], solution: Any = None, **kwargs: Any) -> list[float]:
    """VLM-R1's ``iou_reward``: IoU of the first answered box with the solution, in [0, 1].

    Boxes are mapped from the ``image_grid_thw * 14`` input to original
    pixels when ``image_grid_thw`` and ``image_path`` are given, and taken as
    original pixels otherwise (as VLM-R1 does). Only the text verifiers'
    parsing is used; no gate changes the number.
    """
    return _run(VLM_R1_IOU, completions, solution, kwargs, chain_config={"verifiers": ["schema"]})


def format_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """VLM-R1's format reward: 1.0 for ``<think>...</think><answer>`` around a readable box."""
    return _run(VLM_R1_FORMAT, completions, None, kwargs, chain_config={"verifiers": ["schema"]})


def grounding_reward(
    completions: Sequence[Any],
    solution: Any = None,
    *,
    reward_config: Any = None,
    chain_config: Any = None,
    query_templates: Any = None,
    num_generations: int | None = None,
    **kwargs: Any,
) -> list[float]:
    """The shaped groundscore reward with the default chain (or ``chain_config``).

    ``reward_config`` (a :class:`~groundscore.rewards.options.RewardConfig`, dict or
    path; default: the ``auto`` policy) and ``chain_config`` can be bound with
    ``functools.partial`` before registering the function. The referring
    expression comes from VLM-R1's ``problem`` column, else from the prompt.

    Groups: VLM-R1's trainer (TRL's layout) puts a prompt's
    ``num_generations`` completions next to each other and passes
    ``prompts``; consecutive completions with the same prompt and image form
    a group for the ``agreement`` verifier (cut at ``num_generations`` when
    bound, which also lets a verdict report a partial group).
    """
    config = load_reward_config(reward_config).model_copy(update={"unscorable": 0.0})
    return _run(config, completions, solution, kwargs, chain_config=chain_config, query_templates=query_templates,
                groups=True, num_generations=num_generations)


def make_grounding_reward(
    reward_config: Any = None,
    chain_config: Any = None,
    query_templates: Any = None,
    name: str = "groundscore",
    num_generations: int | None = None,
) -> Any:
    """:func:`grounding_reward` with its settings bound, as a named function for VLM-R1's registry.

    VLM-R1 logs each reward under ``fn.__name__``, which ``functools.partial``
    lacks; this returns a callable called ``name`` that pickles (Ray and
    multiprocessing workers receive it pickled).
    """
    return NamedGroundingReward(name, reward_config, chain_config, query_templates, num_generations)


class NamedGroundingReward:
    """:func:`grounding_reward` with bound settings and a ``__name__``; a plain object, so it pickles."""

    def __init__(self, name: str, reward_config: Any = None, chain_config: Any = None, query_templates: Any = None,
                 num_generations: int | None = None) -> None:
        self.__name__ = self.__qualname__ = name
        self.reward_config = reward_config
        self.chain_config = chain_config
        self.query_templates = query_templates
        self.num_generations = num_generations

    def __call__(self, completions: Sequence[Any], solution: Any = None, **kwargs: Any) -> list[float]:
        return grounding_reward(completions, solution, reward_config=self.reward_config, chain_config=self.chain_config,
                                query_templates=self.query_templates,
                                num_generations=getattr(self, "num_generations", None), **kwargs)


_UPSTREAM_BOX = re.compile(r"\[(\d+),\s*(\d+),\s*(\d+),\s*(\d+)]")


def upstream_answer(text: str) -> str:
    """The completion reduced to what VLM-R1's regexes read: the first ``<answer>``'s first integer box.

    ``""`` (malformed: 0) where upstream finds none, so the IoU that
    follows is upstream's for every completion.
    """
    blocks = tag_blocks(text or "", "answer", ignore_case=False)  # upstream's re.search(r"<answer>(.*?)</answer>")
    if not blocks:
        return ""
    box = _UPSTREAM_BOX.search(blocks[0].strip())
    return f"<answer>[{', '.join(box.groups())}]</answer>" if box else ""


def iou_reward_vlm_r1(completions: Sequence[Any], solution: Any = None, **kwargs: Any) -> list[float]:
    """``iou_reward`` in the ``vlm_r1`` compatibility mode: the answer read exactly as upstream reads it."""
    from groundscore.integrations.fields import completion_text

    try:
        reduced = [[{"role": "assistant", "content": upstream_answer(completion_text(c))}] for c in completions]
    except Exception:  # noqa: BLE001
        return [0.0] * (len(completions) if completions is not None else 0)
    return iou_reward(reduced, solution, **kwargs)


iou_reward_vlm_r1.__name__ = "iou_reward"  # VLM-R1 logs rewards by function name

#: ``select_reward_func`` answers for the REC task: reward name -> function.
REC_REWARDS: dict[str, Any] = {"accuracy": iou_reward, "format": format_reward}


def patch_vlm_module(module_cls: Any, rewards: dict[str, Any] | None = None, *, mode: str = "groundscore",
                     task_types: Sequence[str] = ("rec",)) -> Any:
    """Route a VLM-R1 module's ``select_reward_func`` to groundscore for the REC task.

    VLM-R1 resolves every ``--reward_funcs`` name through
    ``module_cls.select_reward_func(func, task_type)`` when its scripts pass
    ``--is_reward_customized_from_vlm_module True`` (as they ship). Names in
    ``rewards`` (default: ``accuracy`` -> :func:`iou_reward` or, with
    ``mode="vlm_r1"``, :func:`iou_reward_vlm_r1`; ``format`` ->
    :func:`format_reward`; add ``"groundscore": make_grounding_reward(...)``)
    are answered for ``task_types``; every other name or task goes to the
    module's own hook. Returns the class, patched in place (idempotent).
    """
    if mode not in ("groundscore", "vlm_r1"):
        raise ValueError(f"mode must be 'groundscore' or 'vlm_r1', got {mode!r}")
    table = dict(REC_REWARDS)
    if mode == "vlm_r1":
        table["accuracy"] = iou_reward_vlm_r1
    table.update(rewards or {})
    original = getattr(module_cls, "_groundscore_original_select", None) or module_cls.select_reward_func
    tasks = frozenset(task_types)

    def select_reward_func(func: str, task_type: str) -> Any:
        if task_type in tasks and func in table:
            return table[func]
        return original(func, task_type)

    module_cls._groundscore_original_select = staticmethod(original)
    module_cls.select_reward_func = staticmethod(select_reward_func)
    return module_cls

