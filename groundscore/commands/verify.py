"""``groundscore verify IN -o OUT``: one Report per input sample, as JSONL.

Each output line is the Report's JSON plus a ``sample`` object (id, query,
solution, image, image_size, meta) so that later commands (``filter``,
``calibrate``, ``eval``) can use the reports without re-running the chain.
Input lines that cannot be read still get an output line (nothing is dropped).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from groundscore.model import Report, Sample


def add_parser(sub: Any) -> None:
    p = sub.add_parser("verify", help="verify samples (JSONL or VLM-R1 logs) and write reports", description=__doc__)
    p.add_argument("input", help="JSONL of samples, or a VLM-R1 evaluation log with --from vlm-r1")
    p.add_argument("-o", "--output", default="-", help="where to write reports (JSONL); '-' for stdout")
    p.add_argument("--from", dest="source", choices=["jsonl", "vlm-r1"], default=None, help="input format (detected when absent)")
    p.add_argument("-c", "--config", default=None, help="a TOML configuration (groundscore.toml or pyproject.toml)")
    p.add_argument("--verifiers", default=None, help="comma-separated verifier names (overrides the config)")
    p.add_argument("--image-root", default=None, help="folder that image paths in VLM-R1 logs are relative to")
    p.add_argument("--batch-size", type=int, default=256, help="samples per chain call (default 256)")
    p.add_argument("--limit", type=int, default=None, help="stop after this many samples")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary table")
    from groundscore.commands.engine_options import add_engine_arguments

    add_engine_arguments(p)
    p.set_defaults(func=run)


def batched(items: Iterable[Sample], size: int) -> Iterator[list[Sample]]:
    batch: list[Sample] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def report_record(report: Report, sample: Sample) -> dict[str, Any]:
    """A report as written to JSONL: the Report plus the sample fields needed later."""
    record = report.model_dump(mode="json")
    image = sample.image if isinstance(sample.image, str | Path) else None
    record["sample"] = {
        "id": sample.id,
        "query": sample.query,
        "solution": sample.solution,
        "image": str(image) if image is not None else None,
        "image_size": list(sample.image_size) if sample.image_size else None,
        "meta": sample.meta,
    }
    return record


def build_chain(args: argparse.Namespace) -> Any:
    from groundscore.chain import Chain
    from groundscore.config import load_config

    config = load_config(args.config)
    if args.verifiers:
        config = config.model_copy(update={"verifiers": [v.strip() for v in args.verifiers.split(",") if v.strip()]})
    return Chain(config)


class Summary:
    """Running totals for the table printed at the end."""

    def __init__(self) -> None:
        self.count = 0
        self.decisions: Counter[str] = Counter()
        self.scores: dict[str, list[float]] = {}
        self.applicable: Counter[str] = Counter()
        self.codes: Counter[str] = Counter()

    def add(self, report: Report) -> None:
        self.count += 1
        self.decisions[report.decision] += 1
        for v in report.verdicts:
            self.scores.setdefault(v.verifier, [])
            if v.score is not None:
                self.scores[v.verifier].append(v.score)
                self.applicable[v.verifier] += 1
            if v.code not in ("ok",) and not v.code.startswith("ok."):
                self.codes[f"{v.verifier}:{v.code}"] += 1

    def render(self, elapsed: float, out: IO[str]) -> None:
        n = max(1, self.count)
        print(f"\n{self.count} samples in {elapsed:.2f} s ({self.count / max(elapsed, 1e-9):,.0f}/s)", file=out)
        print("decisions: " + ", ".join(f"{k} {self.decisions.get(k, 0)} ({100 * self.decisions.get(k, 0) / n:.1f}%)" for k in ("accept", "abstain", "reject")), file=out)
        print(f"{'verifier':<16} {'applied':>8} {'mean score':>10}", file=out)
        for name, values in self.scores.items():
            mean = f"{sum(values) / len(values):.3f}" if values else "-"
            print(f"{name:<16} {self.applicable[name]:>8} {mean:>10}", file=out)
        if self.codes:
            print("most frequent findings:", file=out)
            for code, count in self.codes.most_common(12):
                print(f"  {count:>7}  {code}", file=out)


def run(args: argparse.Namespace) -> int:
    from groundscore.inputs import iter_samples

    if getattr(args, "engine", "local") == "ray":
        from groundscore.commands.engine_options import run_verify_on_ray

        return run_verify_on_ray(args)

    chain = build_chain(args)
    samples: Iterable[Sample] = iter_samples(args.input, args.source, args.image_root)
    if args.limit is not None:
        samples = (s for i, s in enumerate(samples) if i < args.limit)
    progress = None
    if not args.no_progress and sys.stderr.isatty():
        try:
            from tqdm import tqdm

            progress = tqdm(unit="sample", file=sys.stderr)
        except ImportError:
            progress = None
    summary = Summary()
    start = time.perf_counter()
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    try:
        for batch in batched(samples, max(1, args.batch_size)):
            for sample, report in zip(batch, chain.verify(batch), strict=True):
                if "input_error" in sample.meta:
                    report.parsed.issues.insert(0, _input_issue(sample.meta["input_error"]))
                out.write(json.dumps(report_record(report, sample), ensure_ascii=False) + "\n")
                summary.add(report)
            if progress is not None:
                progress.update(len(batch))
    finally:
        if out is not sys.stdout:
            out.close()
        if progress is not None:
            progress.close()
    if not args.quiet:
        summary.render(time.perf_counter() - start, sys.stderr if args.output == "-" else sys.stdout)
    return 0


def _input_issue(message: str) -> Any:
    from groundscore.model import Issue

    return Issue(code="input.unreadable", message=str(message), severity="error")
