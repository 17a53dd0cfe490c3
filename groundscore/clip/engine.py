"""The batched CLIP pipeline: images, boxes and texts in, one probability per box out.

One call handles a whole batch: every distinct image is decoded once
(cached), every distinct region (box, jitters, whole image; per isolation
mode) is cropped once with roi_align and encoded in chunks of
``batch_size``, every distinct string is encoded once (cached). Identical
boxes, which GRPO groups produce often, cost one crop.

How the score is built (per box, per isolation mode, then averaged):

1. ``p`` = softmax over [query, distractors...] of ``logit_scale * cos`` for
   the region: the probability that the region shows the query rather than
   one of the alternatives. Averaged over the box and its jitters, so that a
   box whose score hinges on a few pixels is not trusted.
2. ``q`` = sigmoid(``logit_scale * (cos(region, query) - cos(image, query))``):
   the probability that the region matches the query better than the whole
   image does. A box on the queried object isolates it (q near 1); a box on
   something else scores below the whole image (q near 0); a box that covers
   the whole image gets 0.5.
3. ``score = p ** (1 - w) * q ** w`` with ``w = image_contrast`` (0.25 by
   default): the text-side probability, tempered by the locality check.

All raw numbers (cosines, logits, p, q per mode) are returned for ``details``.

A CUDA out-of-memory error during encoding splits the chunk in halves and
retries (down to one crop), and later chunks of the batch keep the smaller
size. ``fault_injector`` is a test hook, called with the size of every
chunk before it is encoded; tests use it to raise OutOfMemoryError, since a
real one cannot be provoked on a CPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from groundscore.clip.backend import ClipBackend
from groundscore.clip.crops import CropRequest, CropShape, Mode, clip_box, extract, jitters, region
from groundscore.clip.images import DecodedImage, ImageCache, image_key
from groundscore.clip.texts import TextCache


@dataclass
class EngineSettings:
    """The knobs of the pipeline (the verifier's options map onto these)."""

    modes: tuple[Mode, ...] = ("crop",)
    crop_shape: CropShape = "square"
    blur_context: float = 2.0
    jitter: int = 4
    jitter_fraction: float = 0.1
    image_contrast: float = 0.25
    batch_size: int = 256
    image_cache_bytes: int = 512 * 2**20
    text_cache_items: int = 8192


@dataclass
class RegionQuery:
    """One box to judge: its image, the box (original pixels) and the texts, query first."""

    image: Any
    box: tuple[float, float, float, float]
    texts: list[str]


@dataclass
class RegionScore:
    """The probability for one box and the numbers behind it; ``error`` set when it could not be scored."""

    score: float | None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class ClipEngine:
    """Owns a loaded backend and the image and text caches."""

    def __init__(self, backend: ClipBackend, settings: EngineSettings | None = None) -> None:
        self.backend = backend
        self.settings = settings or EngineSettings()
        self.images = ImageCache(backend.device, self.settings.image_cache_bytes)
        self.texts = TextCache(self._encode_texts, self.settings.text_cache_items)
        self.fault_injector: Callable[[int], None] | None = None
        self.chunk_sizes: list[int] = []  # image chunk sizes tried in the last call (for tests and logs)
        self.text_chunk_sizes: list[int] = []

    # -- encoding with out-of-memory splitting -------------------------------
    def _guarded(self, fn: Callable[[Any], torch.Tensor], items: Any, size: int) -> torch.Tensor:
        if self.fault_injector is not None:
            self.fault_injector(size)
        return fn(items)

    def _encode_split(self, fn: Callable[[Any], torch.Tensor], items: Any, n: int,
                      log: list[int]) -> tuple[torch.Tensor, int]:
        """Encode ``items`` (a tensor or a list, length ``n``); halve on OOM. Returns (embeddings, size that worked)."""
        try:
            log.append(n)
            return self._guarded(fn, items, n), n
        except torch.OutOfMemoryError:
            if n <= 1:
                raise
        # Split outside the except block: the traceback holds the failed
        # forward's tensors, and they must be freed before retrying.
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        half = n // 2
        left, size_l = self._encode_split(fn, items[:half], half, log)
        right, size_r = self._encode_split(fn, items[half:], n - half, log)
        return torch.cat([left, right]), min(size_l, size_r)

    def _encode_chunks(self, fn: Callable[[Any], torch.Tensor], items: Sequence[Any],
                       to_input: Callable[[Sequence[Any]], Any], log: list[int]) -> list[torch.Tensor]:
        """Embeddings of ``items``, ``batch_size`` at a time; a size that had to shrink on OOM stays shrunk.

        ``to_input`` turns one chunk of items into what ``fn`` takes (crop
        requests into pixels; texts stay texts).
        """
        out = []
        size = max(1, self.settings.batch_size)
        start = 0
        with torch.inference_mode():
            while start < len(items):
                part = items[start:start + size]
                emb, size = self._encode_split(fn, to_input(part), len(part), log)
                out.append(emb)
                start += len(part)
        return out

    def _encode_texts(self, texts: list[str]) -> torch.Tensor:
        return torch.cat(self._encode_chunks(self.backend.encode_texts, texts, _as_is, self.text_chunk_sizes))

    def _encode_regions(self, images: Sequence[DecodedImage], requests: Sequence[CropRequest]) -> torch.Tensor:
        b = self.backend
        out = self._encode_chunks(
            b.encode_images, requests, lambda part: extract(images, part, b.image_size, b.mean, b.std, b.dtype), self.chunk_sizes
        )
        return torch.cat(out) if out else torch.empty(0)

    # -- the batch -------------------------------------------------------------
    def score(self, queries: Sequence[RegionQuery]) -> list[RegionScore]:
        """One RegionScore per query, in order. Per-query problems become ``error``, never exceptions."""
        s = self.settings
        self.chunk_sizes, self.text_chunk_sizes = [], []
        results: list[RegionScore | None] = [None] * len(queries)
        blur = "blur" in s.modes
        decoded: list[DecodedImage] = []
        slot_of: dict[int, int | str] = {}  # id(query.image) -> slot in decoded, or the decode error
        by_key: dict[str, int] = {}
        for q in queries:
            ident = id(q.image)
            if ident in slot_of:
                continue
            key = image_key(q.image)
            if key is not None and key in by_key:
                slot_of[ident] = by_key[key]
                continue
            try:
                decoded.append(self.images.get(q.image, blur=blur, key=key))
                slot_of[ident] = len(decoded) - 1
                if key is not None:
                    by_key[key] = len(decoded) - 1
            except Exception as exc:  # noqa: BLE001 - an unreadable image is that sample's problem only
                slot_of[ident] = f"the image could not be decoded: {type(exc).__name__}: {exc}"

        requests: list[CropRequest] = []
        request_index: dict[tuple[Any, ...], int] = {}

        def want(req: CropRequest) -> int:
            key = req.key()
            if key not in request_index:
                request_index[key] = len(requests)
                requests.append(req)
            return request_index[key]

        plans: list[dict[str, Any] | None] = []
        for qi, q in enumerate(queries):
            slot = slot_of[id(q.image)]
            if isinstance(slot, str):
                results[qi] = RegionScore(None, slot)
                plans.append(None)
                continue
            width, height = decoded[slot].size
            box = clip_box(q.box, width, height)
            if box is None:
                results[qi] = RegionScore(None, "the box lies outside the image or is empty",
                                          {"box": list(q.box), "image_size": [width, height]})
                plans.append(None)
                continue
            whole = want(CropRequest(slot, region((0.0, 0.0, float(width), float(height)), width, height, "center")))
            boxes = [box, *jitters(box, s.jitter, s.jitter_fraction, width, height)]
            per_mode: dict[str, list[int]] = {}
            for mode in s.modes:
                if mode == "crop":
                    per_mode[mode] = [want(CropRequest(slot, region(b, width, height, s.crop_shape))) for b in boxes]
                else:
                    per_mode[mode] = [
                        want(CropRequest(slot, region(b, width, height, "square", s.blur_context), b)) for b in boxes
                    ]
            plans.append({"whole": whole, "modes": per_mode, "box": box, "size": (width, height)})

        if not requests:
            return [r if r is not None else RegionScore(None, "nothing to score") for r in results]
        image_emb = self._encode_regions(decoded, requests)
        strings = list(dict.fromkeys(t for q, p in zip(queries, plans, strict=True) if p is not None for t in q.texts))
        text_emb = self.texts.embed(strings)
        text_row = {t: i for i, t in enumerate(strings)}
        cos = (image_emb @ text_emb.T).float().cpu().numpy().astype(np.float64)
        scale = float(self.backend.logit_scale)
        for qi, (q, plan) in enumerate(zip(queries, plans, strict=True)):
            if plan is None:
                continue
            results[qi] = _combine(q, plan, cos, text_row, scale, s.image_contrast)
        return [r if r is not None else RegionScore(None, "not scored") for r in results]

    def clear(self) -> None:
        self.images.clear()
        self.texts.clear()


def _softmax_first(logits: np.ndarray) -> np.ndarray:
    """Softmax probability of column 0, row by row."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e[..., 0] / e.sum(axis=-1)


def _combine(q: RegionQuery, plan: dict[str, Any], cos: np.ndarray, text_row: dict[str, int],
             scale: float, contrast: float) -> RegionScore:
    cols = [text_row[t] for t in q.texts]
    whole = cos[plan["whole"], cols]
    p_image = float(_softmax_first(scale * whole))
    by_mode: dict[str, dict[str, Any]] = {}
    ps, qs = [], []
    for mode, rows in plan["modes"].items():
        sims = cos[np.ix_(rows, cols)]  # (1 + jitters, texts)
        probs = _softmax_first(scale * sims)
        local = 1.0 / (1.0 + np.exp(-scale * (sims[:, 0] - whole[0])))
        p_mode, q_mode = float(probs.mean()), float(local.mean())
        ps.append(p_mode)
        qs.append(q_mode)
        by_mode[mode] = {
            "p": round(p_mode, 4), "p_box": round(float(probs[0]), 4),
            "p_jitter_min": round(float(probs.min()), 4), "q_local": round(q_mode, 4),
            "cos_query": round(float(sims[0, 0]), 4),
            "cos_texts": [round(float(v), 4) for v in sims[0]],
        }
    p = sum(ps) / len(ps)
    local_q = sum(qs) / len(qs)
    w = min(1.0, max(0.0, contrast))
    score = math.exp((1 - w) * math.log(max(p, 1e-12)) + w * math.log(max(local_q, 1e-12)))
    details = {
        "p_region": round(p, 4), "q_local": round(local_q, 4), "p_image": round(p_image, 4),
        "cos_query_image": round(float(whole[0]), 4), "logit_scale": round(scale, 3),
        "texts": list(q.texts), "box": [round(v, 1) for v in plan["box"]], "modes": by_mode,
    }
    return RegionScore(score, None, details)


def _as_is(items: Sequence[Any]) -> Sequence[Any]:
    return items
