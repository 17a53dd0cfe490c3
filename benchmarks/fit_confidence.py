"""Refit the confidence model shipped in ``groundscore/data/confidence.json`` on every labelled shared log.

Run::

    .venv/bin/python benchmarks/fit_confidence.py            # refit and write the package's model file
    .venv/bin/python benchmarks/fit_confidence.py --out m.json --kind boosted --group-kind logistic

Every answer of every log in ``../shared/data`` (the 7B and 3B VLM-R1 logs:
RefCOCO, RefCOCO+, RefCOCOg, RefGTA, ScreenSpot; ``benchmarks/confidence_data.py``
says how they are read and labelled) goes through the default chain once; the
single-answer model is fitted on the verdicts without ``agreement``, the group
model on those with it. Only answers the model applies to are used (no failed
gate, some verifier applied: the chain gives the others 0 or abstains).
With ``--platt-folds`` a Platt step is fitted on scores of questions held out
from the fit (folds split by image); by default the fitted probability is
kept as it is (eval_confidence.py measures both the same way).

How well this holds on models and questions it has not seen is measured by
``benchmarks/eval_confidence.py``, not here.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from confidence_data import DEFAULT_CACHE, verified_answers  # noqa: E402

OUT = ROOT / "groundscore" / "data" / "confidence.json"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=("logistic", "boosted", "stacked"), default="logistic", help="the single-answer model")
    ap.add_argument("--group-kind", choices=("logistic", "boosted", "stacked"), default=None,
                    help="the group model (default: as --kind)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--platt-folds", type=int, default=0,
                    help="question folds for a Platt step on held-out scores (0: keep the fitted probability)")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = ap.parse_args(argv)
    group_kind = args.group_kind or args.kind

    from groundscore.confidence import ConfidenceFile, group_features, single_features
    from groundscore.confidence.features import GROUP_FEATURES, SINGLE_FEATURES
    from groundscore.confidence.fit import fit_submodel
    from groundscore.confidence.model import FitSummary
    from groundscore.scoring import combine

    start = time.perf_counter()
    answers = verified_answers(args.cache)
    single_rows, single_y, single_keys = [], [], []
    group_rows, group_y, group_keys = [], [], []
    for a in answers:
        alone = [v for v in a.verdicts if v.verifier != "agreement"]
        _, applicable = combine(alone)
        if not applicable or any(v.gate is False for v in alone):
            continue
        single_rows.append(single_features(a.query, a.parsed, alone))
        single_y.append(a.correct)
        single_keys.append(a.fold_key)
        g = group_features(a.query, a.parsed, a.verdicts)
        if g is not None:
            group_rows.append(g)
            group_y.append(a.correct)
            group_keys.append(a.fold_key)
    single = fit_submodel(single_rows, single_y, SINGLE_FEATURES, single_keys, args.kind, args.platt_folds)
    group = fit_submodel(group_rows, group_y, GROUP_FEATURES, group_keys, group_kind, args.platt_folds)
    logs = sorted({a.log for a in answers})
    model = ConfidenceFile(single=single, group=group, fitted=FitSummary(
        logs=logs, n_single=len(single_y), n_group=len(group_y),
        command=f"python benchmarks/fit_confidence.py --kind {args.kind} --group-kind {group_kind}",
    ))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    print(f"fitted a {args.kind} model on {len(single_y)} answers ({sum(single_y)} right) from {len(logs)} logs, "
          f"{group_kind} group model on {len(group_y)}; wrote {args.out} in {time.perf_counter() - start:.0f} s")
    if args.kind == "logistic":
        ranked = sorted(zip(single.features, single.coef, strict=True), key=lambda t: -abs(t[1]))
        print("single-answer weights (standardised), largest first:")
        for name, c in ranked:
            print(f"  {name:24s} {c:+.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
