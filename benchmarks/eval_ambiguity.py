"""How often a group of 8 is called ambiguous: the agreement verifier's ``ambiguous`` on split and on single-target groups.

Why: without ground truth a clarifying question is paid above "not found"
only where the group's answers split between well-supported objects (the
``agreement`` verdict's ``ambiguous``), and the same verdict caps a box
answer in such a group as a guess (``groundscore.rewards.clarify``). The
verdict must fire on groups that really split between two objects and stay
quiet on groups whose query names one object. Measured on two kinds of group
of ``--group`` (8) answers, the chain's default verifiers run over each group
as a GRPO reward runs them:

- **simulation**: groups sampled from the initial policy of
  ``benchmarks/grpo_clarify.py``'s pools: ``ambiguous`` (a query with two
  right targets, each target's real answers with equal mass) and
  ``unambiguous`` (the usual pool: real answers, other objects' answers
  relabelled with this query, "not found", exploits, a clarifying question).
- **real**: the shared REC logs (``/work/shared/data``), every question a
  single-target query; a group is 8 of the 15 runs' answers to the question
  (three 7B runs, twelve 3B checkpoints), drawn without replacement. Any
  ``ambiguous`` here is a false alarm by the data's own definition (the
  expression was written to single out one object); the table says how many
  of those groups had one cluster on the ground truth and the other elsewhere.

Each group's clusters (sizes, "not found" or boxes, group size) are kept, so
the rule before this change (a second cluster of at least 2 and 30% of the
voters) and alternative rules are replayed on exactly the same clusters; the
rule in use is read from the verifier's verdict itself.

Run from the repository root (about two minutes on 2 cores)::

    PYTHONPATH=. .venv/bin/python benchmarks/eval_ambiguity.py
    PYTHONPATH=. .venv/bin/python benchmarks/eval_ambiguity.py --write-docs   # refresh docs/groups.md's block
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grpo_pools import _image_size, data_dir, first_box, load_questions

from groundscore.model import box_iou

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "eval_ambiguity.json"
DOC = ROOT / "docs" / "groups.md"
START, END = "<!-- ambiguity-table:start -->", "<!-- ambiguity-table:end -->"

Clusters = list[dict[str, Any]]
Rule = Callable[[Clusters, int], bool]


def rule_before(clusters: Clusters, members: int) -> bool:
    """The rule before issue 30's change: two box clusters of at least max(2, 30% of the voters)."""
    voters = sum(c["size"] for c in clusters)
    need = max(2, math.ceil(0.3 * voters - 1e-9))
    return sum(1 for c in clusters if not c["absent"] and c["size"] >= need) >= 2


def share_rule(share: float, minimum: int = 2, balance: float = 0.0, of: str = "members") -> Rule:
    """Two box clusters of at least ``minimum`` members, ``share`` of the group's members (or of its voters)
    and ``balance`` of the largest box cluster (the rule of :func:`groundscore.verifiers.agreement.well_supported`)."""
    def rule(clusters: Clusters, members: int) -> bool:
        base = members if of == "members" else sum(c["size"] for c in clusters)
        largest = max((c["size"] for c in clusters if not c["absent"]), default=0)
        need = max(minimum, math.ceil(share * base - 1e-9), math.ceil(balance * largest - 1e-9))
        return sum(1 for c in clusters if not c["absent"] and c["size"] >= need) >= 2
    return rule


RULES: dict[str, Rule] = {
    "before: 2 and 30% of the voters": rule_before,
    "2 and 25% of the members": share_rule(0.25),
    "2 and 25% of the voters": share_rule(0.25, of="voters"),
    "2 and 30% of the members": share_rule(0.3),
    "2, 25% of the members, 60% of the largest": share_rule(0.25, balance=0.6),
    "2, 25% of the members, 70% of the largest": share_rule(0.25, balance=0.7),
    "2, 25% of the members, 50% of the largest (the defaults, replayed)": share_rule(0.25, balance=0.5),
}


def group_summary(reports: list[Any]) -> dict[str, Any]:
    """What the agreement verdicts of one group say: its clusters, its size, whether it was called ambiguous."""
    for r in reports:
        v = r.verdict("agreement")
        if v is not None and isinstance(v.details.get("clusters"), list):
            return {"members": len(reports), "ambiguous": bool(v.details.get("ambiguous")),
                    "clusters": [{"size": c["size"], "absent": c["absent"], "boxes": c.get("boxes", [])}
                                 for c in v.details["clusters"]]}
    return {"members": len(reports), "ambiguous": False, "clusters": []}


def simulation_groups(settings: Any, data: Path, draws: int, group: int, seed: int) -> dict[str, list[list[dict[str, Any]]]]:
    """Groups of ``group`` sampled from the initial policy of each pool kind of ``grpo_clarify.py``: samples per group."""
    import grpo_sim
    from grpo_clarify import clarify_pools

    questions = load_questions(data, settings.questions, settings.seed)
    pools = clarify_pools(questions, grpo_sim.correctness, seed=settings.seed, exploits_per_family=settings.exploits_per_family)
    rng = random.Random(seed)
    out: dict[str, list[list[dict[str, Any]]]] = {}
    for kind in ("ambiguous", "unambiguous"):
        groups = []
        for p in pools[kind]:
            weights = [c.weight for c in p.candidates]
            for d in range(draws):
                picked = rng.choices(range(len(p.candidates)), weights=weights, k=group)
                gid = f"{p.key}#{d}"
                groups.append([{"query": p.query, "completion": p.candidates[i].completion, "coords": "original",
                                "image_size": list(p.image_size), "group": gid, "meta": {"group_size": group}}
                               for i in picked])
        out[kind] = groups
    return out


