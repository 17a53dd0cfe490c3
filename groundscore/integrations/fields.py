"""Trainer fields -> groundscore sample fields, shared by every integration.

Each trainer hands over the same things in its own shape: a completion as a
string or as chat messages, a prompt that wraps the referring expression in a
template (and maybe a chat template), ground truth as a box list or as text,
the image as a path, a PIL image or only its size, and for Qwen2.5-VL the
``image_grid_thw`` of the resized input. These functions read all of them and
never raise: what cannot be read is left out, and the reward says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from groundscore.inputs.prompts import REC_TEMPLATES, find_expression
from groundscore.rewards.solution import parse_solution

# Qwen2-VL / Qwen2.5-VL: one grid cell is a 14-pixel patch (VLM-R1 multiplies by 14).
QWEN_PATCH_SIZE = 14
MAX_TEXT = _MAX_TEXT = 200_000  # characters of any one text field read; longer text is cut
_CHAT_TOKEN = re.compile(r"<\|[^|<>]{1,40}\|>")  # bounded: at most 40 steps from each "<|"
_VISION_START, _VISION_END = "<|vision_start|>", "<|vision_end|>"
_END_MARKERS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "</s>", "<|end|>")
_MAX_END_MARKERS = 32


def content_text(content: Any) -> str:
    """Text of a chat message's ``content``: a string, or a list of typed blocks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        if content.get("type", "text") == "text":
            return str(content.get("text", content.get("content", "")) or "")
        return ""
    if isinstance(content, Sequence) and not isinstance(content, bytes | bytearray):
        return "".join(content_text(c) for c in content)
    if isinstance(content, bytes | bytearray):
        return bytes(content).decode("utf-8", errors="replace")
    return str(content)


_REASONING_KEYS = ("reasoning_content", "reasoning", "thinking")


def _reasoning(message: Mapping[str, Any]) -> str:
    """The thinking a chat template moved out of ``content`` (TRL's ``reasoning_content``)."""
    for key in _REASONING_KEYS:
        value = message.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return ""


def completion_text(completion: Any) -> str:
    """A completion as text: a string, or conversational ``[{"role": "assistant", "content": ...}]``.

    Why the thinking is put back: when a tokenizer has a response template
    (TRL adds one for Qwen2.5/Qwen3/Qwen3-VL when tools are passed) TRL
    parses the thinking into ``reasoning_content`` and leaves only the answer
    in ``content``; the verifiers read ``<think>`` from the text, so the
    thinking comes back as ``<think>...</think>`` before the answer (unless
    the content already has one). With tool turns (``role: tool`` messages,
    or assistant messages carrying ``tool_calls``) the answer is the last
    assistant message with text, and the thinking is that of every assistant
    turn; otherwise the assistant messages are joined (TRL and VLM-R1 hand
    one). Anything unreadable becomes ``""``.
    """
    try:
        if isinstance(completion, str):
            return completion[:_MAX_TEXT]
        if isinstance(completion, Mapping):
            completion = [completion]
        if isinstance(completion, Sequence) and not isinstance(completion, bytes | bytearray):
            messages = [m for m in completion if isinstance(m, Mapping)]
            if not messages:
                return content_text(completion)[:_MAX_TEXT]
            assistant = [m for m in messages if m.get("role", "assistant") == "assistant"] or messages
            thinking = "\n".join(t for t in (_reasoning(m) for m in assistant) if t)
            tools = any(m.get("role") == "tool" or m.get("tool_calls") for m in messages)
            if tools:
                texts = [content_text(m.get("content")) for m in assistant]
                answer = next((t for t in reversed(texts) if t.strip()), "")
            else:
                answer = "".join(content_text(m.get("content")) for m in assistant)
            if thinking and "<think>" not in answer.lower():
                answer = f"<think>{thinking}</think>{answer}"
            return answer[:_MAX_TEXT]
        return content_text(completion)[:_MAX_TEXT]
    except Exception:  # noqa: BLE001 - unreadable completion: empty text, scored as malformed
        return ""


def prompt_text(prompt: Any) -> str:
    """The user's text of a prompt: a string, or the last user message of a conversation."""
    try:
        if isinstance(prompt, str):
            return prompt[:_MAX_TEXT]
        if isinstance(prompt, Sequence) and not isinstance(prompt, bytes | bytearray):
            messages = [m for m in prompt if isinstance(m, Mapping)]
            users = [m for m in messages if m.get("role") == "user"] or messages
            if users:
                return content_text(users[-1].get("content"))[:_MAX_TEXT]
        return content_text(prompt)[:_MAX_TEXT]
    except Exception:  # noqa: BLE001
        return ""


