"""The confidence model on models and questions it was not fitted on: the numbers in
docs/concepts/what-groundscore-can-know.md.

Run::

    .venv/bin/python benchmarks/eval_confidence.py                  # print the tables
    .venv/bin/python benchmarks/eval_confidence.py --write-docs     # also refresh the docs page's tables
    .venv/bin/python benchmarks/eval_confidence.py --holdout size   # hold out 7B or 3B as a whole

Protocol (``benchmarks/confidence_data.py`` says how the answers are read):
every answer of every shared log is predicted by a model fitted WITHOUT its
model/checkpoint (all of that model's logs are left out: leave-one-model-out)
and WITHOUT its question (questions, keyed by image where one is known, are
split into ``--folds`` folds; the answers of fold f are predicted by a model
fitted on the other folds only). So no prediction has seen the answering
model, nor any model's answer to the same question.

The confidence is what the chain computes (:meth:`groundscore.scoring.Scorer.score`
with the fitted model: 0 on a failed gate). Single-answer: verdicts without
``agreement``; group: with it (the other members are the other models'
answers to the same question).

Beside it, measured on the same answers in the same run, the simple
predictors of the shared data's README: the log of the box area, the query's
length (each in the direction that suits it best on that log, chosen in
hindsight: a bar higher than the baselines really are) and, in groups, the
mean IoU with the other answers. Printed for every held-out log: n, accuracy,
AUROC, ECE (10 bins), accuracy at 50/70/90% coverage, and the targets:
single AUROC >= the best simple predictor's; group AUROC >= mean-IoU + 0.02;
ECE <= 0.05.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from confidence_data import DEFAULT_CACHE, verified_answers  # noqa: E402
from noise import auroc_gap, ece_interval, verdict_at_least, verdict_at_most  # noqa: E402

DOC = ROOT / "docs" / "concepts" / "what-groundscore-can-know.md"
RESULT = ROOT / "benchmarks" / "results" / "eval_confidence.json"
COVERAGE = (0.5, 0.7, 0.9)


def _f(v: float | None, d: int = 3) -> str:
    return "–" if v is None else f"{v:.{d}f}"


def metrics(conf: list[float], y: list[bool]) -> dict[str, Any]:
    from groundscore.scoring.evaluation import accuracy_at_coverage, auroc, expected_calibration_error

    return {
        "n": len(y), "accuracy": sum(y) / len(y) if y else None,
        "auroc": auroc(conf, y), "ece": expected_calibration_error(conf, y),
        "coverage": {str(c): accuracy_at_coverage(conf, y, c).accuracy for c in COVERAGE},
    }


def best_direction_auroc(scores: list[float], y: list[bool]) -> float | None:
    from groundscore.scoring.evaluation import auroc

    a = auroc(scores, y)
    return None if a is None else max(a, 1.0 - a)


def holdout_key(model: str, how: str) -> str:
    return model.split("-")[0] if how == "size" else model


def run(answers: list[Any], kind: str, folds: int, holdout: str, inner: int = 0,
        group_kind: str | None = None) -> dict[str, Any]:
    import numpy as np

    from groundscore.confidence import ConfidenceFile, group_features, single_features
    from groundscore.confidence.features import GROUP_FEATURES, SINGLE_FEATURES
    from groundscore.confidence.fit import fit_submodel, fold_of, matrix
    from groundscore.scoring import Scorer, combine

    group_kind = group_kind or kind
    n = len(answers)
    single_verdicts = [[v for v in a.verdicts if v.verifier != "agreement"] for a in answers]
    usable = []  # the model applies: some verifier applied, no gate failed (else the chain's rules give 0)
    for vs in single_verdicts:
        _, applicable = combine(vs)
        usable.append(applicable and not any(v.gate is False for v in vs))
    srows = [single_features(a.query, a.parsed, vs) for a, vs in zip(answers, single_verdicts, strict=True)]
    grows = [group_features(a.query, a.parsed, a.verdicts) for a in answers]
    y = [a.correct for a in answers]
    qfold = np.array(fold_of([a.fold_key for a in answers], folds))
    held = np.array([holdout_key(a.model, holdout) for a in answers])
    keys = np.array([a.fold_key for a in answers])
    yy = np.array(y)
    Xs = matrix(srows, SINGLE_FEATURES)
    has_group = np.array([g is not None for g in grows])
    Xg = matrix([g or {} for g in grows], GROUP_FEATURES)
    ok = np.array(usable)
    single_conf = [0.0] * n
    group_conf = [0.0] * n
    for key in sorted(set(held.tolist())):
        for f in range(folds):
            test = np.flatnonzero((held == key) & (qfold == f))
            if not len(test):
                continue
            train = (held != key) & (qfold != f) & ok
            single = fit_submodel(Xs[train], yy[train].tolist(), SINGLE_FEATURES, keys[train].tolist(), kind, inner)
            gtrain = train & has_group
            group = fit_submodel(Xg[gtrain], yy[gtrain].tolist(), GROUP_FEATURES, keys[gtrain].tolist(),
                                 group_kind, inner)
            scorer = Scorer(model=ConfidenceFile(single=single, group=group))
            for i in test.tolist():
                a = answers[i]
                single_conf[i] = scorer.score(single_verdicts[i], a.query, a.parsed)[0]
                group_conf[i] = scorer.score(a.verdicts, a.query, a.parsed)[0]
        print(f"  held out {key}", file=sys.stderr)
    logs: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, a in enumerate(answers):
        logs[(a.model, a.dataset)].append(i)
    per_log = []
    for (model, dataset), idx in sorted(logs.items()):
        yy = [y[i] for i in idx]
        area = [srows[i]["box.log_area"] for i in idx]
        qlen = [srows[i]["query.words"] for i in idx]
        miou = [(grows[i] or {}).get("group.mean_iou", 0.0) for i in idx]
        s = metrics([single_conf[i] for i in idx], yy)
        g = metrics([group_conf[i] for i in idx], yy)
        base_area, base_q = best_direction_auroc(area, yy), best_direction_auroc(qlen, yy)
        base_iou = best_direction_auroc(miou, yy)
        best_simple = max((b for b in (base_area, base_q) if b is not None), default=None)
        per_log.append({
            "model": model, "dataset": dataset, "single": s, "group": g,
            "auroc_log_area": base_area, "auroc_query_length": base_q, "auroc_mean_iou": base_iou,
            "group_members": sum(1 for i in idx if grows[i] is not None),
            "single_meets_auroc": None if s["auroc"] is None or best_simple is None else s["auroc"] >= best_simple,
            "group_meets_auroc": None if g["auroc"] is None or base_iou is None else g["auroc"] >= base_iou + 0.02,
            "single_meets_ece": s["ece"] <= 0.05, "group_meets_ece": g["ece"] <= 0.05,
            **noise_verdicts([single_conf[i] for i in idx], [group_conf[i] for i in idx], yy, area, qlen, miou),
        })
    pooled_idx = list(range(n))
    pooled = {
        "single": metrics([single_conf[i] for i in pooled_idx], y),
        "group": metrics([group_conf[i] for i in pooled_idx], y),
        "auroc_log_area": best_direction_auroc([r["box.log_area"] for r in srows], y),
        "auroc_query_length": best_direction_auroc([r["query.words"] for r in srows], y),
        "auroc_mean_iou": best_direction_auroc([(g or {}).get("group.mean_iou", 0.0) for g in grows], y),
    }
    return {"kind": kind, "group_kind": group_kind, "folds": folds, "holdout": holdout, "logs": per_log,
            "pooled": pooled}


def noise_verdicts(single: list[float], group: list[float], y: list[bool], area: list[float], qlen: list[float],
                   miou: list[float]) -> dict[str, Any]:
    """Each per-log target read with a paired bootstrap (``benchmarks/noise.py``): met, within noise or missed,
    with the 95% interval of the gap to the target."""
    if all(y) or not any(y):
        return {}
    sg = auroc_gap(single, [area, qlen], y)
    gg = auroc_gap(group, [miou], y, margin=0.02)
    se, ge = ece_interval(single, y), ece_interval(group, y)
    return {"noise": {
        "single_auroc": {"gap": sg, "verdict": verdict_at_least(sg[0], sg[2])},
        "group_auroc": {"gap": gg, "verdict": verdict_at_least(gg[0], gg[2])},
        "single_ece": {"interval": se, "verdict": verdict_at_most(se[0], se[1], 0.05)},
        "group_ece": {"interval": ge, "verdict": verdict_at_most(ge[0], ge[1], 0.05)},
    }}


MARK = {"met": "✓", "within noise": "≈", "missed": "✗"}


def table(result: dict[str, Any]) -> str:
    head = ("| held-out log | n | acc | AUROC single | log area | query len | ECE single | acc@50/70/90 single | "
            "AUROC group | mean IoU | ECE group | acc@50/70/90 group | targets (single AUROC, ECE; group AUROC, ECE): ✓ met, ≈ within noise, ✗ missed |")
    out = [head, "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---|"]
    for r in result["logs"]:
        s, g = r["single"], r["group"]
        noise = r.get("noise")
        marks = " ".join(MARK[noise[k]["verdict"]] for k in ("single_auroc", "single_ece", "group_auroc", "group_ece")) \
            if noise else "–"
        out.append(
            f"| {r['model']} {r['dataset']} | {s['n']} | {_f(s['accuracy'])} | {_f(s['auroc'])} | {_f(r['auroc_log_area'])} | "
            f"{_f(r['auroc_query_length'])} | {_f(s['ece'])} | {' / '.join(_f(v) for v in s['coverage'].values())} | "
            f"{_f(g['auroc'])} | {_f(r['auroc_mean_iou'])} | {_f(g['ece'])} | "
            f"{' / '.join(_f(v) for v in g['coverage'].values())} | {marks} |")
    return "\n".join(out)


def summary(result: dict[str, Any]) -> str:
    logs = result["logs"]

    def count(key: str) -> str:
        known = [r[key] for r in logs if r[key] is not None]
        return f"{sum(known)} of {len(known)}"

    p = result["pooled"]
    lines = [
        f"model kind {result['kind']} (group: {result.get('group_kind', result['kind'])}), held out by "
        f"{result['holdout']}, {result['folds']} question folds, {len(logs)} logs",
        f"single AUROC >= best simple predictor: {count('single_meets_auroc')} logs; ECE <= 0.05: {count('single_meets_ece')}",
        f"group AUROC >= mean IoU + 0.02: {count('group_meets_auroc')} logs; ECE <= 0.05: {count('group_meets_ece')}",
        *noise_lines(logs),
        f"pooled single: AUROC {_f(p['single']['auroc'])} (log area {_f(p['auroc_log_area'])}, query length "
        f"{_f(p['auroc_query_length'])}), ECE {_f(p['single']['ece'])}, acc@50/70/90 "
        + " / ".join(_f(v) for v in p["single"]["coverage"].values()) + f", acc@100 {_f(p['single']['accuracy'])}",
        f"pooled group: AUROC {_f(p['group']['auroc'])} (mean IoU {_f(p['auroc_mean_iou'])}), ECE {_f(p['group']['ece'])}, "
        "acc@50/70/90 " + " / ".join(_f(v) for v in p["group"]["coverage"].values()),
    ]
    return "\n".join(lines)


def noise_lines(logs: list[dict[str, Any]]) -> list[str]:
    """Per target, how many logs meet it, fall short within noise (95% paired bootstrap) or miss it."""
    read = [r["noise"] for r in logs if r.get("noise")]
    if not read:
        return []
    names = {"single_auroc": "single AUROC", "single_ece": "single ECE", "group_auroc": "group AUROC",
             "group_ece": "group ECE"}
    parts = []
    for key, name in names.items():
        counts = {v: sum(1 for n in read if n[key]["verdict"] == v) for v in MARK}
        parts.append(f"{name} {counts['met']}/{counts['within noise']}/{counts['missed']}")
    return [f"met / within noise / missed (95% paired bootstrap, {len(read)} logs): " + "; ".join(parts)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=("logistic", "boosted", "stacked"), default="logistic", help="the single-answer model")
    ap.add_argument("--group-kind", choices=("logistic", "boosted", "stacked"), default=None,
                    help="the group model (default: as --kind)")
    ap.add_argument("--folds", type=int, default=4, help="question folds")
    ap.add_argument("--holdout", choices=("model", "size"), default="model",
                    help="leave out one checkpoint (model) or a whole model size (7B / 3B) at a time")
    ap.add_argument("--platt-folds", type=int, default=0,
                    help="inner question folds for the Platt step of each fit (0: none, as fit_confidence.py's default)")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--stored", action="store_true",
                    help="print (and with --write-docs, write) the result stored by the last run of this kind and holdout")
    args = ap.parse_args(argv)
    args.group_kind = args.group_kind or args.kind
    start = time.perf_counter()
    if args.stored:
        result = json.loads(RESULT.read_text())[f"{args.kind}/{args.group_kind}/{args.holdout}"]
        print(table(result) + "\n\n" + summary(result))
        if args.write_docs:
            write_docs(result)
        return 0
    answers = verified_answers(args.cache)
    result = run(answers, args.kind, args.folds, args.holdout, args.platt_folds, args.group_kind)
    result["elapsed_s"] = round(time.perf_counter() - start, 1)
    print(table(result))
    print()
    print(summary(result))
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    stored = json.loads(RESULT.read_text()) if RESULT.exists() else {}
    stored[f"{args.kind}/{args.group_kind}/{args.holdout}"] = result
    RESULT.write_text(json.dumps(stored, indent=1) + "\n")
    if args.write_docs:
        write_docs(result)
    return 0


def settings_table(result: dict[str, Any]) -> str:
    """The docs' table of settings: what each can read, how well the confidence ranks and is calibrated, the reward rule."""
    p, logs = result["pooled"], result["logs"]

    def worst(which: str) -> str:
        values = [r[which]["auroc"] for r in logs if r[which]["auroc"] is not None]
        return _f(min(values)) if values else "–"

    def worst_ece(which: str) -> str:
        return _f(max(r[which]["ece"] for r in logs))

    def cov(m: dict[str, Any]) -> str:
        return " / ".join(_f(v) for v in m["coverage"].values())

    s, g = p["single"], p["group"]
    return "\n".join([
        "| setting | signals the confidence reads | AUROC pooled (worst log) | simple predictor, pooled | "
        "ECE pooled (worst log) | accuracy at 50 / 70 / 90% coverage (all: accuracy) | reward rule |",
        "|---|---|---|---|---|---|---|",
        f"| text only | verifier scores (schema, label_match, consistency, spatial), parse repairs and tags, box size and shape, "
        f"query length and spatial words, thinking cues | {_f(s['auroc'])} ({worst('single')}) | log box area "
        f"{_f(p['auroc_log_area'])}, query length {_f(p['auroc_query_length'])} | {_f(s['ece'])} ({worst_ece('single')}) | "
        f"{cov(s)} (all: {_f(s['accuracy'])}) | nothing confirms: paid at most `abstain`; any refutation below it |",
        f"| group | the above plus agreement: mean IoU with the other answers, support, consensus share and margin, "
        f"IoU with the consensus box | {_f(g['auroc'])} ({worst('group')}) | mean IoU {_f(p['auroc_mean_iou'])} | "
        f"{_f(g['ece'])} ({worst_ece('group')}) | {cov(g)} | agreement among independent samples confirms: above "
        "`abstain` only as far as the group agrees |",
        "| image with weights | the above plus clip | not measured: the shared logs hold no images; the shipped model "
        "has no weight for clip, which can only lower the confidence | – | – | – | pixels confirm (clip, OCR plugin) |",
        "| ground truth | IoU with the ground truth | 1 by definition (the label is IoU >= 0.5): no prediction needed | – | – "
        "| – | IoU: paid above `abstain` only when IoU-correct, under every policy that reads ground truth (`grounded`, `confidence`, `consensus`, `iou`): it outranks pixels and agreement |",
    ])


def _replace(text: str, start: str, end: str, body: str) -> str:
    if start not in text or end not in text:
        raise SystemExit(f"{DOC} lacks the markers {start} ... {end}")
    head, rest = text.split(start, 1)
    return head + f"{start}\n\n{body}\n\n{end}" + rest.split(end, 1)[1]


def write_docs(result: dict[str, Any]) -> None:
    """Replace the text between the page's markers: the per-log table, and (held out by model) the settings table."""
    text = DOC.read_text(encoding="utf-8")
    how = result["holdout"]
    text = _replace(text, f"<!-- eval-confidence:{how}:start -->", f"<!-- eval-confidence:{how}:end -->",
                    f"```text\n{summary(result)}\n```\n\n{table(result)}")
    if how == "model":
        text = _replace(text, "<!-- settings-table:start -->", "<!-- settings-table:end -->", settings_table(result))
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
