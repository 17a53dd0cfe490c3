"""Worst-case cost of one completion (up to 64 KB) as a multiple of a typical real completion, same run.

Run from the repository root (needs the ``[nlp]`` extra and the shared logs)::

    .venv/bin/python benchmarks/bench_cost.py                 # every shape, API + TRL + verl
    .venv/bin/python benchmarks/bench_cost.py --batch 4       # quicker
    .venv/bin/python benchmarks/bench_cost.py --entry api
    .venv/bin/python benchmarks/bench_cost.py --max-kb 16     # shapes scaled to a 4,096-token cap

The baseline is measured here, in the same process: ``--real`` completions of
the shared VLM-R1 GRPO logs (a <think> and a JSON answer, the query from the
log), scored in one batch per entry point; a typical completion's cost is
the batch's CPU time over its size. Each adversarial shape below is built
``--batch`` times with different made-up text (so that no cache answers a
repeat), scored in one batch, and its per-completion cost is printed as a
multiple of the typical one. The target (issue 28): every shape at most 20x.
Then one batch of 512 adversarial completions (the shapes in turn), whose
total time must stay within a few seconds: its mean cost per completion at
most :data:`BATCH_TARGET` typical ones. It is read ``--big-repeats`` times per
entry point, each reading right after a typical batch of new real answers,
and judged by the median (printed beside 512 real completions scored in one
batch).

Entry points: the public API (:class:`groundscore.rewards.Rewarder`), TRL's
reward function (:func:`groundscore.integrations.trl.grounding_reward`) and
verl's ``compute_score_batch``. Time is process CPU time
(``time.process_time``), which a shared machine inflates less than wall time.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from shared_data import REC_LOGS  # noqa: E402

MAX_BYTES = 65_536
TARGET = 20.0
TYPICAL_RUNS = 3
"""Batches of real answers a typical completion is read from (the best of them): every ratio below divides by it,
and two batches let one busy moment of this shared machine move every ratio of a run."""
BATCH_TARGET = 6.0
"""The 512-completion batch's bar, in the unit of the per-shape one: its mean cost per completion at most this
many typical real completions. Issue 28 asks for "a few seconds" where a typical completion cost about 1 ms
here: 512 completions in about 3 s is about six typical ones each. A ratio, read in the same run, because this
shared machine's speed swings by half between runs (the batch measured 5.8-8.7 s on one commit)."""
REC = "Please provide the bounding box coordinate of the region this sentence describes: "
QUERY = "the brown dog on the left"
SIZE = (640, 480)
SOLUTION = [[40.0, 200.0, 240.0, 440.0]]


def made_up(rng: random.Random, chars: int, lo: int = 4, hi: int = 11) -> str:
    """``chars`` characters of words no dictionary holds (random letters), different per call."""
    words: list[str] = []
    n = 0
    while n < chars:
        w = "".join(rng.choice("bcdfghjklmnpqrstvwxz" if k % 2 else "aeiouy") for k in range(rng.randint(lo, hi)))
        words.append(w)
        n += len(w) + 1
    return " ".join(words)[:chars]


def r1(think: str, answer: Any) -> str:
    return f"<think>{think}</think>\n<answer>```json\n{json.dumps(answer, ensure_ascii=False)}\n```</answer>"


