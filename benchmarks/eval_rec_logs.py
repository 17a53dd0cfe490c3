"""Evaluate the default chain on every VLM-R1 REC log: the numbers and plots in docs/evaluation.md.

Run::

    .venv/bin/python benchmarks/eval_rec_logs.py                 # print the tables
    .venv/bin/python benchmarks/eval_rec_logs.py --write-docs    # also refresh docs/evaluation.md and the plots

For each log in ``--data`` (default ``../shared/data/vlmr1-rec-logs``):
correctness is recomputed from our own parse (IoU of the first box with the
ground truth >= 0.5; the logs' own ``correct`` field comes from a regex that
misses many boxes and is shown next to it), every registered verifier runs
(the default chain, as ``groundscore eval`` runs it), and calibration is
5-fold cross-validated, so every calibrated number is measured on samples the
calibrator never saw. The check printed at the end is the acceptance bar:
calibrated ECE <= 0.05 on the held-out folds of every log with >= 500
samples (pooled out-of-fold predictions; the worst single fold is shown too).

Writes ``benchmarks/results/eval_rec_logs.json`` (every number) and, with
``--write-docs``, ``docs/images/eval_reliability.png``,
``docs/images/eval_risk_coverage.png`` and the tables between the
``eval-table`` markers of ``docs/evaluation.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from shared_data import REC_LOGS as DEFAULT_DATA  # noqa: E402  (tests/shared_data.py: one definition of the data folder)

START, END = "<!-- eval-table:start -->", "<!-- eval-table:end -->"


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def tables(results: list[tuple[str, Any]], verifiers: list[str], elapsed: float, total: int) -> str:
    """The markdown tables for the docs."""
    out = [
        "| log | n | accuracy (ours / log's regex) | AUROC raw | AUROC calibrated | ECE raw | ECE calibrated (worst fold) | "
        "method | acc@50% | acc@70% | acc@90% | acc@100% | gate failed (share right) |",
        "|---|---:|---|---:|---:|---:|---|---|---:|---:|---:|---:|---|",
    ]
    for name, r in results:
        cal, raw = r.calibrated, r.raw
        methods = sorted(set(r.calibration.methods)) if r.calibration else []
        out.append(
            f"| {name} | {r.labelled} | {_f(r.accuracy)} / {_f(r.upstream_accuracy)} | {_f(raw.auroc)} | {_f(cal.auroc)} | "
            f"{_f(raw.ece)} | {_f(cal.ece)} ({_f(max(r.calibration.fold_ece))}) | {', '.join(methods)} | "
            + " | ".join(_f(c.accuracy) for c in cal.coverage)
            + f" | {r.gated} ({_f(r.gated_accuracy, 2)}) |"
        )
    out += [
        "",
        "Per verifier: AUROC of correct vs wrong on the samples where it gave a score, and on how many "
        "(\"–\": it never applied, or only one class was left).",
        "",
        "| log | " + " | ".join(verifiers) + " |",
        "|---|" + "---|" * len(verifiers),
    ]
    for name, r in results:
        by_name = {v.name: v for v in r.verifiers}
        cells = []
        for v in verifiers:
            m = by_name.get(v)
            cells.append("–" if m is None else f"{_f(m.auroc)} ({m.applied})")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    skipped = {}
    for _, r in results:
        for v in r.verifiers:
            if v.top_skip and v.name not in skipped:
                skipped[v.name] = v.top_skip
    if skipped:
        out += ["", "Most frequent reason for a None verdict (first log where it occurs):", ""]
        out += [f"- `{name}`: {why if len(why) <= 160 else why[:157] + '...'}" for name, why in skipped.items()]
    out += ["", f"{total:,} records in {elapsed:.0f} s on this machine (chain, cross-validated calibration and metrics)."]
    return "\n".join(out)


def evaluate_logs(logs: list[Path], *, folds: int = 5, seed: int = 0, limit: int | None = None,
                  verbose: bool = True) -> tuple[list[str], list[tuple[str, Any]], float, int]:
    """Every log through the default chain and cross-validated calibration: (verifier names, results, seconds, records).

    The numbers are those ``groundscore eval LOG --from vlm-r1`` prints for
    each log; ``tests/test_docs_generated.py`` checks the docs' tables against them.
    """
    from groundscore.chain import Chain
    from groundscore.scoring.evaluation import evaluate
    from groundscore.scoring.labelled import iter_items

    say = print if verbose else (lambda *a, **k: None)
    chain = Chain()
    say(f"verifiers: {', '.join(chain.names)}")
    for name in chain.names:
        missing = chain._unavailable.get(name)
        if missing:
            say(f"  {name}: unavailable here: {missing}")
    start = time.perf_counter()
    results = []
    total = 0
    for path in logs:
        t = time.perf_counter()
        items = list(iter_items(path, "vlm-r1", chain, batch_size=512, limit=limit))
        result = evaluate(items, scorer=chain.scorer, folds=folds, seed=seed, source=path.name, verifiers=chain.names)
        total += len(items)
        name = path.stem.replace("_val", "").replace("_desktop", "")
        results.append((name, result))
        cal = result.calibrated
        say(f"{name:<34} n={result.labelled:>5} acc={_f(result.accuracy)} AUROC raw={_f(result.raw.auroc)} "
            f"cal={_f(cal.auroc)} ECE raw={_f(result.raw.ece)} cal={_f(cal.ece)} "
            f"(worst fold {_f(max(result.calibration.fold_ece))}) {time.perf_counter() - t:5.1f} s")
    return chain.names, results, time.perf_counter() - start, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="records per log (for a quick look)")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)

    from groundscore.scoring.evaluation import write_grid

    logs = sorted(args.data.glob("*.json"))
    if not logs:
        print(f"no logs in {args.data}", file=sys.stderr)
        return 2
    names, results, elapsed, total = evaluate_logs(logs, folds=args.folds, seed=args.seed, limit=args.limit)
    text = tables(results, names, elapsed, total)
    print()
    print(text)

    failures = [n for n, r in results if r.labelled >= 500 and not r.calibrated.ece <= 0.05]
    print(f"\ncheck: calibrated held-out ECE <= 0.05 on every log with >= 500 samples: {'PASS' if not failures else 'FAIL ' + ', '.join(failures)}")

    out_json = ROOT / "benchmarks" / "results" / "eval_rec_logs.json"
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps({
        "verifiers": names, "folds": args.folds, "seed": args.seed, "elapsed_s": round(elapsed, 1),
        "results": {n: r.model_dump(mode="json") for n, r in results},
    }, indent=1) + "\n")
    print(f"wrote {out_json.relative_to(ROOT)}")
    if args.write_docs:
        images = ROOT / "docs" / "images"
        write_grid(results, images / "eval_reliability.png", "reliability")
        write_grid(results, images / "eval_risk_coverage.png", "risk_coverage")
        doc = ROOT / "docs" / "evaluation.md"
        page = doc.read_text()
        if START in page and END in page:
            head, rest = page.split(START, 1)
            _, tail = rest.split(END, 1)
            doc.write_text(f"{head}{START}\n{text}\n{END}{tail}")
            print("updated docs/evaluation.md and docs/images/eval_*.png")
        else:
            print(f"docs/evaluation.md has no {START} ... {END} markers; tables not written", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
