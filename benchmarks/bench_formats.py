"""What supporting every grounding format costs the parser, on the VLM-R1 REC logs.

Run::

    .venv/bin/python benchmarks/bench_formats.py              # 18,668 completions, 5 repetitions
    .venv/bin/python benchmarks/bench_formats.py --repeat 9

Times ``parse_completion`` (tag splitting, detection, parsing, conversion to
original pixels) over every completion of the logs, in the same process and
run, with two parser sets:

- ``qwen25_json only``: the single-parser baseline (what parsing cost before
  the other formats existed);
- ``all formats``: every registered parser, so every completion is offered
  to every ``detect``.

and prints completions per CPU-second (median, min, max over the
repetitions) and the ratio of the two. It also prints what detection alone costs per R1 answer
with each set, and each parser's ``detect`` cost per (whole) completion, so
a slow detector is found by name.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from shared_data import REC_LOGS as DEFAULT_DATA  # tests/shared_data.py: one definition of the data folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    from groundscore.model import Sample
    from groundscore.parse import parse_completion
    from groundscore.plugins.manager import get_registry

    samples = []
    for path in sorted(args.data.glob("*.json")):
        for record in json.loads(path.read_text(encoding="utf-8"))["results"]:
            samples.append(Sample(completion=record["model_output"]))
    parsers = get_registry().parsers
    sets = {"qwen25_json only": {"qwen25_json": parsers["qwen25_json"]}, "all formats": dict(parsers)}
    size = (640, 480)

    # CPU time of this process (time.process_time), not wall time: on a shared
    # machine other jobs steal the CPU, and that must not count against either
    # set. The two sets alternate on chunks of 500 completions, so drift in
    # cache and frequency hits both alike.
    chunks = [samples[i : i + 500] for i in range(0, len(samples), 500)]
    rates: dict[str, list[float]] = {name: [] for name in sets}
    for rep in range(args.repeat):
        spent = dict.fromkeys(sets, 0.0)
        for k, chunk in enumerate(chunks):
            order = list(sets.items()) if (k + rep) % 2 == 0 else list(reversed(sets.items()))
            for name, chosen in order:
                start = time.process_time()
                for sample in chunk:
                    parse_completion(sample, chosen, size)
                spent[name] += time.process_time() - start
        for name in sets:
            rates[name].append(len(samples) / spent[name])

    print(f"{len(samples)} completions from {args.data}, {args.repeat} repetitions, {len(parsers)} parsers registered")
    print("rates are completions per CPU-second of this process\n")
    print(f"{'parser set':<18} {'median/s':>10} {'min/s':>10} {'max/s':>10}")
    for name, values in rates.items():
        print(f"{name:<18} {statistics.median(values):>10.0f} {min(values):>10.0f} {max(values):>10.0f}")
    ratio = statistics.median(rates["all formats"]) / statistics.median(rates["qwen25_json only"])
    print(f"\nall formats / qwen25_json only: {ratio:.2f}x throughput")

    from groundscore.parse import detect_format
    from groundscore.parse.r1 import split_r1

    answers = [split_r1(s.completion).answer or "" for s in samples]
    print(f"\n{'detect_format on the answers':<30} {'CPU us/answer (best of 3)':>26}")
    for name, chosen in sets.items():
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            for answer in answers:
                detect_format(answer, chosen)
            best = min(best, (time.process_time() - start) / len(answers) * 1e6)
        print(f"{name:<30} {best:>26.2f}")

    print(f"\n{'detect':<16} {'us/completion':>14}")
    texts = [s.completion for s in samples]
    for name, parser in parsers.items():
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for text in texts:
                parser.detect(text)
            best = min(best, (time.perf_counter() - start) / len(texts) * 1e6)
        print(f"{name:<16} {best:>14.2f}")


if __name__ == "__main__":
    main()