def real_groups(data: Path, questions: int, draws: int, group: int, seed: int) -> tuple[list[list[dict[str, Any]]], list[list[float]]]:
    """Groups of ``group`` of the 15 runs' real answers to one single-target question; and each group's ground truth."""
    rng = random.Random(seed)
    groups, truths = [], []
    for q in load_questions(data, questions, seed):
        runs = sorted(q["answers"])
        boxes = [b for a in q["answers"].values() if (b := first_box(a))]
        size = _image_size(q["image_boxes"] + boxes)
        for d in range(draws):
            gid = f"real:{q['key']}#{d}"
            groups.append([{"query": q["query"], "completion": q["answers"][r], "coords": "original",
                            "image_size": list(size), "group": gid, "meta": {"group_size": group}}
                           for r in rng.sample(runs, group)])
            truths.append(q["solution"][0])
    return groups, truths


def verify_groups(chain: Any, groups: list[list[dict[str, Any]]], batch: int = 400) -> list[dict[str, Any]]:
    """Each group verified whole by the chain; its summary."""
    out: list[dict[str, Any]] = []
    pending: list[list[dict[str, Any]]] = []

    def flush() -> None:
        reports = chain.verify([s for g in pending for s in g])
        at = 0
        for g in pending:
            out.append(group_summary(reports[at:at + len(g)]))
            at += len(g)
        pending.clear()

    for g in groups:
        pending.append(g)
        if sum(map(len, pending)) >= batch:
            flush()
    if pending:
        flush()
    return out


def rates(summaries: list[dict[str, Any]]) -> dict[str, float]:
    """Share of the groups each rule calls ambiguous; ``in use`` is the verifier's own verdict."""
    n = max(len(summaries), 1)
    out = {name: sum(rule(s["clusters"], s["members"]) for s in summaries) / n for name, rule in RULES.items()}
    out["**in use**: the agreement verifier's own verdict"] = sum(s["ambiguous"] for s in summaries) / n
    return out


def describe_false(summaries: list[dict[str, Any]], truths: list[list[float]]) -> dict[str, int]:
    """The real groups called ambiguous: how many had one strong cluster on the ground truth and another elsewhere."""
    flagged = [(s, t) for s, t in zip(summaries, truths, strict=True) if s["ambiguous"]]
    right_and_other = 0
    for s, t in flagged:
        boxes = [c for c in s["clusters"] if not c["absent"] and c["size"] >= 2 and c["boxes"]]
        on = [any(box_iou(b, t) >= 0.5 for b in c["boxes"]) for c in boxes]
        right_and_other += any(on) and not all(on)
    return {"flagged": len(flagged), "one_cluster_right_other_elsewhere": right_and_other}


def run(args: argparse.Namespace) -> dict[str, Any]:
    import grpo_sim

    from groundscore.chain import Chain

    t0 = time.perf_counter()
    data = args.data or data_dir()
    chain = Chain()
    settings = grpo_sim.Settings(questions=args.questions, seed=args.seed)
    sim = simulation_groups(settings, data, args.draws, args.group, args.seed)
    result: dict[str, Any] = {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                                           if k != "write_docs"},
                              "kinds": {}}
    for kind, groups in sim.items():
        summaries = verify_groups(chain, groups)
        result["kinds"][f"simulation, {kind}"] = {"groups": len(summaries), "rates": rates(summaries)}
        print(f"simulation {kind}: {len(summaries)} groups [{time.perf_counter() - t0:.0f}s]", flush=True)
    groups, truths = real_groups(data, args.real_questions, args.real_draws, args.group, args.seed + 1)
    summaries = verify_groups(chain, groups)
    result["kinds"]["real, single target"] = {"groups": len(summaries), "rates": rates(summaries),
                                              "flagged": describe_false(summaries, truths)}
    result["elapsed_s"] = round(time.perf_counter() - t0, 1)
    return result


def report(result: dict[str, Any]) -> str:
    st = result["settings"]
    kinds = result["kinds"]
    names = list(next(iter(kinds.values()))["rates"])
    pools = kinds["simulation, ambiguous"]["groups"] // st["draws"]
    lines = [f"Groups of {st['group']}: the {pools} questions of the simulation's {st['questions']}-question draw "
             f"(seed {st['seed']}) whose image holds a second object, {st['draws']} groups per pool sampled from the "
             f"initial policy; {st['real_questions']} real single-target questions, {st['real_draws']} groups of "
             f"{st['group']} of the 15 runs' answers each; {result['elapsed_s']} s.", "",
             "| rule: two box clusters, each | " + " | ".join(f"{k} ({v['groups']} groups)" for k, v in kinds.items()) + " |",
             "|---|" + "---:|" * len(kinds)]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(f"{v['rates'][name]:.1%}" for v in kinds.values()) + " |")
    real = kinds["real, single target"].get("flagged")
    if real:
        lines += ["", f"Real single-target groups called ambiguous by the rule in use: {real['flagged']}; in "
                      f"{real['one_cluster_right_other_elsewhere']} of them one well-supported cluster is on the ground "
                      "truth and another on a different object (models confusing two objects)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=90, help="the simulation's draw (grpo_clarify.py's default)")
    parser.add_argument("--draws", type=int, default=10, help="groups per simulation pool")
    parser.add_argument("--real-questions", type=int, default=300)
    parser.add_argument("--real-draws", type=int, default=2, help="groups per real question")
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    result = run(args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    text = report(result)
    print(text)
    if args.write_docs:
        doc = DOC.read_text(encoding="utf-8")
        a, b = doc.index(START) + len(START), doc.index(END)
        DOC.write_text(doc[:a] + "\n" + text + "\n" + doc[b:], encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
