"""The reward-hacking catalogue's rewards per policy, and what the guards cost real answers.

Run from the repository root::

    .venv/bin/python benchmarks/hack_report.py                  # print both tables
    .venv/bin/python benchmarks/hack_report.py --write-docs     # also refresh docs/reward-hacking.md
    .venv/bin/python benchmarks/hack_report.py --skip-logs      # the catalogue table only (seconds)
    .venv/bin/python benchmarks/hack_report.py --limit 300      # a quick look at the logs

1. **The catalogue** (``tests/hacks/catalogue.py``): every case scored by the
   default chain under each built-in policy, with its ground truth and
   without. ``tests/test_reward_hacking.py`` checks the page's table is what
   :func:`catalogue_table` gives now, so the page cannot drift.
2. **Collateral damage** on the VLM-R1 REC logs (``../shared/data``), with
   ground truth: the share of IoU-correct answers (first box, IoU >= 0.5, as
   VLM-R1 grades) whose ``auto`` reward stays at or above ``correct_floor``
   (the bar is 98%), and, for each guard (``hack.*``) and each finding that
   the guards reject, the share of all answers and of IoU-correct answers it
   fires on, with examples. The chain runs once per log; every policy reads
   the same reports.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from hacks.catalogue import CASES, GROUP_CASES, members_of  # noqa: E402  (tests/hacks: the catalogue's one definition)
from shared_data import REC_LOGS as DEFAULT_DATA  # noqa: E402

DOC = ROOT / "docs" / "reward-hacking.md"
TABLE = ("<!-- hack-table:start -->", "<!-- hack-table:end -->")
COLLATERAL = ("<!-- hack-collateral:start -->", "<!-- hack-collateral:end -->")
POLICIES = ("auto", "confidence", "iou", "format", "consensus")


def _f(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def catalogue_rewards(chain: Any = None) -> list[dict[str, Any]]:
    """Each case's reward per policy: ``auto`` with and without ground truth, ``confidence``, ``iou``, ``format``."""
    from groundscore.chain import Chain
    from groundscore.rewards import Rewarder

    chain = chain if chain is not None else Chain()
    rewarders = {p: Rewarder({"policy": p}, chain=chain) for p in POLICIES}
    with_gt = [dict(c["sample"]) for c in CASES]
    without = [{**c["sample"], "solution": None} for c in CASES]
    got = {
        "auto_gt": rewarders["auto"].rewards(with_gt),
        "auto": rewarders["auto"].rewards(without),
        "confidence": rewarders["confidence"].rewards(without),
        "iou": rewarders["iou"].rewards(with_gt),
        "format": rewarders["format"].rewards(with_gt),
        "consensus": rewarders["consensus"].rewards(without),
    }
    rows = [{"id": c["id"], "family": c["family"], "description": c["description"],
             **{k: v[i] for k, v in got.items()}} for i, c in enumerate(CASES)]
    # a group case: each column is the most any exploiting member of the group is paid
    runs = {"auto_gt": ("auto", True), "auto": ("auto", False), "confidence": ("confidence", False),
            "iou": ("iou", True), "format": ("format", True), "consensus": ("consensus", False)}
    for c in GROUP_CASES:
        row: dict[str, Any] = {"id": c["id"], "family": c["family"], "description": c["description"]}
        for column, (policy, grounded) in runs.items():
            rewards = rewarders[policy].rewards(members_of(c, grounded))
            paid = [rewards[i] for i in c["exploiters"] if rewards[i] is not None]
            row[column] = max(paid) if paid else None
        rows.append(row)
    return rows