def strip_chat_template(text: str) -> str:
    """The last user turn of a chat-templated prompt, without special tokens.

    ``<|im_start|>user\\n<|vision_start|>...<|vision_end|>Locate ...<|im_end|>``
    becomes ``Locate ...``. Text without a chat template is returned as is.
    """
    if "<|" not in text:
        return text
    marker = text.rfind("<|im_start|>user")
    if marker >= 0:
        text = text[marker + len("<|im_start|>user") :]
        end = text.find("<|im_end|>")
        if end >= 0:
            text = text[:end]
    text = drop_vision_spans(text)
    return _CHAT_TOKEN.sub(" ", text).strip()


def drop_vision_spans(text: str) -> str:
    """Each ``<|vision_start|>...<|vision_end|>`` replaced by one space, in one pass.

    Why not ``re.sub(r"<\\|vision_start\\|>.*?<\\|vision_end\\|>")``: on a prompt of
    unclosed starts the lazy scan runs to the end from every start (quadratic;
    7.5 s for 200 KB). Here, once a start has no end after it, no later one
    can have one either, so the scan stops.
    """
    parts: list[str] = []
    pos = 0
    while (start := text.find(_VISION_START, pos)) != -1:
        end = text.find(_VISION_END, start + len(_VISION_START))
        if end == -1:
            break
        parts.append(text[pos:start])
        parts.append(" ")
        pos = end + len(_VISION_END)
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


def strip_end_markers(text: str) -> str:
    """Drop end-of-turn tokens a decoder kept (``<|im_end|>``, ``</s>``, ...).

    The end moves left by index, and the text is cut once: slicing after
    each marker copied the text once per marker (quadratic on a run of them).
    A decoder keeps one or two; at most :data:`_MAX_END_MARKERS` are dropped.
    """
    end = _rstrip_end(text, len(text))
    changed = True
    for _ in range(_MAX_END_MARKERS):
        if not changed:
            break
        changed = False
        for marker in _END_MARKERS:
            if text.endswith(marker, 0, end):
                end = _rstrip_end(text, end - len(marker))
                changed = True
    return text[:end]


def _rstrip_end(text: str, end: int) -> int:
    """Where ``text[:end].rstrip()`` ends, without copying the text."""
    while end > 0 and text[end - 1].isspace():
        end -= 1
    return end


class QueryReader:
    """Prompt -> referring expression, with configurable templates.

    ``templates`` are regular expressions with a named group ``expr``; the
    default is VLM-R1's REC template and its variants
    (:data:`groundscore.inputs.prompts.REC_TEMPLATES`). A prompt matching none is
    used whole.
    """

    def __init__(self, templates: str | Sequence[str] | None = None) -> None:
        if isinstance(templates, str):
            templates = [templates]
        patterns = list(templates) if templates else list(REC_TEMPLATES)
        self.patterns = [re.compile(p, re.IGNORECASE | re.DOTALL) for p in patterns]
        bad = [p.pattern for p in self.patterns if "expr" not in p.groupindex]
        if bad:
            raise ValueError(f"query templates need a named group (?P<expr>...): {bad}")

    def __call__(self, prompt: Any) -> str:
        """The expression a template finds, else the prompt whole (up to ``MAX_TEXT``).

        The whole prompt, not its first 4,096 characters: the sample then
        carries a ``query.too_long`` warning saying the verifiers read only
        those, instead of a query that was cut without a word.
        """
        try:
            text = strip_chat_template(prompt_text(prompt))
            expr = find_expression(text, self.patterns)
            return expr if expr is not None else text.strip()
        except Exception:  # noqa: BLE001
            return ""


def input_space(width: int, height: int) -> str:
    """The name of the space of a resized model input ``width x height`` pixels.

    Boxes in it map to original pixels by ``x * W / width``, ``y * H / height``:
    what VLM-R1 does with ``image_grid_thw * 14`` and the original image size.
    The built-in ``input`` space family resolves the name; nothing is
    registered at run time.
    """
    return f"input:{int(width)}x{int(height)}"


