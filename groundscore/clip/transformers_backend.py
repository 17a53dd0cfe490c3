"""A CLIP backend on Hugging Face transformers: ``CLIPModel`` and ``SiglipModel``.

For users whose weights live as a transformers folder (``config.json``,
``model.safetensors``, tokenizer and preprocessor files) or in the Hugging
Face cache. Loading always passes ``local_files_only=True`` unless
``allow_download`` is set, so a missing model is an error at once, never a
network wait. Mean, std and input size come from the folder's image
processor config, as the model was trained.
"""

from __future__ import annotations

from typing import Any

from groundscore.clip.backend import BackendSpec, ClipBackend, module_missing, resolve_device, resolve_dtype
from groundscore.clip.weights import how_to_get_weights, locate_transformers
from groundscore.plugins.hookspecs import hookimpl

INSTALL = "pip install 'groundscore[clip,hf]'  (torch, torchvision, transformers)"
_PIL_RESAMPLE = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}


class TransformersBackend(ClipBackend):
    name = "transformers"

    @classmethod
    def unavailable(cls, spec: BackendSpec) -> str | None:
        missing = module_missing("torch", "torchvision", "transformers")
        if missing:
            return f"the clip verifier's transformers backend needs {', '.join(missing)}: {INSTALL}"
        if spec.allow_download:
            return None
        found = locate_transformers(spec.model, spec.cache_dir)
        if isinstance(found, str):
            return f"no CLIP weights: {found}. {how_to_get_weights('transformers', spec.model, None)}"
        return None

    def load(self) -> None:
        import torch
        from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoTokenizer

        spec = self.spec
        self.device = resolve_device(spec.device)
        self.dtype = resolve_dtype(spec.precision, self.device)
        source = spec.model
        if not spec.allow_download:
            found = locate_transformers(spec.model, spec.cache_dir)
            if isinstance(found, str):
                raise FileNotFoundError(found + ". " + how_to_get_weights("transformers", spec.model, None))
            source = str(found.path)
        common = {"local_files_only": not spec.allow_download, "cache_dir": spec.cache_dir}
        config = AutoConfig.from_pretrained(source, **common)
        self.is_siglip = "siglip" in str(getattr(config, "model_type", "")).lower()
        model = AutoModel.from_pretrained(source, **common)
        model.eval().requires_grad_(False)
        self.model = model.to(device=self.device, dtype=self.dtype)
        self.tokenizer = AutoTokenizer.from_pretrained(source, **common)
        processor = AutoImageProcessor.from_pretrained(source, **common)
        vision = getattr(config, "vision_config", None)
        side = int(getattr(vision, "image_size", 224))
        size = getattr(processor, "crop_size", None) or getattr(processor, "size", None) or {}
        if isinstance(size, dict) and "height" in size:
            self.image_size = (int(size["height"]), int(size["width"]))
        else:
            self.image_size = (side, side)
        self.mean = tuple(float(v) for v in processor.image_mean)  # type: ignore[assignment]
        self.std = tuple(float(v) for v in processor.image_std)  # type: ignore[assignment]
        resample = getattr(processor, "resample", 3)
        self.interpolation = _PIL_RESAMPLE.get(int(getattr(resample, "value", resample)), "bicubic")
        self.context_length = int(getattr(getattr(config, "text_config", None), "max_position_embeddings", 77))
        with torch.no_grad():
            self.logit_scale = float(self.model.logit_scale.exp().clamp(max=1000.0))

    def encode_images(self, pixels: Any) -> Any:
        out = self.model.get_image_features(pixel_values=pixels)
        out = getattr(out, "pooler_output", out)
        return _unit(out.float())

    def encode_texts(self, texts: list[str]) -> Any:
        # SigLIP was trained on max-length padded text; CLIP on padded-to-longest.
        padding = "max_length" if self.is_siglip else True
        tokens = self.tokenizer(texts, padding=padding, truncation=True, max_length=self.context_length,
                                return_tensors="pt").to(self.device)
        kwargs: dict[str, Any] = {"input_ids": tokens["input_ids"]}
        if "attention_mask" in tokens and not self.is_siglip:
            kwargs["attention_mask"] = tokens["attention_mask"]
        out = self.model.get_text_features(**kwargs)
        out = getattr(out, "pooler_output", out)
        return _unit(out.float())

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "weights": self.spec.model, "siglip": getattr(self, "is_siglip", None)}


def _unit(x: Any) -> Any:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)


@hookimpl
def register_backends(register: Any) -> None:
    register(TransformersBackend)
