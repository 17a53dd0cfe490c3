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

and prints completions/s (median, min, max over the repetitions) and the
ratio of the two. It also prints each parser's ``detect`` cost per
completion, so a slow detector is found by name.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "vlmr1-rec-logs"
if not DEFAULT_DATA.exists():
    DEFAULT_DATA = Path("/work/shared/data/vlmr1-rec-logs")


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

    rates: dict[str, list[float]] = {name: [] for name in sets}
    for _ in range(args.repeat):
        for name, chosen in sets.items():  # interleaved, so drift in machine load hits both
            start = time.perf_counter()
            for sample in samples:
                parse_completion(sample, chosen, size)
            rates[name].append(len(samples) / (time.perf_counter() - start))

    print(f"{len(samples)} completions from {args.data}, {args.repeat} repetitions, {len(parsers)} parsers registered\n")
    print(f"{'parser set':<18} {'median/s':>10} {'min/s':>10} {'max/s':>10}")
    for name, values in rates.items():
        print(f"{name:<18} {statistics.median(values):>10.0f} {min(values):>10.0f} {max(values):>10.0f}")
    ratio = statistics.median(rates["all formats"]) / statistics.median(rates["qwen25_json only"])
    print(f"\nall formats / qwen25_json only: {ratio:.2f}x throughput")

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
