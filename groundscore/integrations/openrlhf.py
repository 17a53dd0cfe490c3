"""OpenRLHF: the ``reward_func(queries, prompts, labels)`` and the remote reward protocol.

OpenRLHF (0.11: ``--reward.remote_url``, ``--data.label_key``) gets rewards
in one of two ways, both with the same three lists:

- ``--reward.remote_url /path/to/file.py``: it loads the file and calls its
  ``reward_func(queries, prompts, labels)``, expecting
  ``{"rewards": tensor, "scores": tensor, "extra_logs": {name: tensor}}``.
  :mod:`groundscore.integrations.openrlhf_reward_func` is such a file.
- ``--reward.remote_url http://host:port/get_reward``: it POSTs
  ``{"query": [...], "prompts": [...], "labels": [...]}`` and expects
  ``{"rewards": [...], "scores": [...], "extra_logs": {name: [...]}}``;
  ``groundscore serve`` answers it.

``query`` is the prompt *and* the response, decoded with special tokens; for
a VLM prompt its image placeholder is expanded to one pad token per patch, so
the response is split off as :func:`split_completion` describes. The referring expression
comes from the prompt (last user turn of a chat template; VLM-R1's REC
template by default, configurable). ``labels`` (``--data.label_key``) carry the
ground truth as JSON text: a box list (``"[]"`` for "the target is absent"),
or an object ``{"solution": [...], "image": "path", "image_size": [w, h],
"coords": "qwen25", "image_grid_thw": [1, h, w], "query": "..."}``.

Groups: OpenRLHF samples ``n_samples_per_prompt`` responses per prompt but
0.11's executor calls the reward with one query at a time, so with
``group_size`` (``GROUNDSCORE_GROUP_SIZE`` for the file) the responses of one
prompt (same prompt text and label) meet in a
:class:`~groundscore.groups.gather.GroupGatherer` and are scored together:
the ``agreement`` verifier compares them and the ``consensus`` policy pays
against their consensus. A call that holds whole groups (an HTTP request
with the batch) is grouped directly, consecutive equal prompts and labels
together.

``rewards`` is the policy's reward; ``scores`` is 1.0 for a correct answer
and 0.0 otherwise with ground truth, the confidence without (what OpenRLHF's
dynamic filtering reads); ``extra_logs`` holds the confidence, IoU, format
score, outcome flags and per-verifier gate failures, one number per query.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Sequence
from typing import Any

from groundscore.groups.gather import DEFAULT_TIMEOUT, GroupGatherer
from groundscore.groups.grouping import groups_from_runs
from groundscore.integrations.fields import MAX_TEXT, QueryReader, completion_text, label_fields, strip_end_markers
from groundscore.integrations.summary import sample_logs
from groundscore.rewards.base import RewardResult
from groundscore.rewards.options import load_reward_config
from groundscore.rewards.rewarder import Rewarder

log = logging.getLogger("groundscore.integrations.openrlhf")


# A run of one media pad token: the processor expands one image placeholder into
# one token per patch, so the decoded query holds many where the prompt has one.
_PAD_RUN = re.compile(r"(<\|(?:image|video)_pad\|>|<image>|<IMG_CONTEXT>)(?:\1)+")
_ASSISTANT_HEADERS = ("<|im_start|>assistant\n", "<|im_start|>assistant", "<|assistant|>\n", "<|assistant|>",
                      "<|start_header_id|>assistant<|end_header_id|>\n\n", "<|start_header_id|>assistant<|end_header_id|>",
                      "<start_of_turn>model\n", "ASSISTANT:", "Assistant:")


def _collapse(text: str) -> str:
    return _PAD_RUN.sub(r"\1", text)


def split_completion(query: str, prompt: str | None) -> str:
    """The response part of OpenRLHF's ``query`` (prompt + response).

    Why not ``query[len(prompt):]``: for a VLM prompt OpenRLHF decodes the
    processor's token ids, where each image placeholder has become one pad
    token per patch, so the query does not start with the prompt. Both are
    compared with runs of a pad token collapsed to one; failing that, the
    response is what follows the last assistant header of the query (the
    header the prompt ends with). A query in which neither is found yields
    ``""`` when a prompt was given (scored as malformed: a response that
    cannot be told from the prompt is never paid), and the whole query when
    no prompt was given. End-of-turn tokens at the end are dropped.
    """
    text = query if isinstance(query, str) else completion_text(query)
    text = text[: MAX_TEXT * 4]
    if isinstance(prompt, str) and prompt:
        if text.startswith(prompt):
            return strip_end_markers(text[len(prompt):][:MAX_TEXT])
        collapsed_query, collapsed_prompt = _collapse(text), _collapse(prompt)
        if collapsed_query.startswith(collapsed_prompt):
            return strip_end_markers(collapsed_query[len(collapsed_prompt):][:MAX_TEXT])
        header = next((h for h in _ASSISTANT_HEADERS if prompt.rstrip().endswith(h.rstrip())), None)
        if header is not None:
            at = text.rfind(header.rstrip())
            if at >= 0:
                return strip_end_markers(text[at + len(header.rstrip()):].lstrip("\n")[:MAX_TEXT])
        return ""
    return strip_end_markers(text[:MAX_TEXT])


def build_samples(
    queries: Sequence[Any],
    prompts: Sequence[Any] | None,
    labels: Sequence[Any] | None,
    reader: QueryReader,
) -> list[dict[str, Any]]:
    """The three OpenRLHF lists -> sample dicts (never raises)."""
    samples: list[dict[str, Any]] = []
    for i, query in enumerate(queries):
        try:
            prompt = prompts[i] if prompts is not None and i < len(prompts) else None
            label = labels[i] if labels is not None and i < len(labels) else None
            sample: dict[str, Any] = {"completion": split_completion(query, prompt if isinstance(prompt, str) else None)}
            sample.update(label_fields(label))
            sample["query"] = reader(sample.get("query") or (prompt if prompt is not None else ""))
        except Exception as exc:  # noqa: BLE001
            sample = {"completion": "", "meta": {"input_error": f"{type(exc).__name__}: {exc}"}}
        samples.append(sample)
    return samples


def group_key(prompts: Sequence[Any] | None, labels: Sequence[Any] | None, i: int) -> str:
    """The responses of one prompt share it: the prompt text and the label (a digest)."""
    import hashlib

    prompt = prompts[i] if prompts is not None and i < len(prompts) else None
    label = labels[i] if labels is not None and i < len(labels) else None
    text = f"{prompt if isinstance(prompt, str) else repr(prompt)}\x1f{label if isinstance(label, str) else repr(label)}"
    return hashlib.blake2b(text.encode(errors="replace"), digest_size=12).hexdigest()


def scores_of(results: Sequence[RewardResult]) -> list[float]:
    """Correctness with ground truth (1/0), confidence without."""
    return [(1.0 if r.outcome == "correct" else 0.0) if r.grounded else float(r.confidence) for r in results]


def response_body(results: Sequence[RewardResult], verifiers: Sequence[str], unscorable: float = 0.0) -> dict[str, Any]:
    """``{"rewards", "scores", "extra_logs"}`` as plain lists (the HTTP answer)."""
    rewards = [float(r.reward) if r.reward is not None else unscorable for r in results]
    logs = [sample_logs(r, verifiers) for r in results]
    keys = list(logs[0]) if logs else list(sample_logs(RewardResult(None, "unscorable", "", ""), verifiers))
    return {
        "rewards": rewards,
        "scores": scores_of(results),
        "extra_logs": {k: [entry[k] for entry in logs] for k in keys},
    }


class OpenRLHFReward:
    """``reward_func(queries, prompts, labels)`` bound to one rewarder.

    ``unscorable`` defaults to 0.0: OpenRLHF turns rewards into tensors and
    cannot take None.
    """

    def __init__(self, config: Any = None, *, chain_config: Any = None, query_templates: Any = None,
                 rewarder: Rewarder | None = None, group_size: int | None = None,
                 group_timeout: float | None = None) -> None:
        if rewarder is None:
            reward_config = load_reward_config(config)
            if reward_config.unscorable is None:
                reward_config = reward_config.model_copy(update={"unscorable": 0.0})
            rewarder = Rewarder(reward_config, chain_config=chain_config)
        self.rewarder = rewarder
        self.reader = QueryReader(query_templates)
        self._lock = threading.Lock()
        self.group_size = int(group_size) if group_size and group_size > 1 else None
        self.gatherer: GroupGatherer[RewardResult] | None = None
        if self.group_size:
            self.gatherer = GroupGatherer(self._score_locked, self.group_size,
                                          group_timeout if group_timeout is not None else DEFAULT_TIMEOUT)

    def _score_locked(self, samples: list[dict[str, Any]]) -> list[RewardResult]:
        with self._lock:
            return self.rewarder.score(samples)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its lock (a lock cannot be pickled; Ray and multiprocessing pickle rewards)."""
        state = dict(vars(self))
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        self._lock = threading.Lock()
        if getattr(self, "gatherer", None) is not None:
            self.gatherer = GroupGatherer(self._score_locked, self.gatherer.size, self.gatherer.timeout)

    @property
    def unscorable(self) -> float:
        value = self.rewarder.config.unscorable
        return 0.0 if value is None else float(value)

    def score(self, queries: Sequence[Any], prompts: Sequence[Any] | None, labels: Sequence[Any] | None) -> list[RewardResult]:
        samples = build_samples(list(queries), prompts, labels, self.reader)
        if not self.group_size:
            return self._score_locked(samples)
        keys = [group_key(prompts, labels, i) for i in range(len(samples))]
        if self.gatherer is not None and len(samples) < self.group_size:
            # fewer than a group (OpenRLHF's one query per call): wait for the prompt's other responses
            futures = [self.gatherer.put(k, s) for k, s in zip(keys, samples, strict=True)]
            return [f.result(timeout=self.gatherer.timeout * 4 + 60) for f in futures]
        for sample, group in zip(samples, groups_from_runs(keys, self.group_size, prefix="q"), strict=True):
            sample["group"] = group
            sample["meta"] = {**(sample.get("meta") or {}), "group_size": self.group_size}
        return self._score_locked(samples)

    def body(self, queries: Sequence[Any], prompts: Sequence[Any] | None, labels: Sequence[Any] | None) -> dict[str, Any]:
        """The HTTP answer for one request (lists)."""
        return response_body(self.score(queries, prompts, labels), self.rewarder.verifier_names, self.unscorable)

    def __call__(self, queries: Sequence[Any], prompts: Sequence[Any] | None = None, labels: Sequence[Any] | None = None) -> dict[str, Any]:
        """OpenRLHF's ``reward_func``: tensors when torch is there (it always is under OpenRLHF)."""
        n = len(queries) if queries is not None else 0
        try:
            body = self.body(list(queries or []), prompts, labels)
        except Exception as exc:
            log.warning("reward failed: %s: %s", type(exc).__name__, exc, exc_info=True)
            body = response_body([RewardResult(None, "unscorable", str(exc), "")] * n, self.rewarder.verifier_names, self.unscorable)
        return as_tensors(body)


