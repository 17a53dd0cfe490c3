"""The ``ocr`` verifier on the GUI set: quality (AUROC) and speed, on 2 cores.

Reads the set ``build_gui_set.py`` wrote (screenshots of the Python
documentation rendered by headless Chromium, with the DOM box and text of
every visible element) and, for every element with text, asks the verifier
about four answers to the instruction "<the element's text>":

- the element's own box, and another element's box (a different text, drawn
  with a fixed seed from the same screenshot);
- a click at the element's centre, and a click at the other element's centre.

AUROC is right vs other (``groundscore.scoring.evaluation.auroc``), on the answers
the verifier scored; how many it skipped is printed beside it. Images
(``<img>``, no text) are asked about too: the verifier should say
``skipped.no_text`` rather than score them.

Speed, with the process pinned to 2 cores and ONNX Runtime at 2 threads:

- ``full OCR``: one screenshot read whole (detection + every line recognised),
  mean seconds over the screenshots, each on an empty cache;
- ``checks/s (set)``: every answer of a screenshot in one ``verify_batch``,
  cache cold at the start of each screenshot (detection once, then only the
  lines the answers touch are recognised, in batches);
- ``checks/s (group of 8)``: a GRPO-sized group, 8 answers about one fresh
  screenshot, the case a training step meets;
- ``checks/s (cached)``: the same group again on a warm cache.

    python benchmarks/bench_ocr.py --set out/gui_set [--screenshots 20] [--json out/ocr.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections import Counter
from pathlib import Path

from groundscore_ocr.text import fold
from groundscore_ocr.verifier import OcrVerifier

from groundscore.model import Box, Parsed, Point, Sample
from groundscore.scoring.evaluation import auroc
from groundscore.verifiers.base import Context


def _ctx(text: str, image: str, size: tuple[int, int], box: list[float] | None = None,
         point: tuple[float, float] | None = None) -> Context:
    sample = Sample(query=text, completion="", image=image, image_size=size)
    boxes = [Box(x1=box[0], y1=box[1], x2=box[2], y2=box[3])] if box else []
    points = [Point(x=point[0], y=point[1], action="click")] if point else []
    return Context(sample, Parsed(boxes=boxes, points=points, in_original=True), size)


def _centre(box: list[float]) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def cases(shot: dict, root: Path, rng: random.Random) -> tuple[list[tuple[str, bool, Context]], list[Context]]:
    """(kind, is_right, context) for the text elements; contexts for the image elements."""
    image, size = str(root / shot["image"]), tuple(shot["size"])
    texts = [e for e in shot["elements"] if e["text"] and 2 <= len(fold(e["text"])) <= 60]
    out: list[tuple[str, bool, Context]] = []
    for e in texts:
        others = [o for o in texts if fold(o["text"]) != fold(e["text"])]
        if not others:
            continue
        o = rng.choice(others)
        out += [("box", True, _ctx(e["text"], image, size, box=e["box"])),
                ("box", False, _ctx(e["text"], image, size, box=o["box"])),
                ("point", True, _ctx(e["text"], image, size, point=_centre(e["box"]))),
                ("point", False, _ctx(e["text"], image, size, point=_centre(o["box"])))]
    images = []
    for e in shot["elements"]:
        if e["tag"] == "img" and texts:
            query = rng.choice(texts)["text"]
            images += [_ctx(query, image, size, box=e["box"]), _ctx(query, image, size, point=_centre(e["box"]))]
    return out, images


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", type=Path, default=Path("out/gui_set"))
    ap.add_argument("--screenshots", type=int, default=0, help="use only the first N (0: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[: args.threads]
        os.sched_setaffinity(0, cpus)
    data = json.loads((args.set / "gui_set.json").read_text(encoding="utf-8"))
    shots = data["pages"][: args.screenshots or None]
    rng = random.Random(0)
    scores: dict[str, list[tuple[float, bool]]] = {"box": [], "point": []}
    skipped: Counter[str] = Counter()
    image_codes: Counter[str] = Counter()
    image_scores: list[float] = []
    checks = 0
    set_time = 0.0
    group_rates, cached_rates, full_ocr = [], [], []
    for shot in shots:
        items, images = cases(shot, args.set, rng)
        if not items:
            continue
        verifier = OcrVerifier({"threads": args.threads})
        verifier._get_engine()  # model loading is paid once per process, not per screenshot
        contexts = [c for _, _, c in items] + images
        t = time.perf_counter()
        verdicts = verifier.verify_batch(contexts)
        set_time += time.perf_counter() - t
        checks += len(contexts)
        for (kind, right, _), v in zip(items, verdicts, strict=False):
            if v.score is None:
                skipped[f"{kind}:{v.code}"] += 1
            else:
                scores[kind].append((v.score, right))
        for v in verdicts[len(items):]:
            image_codes[v.code] += 1
            if v.score is not None:
                image_scores.append(v.score)
        # a GRPO-sized group on a fresh screenshot, then the same group cached
        group = [c for _, _, c in items[:8]]
        verifier.close()
        verifier._get_engine()
        t = time.perf_counter()
        verifier.verify_batch(group)
        group_rates.append(len(group) / (time.perf_counter() - t))
        t = time.perf_counter()
        verifier.verify_batch(group)
        cached_rates.append(len(group) / (time.perf_counter() - t))
        verifier.close()
        verifier._get_engine()
        t = time.perf_counter()
        verifier.read_all(group[0].sample.image)
        full_ocr.append(time.perf_counter() - t)
    result = {
        "screenshots": len(full_ocr), "cores": args.threads,
        "auroc_box": auroc([s for s, _ in scores["box"]], [r for _, r in scores["box"]]),
        "auroc_point": auroc([s for s, _ in scores["point"]], [r for _, r in scores["point"]]),
        "scored_box": len(scores["box"]), "scored_point": len(scores["point"]), "skipped": dict(skipped),
        "images": dict(image_codes), "image_mean_score": statistics.fmean(image_scores) if image_scores else None,
        "checks_per_s_set": checks / set_time if set_time else None,
        "checks_per_s_group8_cold": statistics.median(group_rates) if group_rates else None,
        "checks_per_s_group8_cached": statistics.median(cached_rates) if cached_rates else None,
        "full_ocr_s_median": statistics.median(full_ocr) if full_ocr else None,
        "full_ocr_s_mean": statistics.fmean(full_ocr) if full_ocr else None,
    }
    for key, value in result.items():
        print(f"{key:28s} {value:.4g}" if isinstance(value, float) else f"{key:28s} {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
