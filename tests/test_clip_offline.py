"""Offline-first behaviour: no weights means a cheap, instructive None, never a download or a torch import.

Also checks the ways weights are found on disk (hub cache snapshots, checkpoint
files with a custom config, ``hf-hub:`` ids) and the transformers backend.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "clip_fixtures"))
from loader import tiny_clip

from groundscore.clip.backend import BackendSpec
from groundscore.clip.distractors import content_words, distractors, noun_phrases
from groundscore.clip.open_clip_backend import OpenClipBackend
from groundscore.clip.weights import hf_snapshot, locate_open_clip, locate_open_clip_tag

T = tiny_clip()
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def empty_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def test_no_weights_gives_exact_instructions_without_importing_torch(empty_caches: Path) -> None:
    code = (
        "import sys, groundscore\n"
        "from groundscore.chain import Chain\n"
        "chain = Chain({'verifiers': ['clip']})\n"
        "r = chain.verify_one({'query': 'cat', 'image': b'x', 'image_size': [10, 10],\n"
        "                      'completion': '[{\"bbox_2d\": [1, 1, 5, 5], \"label\": \"cat\"}]'})\n"
        "v = r.verdict('clip')\n"
        "print(v.score, v.code)\n"
        "print(v.reason)\n"
        "print('torch' in sys.modules, 'open_clip' in sys.modules)\n"
    )
    env = {**os.environ, "HF_HUB_CACHE": str(empty_caches / "hub"), "HOME": str(empty_caches / "home")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "None skipped.unavailable"
    assert "open_clip.create_model_and_transforms('ViT-B-32', pretrained='laion2b_s34b_b79k')" in lines[1]
    assert "allow_download" in lines[1]
    assert lines[-1] == "False False"


def test_hf_hub_id_missing_and_unknown_tag(empty_caches: Path) -> None:
    msg = OpenClipBackend.unavailable(BackendSpec(model="hf-hub:org/absent"))
    assert msg is not None and "huggingface-cli download org/absent" in msg
    # with something cached, tags are resolved exactly through open_clip's table
    found = locate_open_clip_tag("ViT-B-32", "no_such_tag")
    assert isinstance(found, str) and "laion2b_s34b_b79k" in found


def test_a_cached_tag_resolves_to_the_hub_snapshot_file(empty_caches: Path) -> None:
    snap = empty_caches / "hub" / "models--laion--CLIP-ViT-B-32-laion2B-s34B-b79K" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "open_clip_model.safetensors").write_bytes(b"")
    (snap.parent.parent / "refs").mkdir()
    (snap.parent.parent / "refs" / "main").write_text("abc123")
    found = locate_open_clip("ViT-B-32", "laion2b_s34b_b79k")
    assert not isinstance(found, str) and found.path == snap / "open_clip_model.safetensors"
    assert hf_snapshot("laion/CLIP-ViT-B-32-laion2B-s34B-b79K") == snap
    assert OpenClipBackend.unavailable(BackendSpec()) is None


def test_hf_hub_id_in_the_cache_loads_offline(empty_caches: Path) -> None:
    snap = empty_caches / "hub" / "models--me--tiny" / "snapshots" / "r1"
    T.random_model_dir(snap)
    spec = BackendSpec(model="hf-hub:me/tiny")
    assert OpenClipBackend.unavailable(spec) is None
    backend = OpenClipBackend(spec)
    backend.load()
    assert backend.weights == str(snap) and backend.image_size == (32, 32)


def test_checkpoint_file_with_a_custom_config(tmp_path: Path) -> None:
    folder = T.random_model_dir(tmp_path / "m")
    cfg = json.loads((folder / "open_clip_config.json").read_text())["model_cfg"]
    config = tmp_path / "GsTinyClip.json"
    config.write_text(json.dumps(cfg))
    spec = BackendSpec(model="GsTinyClip", model_config_path=str(config),
                       pretrained=str(folder / "open_clip_model.safetensors"))
    assert OpenClipBackend.unavailable(spec) is None
    backend = OpenClipBackend(spec)
    backend.load()
    assert backend.image_size == (32, 32) and backend.weights.endswith("open_clip_model.safetensors")
    missing = BackendSpec(model="GsTinyClip", model_config_path=str(config), pretrained=str(tmp_path / "nope.safetensors"))
    assert "does not exist" in (OpenClipBackend.unavailable(missing) or "")


def test_transformers_backend_with_a_local_clipmodel_folder(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    from groundscore.clip.transformers_backend import TransformersBackend

    # a byte-level vocabulary without merges: every character is a token (GPT-2's byte-to-unicode map)
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    extra = [b for b in range(256) if b not in printable]
    chars = [chr(b) for b in printable] + [chr(256 + i) for i in range(len(extra))]
    vocab = {c: i for i, c in enumerate(chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"])}
    folder = tmp_path / "clip"
    config = CLIPConfig(
        text_config={"vocab_size": len(vocab), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                     "num_attention_heads": 2, "max_position_embeddings": 24, "bos_token_id": len(vocab) - 2,
                     "eos_token_id": len(vocab) - 1},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
                       "image_size": 48, "patch_size": 16},
        projection_dim=16,
    )
    CLIPModel(config).save_pretrained(folder)
    CLIPTokenizer(vocab=vocab, merges=[]).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 48}, crop_size={"height": 48, "width": 48},
                       image_mean=[0.5, 0.5, 0.5], image_std=[0.25, 0.25, 0.25]).save_pretrained(folder)

    spec = BackendSpec(model=str(folder))
    assert TransformersBackend.unavailable(spec) is None
    assert "no CLIP weights" in (TransformersBackend.unavailable(BackendSpec(model=str(tmp_path / "absent"))) or "")
    backend = TransformersBackend(spec)
    backend.load()
    assert backend.image_size == (48, 48) and backend.mean == (0.5, 0.5, 0.5) and backend.interpolation == "bicubic"
    import torch

    img = backend.encode_images(torch.randn(3, 3, 48, 48))
    txt = backend.encode_texts(["a cat", "a much longer dog phrase"])
    assert img.shape == (3, 16) and txt.shape == (2, 16)
    assert torch.allclose(txt.norm(dim=1), torch.ones(2), atol=1e-4)

    from groundscore.chain import Chain

    chain = Chain({"verifiers": ["clip"], "options": {"clip": {"backend": "transformers", "model": str(folder)}}})
    from PIL import Image

    Image.new("RGB", (96, 64), (200, 30, 30)).save(tmp_path / "red.png")
    report = chain.verify_one({"query": "cat", "image": str(tmp_path / "red.png"), "coords": "original",
                               "completion": '[{"bbox_2d": [10, 10, 50, 40], "label": "cat"}]'})
    v = report.verdict("clip")
    assert v is not None and v.score is not None and v.details["backend"] == "transformers"


def test_unknown_backend_is_reported() -> None:
    from groundscore.verifiers.clip import ClipVerifier

    msg = ClipVerifier({"backend": "nope"}).unavailable()
    assert msg is not None and "open_clip" in msg and "transformers" in msg


def test_distractors_keep_contradictions_and_drop_restatements() -> None:
    think = "The man wearing a blue shirt and shorts is standing near the metal pole. The pole is thin."
    assert noun_phrases(think) == ["man", "blue shirt", "metal pole", "pole"]
    got = distractors("metal pole", ["man wearing blue shirt and shorts"], think, ["background"], 8)
    assert got[0] == "man wearing blue shirt and shorts"
    assert "metal pole" not in got and "pole" not in got  # restatements of the query
    assert "blue shirt" in got and got[-1] == "background"
    # a label that only differs by tokenisation is not a distractor
    assert content_words("man ' s hat") == content_words("man's hat")
    assert distractors("man's hat", ["man ' s hat"], None, [], 8) == []
    # bounded: the cap keeps the generic captions
    many = distractors("cat", [f"dog {i}" for i in range(30)], None, ["background"], 4)
    assert len(many) == 4 and many[-1] == "background"
    assert noun_phrases("the " * 50000)[:1] == []