def _fit_to(completion: str, limit: int = MAX_BYTES) -> str:
    """Cut to 64 KB of UTF-8. The shapes are built to fit (so that their JSON stays whole), except the
    "cut JSON" shape, which is built larger on purpose: the parser then repairs a JSON text that never closes."""
    data = completion.encode("utf-8")
    return completion if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def shapes(limit: int = MAX_BYTES) -> dict[str, Callable[[random.Random], str]]:
    """Shape name -> builder of one completion of that shape (at most ``limit`` bytes, 64 KB by default).

    Below 64 KB every count and length is scaled by ``limit / 64 KB`` (a trainer's cap on completion length:
    4,096 tokens are about 16 KB), so that each shape keeps its kind and still fills the budget.
    """
    think = "The query asks for the brown dog on the left. I can see a brown dog lying on the grass on the left."
    scale = limit / MAX_BYTES

    def scaled(n: int) -> int:
        return max(1, int(n * scale))

    def _fit(completion: str) -> str:
        return _fit_to(completion, limit)

    def labels(n: int, chars: int) -> Callable[[random.Random], str]:
        def build(rng: random.Random) -> str:
            boxes = [{"bbox_2d": [10 + k % 500, 10 + k % 400, 60 + k % 500, 60 + k % 400], "label": made_up(rng, chars)}
                     for k in range(n)]
            return _fit(r1(think, boxes))
        return build

    def thinking(unit: Callable[[random.Random], str]) -> Callable[[random.Random], str]:
        def build(rng: random.Random) -> str:
            parts, n = [], 0
            while n < limit - 400:
                u = unit(rng)
                parts.append(u)
                n += len(u.encode("utf-8")) + 1
            return _fit(r1(" ".join(parts)[: limit - 400], [{"bbox_2d": [40, 200, 240, 440], "label": QUERY}]))
        return build

    def obfuscated_label(rng: random.Random) -> str:
        text = "".join(ch + rng.choice(["\u0301", "\u200b", "\u0336", "\ufffd", ""]) for ch in made_up(rng, scaled(12_000)))
        return _fit(r1(think, [{"bbox_2d": [40, 200, 240, 440], "label": text}]))

    def fullwidth_labels(rng: random.Random) -> str:
        boxes = [{"bbox_2d": [10 + i, 10, 60 + i, 60], "label": "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c
                                                                       for c in made_up(rng, scaled(600)))} for i in range(32)]
        return _fit(r1(think, boxes))

    def points(rng: random.Random) -> str:
        pts = [{"point_2d": [rng.randint(0, 639), rng.randint(0, 479)], "label": made_up(rng, 8)} for _ in range(scaled(1200))]
        return _fit(r1(think, pts))

    return {
        "32 labels x 200 chars of made-up words": labels(32, 200),
        "250 boxes x 200-char made-up labels": labels(scaled(250), 200),
        "700 boxes x 40-char made-up labels": labels(scaled(700), 40),
        "60 boxes x 1000-char made-up labels": labels(scaled(60), 1000),
        "1 label, 60 KB of made-up words": labels(1, scaled(60_000)),
        "1 label, combining marks / zero-width / U+FFFD": obfuscated_label,
        "32 fullwidth labels x 600 chars": fullwidth_labels,
        "1200 points with made-up labels": points,
        "cut JSON: 64 KB of boxes, never closed": lambda rng: _fit(r1(think, [
            {"bbox_2d": [10 + i % 500, 10, 60 + i % 500, 60], "label": made_up(rng, 200)} for i in range(scaled(400))])),
        "thinking: 64 KB of made-up words": thinking(lambda rng: made_up(rng, 200) + "."),
        "thinking: 64 KB of absence sentences": thinking(
            lambda rng: f"There is no {made_up(rng, 12)} dog {made_up(rng, 8)} in the image, I cannot find it."),
        # each sentence has a negation, the query's noun and a word of the picture, so the grammar reading
        # (groundscore.nlp.denial) parses as many sentences as it may, each as long as it may
        "thinking: 64 KB of negated sentences on the dog": thinking(
            lambda rng: f"The dog on the left is not {made_up(rng, 220)} in the image."),
        "thinking: 64 KB of 'is actually a' claims": thinking(
            lambda rng: f"The dog is actually a {made_up(rng, 10)} cat, it turns out to be the {made_up(rng, 6)}."),
        "thinking: 64 KB of written boxes": thinking(
            lambda rng: f"[{rng.randint(0, 600)}, {rng.randint(0, 400)}, {rng.randint(0, 600)}, {rng.randint(0, 400)}]"),
        "thinking: 64 KB of designations": thinking(lambda rng: f"This refers to the {made_up(rng, 30)}."),
    }


