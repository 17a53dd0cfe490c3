"""Asking instead of guessing under optimisation pressure (issue 30): GRPO on pools with a clarifying question.

Two kinds of pool, built on the real pools of ``benchmarks/grpo_pools.py``
(real answers, plausible wrong boxes, "not found", the catalogue's exploits):

- ``ambiguous``: the question's query with two right targets, its own
  ground-truth box and that of another expression of the same image that
  describes a different object (ground-truth IoU < 0.3). The solution is
  ``{"ambiguous": [[A], [B]]}``; a candidate that boxes either target is
  tracked as ``correct`` (it is acceptable) and paid as a guess, below
  asking (``ambiguous_box = "guess"``). The other expression's real answers (relabelled with this query)
  take as much initial mass as this question's own answers: with a query
  that fits two objects, models split between them.
- ``unambiguous``: the usual pool and its single-box solution.

Both hold one clarifying question naming the two descriptions ("Do you mean
A or B?"), read by the parser as ``Parsed.clarify``, tracked as the
``clarify`` category. The reward rule (``groundscore.rewards.clarify``) pays
it above "not found" only where evidence says the query is ambiguous: the
ground truth, or without it the group's agreement verdict (groups are passed
as groups). What must show: clarification mass rises in ambiguous pools and
falls in unambiguous ones, exploit mass never rises, and asking everywhere
earns less than answering right (see :func:`acceptance`). For the runs
without ground truth the table also gives the share of the sampled groups
that the agreement verdict calls ambiguous, at the first and the last step.

Run from the repository root (about a minute on 2 cores)::

    PYTHONPATH=. .venv/bin/python benchmarks/grpo_clarify.py               # 90 questions drawn (those with a second object), 20 steps, with and without ground truth
    PYTHONPATH=. .venv/bin/python benchmarks/grpo_clarify.py --write-docs  # also refresh its block of docs/what-optimising-does.md
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grpo_pools import PRIORS, Candidate, Pool, build_pools, data_dir, load_questions

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "grpo_clarify.json"
KINDS = ("ambiguous", "unambiguous", "ambiguous, none right", "unambiguous, none right")
CLARIFY_PRIOR = 0.05


def clarification(desc_a: str, desc_b: str) -> str:
    """A clarifying question naming both descriptions, in the R1 format (the parser reads it as ``Parsed.clarify``)."""
    return (f'<think>Two objects in the image could be "{desc_a}" and the query does not say which.</think>\n'
            f"<answer>Do you mean {desc_a} or {desc_b}?</answer>")


def clarify_pools(questions: list[dict[str, Any]], correct_of: Any, *, seed: int = 0,
                  exploits_per_family: int = 3) -> dict[str, list[Pool]]:
    """The ``ambiguous`` and ``unambiguous`` pools of the questions whose image holds another object's expression.

    Both start from :func:`grpo_pools.build_pools`'s real pools (same
    candidates, same exploits); ``correct_of`` is the reward library's own
    matching, asked again against the second target for the ambiguous pools.
    """
    questions = [q for q in questions if q.get("other_targets")]
    real = build_pools(questions, correct_of, exploits_per_family=exploits_per_family, seed=seed)["real"]
    second = [{**q, "solution": [q["other_targets"][0][1]]} for q in questions]
    pairs = [(q2, c.completion) for q2, p in zip(second, real, strict=True) for c in p.candidates
             if c.category in ("correct", "wrong")]
    flags = iter(correct_of(pairs))
    out: dict[str, list[Pool]] = {k: [] for k in KINDS[:2]}
    for q, p in zip(questions, real, strict=True):
        desc_b, box_b = q["other_targets"][0]
        ask = Candidate(clarification(p.query, desc_b), "clarify", CLARIFY_PRIOR, "clarify")
        out["unambiguous"].append(replace(p, key=f"{p.key}|unambiguous", candidates=[*p.candidates, ask], variant="unambiguous"))
        cands = []
        for c in p.candidates:
            if c.category in ("correct", "wrong"):
                right_b = next(flags)
                cat = "correct" if c.category == "correct" or right_b else "wrong"
                weight = PRIORS["real"] * c.weight / PRIORS["other"] if c.source == f"other:{desc_b}" else c.weight
                cands.append(replace(c, category=cat, weight=weight))
            else:
                cands.append(c)
        out["ambiguous"].append(replace(p, key=f"{p.key}|ambiguous", solution={"ambiguous": [p.solution, [box_b]]}, candidates=[*cands, ask],
                                        variant="ambiguous", meta={**p.meta, "second_target": desc_b}))
    for kind in KINDS[:2]:  # the same pools with nothing right to find: neither target boxed
        out[f"{kind}, none right"] = [replace(p, key=f"{p.key}, none right", variant=f"{kind}, none right",
                                              candidates=[c for c in p.candidates if c.category != "correct"])
                                      for p in out[kind]]
    return out


def run(settings: Any, data: Path, runs: list[str] | None = None, log: Any = print) -> dict[str, Any]:
    """Simulate each run on both kinds of pool; summaries, and the mean reward each category was paid."""
    import grpo_sim

    from groundscore.chain import Chain

    t0 = time.perf_counter()
    questions = load_questions(data, settings.questions, settings.seed)
    pools = clarify_pools(questions, grpo_sim.correctness, seed=settings.seed,
                          exploits_per_family=settings.exploits_per_family)
    log(f"pools: {len(pools['ambiguous'])} questions with a second object's expression ({time.perf_counter() - t0:.1f}s)")
    chain = Chain()
    wanted = runs or ["auto, GT", "auto, no GT"]
    summaries: list[dict[str, Any]] = []
    for spec in (r for r in grpo_sim.RUNS["auto"] + grpo_sim.RUNS["oracle"] if r.name in wanted):
        scorer = grpo_sim.Scorer(spec, chain)
        flags = _record_ambiguity(scorer) if not spec.per_completion else None
        for kind in KINDS:
            paid: dict[str, list[float]] = defaultdict(list)
            split: list[float] = []  # per step: the share of the groups the agreement verdict calls ambiguous

            def reward(requests: list[Any], paid: dict[str, list[float]] = paid, split: list[float] = split,
                       scorer: Any = scorer, flags: dict[tuple[str, tuple[str, ...]], bool] | None = flags,
                       ) -> list[list[float | None]]:
                got = scorer.score(requests)
                for (p, idx, _), rs in zip(requests, got, strict=True):
                    for i, r in zip(idx, rs, strict=True):
                        if r is not None:
                            paid[p.candidates[i].category].append(r)
                if flags is not None:
                    split.append(float(np.mean([flags[(p.query, tuple(sorted(texts)))] for p, _, texts in requests])))
                return got

            vp = pools[kind]
            cats = grpo_sim.categories_of(vp)
            t = time.perf_counter()
            mass = grpo_sim.simulate(vp, reward, settings, categories=cats)
            s = grpo_sim.summarise(grpo_sim.Trace(spec.name, kind, cats, mass))
            s["seconds"] = round(time.perf_counter() - t, 1)
            s["paid"] = {c: float(np.mean(v)) for c, v in paid.items()}
            s["paid_n"] = {c: len(v) for c, v in paid.items()}
            if split:
                s["ambiguous_groups"] = {"first": split[0], "last": split[-1], "per_step": [round(v, 3) for v in split]}
            summaries.append(s)
            log(f"{spec.name:<12} {kind:<24} clarify {s['start']['clarify']:.3f}->{s['end']['clarify']:.3f} "
                f"correct {s['start']['correct']:.2f}->{s['end']['correct']:.2f} exploits {s['exploit_start']:.3f}->"
                f"{s['exploit_end']:.3f}; paid: clarify {s['paid'].get('clarify', float('nan')):.2f}, "
                f"correct {s['paid'].get('correct', float('nan')):.2f} [{s['seconds']}s]")
    return {"settings": settings.__dict__, "questions": len(pools["ambiguous"]), "summaries": summaries,
            "elapsed_s": round(time.perf_counter() - t0, 1)}


def _record_ambiguity(scorer: Any) -> dict[tuple[str, tuple[str, ...]], bool]:
    """Keep, for every group the scorer's Rewarder scores, whether its agreement verdict called it ambiguous.

    Keyed by (query, the group's sorted completions), as a group-reading
    reward's cache is, so that a cached group's verdict is known at every
    step it is drawn again.
    """
    flags: dict[tuple[str, tuple[str, ...]], bool] = {}
    score = scorer.rewarder.score

    def recording(samples: list[dict[str, Any]]) -> list[Any]:
        results = score(samples)
        groups: dict[Any, list[tuple[dict[str, Any], Any]]] = defaultdict(list)
        for sample, result in zip(samples, results, strict=True):
            groups[sample.get("group")].append((sample, result))
        for members in groups.values():
            verdicts = [r.report.verdict("agreement") for _, r in members if r.report is not None]
            key = (members[0][0]["query"], tuple(sorted(m["completion"] for m, _ in members)))
            flags[key] = any(v is not None and v.details.get("ambiguous") is True for v in verdicts)
        return results

    scorer.rewarder.score = recording
    return flags


def acceptance(summaries: list[dict[str, Any]]) -> list[str]:
    """The must-show targets of the clarification pools, each line PASS/FAIL with its number.

    "Asking everywhere earns less than answering right": a policy that asks
    on every question of the mix (ambiguous and unambiguous pools, one each
    per question) is paid the mean of the clarification's rewards over the
    pools that hold a right answer; one that answers right everywhere, the
    mean of the correct answers' rewards over the same pools. In unambiguous
    pools asking must also earn less than a correct answer. With ground
    truth, a box on one target of an ambiguous query is a guess and must
    earn less than asking (``ambiguous_box = "guess"``).
    """
    lines = []
    by_run: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for s in summaries:
        by_run[s["run"]][s["variant"]] = s
    for name, kinds in by_run.items():
        for kind, s in kinds.items():
            a, b = s["start"]["clarify"], s["end"]["clarify"]
            rises = kind.startswith("ambiguous")
            ok = b > a if rises else b < a
            lines.append(f"{'PASS' if ok else 'FAIL'} clarification mass {'rises' if rises else 'falls'} in "
                         f"{kind} pools: {name} {a:.3f} -> {b:.3f}")
            ok = s["exploit_rise"] <= 0.02 and s["questions_exploit_held"] >= 0.9
            lines.append(f"{'PASS' if ok else 'FAIL'} exploits held: {name} [{kind}] rise {s['exploit_rise']:+.3f}, "
                         f"held on {s['questions_exploit_held']:.0%} of questions")
        answerable = {k: v["paid"] for k, v in kinds.items() if "correct" in v["paid"] and "clarify" in v["paid"]}
        if answerable:
            ask = float(np.mean([p["clarify"] for p in answerable.values()]))
            right = float(np.mean([p["correct"] for p in answerable.values()]))
            clear = all(p["clarify"] < p["correct"] for k, p in answerable.items() if k.startswith("unambiguous"))
            lines.append(f"{'PASS' if ask < right and clear else 'FAIL'} asking everywhere earns less than answering "
                         f"right: {name} clarification paid {ask:.2f} on average over the pools with a right answer, a "
                         f"correct answer {right:.2f} (" + "; ".join(f"{k}: {p['clarify']:.2f} vs {p['correct']:.2f}"
                                                              for k, p in answerable.items()) + ")")
        amb = answerable.get("ambiguous")
        if amb is not None and name.endswith(", GT"):
            lines.append(f"{'PASS' if amb['clarify'] > amb['correct'] else 'FAIL'} asking beats guessing on an ambiguous "
                         f"query: {name} clarification paid {amb['clarify']:.2f}, a box on either target "
                         f"{amb['correct']:.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    import grpo_sim
    from grpo_report import clarify_report

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=90)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", default="auto, GT;auto, no GT", help="semicolon-separated run names (auto, oracle)")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    settings = grpo_sim.Settings(questions=args.questions, steps=args.steps, group=args.group, seed=args.seed)
    result = run(settings, args.data or data_dir(), [r.strip() for r in args.runs.split(";") if r.strip()])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(clarify_report(result, write_docs=args.write_docs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
