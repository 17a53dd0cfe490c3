"""Groups: answers to the same question, compared with each other.

Why: without pixels nothing sees a well-labelled box on the wrong object,
but answers rarely come alone. GRPO samples 8-16 answers per prompt, and at
inference an application can sample k. Whether they agree is evidence of
whether each is right (the ``agreement`` verifier), and their consensus can
serve as pseudo ground truth (the ``consensus`` reward policy).

A group is a string on :attr:`groundscore.model.Sample.group`. With
``ChainConfig.groups = "derive"`` a sample without one is grouped with the
samples of the same batch that show the same image and query. The chain
computes the group index once per batch (:func:`attach_groups`) and keeps it
in every context's cache, so that a verifier sees every member of a group
that is in its batch; a batch that holds only part of a group is visible
through ``group_seen`` (and ``group_size``, when the caller said how large
the group is with ``meta["group_size"]``).

Trainers say which completions belong together in different ways; the
helpers here turn each into group ids:

- TRL (``GRPOTrainer``) and VLM-R1: the completions of one prompt are
  consecutive, ``num_generations`` of them, but one process's slice need not
  start at a group boundary: :func:`groups_from_runs` (consecutive equal
  prompts), :func:`groups_from_consecutive` when only the count is known.
- verl: ``non_tensor_batch["uid"]``, one uid per prompt repeated for each of
  its ``n`` rollouts: :func:`groups_from_ids`.
- OpenRLHF 0.11: ``n_samples_per_prompt`` samples per prompt, but its
  executor calls the reward one sample at a time, so the members meet in a
  :class:`groundscore.groups.gather.GroupGatherer` keyed by prompt and label.
- verl 0.9: one call per response too; ``uid`` (one per prompt) keys the
  gatherer.
- anything else (a server request, a list of prompts): :func:`groups_from_prompts`.

:func:`merge_logs` reads several evaluation logs answering the same
questions (records matched by image and question) into one grouped list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from groundscore.model import Sample, Verdict

GroupMode = Literal["given", "derive"]

GROUP_KEY = "group"
"""Where a context's group id lives in ``Context.cache`` (absent: ungrouped)."""
GROUP_INDEX_KEY = "group.index"
"""The batch's group index in ``Context.cache``: group id -> the member contexts, in batch order."""
VERDICTS_KEY = "chain.verdicts"
"""Earlier verifiers' verdicts of this sample in ``Context.cache`` (name -> Verdict), for verifiers that read them."""


# -- deriving and assigning ------------------------------------------------------------
def image_identity(sample: Sample) -> str | None:
    """A string that is equal for the same image: its path, a digest of its bytes, or the object's id.

    ``meta["image"]`` (what a VLM-R1 log names the image by when it is not on
    this machine) counts when ``image`` is absent. None: no image at all.
    """
    image = sample.image
    if image is None:
        named = sample.meta.get("image") if sample.meta else None
        return f"path:{named}" if isinstance(named, str) and named else None
    if isinstance(image, str | Path):
        return f"path:{image}"
    if isinstance(image, bytes | bytearray):
        return "bytes:" + hashlib.blake2b(bytes(image), digest_size=12).hexdigest()
    return f"object:{id(image)}"  # a PIL image: the same object within one batch


def derive_group(sample: Sample) -> str:
    """The group a sample belongs to when none is given: (image identity, query)."""
    return f"{image_identity(sample) or 'no-image'}\x1f{sample.query.strip()}"


def assign_groups(samples: Sequence[Sample], mode: GroupMode | str = "given") -> list[str | None]:
    """One group id (or None) per sample: ``given`` keeps ``Sample.group``; ``derive`` fills the missing ones."""
    if mode not in ("given", "derive"):
        raise ValueError(f"groups must be 'given' or 'derive', got {mode!r}")
    out: list[str | None] = []
    for sample in samples:
        group = sample.group
        if group is None and mode == "derive":
            group = derive_group(sample)
        out.append(group)
    return out


def attach_groups(contexts: Sequence[Any], mode: GroupMode | str = "given") -> dict[str, list[Any]] | None:
    """Compute the batch's group index once and store it on every grouped context.

    Returns the index (group id -> member contexts, in batch order), or None
    when no sample of the batch has a group: then nothing is stored and
    nothing costs anything.
    """
    keys = assign_groups([c.sample for c in contexts], mode)
    if all(k is None for k in keys):
        return None
    index: dict[str, list[Any]] = {}
    for ctx, key in zip(contexts, keys, strict=True):
        if key is None:
            continue
        index.setdefault(key, []).append(ctx)
    for ctx, key in zip(contexts, keys, strict=True):
        if key is not None:
            cache = ctx.cache
            cache[GROUP_KEY] = key
            cache[GROUP_INDEX_KEY] = index
    return index


def group_of(ctx: Any) -> str | None:
    """The context's group id, or None (ungrouped)."""
    cache = ctx._cache if hasattr(ctx, "_cache") else ctx.cache
    return cache.get(GROUP_KEY) if cache else None


def members_of(ctx: Any) -> list[Any]:
    """Every context of the batch in ``ctx``'s group (``ctx`` included), in batch order; ``[ctx]`` if ungrouped."""
    cache = ctx._cache if hasattr(ctx, "_cache") else ctx.cache
    if not cache or GROUP_KEY not in cache:
        return [ctx]
    return list(cache[GROUP_INDEX_KEY].get(cache[GROUP_KEY], [ctx]))


def expected_size(ctx: Any) -> int | None:
    """The group's full size when the caller said it (``meta["group_size"]``), else None."""
    value = ctx.sample.meta.get("group_size") if ctx.sample.meta else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


