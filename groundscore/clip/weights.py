"""Finding CLIP weights on disk, without importing torch and without the network.

Why this exists: the ``clip`` verifier sits in the default chain, and a
training job must neither hang on a download nor pay a torch import just to
learn that no weights are there. Everything here reads the file system only:
the Hugging Face hub cache (``models--org--repo/snapshots/<rev>/...``), the
legacy ``~/.cache/clip`` folder used by URL-only open_clip tags, local
folders and checkpoint files.

When weights are missing, :func:`how_to_get_weights` gives the exact commands
that fetch them on a connected machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

OPEN_CLIP_CONFIG = "open_clip_config.json"
OPEN_CLIP_WEIGHT_FILES = (
    "open_clip_model.safetensors",
    "open_clip_pytorch_model.safetensors",
    "open_clip_pytorch_model.bin",
    "open_clip_pytorch_model.pth",
)
HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
RANDOM_WEIGHTS = "random"


@dataclass(frozen=True)
class Located:
    """Where weights were found. ``path`` is a file or folder; ``how`` names the rule that found it."""

    path: Path
    how: str


def hf_hub_cache(cache_dir: str | None = None) -> Path:
    """The Hugging Face hub cache folder, resolved as huggingface_hub does."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HUGGINGFACE_HUB_CACHE"):
        return Path(os.environ["HUGGINGFACE_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def legacy_clip_cache(cache_dir: str | None = None) -> Path:
    """Where open_clip stores weights downloaded from a plain URL."""
    return Path(cache_dir).expanduser() if cache_dir else Path.home() / ".cache" / "clip"


def hf_snapshot(repo_id: str, cache_dir: str | None = None, files: tuple[str, ...] = ()) -> Path | None:
    """The cached snapshot folder of ``repo_id`` (``org/name``), or None.

    Prefers the revision ``refs/main`` points at; falls back to any snapshot
    that holds one of ``files`` (all snapshots when ``files`` is empty).
    """
    repo_id = repo_id.strip().strip("/")
    if not repo_id:
        return None
    root = hf_hub_cache(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    snapshots = root / "snapshots"
    if not snapshots.is_dir():
        return None
    candidates: list[Path] = []
    ref = root / "refs" / "main"
    if ref.is_file():
        candidates.append(snapshots / ref.read_text(encoding="utf-8").strip())
    candidates.extend(sorted(p for p in snapshots.iterdir() if p.is_dir()))
    for snap in candidates:
        if snap.is_dir() and (not files or any((snap / f).is_file() for f in files)):
            return snap
    return None


def any_cached_open_clip_weights(cache_dir: str | None = None) -> bool:
    """True when any open_clip weight file is cached at all (a cheap pre-check)."""
    hub = hf_hub_cache(cache_dir)
    if hub.is_dir():
        for repo in hub.glob("models--*"):
            for name in OPEN_CLIP_WEIGHT_FILES:
                if any(repo.glob(f"snapshots/*/{name}")):
                    return True
    legacy = legacy_clip_cache(cache_dir)
    return legacy.is_dir() and any(legacy.glob("*.pt"))


def locate_open_clip(model: str, pretrained: str | None, cache_dir: str | None = None) -> Located | str:
    """Find open_clip weights locally; a reason string when they are not there.

    Handles, in order: ``local-dir:`` folders, ``hf-hub:`` ids (looked up in
    the hub cache), random weights (``pretrained="random"``), a checkpoint
    file path, and pretrained tags. Tags are only resolved exactly (which
    needs open_clip, hence torch) when some open_clip weights are cached at
    all; an empty cache answers at once.
    """
    if model.startswith("local-dir:"):
        folder = Path(model[len("local-dir:"):]).expanduser()
        if (folder / OPEN_CLIP_CONFIG).is_file():
            return Located(folder, "local-dir")
        return f"the folder {str(folder)!r} has no {OPEN_CLIP_CONFIG}"
    if model.startswith("hf-hub:"):
        repo = model[len("hf-hub:"):]
        snap = hf_snapshot(repo, cache_dir, (OPEN_CLIP_CONFIG,))
        if snap is not None:
            return Located(snap, "hf-cache")
        return f"{repo!r} is not in the Hugging Face cache ({hf_hub_cache(cache_dir)})"
    if pretrained is None or pretrained == RANDOM_WEIGHTS:
        return Located(Path(), RANDOM_WEIGHTS)
    as_path = Path(pretrained).expanduser()
    if as_path.suffix in {".safetensors", ".bin", ".pt", ".pth"} or os.sep in pretrained:
        if as_path.is_file():
            return Located(as_path, "file")
        return f"the checkpoint file {str(as_path)!r} does not exist"
    if not any_cached_open_clip_weights(cache_dir):
        return f"no open_clip weights are cached (looked in {hf_hub_cache(cache_dir)} and {legacy_clip_cache(cache_dir)})"
    return locate_open_clip_tag(model, pretrained, cache_dir)


def locate_open_clip_tag(model: str, tag: str, cache_dir: str | None = None) -> Located | str:
    """Resolve a pretrained tag through open_clip's table (imports open_clip)."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(model.replace("/", "-"), tag)
    if not cfg:
        tags = open_clip.list_pretrained_tags_by_model(model.replace("/", "-"))
        return f"{tag!r} is not a pretrained tag of {model!r} (known tags: {', '.join(tags) or 'none'})"
    hub = cfg.get("hf_hub") or ""
    if hub:
        repo, filename = os.path.split(hub)  # open_clip's own rule: "org/repo/" or "org/repo/file"
        names = (filename,) if filename else OPEN_CLIP_WEIGHT_FILES
        snap = hf_snapshot(repo, cache_dir, names)
        if snap is not None:
            for name in names:
                if (snap / name).is_file():
                    return Located(snap / name, "hf-cache")
    url = cfg.get("url") or ""
    if url:
        candidate = legacy_clip_cache(cache_dir) / os.path.basename(url)
        if candidate.is_file():
            return Located(candidate, "url-cache")
    return f"the weights of {model!r}/{tag!r} are not cached (looked in {hf_hub_cache(cache_dir)})"


def locate_transformers(model: str, cache_dir: str | None = None) -> Located | str:
    """A local folder with ``config.json``, or a hub id present in the HF cache."""
    folder = Path(model).expanduser()
    if folder.is_dir():
        if (folder / "config.json").is_file():
            return Located(folder, "folder")
        return f"the folder {str(folder)!r} has no config.json"
    snap = hf_snapshot(model, cache_dir, ("config.json",))
    if snap is not None and any((snap / f).is_file() for f in HF_WEIGHT_FILES):
        return Located(snap, "hf-cache")
    return f"{model!r} is neither a local folder nor in the Hugging Face cache ({hf_hub_cache(cache_dir)})"


def how_to_get_weights(backend: str, model: str, pretrained: str | None) -> str:
    """Exact commands that put the weights where the verifier looks."""
    if backend == "transformers":
        return (
            "On a machine with network access run "
            f"`huggingface-cli download {model}` (or "
            f"`python -c \"from transformers import AutoModel, AutoProcessor; "
            f"AutoModel.from_pretrained('{model}'); AutoProcessor.from_pretrained('{model}')\"`), "
            "then copy ~/.cache/huggingface/hub to this machine or set [options.clip] model to a local folder; "
            "or set allow_download = true."
        )
    if model.startswith("hf-hub:"):
        repo = model[len("hf-hub:"):]
        return (
            f"On a machine with network access run `huggingface-cli download {repo}`, then copy "
            "~/.cache/huggingface/hub to this machine (or point [options.clip] model at "
            "'local-dir:/path/to/that/folder'); or set allow_download = true."
        )
    if model.startswith("local-dir:"):
        return (
            f"Put {OPEN_CLIP_CONFIG} and open_clip_model.safetensors in that folder "
            "(`huggingface-cli download laion/CLIP-ViT-B-32-laion2B-s34B-b79K --local-dir DIR` gives both)."
        )
    tag = pretrained or "laion2b_s34b_b79k"
    return (
        "On a machine with network access run "
        f"`python -c \"import open_clip; open_clip.create_model_and_transforms('{model}', pretrained='{tag}')\"`, "
        "then copy ~/.cache/huggingface/hub to this machine (or set HF_HUB_CACHE), "
        "or set [options.clip] pretrained to a local checkpoint file; or set allow_download = true."
    )
