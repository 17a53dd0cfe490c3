"""RSS over a long run of novel text: does memory stay flat once the caches are full?

A trainer or ``groundscore serve`` runs for days on model text full of words
never seen before. spaCy keeps every new string in its vocabulary and its
rule lemmatizer caches every (word, tag) pair; groundscore's own caches
(the expression analyzer, image sizes, spelling corrections) are bounded.
This benchmark pushes ``--inputs`` (default 100,000) generated samples, in
GRPO-sized batches, through the default chain (spaCy included) and the
reward host, every label and query made of fresh random words, and prints
the resident set size at start, after ``--warmup`` samples (enough to fill
the bounded caches) and every ``--every`` samples after that.

Run from the repository root (needs the ``[nlp]`` extra)::

    .venv/bin/python benchmarks/bench_memory.py
    .venv/bin/python benchmarks/bench_memory.py --inputs 20000 --warmup 5000   # quick look

Target: growth after warm-up under 50 MB over 100,000 inputs.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import string
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from groundscore.nlp.analyzer import default_analyzer
from groundscore.nlp.lexicon import default_lexicon
from groundscore.rewards import Rewarder

DATA = Path(os.environ.get("GROUNDSCORE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

WORDS = ["dog", "man", "shirt", "left", "red", "car", "pole", "woman", "zebra", "bus", "small", "table", "cup"]
NOISE = ["\ud800", "\x00", "\u00e9", "\u4e2d\u6587", "\U0001f600", "'s", "-", "  "]


def rss_mb() -> float:
    """Resident set size now, in MB (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def novel_word(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 11)))


def phrase(rng: random.Random) -> str:
    words = [novel_word(rng) if rng.random() < 0.6 else rng.choice(WORDS) for _ in range(rng.randint(1, 5))]
    if rng.random() < 0.1:
        words.insert(rng.randrange(len(words) + 1), rng.choice(NOISE))
    return " ".join(words)


def sample(rng: random.Random, group: int) -> dict[str, Any]:
    query = phrase(rng)
    label = query if rng.random() < 0.3 else phrase(rng)
    x, y = rng.randint(0, 500), rng.randint(0, 300)
    box = [x, y, x + rng.randint(5, 140), y + rng.randint(5, 140)]
    think = f"<think>The {phrase(rng)} is next to the {label}. It refers to the {label}.</think>" if rng.random() < 0.7 else ""
    if think and rng.random() < 0.3:  # a denial of the query: the grammar reading parses it (a second spaCy pipeline)
        think = think.replace("</think>", f" I did not see the {query} in the image.</think>")
    out: dict[str, Any] = {
        "query": query,
        "completion": f'{think}<answer>[{{"bbox_2d": {box}, "label": {json.dumps(label)}}}]</answer>',
        "image_size": [640, 480], "coords": "original", "group": f"g{group}",
    }
    if rng.random() < 0.5:
        out["solution"] = [x, y, x + 60, y + 60]
    return out


def caches() -> str:
    """The two bounded caches that fill slowest: spaCy's lemmatizer cache and the lexicon's spelling memo."""
    nlp = default_analyzer()._nlp
    lemmas = len(nlp.get_pipe("lemmatizer").cache) if nlp is not None else 0
    return f"lemmatizer cache {lemmas} entries, spelling memo {len(default_lexicon()._corrections)} words"


def real_lemma_entries() -> tuple[int, int] | None:
    """(distinct texts, lemmatizer cache entries) for every query and label of the shared VLM-R1 logs, or None.

    How much of the lemmatizer cache's bound real referring expressions use.
    """
    from groundscore.inputs import iter_samples
    from groundscore.parse import parse_completion
    from groundscore.plugins.manager import get_registry

    logs = sorted((DATA / "vlmr1-rec-logs").glob("*_val.json"))
    if not logs:
        return None
    parsers = get_registry().parsers
    texts: set[str] = set()
    for log in logs:
        for s in iter_samples(log):
            texts.add(s.query)
            texts.update(b.label for b in parse_completion(s, parsers, s.image_size).boxes if b.label)
    analyzer = default_analyzer()
    cache = analyzer.nlp.get_pipe("lemmatizer").cache
    analyzer.clear()
    cache.clear()
    ordered = sorted(texts)
    for i in range(0, len(ordered), 512):
        analyzer.analyze(ordered[i:i + 512])
    return len(texts), len(cache)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=100_000, help="samples after warm-up")
    ap.add_argument("--warmup", type=int, default=30_000, help="samples before the baseline is taken")
    ap.add_argument("--batch", type=int, default=64, help="samples per call (GRPO: prompts x generations)")
    ap.add_argument("--every", type=int, default=20_000, help="print RSS every this many samples")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    rewarder = Rewarder()
    start = rss_mb()
    print(f"verifiers: {', '.join(rewarder.verifier_names)}")
    print(f"rss at start (chain built, models not yet loaded): {start:.1f} MB")
    done = 0
    group = 0
    t0 = time.perf_counter()
    after_warmup = None
    total = args.warmup + args.inputs
    next_print = args.warmup
    while done < total:
        batch = []
        for _ in range(args.batch // 8):
            group += 1
            batch += [sample(rng, group) for _ in range(8)]
        rewards = rewarder.rewards(batch)
        assert len(rewards) == len(batch)
        done += len(batch)
        if after_warmup is None and done >= args.warmup:
            gc.collect()
            after_warmup = rss_mb()
            print(f"rss after warm-up ({done} samples): {after_warmup:.1f} MB; {caches()}")
            next_print = done + args.every
        elif done >= next_print:
            gc.collect()
            now = rss_mb()
            print(f"rss after {done} samples: {now:.1f} MB (+{now - after_warmup:.1f} MB since warm-up); {caches()}")  # type: ignore[operator]
            next_print += args.every
    gc.collect()
    end = rss_mb()
    elapsed = time.perf_counter() - t0
    analyzer = default_analyzer()
    nlp = analyzer._nlp
    print(f"rss at end ({done} samples, {done / elapsed:.0f} samples/s): {end:.1f} MB")
    print(f"growth after warm-up over {done - args.warmup} samples: {end - (after_warmup or start):.1f} MB (target < 50 MB)")
    if nlp is not None:
        print(f"spaCy string store: {len(nlp.vocab.strings)} strings; analyzer cache: {len(analyzer._cache)} entries; {caches()}")
    real = real_lemma_entries()
    if real is not None:
        print(f"the {real[0]} distinct queries and labels of the shared VLM-R1 logs fill {real[1]} lemmatizer cache entries")


if __name__ == "__main__":
    main()
