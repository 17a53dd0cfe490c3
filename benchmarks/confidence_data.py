"""Every labelled answer in the shared logs, verified once, for fitting and evaluating the confidence model.

Used by ``benchmarks/fit_confidence.py`` and ``benchmarks/eval_confidence.py``.

What it does, and why:

- Each log is one *model* (a checkpoint: 7B instruct / before RL / GRPO step 1000
  / GRPO step 334 on ScreenSpot; 3B instruct, r1_100..600, sft_100..500) on one
  *dataset* (RefCOCO, RefCOCO+, RefCOCOg, RefGTA, ScreenSpot desktop).
- Every answer gets a *question id*, shared by all logs that ask the same
  question: the 3B logs of one dataset share their order; a 3B question is
  the same as a 7B one when the expression and the ground-truth box agree
  (all 500 RefCOCO questions; about a third of RefCOCO+/RefCOCOg's: the
  shared README's "first 500" holds for RefCOCO only). The *fold key* used
  to split questions is the image where one is known (so that two
  expressions of one object never fall on both sides of a split), else the
  question id.
- The 3B ``baseline`` logs of RefCOCO+ and RefCOCOg give ground truth in
  Qwen2-VL's 0-1000 space: it is replaced by the pixel box of the same
  question in the 3B ``r1_100`` log (same order).
- Correctness is recomputed from our own parse (IoU of the first box >= 0.5,
  :func:`groundscore.scoring.labelled.correctness`); the logs carry no image size, so
  boxes are read as original pixels, as VLM-R1's own evaluation does.
- The default chain (without clip: no images) runs over each dataset in one
  batch with ``Sample.group`` = question id, so ``agreement`` compares each
  answer with the other models' answers to the same question.

The verified answers are cached (pickle) in ``--cache`` keyed by the data
files' sizes and times and this package's source, so refitting is quick.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from shared_data import REC_LOGS, SHARED_DATA  # noqa: E402

LOGS_3B = SHARED_DATA / "vlmr1-3b-logs"
DEFAULT_CACHE = Path("/tmp/groundscore-confidence-answers.pkl")
DATASETS = ("refcoco", "refcocop", "refcocog", "refgta", "screenspot")
_3B = re.compile(r"rec_results_(refcoco|refcocop|refcocog|refgta)_(?:val|subsample)_qwen2_5vl_(\d+b)_instruct_(\w+)\.json$")
_7B = re.compile(r"(instruct-baseline|original-model|grpo-ckpt1000)_(refcoco|refcocop|refcocog)_val\.json$")
_SS = re.compile(r"screenspot-(original-model|grpo-ckpt334)_desktop\.json$")


@dataclass(slots=True)
class Answer:
    """One labelled answer with what the chain concluded about it."""

    model: str
    dataset: str
    log: str
    qid: str
    fold_key: str
    correct: bool
    query: str
    parsed: Any
    verdicts: list[Any]
    meta: dict[str, Any] = field(default_factory=dict)


def log_name(path: Path) -> tuple[str, str] | None:
    """(model, dataset) of a log file, or None for a file that is no log."""
    name = path.name
    if m := _3B.match(name):
        dataset, size, ckpt = m.groups()
        model = f"{size}-{'instruct' if ckpt == 'baseline' else ckpt}"
        return (model.replace("7b-instruct", "7b-instruct-baseline"), dataset)
    if m := _7B.match(name):
        return (f"7b-{m.group(1)}", m.group(2))
    if m := _SS.match(name):
        return (f"7b-{m.group(1)}", "screenspot")
    return None


def log_files() -> list[tuple[Path, str, str]]:
    """(path, model, dataset) of every shared log, sorted."""
    out = []
    for folder in (REC_LOGS, LOGS_3B):
        for path in sorted(folder.glob("*.json")):
            info = log_name(path)
            if info is not None:
                out.append((path, *info))
    return out


def _records(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["results"] if isinstance(data, dict) else data


def _gt_key(question: str, gt: Any) -> tuple[str, tuple[int, ...]]:
    box = json.loads(gt) if isinstance(gt, str) else gt
    return question.strip(), tuple(round(float(c)) for c in box)


def load_samples() -> list[tuple[Any, str, str, str, str]]:
    """(sample, model, dataset, qid, fold_key) for every record of every log."""
    from groundscore.inputs import vlm_r1_record_to_sample

    files = log_files()
    by_dataset: dict[str, list[tuple[Path, str]]] = {}
    for path, model, dataset in files:
        by_dataset.setdefault(dataset, []).append((path, model))
    out = []
    for dataset, logs in by_dataset.items():
        records = {path: _records(path) for path, _ in logs}
        big = [p for p, _ in logs if not p.name.startswith("rec_results_")]  # 7B REC and ScreenSpot logs
        small = [p for p, _ in logs if p not in big]
        # 7B (or ScreenSpot) questions: by position; the index of (expression, ground truth) -> position
        index: dict[tuple[str, tuple[int, ...]], int] = {}
        images: dict[int, str] = {}
        if big:
            for i, r in enumerate(records[big[0]]):
                index.setdefault(_gt_key(r["question"], r["ground_truth"]), i)
                if isinstance(r.get("image"), str):
                    images[i] = r["image"]
        ref_gt: list[Any] = []
        if small:
            pixel_ref = next((p for p in small if p.name.endswith("_r1_100.json")), small[0])
            ref_gt = [r["ground_truth"] for r in records[pixel_ref]]
        for path, model in logs:
            is_small = path in small
            for i, r in enumerate(records[path]):
                r = dict(r)
                if is_small:
                    if path.name.endswith("_baseline.json") and dataset in ("refcocop", "refcocog"):
                        r["ground_truth"] = ref_gt[i]  # this log's ground truth is in 0-1000 space
                    j = index.get(_gt_key(r["question"], ref_gt[i])) if ref_gt else None
                    qid = f"{dataset}:{j}" if j is not None else f"{dataset}:3b:{i}"
                    fold_key = images.get(j, qid) if j is not None else qid
                else:
                    qid = f"{dataset}:{i}"
                    fold_key = r.get("image") or qid
                sample = vlm_r1_record_to_sample(r, f"{path.stem}:{i}")
                sample = sample.model_copy(update={"group": qid, "meta": {**sample.meta, "log": path.name}})
                out.append((sample, model, dataset, qid, str(fold_key)))
    return out


def _fingerprint() -> str:
    h = hashlib.sha256()
    for path, _, _ in log_files():
        st = path.stat()
        h.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    for src in sorted((ROOT / "groundscore").rglob("*.py")):
        if "confidence" in src.parts or src.name == "scoring.py":
            continue  # the model's own code does not change what the chain concludes
        h.update(src.read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:16]


def verified_answers(cache: Path | None = DEFAULT_CACHE, quiet: bool = False) -> list[Answer]:
    """Every labelled answer, verified by the default chain (cached)."""
    key = _fingerprint()
    if cache is not None and cache.exists():
        try:
            with cache.open("rb") as fh:
                stored = pickle.load(fh)
            if stored.get("key") == key:
                return stored["answers"]
        except Exception:  # noqa: BLE001 - a stale or broken cache is rebuilt
            pass
    from groundscore import Chain
    from groundscore.scoring.labelled import correctness

    start = time.perf_counter()
    rows = load_samples()
    chain = Chain({"disable": ["clip"], "confidence": "combine"})
    answers: list[Answer] = []
    for dataset in DATASETS:
        part = [row for row in rows if row[2] == dataset]
        if not part:
            continue
        reports = chain.verify([row[0] for row in part])
        for (sample, model, _, qid, fold_key), report in zip(part, reports, strict=True):
            correct, _ = correctness(sample, report.parsed)
            if correct is None:
                continue
            answers.append(Answer(model=model, dataset=dataset, log=sample.meta["log"], qid=qid, fold_key=fold_key,
                                  correct=bool(correct), query=sample.query, parsed=report.parsed,
                                  verdicts=list(report.verdicts)))
        if not quiet:
            print(f"verified {dataset}: {len(part)} answers ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    if cache is not None:
        with cache.open("wb") as fh:
            pickle.dump({"key": key, "answers": answers}, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return answers
