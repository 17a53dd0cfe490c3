"""The ``clip`` verifier: does the image region under the box show the query?

Text alone cannot tell whether a box sits on the right object: after RL most
labels copy the query. This verifier looks at the pixels. For every box it
asks a CLIP-style model how likely the region shows the referring expression
rather than the plausible alternatives: the answer's label when it says
something else, the other objects named in the ``<think>`` text, and a few
generic captions. The probability is tempered by whether the region matches
the query better than the whole image does (see
:mod:`groundscore.clip.engine` for the exact formula); all raw numbers are in
``details``.

Offline first: with no weights on disk, :meth:`ClipVerifier.unavailable`
says so with the exact commands to fetch them, without importing torch, and
the chain gives None verdicts. Nothing here ever downloads unless
``allow_download = true``.

Verdict codes: ``ok`` (score >= 0.5), ``clip.mismatch`` (score < 0.5),
``skipped.no_image``, ``skipped.coords_unknown``, ``skipped.no_box``,
``skipped.no_query``, ``skipped.box_invalid``, ``skipped.image_unreadable``,
``skipped.unavailable``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from groundscore.clip.backend import BackendSpec, Precision
from groundscore.clip.distractors import GENERIC_CAPTIONS, distractors
from groundscore.model import Verdict
from groundscore.plugins.hookspecs import hookimpl
from groundscore.verifiers.base import Context, Verifier, VerifierOptions

log = logging.getLogger("groundscore.clip")


class ClipOptions(VerifierOptions):
    backend: str = Field(default="open_clip", description="Registered clip backend: 'open_clip' or 'transformers' (or a plugin's).")
    model: str = Field(default="ViT-B-32", description="open_clip model name, 'local-dir:PATH', 'hf-hub:ORG/REPO'; for transformers a folder or hub id.")
    pretrained: str | None = Field(default="laion2b_s34b_b79k", description="open_clip pretrained tag, checkpoint file, or 'random'.")
    model_config_path: str | None = Field(default=None, description="An open_clip model config JSON for a custom architecture.")
    cache_dir: str | None = Field(default=None, description="Hugging Face hub cache to look in.")
    allow_download: bool = Field(default=False, description="Allow downloading missing weights (never by default).")
    device: str = Field(default="auto", description="'auto', 'cpu', 'cuda', 'cuda:N'.")
    precision: Precision = Field(default="auto", description="'auto' = fp16 on CUDA, fp32 on CPU.")
    template: str = Field(default="a photo of {}.", description="Prompt template applied to the query and every distractor.")
    modes: list[Literal["crop", "blur"]] = Field(default_factory=lambda: ["crop"], min_length=1, description="Isolation modes; several are averaged.")
    crop_shape: Literal["square", "squash", "center"] = Field(default="square", description="Which square region the model sees for a box.")
    blur_context: float = Field(default=2.0, ge=1.0, le=10.0, description="Blur mode: side of the region shown, in box sides.")
    jitter: int = Field(default=4, ge=0, le=6, description="Jittered copies of each box averaged into the score.")
    jitter_fraction: float = Field(default=0.1, ge=0.0, le=0.5, description="Jitter size as a fraction of the box size.")
    image_contrast: float = Field(default=0.25, ge=0.0, le=1.0, description="Weight of 'region beats whole image' in the score.")
    generic_captions: list[str] = Field(default_factory=lambda: list(GENERIC_CAPTIONS), description="Distractors every box must beat.")
    use_think: bool = Field(default=True, description="Use noun phrases of the <think> text as distractors.")
    max_distractors: int = Field(default=8, ge=1, le=64)
    max_boxes: int = Field(default=8, ge=1, le=100, description="Boxes scored per sample (the rest are ignored).")
    batch_size: int = Field(default=256, ge=1, description="Crops per forward pass (halved on CUDA out-of-memory).")
    image_cache_mb: int = Field(default=512, ge=0, description="Budget of the decoded-image cache on the device.")
    text_cache_size: int = Field(default=8192, ge=0, description="Text embeddings kept across batches.")

    def backend_spec(self) -> BackendSpec:
        return BackendSpec(model=self.model, pretrained=self.pretrained, model_config_path=self.model_config_path,
                           cache_dir=self.cache_dir, allow_download=self.allow_download, device=self.device,
                           precision=self.precision)


class ClipVerifier(Verifier):
    name = "clip"
    description = "the image region under the box matches the query better than the alternatives (CLIP)"
    Options = ClipOptions
    checks_target = True
    evidence = "confirming"  # the pixels under the box
    options: ClipOptions

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self._engine: Any = None
        self._load_error: str | None = None

    def _backend_class(self) -> type | str:
        from groundscore.plugins.manager import get_registry

        cls = get_registry().backends.get(("clip", self.options.backend))
        if cls is None:
            known = sorted(name for kind, name in get_registry().backends if kind == "clip")
            return f"no clip backend named {self.options.backend!r} is registered (known: {', '.join(known) or 'none'})"
        return cls

    def unavailable(self) -> str | None:
        cls = self._backend_class()
        if isinstance(cls, str):
            return cls
        return cls.unavailable(self.options.backend_spec())  # type: ignore[attr-defined]

    @property
    def engine(self) -> Any:
        """The loaded pipeline (loads the model on first use)."""
        if self._engine is None and self._load_error is None:
            self._engine = self._load()
        return self._engine

    def _load(self) -> Any:
        from groundscore.clip.engine import ClipEngine, EngineSettings

        cls = self._backend_class()
        if isinstance(cls, str):
            self._load_error = cls
            return None
        o = self.options
        backend = cls(o.backend_spec())
        try:
            backend.load()
        except Exception as exc:  # noqa: BLE001 - a model that cannot load makes None verdicts, not a crash
            self._load_error = f"the CLIP model could not be loaded: {type(exc).__name__}: {exc}"
            log.warning("%s", self._load_error)
            return None
        settings = EngineSettings(
            modes=tuple(dict.fromkeys(o.modes)), crop_shape=o.crop_shape, blur_context=o.blur_context,
            jitter=o.jitter, jitter_fraction=o.jitter_fraction, image_contrast=o.image_contrast,
            batch_size=o.batch_size, image_cache_bytes=o.image_cache_mb * 2**20, text_cache_items=o.text_cache_size,
        )
        return ClipEngine(backend, settings)

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        from groundscore.clip.engine import RegionQuery

        verdicts: list[Verdict | None] = [None] * len(contexts)
        queries: list[RegionQuery] = []
        owners: list[int] = []
        o = self.options
        for i, ctx in enumerate(contexts):
            skip = self._applies(ctx)
            if skip is not None:
                verdicts[i] = skip
                continue
            expr = ctx.referring_expression
            labels = [b.label for b in ctx.parsed.boxes]
            alternatives = distractors(expr, labels, ctx.parsed.think if o.use_think else None,
                                       o.generic_captions, o.max_distractors, o.use_think)
            texts = list(dict.fromkeys([self._prompt(expr)] + [self._prompt(a) for a in alternatives]))
            for box in ctx.parsed.boxes[:o.max_boxes]:
                queries.append(RegionQuery(ctx.sample.image, box.xyxy, texts))
                owners.append(i)
        if queries:
            engine = self.engine
            if engine is None:
                for i in set(owners):
                    verdicts[i] = Verdict.skip(self.name, "skipped.unavailable", self._load_error or "no model")
            else:
                results = engine.score(queries)
                by_owner: dict[int, list[Any]] = {}
                for owner, res in zip(owners, results, strict=True):
                    by_owner.setdefault(owner, []).append(res)
                for i, res in by_owner.items():
                    verdicts[i] = self._verdict(contexts[i], res, engine)
        return [v if v is not None else Verdict.skip(self.name, "skipped", "not scored") for v in verdicts]

    def _prompt(self, text: str) -> str:
        return self.options.template.format(text.strip()) if "{}" in self.options.template else text.strip()

    def _applies(self, ctx: Context) -> Verdict | None:
        if ctx.sample.image is None:
            return Verdict.skip(self.name, "skipped.no_image", "no image was given, so the pixels cannot be checked")
        if not ctx.parsed.boxes:
            return Verdict.skip(self.name, "skipped.no_box", "the answer has no box to look at")
        if not ctx.parsed.in_original:
            return Verdict.skip(self.name, "skipped.coords_unknown",
                                "the boxes are not in original-image pixels (image size unknown), so they cannot be cropped")
        if not ctx.referring_expression.strip():
            return Verdict.skip(self.name, "skipped.no_query", "the sample has no query to compare the region with")
        return None

    def _verdict(self, ctx: Context, results: list[Any], engine: Any) -> Verdict:
        scored = [r for r in results if r.score is not None]
        if not scored:
            error = results[0].error or "not scored"
            code = "skipped.image_unreadable" if "decoded" in error else "skipped.box_invalid"
            return Verdict.skip(self.name, code, error, boxes=[r.details for r in results])
        score = sum(r.score for r in scored) / len(scored)
        first = scored[0].details
        texts = first["texts"]
        cos = next(iter(first["modes"].values()))["cos_texts"]
        best_alt = max(range(1, len(texts)), key=lambda k: cos[k]) if len(texts) > 1 else None
        alt = f"; strongest alternative: {texts[best_alt]!r}" if best_alt is not None else ""
        reason = (f"the region matches {texts[0]!r} with probability {first['p_region']:.2f} "
                  f"against {len(texts) - 1} alternatives{alt}")
        if len(scored) > 1:
            reason = f"mean over {len(scored)} boxes {score:.2f}; first box: " + reason
        details = {"boxes": [r.details if r.score is not None else {"error": r.error} for r in results],
                   **engine.backend.describe(), "device": str(engine.backend.device),
                   "dtype": str(engine.backend.dtype).replace("torch.", "")}
        return Verdict(verifier=self.name, score=score, code="ok" if score >= 0.5 else "clip.mismatch",
                       reason=reason, details=details)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.clear()
        self._engine = None


@hookimpl
def register_verifiers(register: Any) -> None:
    register(ClipVerifier)
