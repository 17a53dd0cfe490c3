"""Throughput and memory of the ``clip`` verifier on a GRPO-shaped batch, against a naive pipeline.

The batch: 64 distinct JPEG images of 640x480 written to a temporary
folder, 8 completions per image (512 boxes), each with a label and a
``<think>`` text naming other objects; the query repeats across a group as in
GRPO. Measured in the same run:

- ``groundscore``: ``ClipVerifier.verify_batch`` on the whole batch, image
  cache cleared before every timed batch so decoding is always counted
  (decode, crop, encode, score). Once with the default settings (each box
  plus 4 jitters, plus the whole image), once with ``jitter=0`` (the same
  number of crops as the naive pipeline).
- ``naive``: per box, ``PIL.Image.open`` + crop + the model's own
  preprocess, one image forward, one text forward for the query and the
  same distractors, softmax.

Then ``--repeats`` batches over rotating sets of fresh images, with a small
image cache, report resident memory (and GPU memory) to show the caches stay
bounded.

Usage::

    python benchmarks/bench_clip.py                                   # CPU, tiny random model
    python benchmarks/bench_clip.py --device cuda --model ViT-B-32 --precision fp16 --repeats 100
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "clip_fixtures"))

from loader import tiny_clip  # tests/clip_fixtures/loader.py, as the clip tests load it (not a package)


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_batch(folder: Path, tc: Any, n_images: int, per_image: int, seed: int) -> list[Any]:
    """Scenes of coloured shapes as 640x480 JPEGs, and per image a GRPO group of completions."""
    from groundscore.model import Sample

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    samples = []
    for i in range(n_images):
        shapes = []
        for _ in range(rng.randint(2, 4)):
            r = rng.uniform(30, 90)
            shapes.append(tc.Shape(rng.choice(tc.CLASSES), rng.uniform(r, 640 - r), rng.uniform(r, 480 - r), r))
        path = tc.save_scene(folder / f"img{seed}_{i}.jpg", 640, 480, shapes, seed=seed * 1000 + i)
        target = shapes[0]
        think = "I can see " + ", ".join(f"the {s.name}" for s in shapes) + "."
        for _ in range(per_image):
            pick = target if rng.random() < 0.6 else rng.choice(shapes)
            x1, y1, x2, y2 = (v + rng.uniform(-15, 15) for v in pick.box)
            box = [round(max(0, x1)), round(max(0, y1)), round(min(639, x2)), round(min(479, y2))]
            completion = f'<think>{think}</think><answer>[{{"bbox_2d": {box}, "label": "{pick.name}"}}]</answer>'
            samples.append(Sample(query=target.name, completion=completion, image=str(path), image_size=(640, 480),
                                  coords="original"))
    return samples


def contexts_for(samples: list[Any]) -> list[Any]:
    from groundscore.chain import Chain

    return Chain({"verifiers": ["schema"]}).contexts(samples)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_verifier(verifier: Any, contexts: list[Any], rounds: int) -> tuple[float, list[Any]]:
    engine = verifier.engine
    best = float("inf")
    verdicts: list[Any] = []
    verifier.verify_batch(contexts[:16])  # warm-up: kernels, tokenizer
    for _ in range(rounds):
        engine.images.clear()  # decoding is part of every batch, as in training
        sync(engine.backend.device)
        t0 = time.perf_counter()
        verdicts = verifier.verify_batch(contexts)
        sync(engine.backend.device)
        best = min(best, time.perf_counter() - t0)
    return best, verdicts


def naive(backend: Any, contexts: list[Any], verifier: Any) -> tuple[float, int]:
    """PIL open + crop + the model's preprocess per box; one image and one text forward per box."""
    import open_clip
    from PIL import Image

    from groundscore.clip.distractors import distractors

    preprocess = open_clip.image_transform(backend.image_size, is_train=False, mean=backend.mean, std=backend.std,
                                           interpolation=backend.interpolation, resize_mode="shortest")
    o = verifier.options
    n = 0
    sync(backend.device)
    t0 = time.perf_counter()
    with torch.inference_mode():
        for ctx in contexts:
            query = ctx.sample.query
            alts = distractors(query, [b.label for b in ctx.parsed.boxes], ctx.parsed.think, o.generic_captions,
                               o.max_distractors)
            texts = [o.template.format(t) for t in [query, *alts]]
            for box in ctx.parsed.boxes:
                with Image.open(ctx.sample.image) as im:
                    crop = im.convert("RGB").crop(tuple(int(v) for v in box.xyxy))
                pixels = preprocess(crop).unsqueeze(0).to(backend.device, backend.dtype)
                img = backend.encode_images(pixels)
                txt = backend.encode_texts(texts)
                float(torch.softmax(backend.logit_scale * img @ txt.T, dim=1)[0, 0])
                n += 1
    sync(backend.device)
    return time.perf_counter() - t0, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", help="cpu, cuda, auto")
    ap.add_argument("--model", default="tiny", help="'tiny' (random tiny CLIP) or an open_clip model name")
    ap.add_argument("--pretrained", default="random", help="pretrained tag or file ('random' is fine for speed)")
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"])
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--completions", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3, help="timed batches; the best is reported")
    ap.add_argument("--repeats", type=int, default=30, help="batches for the memory-stability check")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from groundscore.verifiers.clip import ClipVerifier

    tc = tiny_clip()
    tmp = Path(tempfile.mkdtemp(prefix="bench-clip-"))
    if args.model == "tiny":
        model, pretrained = f"local-dir:{tc.random_model_dir(tmp / 'tiny')}", None
    else:
        model, pretrained = args.model, args.pretrained
    base = {"model": model, "pretrained": pretrained, "device": args.device, "precision": args.precision,
            "batch_size": args.batch_size}
    verifier = ClipVerifier(base)
    fast = ClipVerifier({**base, "jitter": 0})
    engine = verifier.engine
    if engine is None:
        sys.exit(f"could not load the model: {verifier._load_error}")
    fast._engine = type(engine)(engine.backend, type(engine.settings)(**{**engine.settings.__dict__, "jitter": 0}))
    backend = engine.backend
    device = backend.device
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"
    print(f"device: {name}; model: {args.model} ({backend.describe().get('weights')}); dtype: {backend.dtype}; "
          f"input {backend.image_size}")

    samples = make_batch(tmp / "set0", tc, args.images, args.completions, seed=0)
    contexts = contexts_for(samples)
    boxes = sum(len(c.parsed.boxes) for c in contexts)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t_ours, verdicts = time_verifier(verifier, contexts, args.rounds)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    t_fast, _ = time_verifier(fast, contexts, args.rounds)
    t_naive, n_naive = naive(backend, contexts, verifier)
    scored = sum(v.score is not None for v in verdicts)
    results: dict[str, Any] = {
        "device": name, "model": args.model, "dtype": str(backend.dtype), "boxes": boxes, "scored": scored,
        "ours_boxes_per_s": boxes / t_ours, "ours_jitter0_boxes_per_s": boxes / t_fast,
        "naive_boxes_per_s": n_naive / t_naive,
    }
    results["ratio_vs_naive"] = results["ours_boxes_per_s"] / results["naive_boxes_per_s"]
    results["ratio_jitter0_vs_naive"] = results["ours_jitter0_boxes_per_s"] / results["naive_boxes_per_s"]
    results["peak_gpu_mb"] = peak
    print(f"batch: {len(contexts)} completions, {boxes} boxes, {args.images} distinct images; {scored} scored")
    print(f"groundscore (defaults: box + 4 jitters + whole image): {results['ours_boxes_per_s']:.1f} boxes/s "
          f"({t_ours * 1000:.0f} ms per batch)")
    print(f"groundscore (jitter=0: box + whole image):             {results['ours_jitter0_boxes_per_s']:.1f} boxes/s")
    print(f"naive (PIL + preprocess + one forward per box):        {results['naive_boxes_per_s']:.1f} boxes/s")
    print(f"ratio vs naive: {results['ratio_vs_naive']:.1f}x (defaults), {results['ratio_jitter0_vs_naive']:.1f}x (jitter=0)")
    if peak is not None:
        print(f"peak GPU memory for the batch: {peak:.0f} MiB")

    # Memory over repeated batches: rotating fresh image sets, a small image cache, new texts each batch.
    sets = [contexts] + [contexts_for(make_batch(tmp / f"set{k}", tc, args.images, args.completions, seed=k))
                         for k in range(1, 4)]
    engine.images.max_bytes = 64 * 2**20
    engine.texts.max_items = 256
    import tracemalloc

    rss, gpu, traced = [], [], []
    warm = min(5, args.repeats - 1)
    for rep in range(args.repeats):
        batch = sets[rep % len(sets)]
        for i, ctx in enumerate(batch):  # a new phrase per completion: the text cache must evict
            ctx.parsed.think = f"I can see the {rep} {i} thing. " + (ctx.parsed.think or "").split(". ")[-1]
        verifier.verify_batch(batch)
        sync(device)
        rss.append(rss_mb())
        if device.type == "cuda":
            gpu.append(torch.cuda.memory_allocated(device) / 2**20)
        if rep == warm:
            tracemalloc.start()  # Python objects only (tensor storage is not traced)
        if rep >= warm:
            traced.append(tracemalloc.get_traced_memory()[0] / 2**20)
    tracemalloc.stop()
    results["repeats"] = args.repeats
    results["rss_mb_after_warmup"] = rss[warm]
    results["rss_mb_last"] = rss[-1]
    results["rss_growth_mb"] = rss[-1] - rss[warm]
    quarters = sorted({warm, *(warm + (len(rss) - 1 - warm) * q // 4 for q in (1, 2, 3, 4))})
    results["rss_mb_trajectory"] = {str(i + 1): round(rss[i], 1) for i in quarters}
    results["python_heap_growth_mb"] = traced[-1] - traced[0] if traced else None
    results["image_cache_mb"] = engine.images.nbytes / 2**20
    results["text_cache_items"] = len(engine.texts)
    print(f"memory over {args.repeats} batches: RSS {rss[warm]:.0f} MiB after batch {warm + 1}, {rss[-1]:.0f} MiB "
          f"after the last (growth {results['rss_growth_mb']:+.0f} MiB); image cache {results['image_cache_mb']:.0f} "
          f"MiB (cap 64), text cache {len(engine.texts)} strings (cap 256)")
    print("RSS (MiB) after batch: " + ", ".join(f"{k}: {v:.0f}" for k, v in results["rss_mb_trajectory"].items())
          + f"; Python heap (tracemalloc) growth after batch {warm + 1}: {results['python_heap_growth_mb']:+.2f} MiB")
    if gpu:
        results["gpu_mb_after_warmup"] = gpu[warm]
        results["gpu_mb_last"] = gpu[-1]
        results["gpu_growth_mb"] = gpu[-1] - gpu[warm]
        print(f"GPU memory allocated: {gpu[warm]:.0f} MiB after batch {warm + 1}, {gpu[-1]:.0f} MiB after the last "
              f"(growth {results['gpu_growth_mb']:+.0f} MiB); peak {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
