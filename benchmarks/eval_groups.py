"""Agreement within groups on the VLM-R1 REC logs: the numbers in docs/groups.md.

Run::

    .venv/bin/python benchmarks/eval_groups.py                 # print the tables
    .venv/bin/python benchmarks/eval_groups.py --write-docs    # also refresh docs/groups.md

For each split, the logs of ``--models`` (default: grpo-ckpt1000,
instruct-baseline, original-model) answering the same questions are merged
with :func:`groundscore.groups.merge_logs` (records matched by image and
question), so every question is a group with one answer per model. The
default chain runs over whole groups. Correctness is recomputed from our own
parse (IoU of the first parsed box with the ground truth >= 0.5, boxes taken
in the logs' pixel space as VLM-R1's evaluation and benchmarks/eval_rec_logs.py
do: the logs carry no image size).

Reported per split, on every answer of every model (and on the first model's
answers alone):

- AUROC of the ``agreement`` score; of the plain mean-IoU baseline (mean IoU
  of the answer's first box with the other answers' first boxes, no gates,
  computed here); and of a calibrated confidence: the mean of a logistic
  regression and gradient-boosted trees (scikit-learn) on agreement's
  details, the IoU with each member, the other verifiers' scores and which
  model answered, cross-validated with folds split by question, so
  every number is measured on questions the calibrator never saw.
- accuracy of the kept answers at 70% and 100% coverage (calibrated).
- the same AUROCs for groups of two (each pair of models).
- the ``consensus`` reward: mean reward of IoU-correct and of wrong answers,
  how often the consensus box is right against the best single model and the
  oracle (any member right), and its failure mode: a strong but wrong
  consensus.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from shared_data import REC_LOGS as DEFAULT_DATA  # noqa: E402

START, END = "<!-- groups-table:start -->", "<!-- groups-table:end -->"
SPLITS = {"refcoco": "RefCOCO", "refcocop": "RefCOCO+", "refcocog": "RefCOCOg"}


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def auroc(scores: list[float], labels: list[bool]) -> float | None:
    from sklearn.metrics import roc_auc_score

    if len(set(labels)) < 2:
        return None
    return float(roc_auc_score(labels, scores))


def acc_at(scores: list[float], labels: list[bool], coverage: float) -> float:
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    keep = order[: max(1, round(coverage * len(order)))]
    return sum(labels[i] for i in keep) / len(keep)


def first_box(report: Any) -> tuple[float, ...] | None:
    boxes = report.parsed.boxes
    return boxes[0].xyxy if boxes else None


def agreement_runs(contexts: list[Any], keep: tuple[int, ...], n_models: int) -> list[Any]:
    """Agreement verdicts for groups made of the members at positions ``keep`` only (gates from the full run)."""
    from groundscore.groups import VERDICTS_KEY, attach_groups
    from groundscore.verifiers.agreement import AgreementVerifier
    from groundscore.verifiers.base import Context

    subset = [c for k, c in enumerate(contexts) if k % n_models in keep]
    fresh = [Context(c.sample, c.parsed, c.image_size, i, {VERDICTS_KEY: c.cache.get(VERDICTS_KEY, {})}) for i, c in enumerate(subset)]
    attach_groups(fresh, "given")
    return AgreementVerifier().verify_batch(fresh)


def box_features(report: Any) -> list[float]:
    """The first box's size, shape and place (pixels): small boxes and boxes at the edge are more often wrong."""
    import math

    b = first_box(report)
    if b is None or not all(math.isfinite(v) for v in b):
        return [0.0] * 6
    w, h = max(b[2] - b[0], 1e-3), max(b[3] - b[1], 1e-3)
    area = math.log1p(w * h)
    return [area, area * area, math.log(w), math.log(h), (b[0] + b[2]) / 2000.0, (b[1] + b[3]) / 2000.0]