def as_tensors(body: dict[str, Any]) -> dict[str, Any]:
    """A response body as OpenRLHF's ``reward_func`` returns it: float32 tensors when torch is importable."""
    try:
        import torch
    except ImportError:
        return body
    return {
        "rewards": torch.tensor(body["rewards"], dtype=torch.float32),
        "scores": torch.tensor(body["scores"], dtype=torch.float32),
        "extra_logs": {k: torch.tensor(v, dtype=torch.float32) for k, v in body["extra_logs"].items()},
    }


def _env_number(name: str, kind: type) -> Any:
    """A number from the environment; a value that is not one is a configuration error, named."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None


_default: OpenRLHFReward | None = None
_default_lock = threading.Lock()


def default_reward() -> OpenRLHFReward:
    """The process-wide reward, configured from the environment on first use.

    ``GROUNDSCORE_REWARD_CONFIG``: reward policy (TOML/JSON path or inline
    JSON); ``GROUNDSCORE_CONFIG``: verifier chain (TOML path);
    ``GROUNDSCORE_QUERY_TEMPLATE``: a regex with ``(?P<expr>...)``;
    ``GROUNDSCORE_GROUP_SIZE``: OpenRLHF's ``n_samples_per_prompt`` (the
    responses of one prompt are then scored together), with
    ``GROUNDSCORE_GROUP_TIMEOUT`` seconds (default 30) before a partial
    group is scored as it is.
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = OpenRLHFReward(
                os.environ.get("GROUNDSCORE_REWARD_CONFIG") or None,
                chain_config=os.environ.get("GROUNDSCORE_CONFIG") or None,
                query_templates=os.environ.get("GROUNDSCORE_QUERY_TEMPLATE") or None,
                group_size=_env_number("GROUNDSCORE_GROUP_SIZE", int),
                group_timeout=_env_number("GROUNDSCORE_GROUP_TIMEOUT", float),
            )
        return _default


def reward_func(queries: Sequence[Any], prompts: Sequence[Any] | None = None, labels: Sequence[Any] | None = None) -> dict[str, Any]:
    """OpenRLHF's ``reward_func(queries, prompts, labels)`` with the default (environment) configuration."""
    return default_reward()(queries, prompts, labels)