def real_samples(n: int, skip: int = 0) -> list[dict[str, Any]]:
    """``n`` real GRPO completions (thinking + JSON answer) with their queries, from the shared logs."""
    from groundscore.inputs import iter_samples

    out: list[dict[str, Any]] = []
    for path in sorted(REC_LOGS.glob("grpo-ckpt1000_*.json")):
        for k, s in enumerate(iter_samples(path, "vlm-r1")):
            if k < skip:
                continue
            out.append({"query": s.query, "completion": s.completion, "image_size": s.image_size or SIZE,
                        "solution": [list(b) for b in s.solution] if s.solution else None})
            if len(out) >= n:
                return out
    return out


def entry_points() -> dict[str, Callable[[list[dict[str, Any]]], Any]]:
    from groundscore.integrations import verl
    from groundscore.integrations.trl import grounding_reward
    from groundscore.rewards import Rewarder

    rewarder = Rewarder()
    trl = grounding_reward(query_column="query")

    def api(samples: list[dict[str, Any]]) -> Any:
        return rewarder.rewards(samples)

    def trl_call(samples: list[dict[str, Any]]) -> Any:
        return trl(prompts=[f"{REC}{s['query']}." for s in samples], completions=[s["completion"] for s in samples],
                   query=[s["query"] for s in samples], solution=[s["solution"] for s in samples],
                   image_size=[list(s["image_size"]) for s in samples])

    def verl_call(samples: list[dict[str, Any]]) -> Any:
        return verl.compute_score_batch(["rec"] * len(samples), [s["completion"] for s in samples],
                                        [s["solution"] for s in samples],
                                        [{"question": s["query"], "image_size": list(s["image_size"])} for s in samples])

    return {"api": api, "trl": trl_call, "verl": verl_call}