def catalogue_table(rows: list[dict[str, Any]] | None = None) -> str:
    """The catalogue as a markdown table (the block between the ``hack-table`` markers of the page)."""
    rows = rows if rows is not None else catalogue_rewards()
    lines = [
        "| case | family | exploit | auto, ground truth | auto, none | confidence | iou | format | consensus |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        desc = r["description"].replace("|", "\\|")
        lines.append(f"| `{r['id']}` | {r['family']} | {desc} | {_f(r['auto_gt'])} | {_f(r['auto'])} | "
                     f"{_f(r['confidence'])} | {_f(r['iou'])} | {_f(r['format'])} | {_f(r['consensus'])} |")
    return "\n".join(lines)


def collateral(data: Path, limit: int | None = None) -> dict[str, Any]:
    """Guards and rejected findings on the REC logs, with ground truth: how often each fires, on which answers."""
    from groundscore.chain import Chain
    from groundscore.inputs import iter_samples
    from groundscore.rewards import RewardConfig, Rewarder, finding_codes, match_boxes

    chain = Chain()
    rewarder = Rewarder(chain=chain)
    # The same policy with every guard off, read from the same reports: what the guards cost.
    unguarded = Rewarder({"options": {"reject_issues": [], "reject_outside": [], "reject_findings": [], "reject_findings_without_truth": [],
                                      "accept_points": True, "duplicate_iou": 1.0, "max_coverage": 1.0, "min_side": 0.0,
                                      "qualified_absence": "reject"}}, chain=chain)
    floor = RewardConfig().correct_floor
    opts = rewarder.policy.options
    reject = {*opts.reject_findings, *opts.reject_findings_without_truth}  # shown even where only scored
    logs = sorted(p for p in data.glob("*.json") if "screenspot" not in p.name)
    fired: dict[str, Counter[str]] = defaultdict(Counter)
    examples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    per_log = []
    total = correct_total = kept_total = mc_total = mk_total = bk_total = 0
    # The same reports without ground truth (no image, no group): what a label-free reward pays real answers.
    label_free: Counter[str] = Counter()
    abstain = RewardConfig().abstain
    start = time.perf_counter()
    for path in logs:
        samples = [s for s in iter_samples(path, "vlm-r1") if s.solution]
        if limit:
            samples = samples[:limit]
        results = rewarder.score(samples)
        n = correct = kept = m_correct = m_kept = b_kept = 0
        for sample, res in zip(samples, results, strict=True):
            report = res.report
            if report is None:
                continue
            n += 1
            boxes = [b.xyxy for b in report.parsed.boxes]
            good = bool(boxes) and match_boxes(boxes, sample.solution or [], "first")[0] >= 0.5
            matched = bool(boxes) and match_boxes(boxes, sample.solution or [])[0] >= 0.5
            paid = res.reward is not None and res.reward >= floor
            base = unguarded._apply(report.model_copy(), sample.solution, sample.image_size)
            free = rewarder._apply(report.model_copy(), None, sample.image_size).reward
            if free is not None and boxes:
                side = "right" if good else "wrong"
                label_free[f"{side}.{'above' if free > abstain + 1e-12 else 'at' if free >= abstain - 1e-12 else 'below'}"] += 1
            base_paid = base.reward is not None and base.reward >= floor
            b_kept += good and base_paid
            correct += good
            kept += good and paid
            m_correct += matched
            m_kept += matched and paid
            checks = {res.details["hack"]} if "hack" in res.details else set()
            if res.details.get("capped"):
                checks.add(f"capped.{res.details['capped']}")  # a score, not a gate: paid correct_floor
            checks.discard("hack.finding")  # shown per finding below
            checks |= {f"finding.{c}" for c in finding_codes(report) if c in reject}
            for code in checks:
                fired[code]["all"] += 1
                fired[code]["correct"] += good
                if len(examples[code]) < 3 and (good or len(examples[code]) < 2):
                    why = res.reason if code.startswith(("hack.", "capped.")) else _evidence(report, code.removeprefix("finding."))
                    examples[code].append({"log": path.name, "id": sample.id, "iou_correct": good,
                                           "query": sample.query[:80], "reason": why[:160]})
        per_log.append({"log": path.stem, "answers": n, "iou_correct": correct, "kept": kept,
                        "matched_correct": m_correct, "matched_kept": m_kept, "unguarded_kept": b_kept})
        total, correct_total, kept_total = total + n, correct_total + correct, kept_total + kept
        mc_total, mk_total, bk_total = mc_total + m_correct, mk_total + m_kept, bk_total + b_kept
        print(f"{path.stem:<36} n={n:>5} correct={correct:>5} kept>=floor={kept / max(correct, 1):.4f}", file=sys.stderr)
    return {"answers": total, "iou_correct": correct_total, "kept": kept_total,
            "kept_share": kept_total / max(correct_total, 1), "floor": floor,
            "unguarded_kept_share": bk_total / max(correct_total, 1),
            "matched_correct": mc_total, "matched_kept": mk_total, "matched_kept_share": mk_total / max(mc_total, 1), "per_log": per_log,
            "fired": {k: dict(v) for k, v in sorted(fired.items())}, "examples": dict(examples),
            "label_free": dict(sorted(label_free.items())),
            "elapsed_s": round(time.perf_counter() - start, 1), "limit": limit}


def _evidence(report: Any, code: str) -> str:
    """What a consistency finding points at (its span or label), for the examples."""
    v = report.verdict("consistency")
    for f in (v.details.get("findings", []) if v is not None else []):
        if f.get("code") == code:
            return f"{code}: " + str(f.get("span") or f.get("label") or f.get("why") or "")
    return code


def collateral_text(c: dict[str, Any]) -> str:
    lines = [
        f"On {c['answers']} answers of the VLM-R1 REC logs with ground truth ({c['iou_correct']} of them IoU-correct)"
        + (f", the first {c['limit']} of each log" if c["limit"] else "")
        + f", **{c['kept_share']:.2%}** of the IoU-correct answers keep a reward of at least "
        f"`correct_floor` ({c['floor']}) under the default `Rewarder` (the bar: 98%). IoU-correct is VLM-R1's "
        "grading: the *first* box has IoU >= 0.5. By the reward's own matching (every box matched one-to-one, "
        "an extra box costs, so an answer that boxes one object twice is not correct), "
        f"{c['matched_correct']} answers are correct and **{c['matched_kept_share']:.2%}** of them keep "
        "`correct_floor`; the difference is answers with extra boxes, which the matching (not a hacking check) "
        f"pays below the threshold. With every guard off (same reports, same policy), "
        f"{c['unguarded_kept_share']:.2%} of the first-box IoU-correct answers keep `correct_floor`: "
        f"the guards cost {c['unguarded_kept_share'] - c['kept_share']:.2%} of them.",
        "",
        "| log | answers | IoU-correct (first box) | kept >= correct_floor | guards off | correct (matched) | kept >= correct_floor |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in c["per_log"]:
        lines.append(f"| {r['log']} | {r['answers']} | {r['iou_correct']} | {r['kept'] / max(r['iou_correct'], 1):.2%} | "
                     f"{r['unguarded_kept'] / max(r['iou_correct'], 1):.2%} | {r['matched_correct']} | {r['matched_kept'] / max(r['matched_correct'], 1):.2%} |")
    free = c.get("label_free", {})
    wrong = sum(v for k, v in free.items() if k.startswith("wrong."))
    right = sum(v for k, v in free.items() if k.startswith("right."))
    lines += ["", "**Without ground truth** (the same reports; no image, no group), a box answer is paid above "
              "`abstain` only on confirming evidence, and text alone has none: "
              f"of {wrong} IoU-wrong answers, {free.get('wrong.above', 0)} are paid above `abstain`, "
              f"{free.get('wrong.at', 0)} exactly `abstain` and {free.get('wrong.below', 0)} below it (refuted); of {right} "
              f"IoU-correct answers, {free.get('right.above', 0)} above, {free.get('right.at', 0)} at and "
              f"{free.get('right.below', 0)} below `abstain` (refuted by a check that was wrong about them)."]
    lines += ["", "Each check, where it fired (share of all answers, share of IoU-correct answers):", "",
              "| check | fires on | of all answers | on IoU-correct answers |", "|---|---:|---:|---:|"]
    for code, n in c["fired"].items():
        lines.append(f"| `{code}` | {n.get('all', 0)} | {n.get('all', 0) / max(c['answers'], 1):.2%} | "
                     f"{n.get('correct', 0) / max(c['iou_correct'], 1):.2%} |")
    if not c["fired"]:
        lines.append("| (none fired) | 0 | 0.00% | 0.00% |")
    lines += ["", "Examples:", ""]
    for code, exs in c["examples"].items():
        for e in exs:
            lines.append(f"- `{code}` ({e['log']} {e['id']}, IoU-correct: {e['iou_correct']}): "
                         f"query {e['query']!r}; {e['reason']}")
    return "\n".join(lines)


def replace_block(text: str, markers: tuple[str, str], body: str) -> str:
    start, end = markers
    a, b = text.index(start) + len(start), text.index(end)
    return text[:a] + "\n" + body + "\n" + text[b:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None, help="answers per log (a quick look)")
    parser.add_argument("--skip-logs", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)

    table = catalogue_table()
    print(table)
    text = DOC.read_text(encoding="utf-8")
    text = replace_block(text, TABLE, table)
    if not args.skip_logs:
        c = collateral(args.data, args.limit)
        body = collateral_text(c)
        print()
        print(body)
        out = ROOT / "benchmarks" / "results" / "hack_report.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(c, indent=1) + "\n")
        free = c["label_free"]
        print(f"check: no IoU-wrong answer paid above abstain without ground truth: "
              f"{'PASS' if not free.get('wrong.above') else 'FAIL'} ({free.get('wrong.above', 0)})")
        print(f"\ncheck: >= 98% of IoU-correct answers keep >= correct_floor: "
              f"first box {'PASS' if c['kept_share'] >= 0.98 else 'FAIL'} ({c['kept_share']:.2%}), "
              f"matched {'PASS' if c['matched_kept_share'] >= 0.98 else 'FAIL'} ({c['matched_kept_share']:.2%})")
        text = replace_block(text, COLLATERAL, body)
    if args.write_docs:
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
