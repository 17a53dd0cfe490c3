"""The default CLIP backend: open_clip, loaded from local files only.

Why not just ``open_clip.create_model_and_transforms(name, pretrained=tag)``:
that call downloads when the weights are missing, which inside a training
job means a hang or a crash. Here a tag is first resolved to a cached file
(:mod:`groundscore.clip.weights`), and open_clip is handed that file, with
the tag's preprocessing (mean, std, interpolation) and its QuickGELU flag
(OpenAI and some LAION-400M weights were trained with QuickGELU; a model
built without it loads without error and scores badly). ``hf-hub:`` ids are
turned into ``local-dir:`` snapshots of the hub cache for the same reason.
Only ``allow_download = true`` lets open_clip fetch weights itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cachetools import LRUCache

from groundscore.clip.backend import BackendSpec, ClipBackend, module_missing, resolve_device, resolve_dtype
from groundscore.clip.weights import RANDOM_WEIGHTS, Located, how_to_get_weights, locate_open_clip
from groundscore.plugins.hookspecs import hookimpl

BPE_CACHE_WORDS = 50_000


class SeededLRU(LRUCache):  # type: ignore[type-arg]
    """A bounded LRU memo whose ``seed`` entries (the tokenizer's special tokens) are never evicted."""

    def __init__(self, maxsize: int, seed: dict[Any, Any]) -> None:
        super().__init__(maxsize=maxsize)
        self.seed = dict(seed)

    def __contains__(self, key: object) -> bool:
        return key in self.seed or super().__contains__(key)

    def __getitem__(self, key: Any) -> Any:
        if key in self.seed:
            return self.seed[key]
        return super().__getitem__(key)


INSTALL = "pip install 'groundscore[clip]'  (torch, torchvision, open_clip_torch)"


class OpenClipBackend(ClipBackend):
    name = "open_clip"

    @classmethod
    def unavailable(cls, spec: BackendSpec) -> str | None:
        missing = module_missing("torch", "torchvision", "open_clip")
        if missing:
            return f"the clip verifier needs {', '.join(missing)}: {INSTALL}"
        if spec.allow_download:
            return None
        if spec.model_config_path and not Path(spec.model_config_path).expanduser().is_file():
            return f"model_config_path {spec.model_config_path!r} does not exist"
        found = locate_open_clip(spec.model, spec.pretrained, spec.cache_dir)
        if isinstance(found, str):
            return f"no CLIP weights: {found}. {how_to_get_weights('open_clip', spec.model, spec.pretrained)}"
        return None

    def load(self) -> None:
        import open_clip
        import torch

        spec = self.spec
        self.device = resolve_device(spec.device)
        self.dtype = resolve_dtype(spec.precision, self.device)
        model_name = spec.model
        if spec.model_config_path:
            config = Path(spec.model_config_path).expanduser()
            open_clip.add_model_config(config)
            model_name = config.stem
        kwargs: dict[str, Any] = {}
        self.weights = "download"
        if not spec.allow_download:
            found = locate_open_clip(model_name, spec.pretrained, spec.cache_dir)
            if isinstance(found, str):
                raise FileNotFoundError(found + ". " + how_to_get_weights("open_clip", spec.model, spec.pretrained))
            model_name, kwargs = self._local_kwargs(open_clip, model_name, found)
        else:
            kwargs = {"pretrained": spec.pretrained if spec.pretrained != RANDOM_WEIGHTS else None,
                      "cache_dir": spec.cache_dir}
        # The model is built in fp32 on the CPU and cast afterwards: open_clip's
        # "fp16" precision keeps LayerNorm casts that are slower on CPU and is
        # the same on GPU once the weights are half.
        model = open_clip.create_model(model_name, device="cpu", precision="fp32", **kwargs)
        model.eval().requires_grad_(False)
        self.model = model.to(device=self.device, dtype=self.dtype)
        self.tokenizer = open_clip.get_tokenizer(model_name, cache_dir=spec.cache_dir)
        # open_clip's BPE tokenizer memoises every word it has seen, without bound;
        # over a long training run of free-form thinking that is a slow leak.
        # Bounded LRU instead; the seed entries (special tokens) are never evicted.
        cache = getattr(self.tokenizer, "cache", None)
        if isinstance(cache, dict):
            self.tokenizer.cache = SeededLRU(BPE_CACHE_WORDS, cache)
        pp = getattr(model.visual, "preprocess_cfg", {}) or {}
        size = pp.get("size", getattr(model.visual, "image_size", 224))
        self.image_size = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
        self.mean = tuple(float(v) for v in pp.get("mean", open_clip.OPENAI_DATASET_MEAN))  # type: ignore[assignment]
        self.std = tuple(float(v) for v in pp.get("std", open_clip.OPENAI_DATASET_STD))  # type: ignore[assignment]
        self.interpolation = str(pp.get("interpolation", "bicubic"))
        with torch.no_grad():
            self.logit_scale = float(model.logit_scale.exp().clamp(max=100.0))
        self.quick_gelu = bool(kwargs.get("force_quick_gelu", False))

    def _local_kwargs(self, open_clip: Any, model_name: str, found: Located) -> tuple[str, dict[str, Any]]:
        """open_clip arguments that load ``found`` without any network access."""
        spec = self.spec
        if found.how == RANDOM_WEIGHTS:
            self.weights = RANDOM_WEIGHTS
            return model_name, {"pretrained": None}
        if found.how in ("local-dir", "hf-cache") and found.path.is_dir():
            self.weights = str(found.path)
            return f"local-dir:{found.path}", {}
        self.weights = str(found.path)
        kwargs: dict[str, Any] = {"pretrained": str(found.path)}
        tag_cfg = None
        if spec.pretrained and found.how != "file":
            tag_cfg = open_clip.get_pretrained_cfg(model_name.replace("/", "-"), spec.pretrained)
        if tag_cfg:
            kwargs["force_quick_gelu"] = bool(tag_cfg.get("quick_gelu", False))
            pp = {k: tag_cfg[k] for k in ("mean", "std", "interpolation", "resize_mode") if tag_cfg.get(k) is not None}
            if pp:
                kwargs["force_preprocess_cfg"] = pp
        return model_name, kwargs

    def encode_images(self, pixels: Any) -> Any:
        return self.model.encode_image(pixels, normalize=True).float()

    def encode_texts(self, texts: list[str]) -> Any:
        tokens = self.tokenizer(texts).to(self.device)
        return self.model.encode_text(tokens, normalize=True).float()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "weights": getattr(self, "weights", None),
                "quick_gelu": getattr(self, "quick_gelu", None)}


@hookimpl
def register_backends(register: Any) -> None:
    register(OpenClipBackend)