def cpu(fn: Callable[[list[dict[str, Any]]], Any], samples: list[dict[str, Any]]) -> float:
    """CPU seconds of one call on the batch.

    The garbage of earlier calls is collected first: a full collection of this process (spaCy's vocabulary,
    the lexicon) takes a few hundred milliseconds and otherwise lands on whichever row is measured when it
    falls due (a batch of 8 then reads 20x for one shape and one entry point, and never the same again).
    What the call itself leaves to collect is still billed to it."""
    gc.collect()
    start = time.process_time()
    fn(samples)
    return time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=8, help="completions of each shape per measured batch")
    ap.add_argument("--real", type=int, default=64, help="real completions in the baseline batch")
    ap.add_argument("--big", type=int, default=512, help="size of the mixed adversarial batch (0: skip)")
    ap.add_argument("--big-repeats", type=int, default=3,
                    help="readings of the adversarial batch per entry point, each paired with a typical batch")
    ap.add_argument("--entry", default="", help="comma-separated entry points (default: api,trl,verl)")
    ap.add_argument("--seed", type=int, default=28)
    ap.add_argument("--big-only", action="store_true", help="skip the per-shape table (to profile the big batch alone)")
    ap.add_argument("--max-kb", type=int, default=MAX_BYTES // 1024,
                    help="completion budget in KB (64: the target's; 16: about a 4,096-token cap); shapes scale to it")
    args = ap.parse_args(argv)
    limit = min(MAX_BYTES, args.max_kb * 1024)

    points = entry_points()
    if args.entry:
        points = {k: v for k, v in points.items() if k in args.entry.split(",")}
    rng = random.Random(args.seed)
    warm = real_samples(16)
    # warm-up: what loads once per process (the spaCy pipelines, the lexicon, the parser of the grammar reading,
    # wordfreq's list) loads here, so that no shape's row pays it; each shape's own text is made up afresh below
    warm += [{"query": QUERY, "completion": build(random.Random(-1)), "image_size": SIZE, "solution": None}
             for build in shapes(limit).values()]
    for fn in points.values():
        fn(warm)
    # each entry point and each repeat reads its own real answers, so that no cache of another run answers them
    pool = real_samples(args.real * TYPICAL_RUNS * len(points), skip=100)
    typical: dict[str, float] = {}
    for k, (name, fn) in enumerate(points.items()):
        runs = [pool[(TYPICAL_RUNS * k + r) * args.real : (TYPICAL_RUNS * k + r + 1) * args.real]
                for r in range(TYPICAL_RUNS)]
        typical[name] = min(cpu(fn, batch) / len(batch) for batch in runs)
    print(f"typical real completion (GRPO logs, best of {TYPICAL_RUNS} batches of {args.real} distinct answers): "
          + ", ".join(f"{k} {v * 1000:.2f} ms" for k, v in typical.items()), flush=True)
    scale = "" if limit == MAX_BYTES else f", counts and lengths x {limit / MAX_BYTES:.2f}"
    print(f"\n{f'shape (each <= {limit // 1024} KB{scale})':52s} " + " ".join(f"{p:>16s}" for p in points)
          + f"   (CPU ms per completion, batch of {args.batch}; x typical)")
    worst: dict[str, tuple[float, str]] = {p: (0.0, "") for p in points}
    table = shapes(limit)
    for name, build in ({} if args.big_only else table).items():
        row = []
        for point, fn in points.items():
            batch = [{"query": QUERY, "completion": build(rng), "image_size": SIZE, "solution": g}
                     for g in ([SOLUTION, None] * args.batch)[: args.batch]]
            assert all(len(s["completion"].encode("utf-8")) <= limit for s in batch)
            per = cpu(fn, batch) / len(batch)
            ratio = per / typical[point]
            if ratio > worst[point][0]:
                worst[point] = (ratio, name)
            row.append(f"{per * 1000:7.2f} ({ratio:5.1f}x)")
        print(f"{name:52s} " + " ".join(f"{c:>16s}" for c in row), flush=True)

    ok = True
    print(f"\nworst shape per entry point (target: at most {TARGET:.0f}x a typical real completion):")
    for point, (ratio, name) in worst.items():
        verdict = "ok" if ratio <= TARGET else "OVER"
        ok = ok and ratio <= TARGET
        print(f"  {point:5s} {ratio:6.1f}x  {verdict}  ({name})")

    if args.big:
        builders = list(table.values())

        def adversarial() -> list[dict[str, Any]]:
            return [{"query": QUERY, "completion": builders[k % len(builders)](rng), "image_size": SIZE,
                     "solution": SOLUTION if k % 2 else None} for k in range(args.big)]

        repeats = max(1, args.big_repeats)
        # fresh real answers for every reading (no cache of another reading answers them): per entry point and
        # repeat, a typical batch; per entry point, one batch as large as the adversarial one
        need = len(points) * (repeats * args.real + args.big)
        fresh = real_samples(need, skip=100 + len(pool))
        if len(fresh) < need:  # a typical batch cut short would still be divided by --real: refuse instead
            raise SystemExit(f"the shared GRPO logs hold {len(fresh)} more real answers, {need} are needed: "
                             "lower --real, --big or --big-repeats")
        real = iter(fresh)

        def take(n: int) -> list[dict[str, Any]]:
            return [next(real) for _ in range(n)]

        print(f"\n{args.big} adversarial completions in one batch (every shape in turn, new text each time); mean cost "
              f"per completion at most {BATCH_TARGET:.0f}x a typical real one, read {repeats} times, each right after "
              f"a typical batch of {args.real} real answers (paired, so that the machine's speed cancels):")
        for point, fn in points.items():
            ratios, seconds_all = [], []
            for _ in range(repeats):
                now = cpu(fn, take(args.real)) / args.real
                batch = adversarial()
                seconds = cpu(fn, batch)
                seconds_all.append(seconds)
                ratios.append(seconds / args.big / now)
            base = cpu(fn, take(args.big))
            ratio = statistics.median(ratios)
            ok = ok and ratio <= BATCH_TARGET
            print(f"  {point:5s} {statistics.median(seconds_all):6.2f} s CPU (median; {min(seconds_all):.2f}-"
                  f"{max(seconds_all):.2f}), {ratio:4.1f}x typical (median; "
                  + ", ".join(f"{r:.1f}" for r in ratios) + f")  {'ok' if ratio <= BATCH_TARGET else 'OVER'}; "
                  f"{args.big} real answers in one batch {base:5.2f} s", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
