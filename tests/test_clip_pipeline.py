"""The clip pipeline's machinery, with tiny random models: crops, caches, dtypes, devices, OOM splitting.

Random weights say nothing about semantics (tests/test_clip.py covers that
with a trained model); here they exercise shapes, dtypes, device paths and
the bookkeeping that keeps a training job's memory bounded.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent / "clip_fixtures"))
from loader import tiny_clip

from groundscore.chain import Chain
from groundscore.clip.backend import BackendSpec
from groundscore.clip.crops import CropRequest, clip_box, extract, jitters, region
from groundscore.clip.engine import ClipEngine, EngineSettings, RegionQuery
from groundscore.clip.images import DecodedImage, ImageCache
from groundscore.clip.open_clip_backend import OpenClipBackend
from groundscore.clip.texts import TextCache

T = tiny_clip()
MEAN = T.PREPROCESS_CFG["mean"]
STD = T.PREPROCESS_CFG["std"]


@pytest.fixture(scope="module")
def random_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return T.random_model_dir(tmp_path_factory.mktemp("rand") / "model")


@pytest.fixture(scope="module")
def backend(random_dir: Path) -> OpenClipBackend:
    b = OpenClipBackend(BackendSpec(model=f"local-dir:{random_dir}", precision="fp16"))
    b.load()
    return b


def gradient_image(w: int = 200, h: int = 120) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return torch.stack([xs * 255 // (w - 1), ys * 255 // (h - 1), (xs + ys) % 256]).to(torch.uint8)


def test_backend_loads_through_open_clip_with_the_folders_preprocessing(backend: OpenClipBackend) -> None:
    assert backend.image_size == (32, 32)
    assert backend.mean == pytest.approx(tuple(MEAN)) and backend.std == pytest.approx(tuple(STD))
    assert backend.interpolation == "bicubic"
    # fp16 was asked for, but on a CPU the model runs fp32
    assert backend.device.type == "cpu" and backend.dtype == torch.float32
    assert next(backend.model.parameters()).dtype == torch.float32
    img = backend.encode_images(torch.randn(5, 3, 32, 32))
    txt = backend.encode_texts(["a photo of a cat.", "x"])
    assert img.shape == (5, 32) and txt.shape == (2, 32)
    assert img.dtype == torch.float32
    assert torch.allclose(img.norm(dim=1), torch.ones(5), atol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_path_runs_half_precision_and_decodes_on_the_gpu(random_dir: Path, tmp_path: Path) -> None:
    b = OpenClipBackend(BackendSpec(model=f"local-dir:{random_dir}", device="auto"))
    b.load()
    assert b.device.type == "cuda" and b.dtype == torch.float16
    path = tmp_path / "a.jpg"
    Image.fromarray(gradient_image().permute(1, 2, 0).numpy()).save(path)
    engine = ClipEngine(b)
    out = engine.score([RegionQuery(str(path), (10, 10, 80, 60), ["a", "b"])])
    assert out[0].score is not None
    assert engine.images.get(str(path)).pixels.device.type == "cuda"


def test_roi_align_crop_matches_pil_crop_and_resize() -> None:
    img = gradient_image()
    box = (30.0, 20.0, 150.0, 100.0)
    ours = extract([DecodedImage(img)], [CropRequest(0, box)], (32, 32), (0, 0, 0), (1 / 255,) * 3, torch.float32)[0]
    pil = Image.fromarray(img.permute(1, 2, 0).numpy()).crop(tuple(int(v) for v in box)).resize((32, 32), Image.BOX)
    ref = torch.from_numpy(np.asarray(pil, dtype=np.float32)).permute(2, 0, 1)
    assert ours.shape == ref.shape
    assert float((ours - ref).abs().mean()) < 3.0  # grey levels out of 255


def test_center_crop_matches_the_models_own_preprocess(backend: OpenClipBackend) -> None:
    import open_clip

    img = gradient_image(160, 100)
    box = (20.0, 10.0, 140.0, 90.0)
    preprocess = open_clip.image_transform(backend.image_size, is_train=False, mean=backend.mean, std=backend.std,
                                           interpolation="bicubic", resize_mode="shortest")
    pil = Image.fromarray(img.permute(1, 2, 0).numpy()).crop(tuple(int(v) for v in box))
    ref = preprocess(pil)
    roi = region(box, 160, 100, "center")
    ours = extract([DecodedImage(img)], [CropRequest(0, roi)], backend.image_size, backend.mean, backend.std, torch.float32)[0]
    # normalised units: a difference of 0.05 is about 3 grey levels
    assert float((ours - ref).abs().mean()) < 0.05


def test_region_shapes_and_jitters() -> None:
    assert region((10, 10, 50, 30), 100, 100, "squash") == (10, 10, 50, 30)
    sx1, sy1, sx2, sy2 = region((10, 10, 50, 30), 100, 100, "square")
    assert sx2 - sx1 == pytest.approx(40) and sy2 - sy1 == pytest.approx(40)
    # shifted into the image, not cut
    assert region((0, 0, 40, 10), 100, 100, "square") == (0, 0, 40, 40)
    cx1, _, cx2, _ = region((10, 10, 50, 30), 100, 100, "center")
    assert cx2 - cx1 == pytest.approx(20)
    js = jitters((20, 20, 60, 60), 4, 0.1, 100, 100)
    assert len(js) == 4 and js == jitters((20, 20, 60, 60), 4, 0.1, 100, 100)
    assert (24, 20, 64, 60) in js
    assert clip_box((-5, -5, 10, 10), 100, 100) == (0, 0, 10, 10)
    assert clip_box((200, 200, 300, 300), 100, 100) is None
    assert clip_box((float("nan"), 0, 10, 10), 100, 100) is None


def test_blur_mode_keeps_the_box_sharp_and_blurs_the_rest() -> None:
    img = (torch.rand(3, 96, 96) * 255).to(torch.uint8)
    cache = ImageCache(torch.device("cpu"), 2**30)
    decoded = cache.get(Image.fromarray(img.permute(1, 2, 0).numpy()), blur=True)
    box = (32.0, 32.0, 64.0, 64.0)
    roi = (16.0, 16.0, 80.0, 80.0)
    one = (1 / 255,) * 3
    sharp = extract([decoded], [CropRequest(0, roi)], (64, 64), (0, 0, 0), one, torch.float32)[0]
    blurred = extract([decoded], [CropRequest(0, roi, box)], (64, 64), (0, 0, 0), one, torch.float32)[0]
    inside = (slice(None), slice(17, 47), slice(17, 47))
    assert torch.equal(sharp[inside], blurred[inside])
    outside = (slice(None), slice(0, 12), slice(None))
    assert float(blurred[outside].std()) < 0.3 * float(sharp[outside].std())


def test_image_cache_is_bounded_and_content_keyed(tmp_path: Path) -> None:
    one = 3 * 40 * 60
    cache = ImageCache(torch.device("cpu"), max_bytes=3 * one)
    paths = []
    for i in range(12):
        p = tmp_path / f"{i}.png"
        Image.fromarray(np.full((40, 60, 3), i * 20, dtype=np.uint8)).save(p)
        paths.append(p)
        cache.get(str(p))
        assert cache.nbytes <= 3 * one and len(cache) <= 3
    assert cache.misses == 12
    cache.get(str(paths[-1]))
    assert cache.hits == 1
    # a file rewritten in place is decoded again, not served stale
    Image.fromarray(np.full((40, 60, 3), 7, dtype=np.uint8)).save(paths[-1])
    import os

    os.utime(paths[-1], ns=(1, 10**18))
    assert int(cache.get(str(paths[-1])).pixels[0, 0, 0]) == 7
    # a single image bigger than the budget is returned but not kept
    big = ImageCache(torch.device("cpu"), max_bytes=10)
    assert big.get(str(paths[0])).size == (60, 40) and len(big) == 0 and big.nbytes == 0


def test_text_cache_encodes_each_string_once_and_is_bounded() -> None:
    calls: list[list[str]] = []

    def encode(texts: list[str]) -> torch.Tensor:
        calls.append(list(texts))
        return torch.stack([torch.full((4,), float(len(t))) for t in texts])

    cache = TextCache(encode, max_items=5)
    out = cache.embed(["aa", "b", "aa", "ccc"])
    assert calls == [["aa", "b", "ccc"]] and out[:, 0].tolist() == [2, 1, 2, 3]
    cache.embed(["b", "dddd"])
    assert calls[-1] == ["dddd"]
    for i in range(20):
        cache.embed([f"s{i}"])
    assert len(cache) == 5


def _queries(tmp_path: Path, n_images: int = 3, per_image: int = 6) -> list[RegionQuery]:
    out = []
    rng = np.random.default_rng(0)
    for i in range(n_images):
        p = tmp_path / f"img{i}.jpg"
        Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(p)
        for k in range(per_image):
            x, y = 5 + 10 * k, 5 + 7 * k
            out.append(RegionQuery(str(p), (x, y, x + 50, y + 40), [f"thing {i}", "background", f"other {k}"]))
    return out


def test_engine_dedupes_regions_and_returns_raw_numbers(backend: OpenClipBackend, tmp_path: Path) -> None:
    engine = ClipEngine(backend, EngineSettings(jitter=2))
    queries = _queries(tmp_path)
    out = engine.score(queries + queries)  # identical boxes are cropped and encoded once
    assert len(out) == 36 and all(r.score is not None and 0 <= r.score <= 1 for r in out)
    regions = 3 + 18 * 3  # one whole image per image + (box + 2 jitters) per distinct box
    assert sum(engine.chunk_sizes) == regions
    d = out[0].details
    assert set(d) >= {"p_region", "q_local", "p_image", "cos_query_image", "logit_scale", "texts", "modes"}
    assert out[0].score == out[18].score


def test_oom_splits_the_batch_and_gives_the_same_scores(backend: OpenClipBackend, tmp_path: Path) -> None:
    """Fault injection: torch.OutOfMemoryError is raised for every chunk above 8 crops, as CUDA would.

    This tests the split-and-retry logic; a real CUDA OOM cannot be provoked on a CPU.
    """
    queries = _queries(tmp_path)
    ref_engine = ClipEngine(backend, EngineSettings(batch_size=64))
    reference = ref_engine.score(queries)
    engine = ClipEngine(backend, EngineSettings(batch_size=64))

    def inject(size: int) -> None:
        if size > 8:
            raise torch.OutOfMemoryError("CUDA out of memory (injected)")

    engine.fault_injector = inject
    out = engine.score(queries)
    assert [r.score for r in out] == pytest.approx([r.score for r in reference], abs=1e-5)
    assert max(engine.chunk_sizes) == 64 and 8 in engine.chunk_sizes and 16 in engine.chunk_sizes
    # every crop was encoded exactly once, in chunks of at most 8
    encoded = [n for n in engine.chunk_sizes if n <= 8]
    assert sum(encoded) == sum(ref_engine.chunk_sizes) > 64


def test_oom_even_for_one_crop_becomes_a_none_verdict(random_dir: Path, tmp_path: Path) -> None:
    chain = Chain({"verifiers": ["clip"], "options": {"clip": {"model": f"local-dir:{random_dir}"}}})
    verifier = chain.verifiers[0]

    def always(size: int) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory (injected)")

    verifier.engine.fault_injector = always  # type: ignore[attr-defined]
    q = _queries(tmp_path, 1, 1)[0]
    report = chain.verify_one({"query": "thing", "image": q.image, "image_size": [160, 120], "coords": "original",
                               "completion": '[{"bbox_2d": [5, 5, 55, 45], "label": "thing"}]'})
    v = report.verdict("clip")
    assert v is not None and v.score is None and v.code == "error" and "OutOfMemoryError" in v.reason


def test_verifier_skips_with_reasons(random_dir: Path, tmp_path: Path) -> None:
    chain = Chain({"verifiers": ["clip"], "options": {"clip": {"model": f"local-dir:{random_dir}"}}})
    good = _queries(tmp_path, 1, 1)[0].image
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff not a jpeg")
    box = '[{"bbox_2d": [5, 5, 55, 45], "label": "thing"}]'
    cases = [
        ({"query": "thing", "completion": box, "image_size": [160, 120]}, "skipped.no_image"),
        ({"query": "thing", "completion": box, "image": good}, None),
        ({"query": "thing", "completion": "no box here", "image": good}, "skipped.no_box"),
        ({"query": "thing", "completion": '[{"bbox_2d": [500, 500, 600, 600]}]', "image": good, "coords": "original"},
         "skipped.box_invalid"),
        ({"query": "thing", "completion": box, "image": str(bad), "image_size": [160, 120], "coords": "original"},
         "skipped.image_unreadable"),
    ]
    reports = chain.verify([c for c, _ in cases])
    for (case, code), report in zip(cases, reports, strict=True):
        v = report.verdict("clip")
        assert v is not None
        if code is None:
            assert v.score is not None, v.reason
        else:
            assert v.code == code and v.score is None and v.reason, (case, v)


def test_unknown_image_size_means_coords_unknown(random_dir: Path) -> None:
    from groundscore.model import Box, Parsed, Sample
    from groundscore.verifiers.base import Context
    from groundscore.verifiers.clip import ClipVerifier

    verifier = ClipVerifier({"model": f"local-dir:{random_dir}"})
    parsed = Parsed(boxes=[Box(x1=1, y1=1, x2=20, y2=20, label="x")], in_original=False)
    v = verifier.verify(Context(sample=Sample(query="x", image=b"\x00"), parsed=parsed))
    assert v.code == "skipped.coords_unknown" and v.score is None


def test_half_precision_model_path_on_cpu(random_dir: Path, tmp_path: Path) -> None:
    """The reduced-precision path (crops sampled in fp32, fed to a bf16 model) gives nearly fp32 scores.

    CUDA runs fp16; a CPU cannot, so bf16 stands in for the dtype plumbing.
    """
    queries = _queries(tmp_path, 2, 3)
    full = OpenClipBackend(BackendSpec(model=f"local-dir:{random_dir}"))
    full.load()
    half = OpenClipBackend(BackendSpec(model=f"local-dir:{random_dir}"))
    half.load()
    half.model = half.model.to(torch.bfloat16)
    half.dtype = torch.bfloat16
    ref = ClipEngine(full, EngineSettings(jitter=1)).score(queries)
    got = ClipEngine(half, EngineSettings(jitter=1)).score(queries)
    for r, g in zip(ref, got, strict=True):
        assert g.score is not None and r.score is not None
        assert abs(g.details["modes"]["crop"]["cos_query"] - r.details["modes"]["crop"]["cos_query"]) < 0.05


def test_tokenizer_word_cache_stays_bounded(backend: OpenClipBackend) -> None:
    """open_clip memoises every BPE word; the backend swaps in a bounded LRU that keeps the special tokens."""
    import groundscore.clip.open_clip_backend as ocb

    cache = backend.tokenizer.cache
    assert isinstance(cache, ocb.SeededLRU) and cache.maxsize == ocb.BPE_CACHE_WORDS
    a = backend.encode_texts(["a photo of a cat."])
    backend.tokenizer.cache = small = ocb.SeededLRU(50, cache.seed)
    for i in range(10):
        backend.encode_texts([" ".join(f"w{i}x{k}" for k in range(20))])
        assert len(small) <= 50
    assert all(token in small for token in cache.seed)  # special tokens are never evicted
    assert torch.allclose(a, backend.encode_texts(["a photo of a cat."]))
    backend.tokenizer.cache = cache
