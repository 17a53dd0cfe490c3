"""groundscore as a reward of a PrimeIntellect ``verifiers`` (0.4, ``verifiers.v1``) task.

verifiers 0.4 has no ``Rubric``: a task is a :class:`verifiers.v1.Task`
whose ``@vf.reward`` methods are called at the end of a rollout with the
arguments they name (``task``: the row's :class:`~verifiers.v1.TaskData`,
``trace``: the :class:`~verifiers.v1.Trace` holding the conversation) and
return a float, which ``Task.score`` records as ``trace.rewards[name]``
(weighted; ``trace.reward`` is their sum). A reward function can also be
plugged into any task through its config
(``TaskConfig(rewards={"groundscore": {"fn": "module:function"}})``).

This module gives both forms:

- :class:`GroundingData` (the row: ``solution``, ``query``, ``image_path``,
  ``image_size``, ``coords``), :class:`GroundingTaskConfig` (the reward and
  chain settings, ``--env.taskset.task.*``) and :class:`GroundingTask`, whose
  ``groundscore`` reward scores the rollout;
- :func:`groundscore_reward`, the same reward as a plain ``async`` function
  to plug into another task (its ``TaskData`` needs the same field names,
  declared or as extra fields), configured from ``GROUNDSCORE_REWARD_CONFIG``
  / ``GROUNDSCORE_CONFIG`` as the OpenRLHF reward file is.

What is read from the trace: the completion is every message of the final
branch after the last user turn (assistant turns and tool results), so
``reasoning_content`` comes back as ``<think>`` and the answer is that of the
last assistant turn with text (:func:`groundscore.integrations.fields.completion_text`);
the query is ``data.query``, else the prompt's last user text read with
VLM-R1's REC template; the image is ``data.image_path``, else the first
``image_url`` part of the prompt (a ``data:`` URL is decoded, so the CLIP
verifier sees the pixels; a local path or ``file://`` URL is passed on; other
URLs are not fetched). ``TaskData.image`` is verifiers' container image, not
the picture, hence ``image_path``.

A rollout that cannot be scored (no verifier applied, an unknown coordinate
space) has no number to give: with the default ``unscorable = None`` the
reward raises, so verifiers records the trace as failed with the reason and
leaves ``trace.rewards["groundscore"]`` None (its "scoring did not run"),
rather than a 0 that reads as a wrong answer. Set ``unscorable`` in the
reward config to pay a number instead. The outcome, reason, confidence, IoU
and format score go to ``trace.info["groundscore"]`` and ``trace.metrics``.

Unlike the other adapters this module imports verifiers (its task API is
classes to subclass); verifiers 0.4 needs Python 3.11.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import verifiers.v1 as vf
from pydantic import Field

from groundscore.integrations.fields import QueryReader, completion_text, image_fields
from groundscore.integrations.model_coords import resolve_coords
from groundscore.integrations.summary import sample_logs
from groundscore.rewards.base import RewardResult
from groundscore.rewards.rewarder import Rewarder
from groundscore.rewards.solution import parse_solution

REWARD_NAME = "groundscore"
_MAX_IMAGE_BYTES = 64 * 1024 * 1024


class UnscorableRollout(ValueError):
    """The rollout could not be scored; verifiers records it on the trace (``TaskError``)."""


class GroundingData(vf.TaskData):
    """One grounding row: the prompt (verifiers' ``prompt``) plus what the reward checks it against.

    ``solution``: the ground-truth boxes (``[x1, y1, x2, y2]``, a list of
    them, ``[]`` for "the target is absent", or None for no ground truth: the
    reward then comes from the verifiers' confidence); ``image_size``: the
    original image's ``[width, height]``; ``coords``: the space the policy
    writes boxes in (``qwen25``, ``norm1000``, ...; the task config's
    ``coords`` when unset).
    """

    solution: Any = None
    query: str | None = None
    image_path: str | None = None
    image_size: tuple[int, int] | None = None
    coords: str | None = None


class GroundingTaskConfig(vf.TaskConfig):
    """The reward's settings, configurable as ``--env.taskset.task.*``.

    ``reward``: a :class:`~groundscore.rewards.options.RewardConfig` as a mapping (or
    a TOML/JSON path); ``chain``: the verifier chain's settings (mapping or
    path); ``coords`` / ``model_family`` / ``min_pixels`` / ``max_pixels``:
    the coordinate space when the row names none (``coords="auto"`` picks it
    from the model family, see :mod:`groundscore.integrations.model_coords`);
    ``query_templates``: regexes with a ``(?P<expr>...)`` group that read the
    referring expression from the prompt.
    """

    reward: dict[str, Any] | str | None = None
    chain: dict[str, Any] | str | None = None
    coords: str | None = None
    model_family: str | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    query_templates: list[str] | None = Field(default=None)


# -- one rewarder per settings, shared by every task of a run ------------------------------------
_REWARDERS: dict[str, tuple[Rewarder, threading.Lock]] = {}
_REWARDERS_LOCK = threading.Lock()


def _rewarder(reward: Any, chain: Any) -> tuple[Rewarder, threading.Lock]:
    """Why cached: a taskset builds one task per row, and a chain (spaCy, CLIP) is too dear to build per row."""
    key = json.dumps([reward, chain], sort_keys=True, default=str)
    with _REWARDERS_LOCK:
        found = _REWARDERS.get(key)
        if found is None:
            found = _REWARDERS[key] = (Rewarder(reward, chain_config=chain), threading.Lock())
        return found


def _plain(message: Any) -> dict[str, Any]:
    return message.model_dump() if hasattr(message, "model_dump") else dict(message)


def _after_last_user(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """The rollout's own messages: everything after the last user turn of the final branch."""
    plain = [_plain(m) for m in messages]
    last_user = max((i for i, m in enumerate(plain) if m.get("role") in ("user", "system")), default=-1)
    return [m for m in plain[last_user + 1:] if m.get("role") in ("assistant", "tool")]


def _prompt_messages(data: Any, trace: Any) -> list[dict[str, Any]]:
    """The prompt as plain messages: the trace's user turns, else the row's ``prompt``."""
    messages = [_plain(m) for m in (getattr(trace, "messages", None) or [])]
    users = [m for m in messages if m.get("role") == "user"]
    if users:
        return users
    prompt = getattr(data, "prompt", None)
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [_plain(m) for m in (prompt or []) if _plain(m).get("role") == "user"]


def _image_from_url(url: str) -> Any:
    """A ``data:`` URL decoded to a PIL image; a local path or ``file://`` URL as a path; else None."""
    if url.startswith("data:"):
        try:
            from PIL import Image

            _, _, payload = url.partition(",")
            raw = base64.b64decode(payload[: _MAX_IMAGE_BYTES * 4 // 3 + 4], validate=False)
            image = Image.open(io.BytesIO(raw))
            image.load()
            return image
        except Exception:  # noqa: BLE001 - an unreadable image: the reward goes on without pixels
            return None
    if url.startswith("file://"):
        return url.removeprefix("file://")
    if "://" not in url and url:
        return url
    return None


def image_data_url(image: Any, format: str = "PNG") -> str:
    """An image (a path or a PIL image) as the ``data:`` URL of an ``image_url`` prompt part.

    Why a data URL: the model server gets the pixels without a file server,
    and the reward reads the same pixels back from the prompt.
    """
    from PIL import Image

    if isinstance(image, str | os.PathLike):
        with Image.open(image) as opened:
            return image_data_url(opened.copy(), format)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format=format)
    mime = "jpeg" if format.upper() in ("JPG", "JPEG") else format.lower()
    return f"data:image/{mime};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _prompt_image(users: Sequence[Mapping[str, Any]]) -> Any:
    for message in users:
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "image_url":
                source = part.get("image_url") or {}
                url = source.get("url") if isinstance(source, Mapping) else None
                if isinstance(url, str):
                    return _image_from_url(url)
    return None


def _field(data: Any, name: str) -> Any:
    """A row field, declared on the ``TaskData`` or carried as an extra field (``WireTaskData``)."""
    value = getattr(data, name, None)
    if value is None:
        extra = getattr(data, "model_extra", None) or {}
        value = extra.get(name)
    return value


def trace_sample(data: Any, trace: Any, *, query_reader: QueryReader | None = None,
                 default_coords: str | None = None) -> dict[str, Any]:
    """The groundscore sample of one rollout: completion, query, solution, image, coords."""
    reader = query_reader or QueryReader()
    users = _prompt_messages(data, trace)
    messages = getattr(trace, "messages", None) or []
    own = _after_last_user(messages)
    if not own:  # no branch (or a harness that keeps the prompt elsewhere): the sampled replies
        own = [_plain(m) for m in getattr(trace, "assistant_messages", [])]
    sample: dict[str, Any] = {"completion": completion_text(own) if own else ""}
    query = _field(data, "query")
    sample["query"] = reader(query) if isinstance(query, str) and query.strip() else reader(users[-1:] or "")
    solution = parse_solution(_field(data, "solution"))
    if solution is not None:
        sample["solution"] = solution
    image = _field(data, "image_path") or _prompt_image(users)
    sample.update(image_fields(image, None, _field(data, "image_size")))
    coords = _field(data, "coords") or default_coords
    if coords:
        sample["coords"] = coords
    trace_id = getattr(trace, "id", None)
    if isinstance(trace_id, str):
        sample["id"] = trace_id
    return sample


def _record(trace: Any, result: RewardResult, verifiers: Sequence[str]) -> None:
    """The why of the reward on the trace: ``info["groundscore"]`` and one metric per number."""
    try:
        trace.info[REWARD_NAME] = {"outcome": result.outcome, "reason": result.reason, "policy": result.policy,
                                   "iou": result.iou, "confidence": result.confidence, "format": result.format}
        for key, value in sample_logs(result, verifiers).items():
            trace.record_metric(f"{REWARD_NAME}/{key}", value)
    except Exception:  # noqa: BLE001 - logging must not cost the reward
        pass


async def score_trace(data: Any, trace: Any, *, reward: Any = None, chain: Any = None,
                      query_reader: QueryReader | None = None, default_coords: str | None = None) -> float:
    """Score one rollout; the chain runs in a worker thread, so the event loop stays free."""
    rewarder, lock = _rewarder(reward, chain)
    sample = trace_sample(data, trace, query_reader=query_reader, default_coords=default_coords)

    def run() -> RewardResult:
        with lock:
            return rewarder.score([sample])[0]

    result = await asyncio.to_thread(run)
    _record(trace, result, rewarder.verifier_names)
    if result.reward is None:
        raise UnscorableRollout(f"groundscore could not score this rollout: {result.reason}")
    return float(result.reward)


class GroundingTask(vf.Task[GroundingData, vf.State, GroundingTaskConfig]):
    """A verifiers task scored by groundscore: one ``groundscore`` reward (weight 1).

    Build it per row (``GroundingTask(GroundingData(prompt=..., solution=...), config)``)
    in a taskset's ``load``; change the weight through the config
    (``rewards={"groundscore": {"weight": 0.5}}``).
    """

    @vf.reward(weight=1.0)
    async def groundscore(self, task: GroundingData, trace: vf.Trace) -> float:
        config = self.config
        coords = resolve_coords(config.coords, model_family=config.model_family,
                                min_pixels=config.min_pixels, max_pixels=config.max_pixels)
        return await score_trace(task, trace, reward=config.reward, chain=config.chain,
                                 query_reader=_query_reader(config.query_templates), default_coords=coords)


_READERS: dict[tuple[str, ...], QueryReader] = {}


def _query_reader(templates: Sequence[str] | None) -> QueryReader:
    key = tuple(templates or ())
    if key not in _READERS:
        _READERS[key] = QueryReader(list(key) or None)
    return _READERS[key]


async def groundscore_reward(task: Any, trace: Any) -> float:
    """The reward as a plain function, to plug into any task's config.

    ``TaskConfig(rewards={"groundscore": {"fn": "groundscore.integrations.verifiers_env:groundscore_reward"}})``.
    Settings come from the environment: ``GROUNDSCORE_REWARD_CONFIG`` (reward
    policy, JSON or a TOML/JSON path), ``GROUNDSCORE_CONFIG`` (verifier chain),
    ``GROUNDSCORE_QUERY_TEMPLATE`` and ``GROUNDSCORE_COORDS``.
    """
    template = os.environ.get("GROUNDSCORE_QUERY_TEMPLATE") or None
    return await score_trace(
        task, trace,
        reward=os.environ.get("GROUNDSCORE_REWARD_CONFIG") or None,
        chain=os.environ.get("GROUNDSCORE_CONFIG") or None,
        query_reader=_query_reader([template] if template else None),
        default_coords=os.environ.get("GROUNDSCORE_COORDS") or None,
    )