def features(report: Any, verdict: Any, source: int, n_models: int, peer_ious: list[float], peer_peer: float,
             names: list[str]) -> list[float]:
    """What the calibrator sees of one answer.

    The first ``len(peer_ious) + 2`` columns (agreement, the IoU with each
    member, the box's log area) get a spline basis in :func:`cross_validated`;
    then which model answered, which member agrees for which model, how much
    the others agree with each other, the box's shape and place, and the
    other verifiers' scores and gates.
    """
    score = verdict.score if verdict is not None and verdict.score is not None else 0.0
    d = verdict.details if verdict is not None else {}
    consensus = d.get("consensus") or {}
    geo = box_features(report)
    row: list[float] = [score, *peer_ious, geo[0]]
    onehot = [float(source == k) for k in range(n_models)]
    row += onehot
    row += [iou * o for o in onehot for iou in peer_ious]
    row += [peer_peer, float(d.get("support") or 0.0), float(bool(d.get("in_consensus"))),
            float(consensus.get("share") or 0.0), float(bool(d.get("ambiguous")))]
    row += geo
    by_name = {v.verifier: v for v in report.verdicts}
    for name in names:
        v = by_name.get(name)
        row += [v.score if v is not None and v.score is not None else -1.0, float(v is not None and v.gate is False)]
    row += [float(len(report.parsed.boxes)), float(not report.parsed.boxes)]
    row += [float(len(report.parsed.think or "")) ** 0.5 / 30.0, float(bool(report.parsed.think))]
    return row


def cross_validated(x: list[list[float]], y: list[bool], groups: list[int], folds: int, seed: int, smooth: int) -> list[float]:
    """Out-of-fold probabilities of the calibrator, folds split by question (no question in its own training fold).

    The calibrator is the mean of two models fitted on the same features:
    a logistic regression (splines on the first ``smooth`` columns) and
    gradient-boosted trees (scikit-learn's ``HistGradientBoostingClassifier``,
    small trees, strong regularisation). Why both: the logistic model is
    smooth and stable with few answers; the trees find the interactions
    (which member agrees, for which model, with which box) that a linear
    model needs hand-made product features for. Neither is tuned to these
    logs: the settings are generic and every number is out of fold.
    """
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import SplineTransformer, StandardScaler

    xa, ya, ga = np.asarray(x, dtype=float), np.asarray(y, dtype=int), np.asarray(groups)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(int(ga.max()) + 1)  # shuffle questions into folds
    out = np.zeros(len(ya))
    for train, test in GroupKFold(n_splits=folds).split(xa, ya, perm[ga]):
        linear = make_pipeline(
            ColumnTransformer([("smooth", SplineTransformer(n_knots=5, degree=3), list(range(smooth)))], remainder="passthrough"),
            StandardScaler(), LogisticRegression(C=0.5, max_iter=3000),
        )
        trees = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=40,
                                               l2_regularization=1.0, random_state=seed)
        linear.fit(xa[train], ya[train])
        trees.fit(xa[train], ya[train])
        out[test] = (linear.predict_proba(xa[test])[:, 1] + trees.predict_proba(xa[test])[:, 1]) / 2
    return out.tolist()