def grid_space(image_grid_thw: Any, patch_size: int = QWEN_PATCH_SIZE) -> str | None:
    """The coordinate space named by a Qwen2-VL ``image_grid_thw`` row ``[t, h, w]``."""
    try:
        grid = image_grid_thw.tolist() if hasattr(image_grid_thw, "tolist") else list(image_grid_thw)
        if grid and isinstance(grid[0], list | tuple):  # one row per image: the first image
            grid = list(grid[0])
        _, gh, gw = (int(v) for v in grid[:3])
        if gh <= 0 or gw <= 0 or gh > 10_000 or gw > 10_000:
            return None
        return input_space(gw * patch_size, gh * patch_size)
    except Exception:  # noqa: BLE001
        return None


def first_path(value: Any) -> Any:
    """VLM-R1 passes ``image_path`` as a list of paths per sample; take the first."""
    if isinstance(value, list | tuple):
        return value[0] if value else None
    return value


def image_fields(image: Any = None, image_path: Any = None, image_size: Any = None) -> dict[str, Any]:
    """``image`` / ``image_size`` for a Sample from whatever the trainer has."""
    out: dict[str, Any] = {}
    size = _size(image_size)
    if size is not None:
        out["image_size"] = size
    candidate = first_path(image) if image is not None else first_path(image_path)
    if isinstance(candidate, Path):
        candidate = str(candidate)
    if isinstance(candidate, str | bytes) and candidate:
        out["image"] = candidate
    elif candidate is not None and hasattr(candidate, "size") and hasattr(candidate, "mode"):
        # A PIL image goes to the chain as it is: the CLIP verifier needs its pixels.
        out["image"] = candidate
        size = _size(getattr(candidate, "size", None))
        if size is not None:
            out.setdefault("image_size", size)
    elif isinstance(candidate, Mapping):  # datasets' {"bytes": ..., "path": ...}
        inner = candidate.get("path") or candidate.get("bytes")
        if inner:
            out["image"] = inner
    return out


def _size(value: Any) -> tuple[int, int] | None:
    try:
        if value is None:
            return None
        if isinstance(value, Mapping):
            value = (value.get("width"), value.get("height"))
        w, h = (int(v) for v in list(value)[:2])
        return (w, h) if w > 0 and h > 0 else None
    except Exception:  # noqa: BLE001
        return None


def label_fields(label: Any) -> dict[str, Any]:
    """A ground-truth label (JSON text or object) -> sample fields.

    Accepted: a box list (``[x1, y1, x2, y2]`` or a list of them; ``[]`` for
    "the target is absent"), VLM-R1's ``<answer>[...]</answer>`` text, or an
    object ``{"solution": ..., "image": path, "image_size": [w, h],
    "coords": "qwen25", "image_grid_thw": [1, h, w], "query": "..."}``
    (every key optional). No or unreadable ground truth gives no
    ``solution`` key, and the reward falls back to the confidence.
    """
    value = label
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return {}
        if text[:1] in "[{":
            try:
                value = json.loads(text[:_MAX_TEXT])
            except ValueError:
                value = text
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        if any(key in value for key in ("solution", "boxes", "bbox_2d", "bbox", "ambiguous", "targets")):
            solution = parse_solution(value)
            if solution is not None:
                out["solution"] = solution
        out.update(image_fields(value.get("image"), value.get("image_path"), value.get("image_size")))
        coords = value.get("coords")
        if isinstance(coords, str) and coords:
            out["coords"] = coords
        if value.get("image_grid_thw") is not None:
            space = grid_space(value["image_grid_thw"])
            if space:
                out["coords"] = space
        for key in ("query", "expression", "problem"):
            if isinstance(value.get(key), str) and value[key].strip():
                out["query"] = value[key]
                break
        return out
    solution = parse_solution(value)
    return {"solution": solution} if solution is not None else {}


def column(kwargs: Mapping[str, Any], name: str, index: int) -> Any:
    """``kwargs[name][index]`` when the trainer passed that column, else None."""
    values = kwargs.get(name)
    if values is None:
        return None
    try:
        return values[index]
    except (IndexError, KeyError, TypeError):
        return None


