"""What a CLIP-style backend is: the contract the ``clip`` verifier relies on.

A backend turns a batch of already-cropped, already-normalised pixels into
unit-length image embeddings, and a list of strings into unit-length text
embeddings, in one shared space with a ``logit_scale``. Everything else
(decoding, cropping, caching, scoring) is the verifier's, so a new model
family (SigLIP-2, EVA-CLIP, ...) is a small class registered through the
``register_backends(register)`` hook with ``kind = "clip"`` and a ``name``.

Importing this module does not import torch: ``unavailable()`` must stay
cheap, and :meth:`ClipBackend.load` is where the heavy imports happen.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import torch

Precision = Literal["auto", "fp32", "fp16", "bf16"]


class BackendSpec(BaseModel):
    """Which weights to load, where, and in what precision."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(default="ViT-B-32", description="open_clip model name, 'local-dir:PATH', 'hf-hub:ORG/REPO', or a transformers folder / hub id.")
    pretrained: str | None = Field(default="laion2b_s34b_b79k", description="open_clip pretrained tag, a checkpoint file, or 'random' (random weights, for speed tests).")
    model_config_path: str | None = Field(default=None, description="An open_clip model config JSON to register (its file stem becomes a model name).")
    cache_dir: str | None = Field(default=None, description="Hugging Face hub cache to look in (default: HF_HUB_CACHE or ~/.cache/huggingface/hub).")
    allow_download: bool = Field(default=False, description="Let the backend download missing weights. Off by default: the verifier never touches the network.")
    device: str = Field(default="auto", description="'auto' (CUDA when available, else CPU), 'cpu', 'cuda', 'cuda:1', ...")
    precision: Precision = Field(default="auto", description="'auto': fp16 on CUDA, fp32 on CPU. fp16/bf16 apply on GPU only; CPU always runs fp32.")


def module_missing(*modules: str) -> list[str]:
    """The top-level modules in ``modules`` that are not installed (no import happens)."""
    return [m for m in modules if importlib.util.find_spec(m) is None]


def resolve_device(device: str) -> torch.device:
    """'auto' -> CUDA when available, else CPU."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(precision: Precision, device: torch.device) -> torch.dtype:
    """fp16 on CUDA by default; CPU always fp32 (half matmuls are slow or missing there)."""
    import torch

    if device.type != "cuda":
        return torch.float32
    return {"auto": torch.float16, "fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[precision]


class ClipBackend:
    """Base class of CLIP-style backends. Subclass, set ``name``, implement the four methods.

    After :meth:`load`, these attributes describe the model's input:
    ``image_size`` (height, width), ``mean`` and ``std`` (per channel, on a
    0-1 scale), ``interpolation`` (what the model was trained with; crops
    are resampled with roi_align, see the docs), ``device``, ``dtype`` and
    ``logit_scale`` (a float: the temperature the model was trained with).
    """

    kind: ClassVar[str] = "clip"
    name: ClassVar[str] = ""

    image_size: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bicubic"
    logit_scale: float = 100.0
    device: torch.device
    dtype: torch.dtype

    def __init__(self, spec: BackendSpec) -> None:
        self.spec = spec

    @classmethod
    def unavailable(cls, spec: BackendSpec) -> str | None:
        """None when :meth:`load` can succeed offline; else why not and how to fix it. Cheap."""
        return None

    def load(self) -> None:
        """Load weights (the only place that imports torch and the model library)."""
        raise NotImplementedError

    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) normalised pixels in ``dtype`` on ``device`` -> (N, D) unit vectors."""
        raise NotImplementedError

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        """N strings -> (N, D) unit vectors on ``device``."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What was loaded, for ``details`` and logs."""
        return {"backend": self.name, "model": self.spec.model, "pretrained": self.spec.pretrained}
