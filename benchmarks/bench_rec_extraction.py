"""Box extraction and accuracy on the VLM-R1 REC logs: the upstream regex vs groundscore's parser.

Run::

    .venv/bin/python benchmarks/bench_rec_extraction.py            # the table
    .venv/bin/python benchmarks/bench_rec_extraction.py --misses   # and every miss, with its issues

For each log in ``--data`` (default ``../shared/data/vlmr1-rec-logs``), per file:

- ``has box``: completions that contain a box by an independent, deliberately
  simple definition: four comma-separated numbers ``a, b, c, d`` anywhere in the
  text with ``a < c`` and ``b < d`` (this regex shares nothing with the parser);
- ``upstream``: the share where VLM-R1's regex extracted a box
  (``extracted_answer != [0, 0, 0, 0]`` in the log);
- ``ours``: the share where groundscore's parser returned a box, and
  ``ours|has``: the share of ``has box`` completions where it did (the bar is
  99.5% per file);
- ``acc upstream``: the log's own accuracy (``correct``, from the regex);
  ``acc ours``: accuracy recomputed from our parse, IoU of the first box with
  ``ground_truth`` >= 0.5. The logs carry no image sizes, so coordinates are
  taken as original pixels (``iter_samples(path, "vlm-r1")`` sets
  ``coords="original"``), exactly as VLM-R1's own scoring compares them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from groundscore.chain import Chain
from groundscore.inputs import iter_samples
from groundscore.model import box_iou

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from shared_data import REC_LOGS as DEFAULT_DATA  # tests/shared_data.py: one definition of the data folder

_N = r"(-?\d+(?:\.\d+)?)"
ANY_BOX = re.compile(r"\s*,\s*".join([_N] * 4))


def has_box(text: str) -> bool:
    """Four comma-separated numbers forming an ordered box, anywhere in the text."""
    for a, b, c, d in ANY_BOX.findall(text):
        if float(a) < float(c) and float(b) < float(d):
            return True
    return False


def evaluate(path: Path, chain: Chain) -> dict[str, object]:
    with path.open() as fh:
        records = json.load(fh)["results"]
    samples = list(iter_samples(path, "vlm-r1"))
    reports = chain.verify(samples)
    n = len(records)
    has = ours = ours_has = correct = upstream = upstream_correct = 0
    misses = []
    for record, sample, report in zip(records, samples, reports, strict=True):
        contains = has_box(sample.completion)
        found = bool(report.parsed.boxes)
        has += contains
        ours += found
        ours_has += contains and found
        upstream += record.get("extracted_answer") != [0, 0, 0, 0]
        upstream_correct += bool(record.get("correct"))
        gt = record.get("ground_truth")
        if found and isinstance(gt, list) and len(gt) == 4:
            correct += box_iou(report.parsed.boxes[0].xyxy, gt) >= 0.5
        if contains and not found:
            misses.append((sample.id, report.parsed.issue_codes(), sample.completion))
    return {
        "file": path.name, "n": n, "has_box": has, "upstream": upstream / n, "ours": ours / n,
        "ours_given_has": ours_has / has if has else 1.0, "acc_upstream": upstream_correct / n,
        "acc_ours": correct / n, "misses": misses,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--misses", action="store_true", help="print every miss (completion tail and parser issues)")
    args = ap.parse_args(argv)

    chain = Chain({"verifiers": ["schema"]})
    print(f"{'file':40} {'n':>5} {'has box':>8} {'upstream':>9} {'ours':>7} {'ours|has':>9} {'acc upstream':>13} {'acc ours':>9}")
    total_has = total_hit = 0
    worst = 1.0
    all_misses = []
    for path in sorted(args.data.glob("*.json")):
        r = evaluate(path, chain)
        total_has += r["has_box"]  # type: ignore[operator]
        total_hit += round(r["ours_given_has"] * r["has_box"])  # type: ignore[operator]
        worst = min(worst, r["ours_given_has"])  # type: ignore[type-var]
        all_misses.extend(r["misses"])  # type: ignore[arg-type]
        print(f"{r['file']:40} {r['n']:5} {r['has_box']:8} {r['upstream']:9.1%} {r['ours']:7.1%} "
              f"{r['ours_given_has']:9.2%} {r['acc_upstream']:13.1%} {r['acc_ours']:9.1%}")
    print(f"\nbox found in {total_hit}/{total_has} completions that contain one ({total_hit / max(1, total_has):.2%}); "
          f"worst file {worst:.2%}; bar 99.5% per file: {'met' if worst >= 0.995 else 'NOT met'}")
    print(f"misses: {len(all_misses)}")
    for sid, codes, text in all_misses if args.misses else all_misses[:10]:
        print(f"  {sid}: issues {codes}; ends {text[-120:]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