def samples_from_columns(
    completions: Sequence[Any],
    prompts: Sequence[Any] | None,
    kwargs: Mapping[str, Any],
    query_reader: QueryReader,
    *,
    query_column: str | None = None,
    default_coords: str | None = None,
) -> list[dict[str, Any]]:
    """TRL / VLM-R1 style columns (one list entry per completion) -> sample dicts.

    Read per completion: the referring expression (``query_column`` when given
    and present, else the prompt through ``query_reader``), ``solution``,
    ``image`` / ``image_path`` / ``image_size``, ``coords``, and
    ``image_grid_thw`` (which names the resized input space, as VLM-R1 uses it).
    """
    samples: list[dict[str, Any]] = []
    for i, completion in enumerate(completions):
        try:
            sample = _sample_from_columns(i, completion, prompts, kwargs, query_reader, query_column, default_coords)
        except Exception as exc:  # noqa: BLE001 - one odd row must not cost the batch
            sample = {"completion": completion_text(completion), "meta": {"input_error": f"{type(exc).__name__}: {exc}"}}
        samples.append(sample)
    return samples


def _sample_from_columns(
    i: int,
    completion: Any,
    prompts: Sequence[Any] | None,
    kwargs: Mapping[str, Any],
    query_reader: QueryReader,
    query_column: str | None,
    default_coords: str | None,
) -> dict[str, Any]:
    sample: dict[str, Any] = {"completion": completion_text(completion)}
    query = column(kwargs, query_column, i) if query_column else None
    if query is None and prompts is not None and i < len(prompts):
        query = query_reader(prompts[i])
    elif query is not None:
        query = query_reader(query)
    sample["query"] = query or ""
    if "solution" in kwargs:
        solution = parse_solution(column(kwargs, "solution", i))
        if solution is not None:
            sample["solution"] = solution
    image = column(kwargs, "image", i)
    if image is None:
        images = column(kwargs, "images", i)
        image = first_path(images) if isinstance(images, list | tuple) else images
    sample.update(image_fields(image, column(kwargs, "image_path", i), column(kwargs, "image_size", i)))
    coords = column(kwargs, "coords", i) or default_coords
    grid = column(kwargs, "image_grid_thw", i)
    if grid is not None:
        coords = grid_space(grid) or coords
    if coords:
        sample["coords"] = coords
    return sample


def _image_key(sample: Mapping[str, Any]) -> Any:
    """What tells two completions' images apart cheaply: the path or bytes, or a PIL image's size and mode.

    A PIL image is not keyed by identity: TRL decodes each repeated row
    afresh, so the completions of one prompt hold equal images in different
    objects.
    """
    image = sample.get("image")
    if isinstance(image, str | bytes):
        return image if len(image) < 4096 else hash(image)
    if image is not None and hasattr(image, "size") and hasattr(image, "mode"):
        return ("pil", tuple(image.size), image.mode)
    return sample.get("image_size")


def add_groups(
    samples: list[dict[str, Any]],
    prompts: Sequence[Any] | None,
    kwargs: Mapping[str, Any],
    num_generations: int | None = None,
    group_column: str = "group",
) -> list[dict[str, Any]]:
    """Give TRL / VLM-R1 sample dicts their group, so the agreement verifier compares a prompt's completions.

    In order: a ``group_column`` dataset column when the trainer passes one;
    else consecutive completions with the same prompt text and image form a
    group (:func:`groundscore.groups.grouping.groups_from_runs`, runs cut at
    ``num_generations``); else, with only ``num_generations``, runs of that
    many. ``num_generations`` also goes to ``meta["group_size"]``, so a
    group that a process sees only part of says so in its verdict. Samples
    are changed in place and returned; nothing is done when none of this is
    known.
    """
    from groundscore.groups.grouping import groups_from_consecutive, groups_from_runs

    n = len(samples)
    groups: list[Any] | None = None
    given = kwargs.get(group_column) if group_column else None
    if given is not None:
        try:
            groups = [None if g is None else str(g) for g in (given[i] if i < len(given) else None for i in range(n))]
        except TypeError:
            groups = None
    if groups is None and prompts is not None and len(prompts) == n:
        groups = groups_from_runs([(prompt_text(p), _image_key(s)) for p, s in zip(prompts, samples, strict=True)],
                                  num_generations)
    if groups is None and num_generations:
        groups = groups_from_consecutive(n, num_generations)
    if groups is None:
        return samples
    for sample, group in zip(samples, groups, strict=True):
        if group is None or sample.get("meta", {}).get("input_error"):
            continue
        sample["group"] = group
        if num_generations:
            sample["meta"] = {**sample.get("meta", {}), "group_size": int(num_generations)}
    return samples