def evaluate_split(chain: Any, paths: list[Path], folds: int, seed: int, limit: int | None) -> dict[str, Any]:
    from groundscore.groups import merge_logs
    from groundscore.model import box_iou
    from groundscore.rewards import RewardConfig
    from groundscore.rewards.consensus import consensus_policy, is_strong
    from groundscore.scoring.labelled import correctness

    n = len(paths)
    samples = merge_logs(paths)
    if limit:
        samples = samples[: limit * n]
    # whole groups per chain call; contexts kept so groups of two can reuse the gates' verdicts
    contexts: list[Any] = []
    reports: list[Any] = []
    step = n * 170
    for i in range(0, len(samples), step):
        batch = chain.contexts(samples[i : i + step])
        reports += chain._reports(batch, time.perf_counter())
        contexts += batch
    names = [v for v in chain.names if v != "agreement"]
    labels = [correctness(s, r.parsed)[0] for s, r in zip(samples, reports, strict=True)]
    labels = [bool(v) for v in labels]
    questions = [k // n for k in range(len(samples))]
    sources = [k % n for k in range(len(samples))]
    boxes = [first_box(r) for r in reports]

    def peer(k: int, j: int) -> float:
        a, b = boxes[k], boxes[j]
        return box_iou(a, b) if a is not None and b is not None else 0.0

    out: dict[str, Any] = {"questions": len(samples) // n, "answers": len(samples),
                           "accuracy": {Path(p).name: sum(labels[k] for k in range(len(labels)) if sources[k] == m) / (len(labels) // n)
                                        for m, p in enumerate(paths)}}
    by_size: dict[str, Any] = {}
    for size in range(n, 1, -1):
        for keep in itertools.combinations(range(n), size):
            idx = [k for k in range(len(samples)) if sources[k] in keep]
            verdicts = agreement_runs(contexts, keep, n)
            y = [labels[k] for k in idx]
            base = [sum(peer(k, questions[k] * n + j) for j in keep if j != sources[k]) / (size - 1) for k in idx]
            agree = [v.score if v.score is not None else 0.0 for v in verdicts]
            x = []
            for k, v in zip(idx, verdicts, strict=True):
                others = [questions[k] * n + j for j in keep if j != sources[k]]
                pp = [peer(a, b) for a, b in itertools.combinations(others, 2)]
                ious = [peer(k, questions[k] * n + j) if j != sources[k] else 0.0 for j in keep]
                x.append(features(reports[k], v, sources[k], n, ious, sum(pp) / len(pp) if pp else 0.0, names))
            cal = cross_validated(x, y, [questions[k] for k in idx], folds, seed, smooth=len(keep) + 2)
            first = [i for i, k in enumerate(idx) if sources[k] == keep[0]]
            row = {
                "members": [Path(paths[j]).name for j in keep],
                "auroc": {"agreement": auroc(agree, y), "baseline": auroc(base, y), "calibrated": auroc(cal, y),
                          "confidence": auroc([reports[k].confidence for k in idx], y)},
                "auroc_first": {"agreement": auroc([agree[i] for i in first], [y[i] for i in first]),
                                "baseline": auroc([base[i] for i in first], [y[i] for i in first]),
                                "calibrated": auroc([cal[i] for i in first], [y[i] for i in first])},
                "acc_at": {"70": acc_at(cal, y, 0.7), "100": acc_at(cal, y, 1.0)},
                "ambiguous_share": sum(bool(v.details.get("ambiguous")) for v in verdicts if v.score is not None) / len(verdicts),
            }
            by_size.setdefault(str(size), []).append(row)
    out["groups"] = by_size

    # the consensus reward, with the full groups
    config = RewardConfig()
    results = [consensus_policy(r, None, config) for r in reports]
    right = [res.reward for res, ok in zip(results, labels, strict=True) if ok and res.reward is not None]
    wrong = [res.reward for res, ok in zip(results, labels, strict=True) if not ok and res.reward is not None]
    consensus_right = strong_wrong = strong = correct_paid_wrong = 0
    oracle = 0
    for q in range(len(samples) // n):
        members = range(q * n, q * n + n)
        oracle += any(labels[k] for k in members)
        v = reports[q * n].verdict("agreement")
        cons = (v.details.get("consensus") if v is not None and v.score is not None else None) or {}
        gt = samples[q * n].solution or []
        ok = bool(cons.get("boxes")) and not cons.get("absent") and max(
            (box_iou(cons["boxes"][0], g) for g in gt), default=0.0) >= 0.5
        consensus_right += ok
        if cons and is_strong(cons):
            strong += 1
            strong_wrong += not ok
    for res, ok in zip(results, labels, strict=True):
        correct_paid_wrong += ok and res.outcome == "wrong"
    nq = len(samples) // n
    out["consensus"] = {
        "mean_reward_right": sum(right) / max(1, len(right)), "mean_reward_wrong": sum(wrong) / max(1, len(wrong)),
        "consensus_accuracy": consensus_right / nq, "best_single": max(out["accuracy"].values()), "oracle": oracle / nq,
        "strong_groups": strong / nq, "strong_but_wrong": strong_wrong / max(1, strong),
        "right_answers_paid_as_wrong": correct_paid_wrong / max(1, sum(labels)),
    }
    return out


def tables(results: dict[str, Any], models: list[str], elapsed: float) -> str:
    lines = [
        f"Groups of {len(models)} ({', '.join(models)}); every answer of every model, cross-validated by question.",
        "",
        "| split | questions | AUROC agreement | AUROC mean-IoU baseline | AUROC calibrated | calibrated − baseline | "
        f"AUROC calibrated ({models[0]} answers) | acc@70% | acc@100% |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for split, r in results.items():
        row = r["groups"][str(len(models))][0]
        a = row["auroc"]
        lines.append(
            f"| {SPLITS.get(split, split)} | {r['questions']} | {_f(a['agreement'])} | {_f(a['baseline'])} | {_f(a['calibrated'])} | "
            f"{_f(a['calibrated'] - a['baseline'])} | {_f(row['auroc_first']['calibrated'])} | "
            f"{_f(row['acc_at']['70'])} | {_f(row['acc_at']['100'])} |"
        )
    lines += ["", "By group size (AUROC agreement / baseline / calibrated, every answer of the group's members):", "",
              "| split | members | agreement | baseline | calibrated |", "|---|---|---:|---:|---:|"]
    for split, r in results.items():
        for size in sorted(r["groups"], reverse=True):
            for row in r["groups"][size]:
                a = row["auroc"]
                who = " + ".join(m.split("_")[0] for m in row["members"])
                lines.append(f"| {SPLITS.get(split, split)} | {who} | {_f(a['agreement'])} | {_f(a['baseline'])} | {_f(a['calibrated'])} |")
    lines += ["", "The `consensus` reward (no ground truth used) on the groups of three:", "",
              "| split | mean reward, IoU-correct answers | mean reward, wrong answers | consensus box right | best single model | oracle | "
              "strong consensus (share of groups) | strong consensus that is wrong | right answers paid as wrong |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for split, r in results.items():
        c = r["consensus"]
        lines.append(
            f"| {SPLITS.get(split, split)} | {_f(c['mean_reward_right'])} | {_f(c['mean_reward_wrong'])} | {_f(c['consensus_accuracy'])} | "
            f"{_f(c['best_single'])} | {_f(c['oracle'])} | {_f(c['strong_groups'])} | {_f(c['strong_but_wrong'])} | "
            f"{_f(c['right_answers_paid_as_wrong'])} |"
        )
    lines += ["", f"Measured by `benchmarks/eval_groups.py` in {elapsed:.0f} s on this machine."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--models", default="grpo-ckpt1000,instruct-baseline,original-model",
                        help="comma-separated log prefixes, one group member each (the first is also reported alone)")
    parser.add_argument("--splits", default=",".join(SPLITS))
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="questions per split (for a quick look)")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)

    from groundscore.chain import Chain

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    chain = Chain()
    print(f"verifiers: {', '.join(chain.names)}")
    start = time.perf_counter()
    results: dict[str, Any] = {}
    for split in [s.strip() for s in args.splits.split(",") if s.strip()]:
        paths = [args.data / f"{m}_{split}_val.json" for m in models]
        missing = [p for p in paths if not p.exists()]
        if missing:
            print(f"{split}: missing {', '.join(map(str, missing))}; skipped", file=sys.stderr)
            continue
        t = time.perf_counter()
        results[split] = evaluate_split(chain, paths, args.folds, args.seed, args.limit)
        row = results[split]["groups"][str(len(models))][0]["auroc"]
        print(f"{split}: agreement {_f(row['agreement'])} baseline {_f(row['baseline'])} calibrated {_f(row['calibrated'])} "
              f"({time.perf_counter() - t:.1f} s)")
    if not results:
        return 2
    elapsed = time.perf_counter() - start
    text = tables(results, models, elapsed)
    print()
    print(text)
    checks = []
    for split, r in results.items():
        row = r["groups"][str(len(models))][0]
        a = row["auroc"]
        checks.append((f"{split}: calibrated - baseline >= 0.02", a["calibrated"] - a["baseline"] >= 0.02))
        if split in ("refcoco", "refcocop"):
            checks.append((f"{split}: calibrated >= 0.75", a["calibrated"] >= 0.75))
        checks.append((f"{split}: acc@70% - acc@100% >= 0.04", row["acc_at"]["70"] - row["acc_at"]["100"] >= 0.04))
    print()
    for what, ok in checks:
        print(f"check {what}: {'PASS' if ok else 'FAIL'}")
    out_json = ROOT / "benchmarks" / "results" / "eval_groups.json"
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps({"models": models, "folds": args.folds, "seed": args.seed, "elapsed_s": round(elapsed, 1),
                                    "results": results}, indent=1) + "\n")
    print(f"wrote {out_json.relative_to(ROOT)}")
    if args.write_docs:
        doc = ROOT / "docs" / "groups.md"
        page = doc.read_text()
        head, rest = page.split(START, 1)
        _, tail = rest.split(END, 1)
        doc.write_text(f"{head}{START}\n{text}\n{END}{tail}")
        print("updated docs/groups.md")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
