"""Load ``tiny_clip`` by path (the tests folder is not a package) and cache trained weights.

The trained model is deterministic for the source of ``tiny_clip.py``, so it
is kept in pytest's cache under a digest of that source: the first run trains
(about 30-60 s on 2 CPU cores), later runs reuse the folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).parent


def tiny_clip() -> ModuleType:
    if "tiny_clip" in sys.modules:
        return sys.modules["tiny_clip"]
    spec = importlib.util.spec_from_file_location("tiny_clip", HERE / "tiny_clip.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["tiny_clip"] = module
    spec.loader.exec_module(module)
    return module


def source_digest() -> str:
    return hashlib.sha256((HERE / "tiny_clip.py").read_bytes()).hexdigest()[:12]


def trained_model_dir(cache_root: Path) -> Path:
    """The trained tiny CLIP folder under ``cache_root``, training it when missing."""
    out = cache_root / f"tiny-clip-{source_digest()}"
    if not (out / "open_clip_model.safetensors").is_file():
        import os
        import shutil

        tmp = cache_root / f"tiny-clip-{source_digest()}.partial-{os.getpid()}"
        tiny_clip().train(tmp)
        try:
            tmp.rename(out)
        except OSError:  # another process finished first: use its copy
            shutil.rmtree(tmp, ignore_errors=True)
    return out
