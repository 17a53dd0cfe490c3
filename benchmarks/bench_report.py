"""Time and size of an HTML report of the 18,000 REC-log records (no images there: text cards).

Verifying the records (the chain) is timed apart from building the page, so
the report's own cost shows; the baseline is writing the same cards as plain
JSON in the same run. ``python benchmarks/bench_report.py [--limit N]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from shared_data import REC_LOGS


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=None, help="records per log (default all)")
    args = ap.parse_args()
    from groundscore.chain import Chain
    from groundscore.labelled import iter_items
    from groundscore.report import build_report
    from groundscore.report.data import card

    logs = sorted(p for p in REC_LOGS.glob("*_ref*_val.json"))
    chain = Chain()
    t0 = time.perf_counter()
    items = []
    for log in logs:
        items.extend(iter_items(log, "vlm-r1", chain, limit=args.limit))
    for n, item in enumerate(items):
        item.index = n
    verify_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t1 = time.perf_counter()
        Path(tmp, "cards.json").write_text(json.dumps([card(i) for i in items]), encoding="utf-8")
        baseline_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        page = build_report(items, Path(tmp) / "report", title="REC logs", scorer=chain.scorer, verifiers=chain.names)
        report_s = time.perf_counter() - t2
        size = page.stat().st_size
    print(f"records: {len(items)} from {len(logs)} logs")
    print(f"verify (chain): {verify_s:.1f} s")
    print(f"cards as plain JSON (baseline): {baseline_s:.2f} s")
    print(f"report (cards, evaluate, page): {report_s:.2f} s  ({report_s / baseline_s:.1f}x the baseline)")
    print(f"index.html: {size / 1e6:.1f} MB ({size / len(items):.0f} bytes a record)")


if __name__ == "__main__":
    main()