# -- earlier verdicts -------------------------------------------------------------------
def record_verdicts(contexts: Sequence[Any], name: str, verdicts: Sequence[Verdict]) -> None:
    """Keep one verifier's verdicts on the contexts, for the verifiers after it that read them."""
    for ctx, verdict in zip(contexts, verdicts, strict=False):
        ctx.cache.setdefault(VERDICTS_KEY, {})[name] = verdict


def prior_verdicts(ctx: Any) -> dict[str, Verdict]:
    """The verdicts earlier verifiers of the chain gave this sample (empty outside a chain)."""
    cache = ctx._cache if hasattr(ctx, "_cache") else ctx.cache
    return dict(cache.get(VERDICTS_KEY, {})) if cache else {}


# -- what trainers give -------------------------------------------------------------------
def groups_from_consecutive(n: int, k: int, prefix: str = "g") -> list[str]:
    """Group ids for ``n`` completions where each run of ``k`` consecutive ones answers one prompt.

    TRL's ``GRPOTrainer`` (``k = num_generations``) and OpenRLHF
    (``k = n_samples_per_prompt``) lay batches out this way. A last run
    shorter than ``k`` is a group of its own.
    """
    if k <= 0:
        raise ValueError(f"k (completions per prompt) must be positive, got {k}")
    return [f"{prefix}{i // k}" for i in range(max(0, n))]


def groups_from_runs(keys: Iterable[Hashable], k: int | None = None, prefix: str = "r") -> list[str]:
    """Group ids for completions where each prompt's completions are consecutive: equal neighbours, one group.

    Why not :func:`groups_from_consecutive`: a trainer process does not
    always see whole groups from the start. TRL's ``GRPOTrainer`` splits the
    generation batch across processes without aligning to
    ``num_generations`` (with 3 completions per device and 2 per prompt, the
    second device gets ``1 2 2``), so position alone would group the wrong
    completions. Consecutive completions with the same prompt (and image)
    are one group here, whatever the offset; a run longer than ``k``
    (the same prompt drawn twice in a row) is cut into groups of ``k``.
    """
    if k is not None and k <= 0:
        raise ValueError(f"k (completions per prompt) must be positive, got {k}")
    out: list[str] = []
    run, length, previous = -1, 0, object()
    for key in keys:
        if key != previous or (k is not None and length >= k):
            run, length, previous = run + 1, 0, key
        length += 1
        out.append(f"{prefix}{run}")
    return out


def groups_from_ids(ids: Iterable[Hashable | None], prefix: str = "") -> list[str | None]:
    """Group ids from per-completion prompt ids (verl's ``uid``); None stays ungrouped."""
    return [None if i is None else f"{prefix}{i}" for i in ids]


def groups_from_prompts(prompts: Iterable[Any], images: Iterable[Any] | None = None) -> list[str]:
    """Group ids from the prompt (and image) of each completion: equal prompt and image, same group."""
    prompts = list(prompts)
    imgs = list(images) if images is not None else [None] * len(prompts)
    out = []
    for prompt, image in zip(prompts, imgs, strict=False):
        ident = image_identity(Sample(image=image)) if image is not None else "no-image"
        text = prompt if isinstance(prompt, str) else repr(prompt)
        out.append(hashlib.blake2b(f"{ident}\x1f{text}".encode(errors="replace"), digest_size=10).hexdigest())
    return out


# -- several logs answering the same questions ----------------------------------------------
def question_key(sample: Sample) -> tuple[str, str]:
    """What identifies a question across logs: the image name and the question text."""
    meta = sample.meta or {}
    image = meta.get("image") if isinstance(meta.get("image"), str) else None
    if image is None:
        image = str(sample.image) if isinstance(sample.image, str | Path) else ""
    question = meta.get("question") if isinstance(meta.get("question"), str) else sample.query
    return image, (question or "").strip()


def merge_logs(
    paths: Sequence[str | Path],
    source: str | None = None,
    image_root: str | Path | None = None,
    *,
    require_all: bool = True,
    strict: bool = False,
) -> list[Sample]:
    """Samples of several logs answering the same questions, grouped, each group's members together.

    Records are matched by (image, question); a question asked twice in one
    log is matched occurrence by occurrence. Each sample gets ``group`` (the
    question), ``meta["group_size"]`` (how many logs answered it) and
    ``meta["log"]`` (the file it came from). With ``require_all`` only
    questions that every log answers are kept, so every group has one
    member per log. Order: questions in the order of the first log, members
    in the order of ``paths``. ``strict``: as for
    :func:`~groundscore.inputs.samples.iter_samples`.
    """
    from groundscore.inputs.samples import iter_samples

    if not paths:
        return []
    per_log: list[dict[tuple[str, str, int], Sample]] = []
    order: list[tuple[str, str, int]] = []
    for n, path in enumerate(paths):
        seen: dict[tuple[str, str], int] = {}
        table: dict[tuple[str, str, int], Sample] = {}
        for sample in iter_samples(path, source, image_root, strict=strict):
            if sample.meta.get("input_error"):
                continue
            image, question = question_key(sample)
            k = seen.get((image, question), 0)
            seen[(image, question)] = k + 1
            key = (image, question, k)
            table[key] = sample
            if n == 0:
                order.append(key)
        per_log.append(table)
    if not require_all:
        known = set(order)
        for table in per_log[1:]:
            for key in table:
                if key not in known:
                    known.add(key)
                    order.append(key)
    out: list[Sample] = []
    for key in order:
        members = [(Path(p).name, t[key]) for p, t in zip(paths, per_log, strict=True) if key in t]
        if require_all and len(members) < len(per_log):
            continue
        group = f"{key[0]}\x1f{key[1]}\x1f{key[2]}"
        for name, sample in members:
            meta = {**sample.meta, "group_size": len(members), "log": name}
            out.append(sample.model_copy(update={"group": group, "meta": meta}))
    return out
