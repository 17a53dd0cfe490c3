"""Under optimisation pressure: what GRPO against each reward makes a policy choose.

Training a VLM is out of reach here, but the question a reward must answer
can be asked with real answers: if a policy could choose freely among what
real models wrote, an honest "not found", plausible wrong boxes and known
exploits, what would GRPO against this reward teach it?

Per question (``benchmarks/grpo_pools.py``), a softmax policy over its
candidate pool; each step samples one GRPO group of ``--group`` completions
per question, scores the groups with the reward under test (through the
public :class:`groundscore.rewards.Rewarder`, each group passed as a group),
normalises the rewards within the group (advantage ``(r - mean) / std``)
and takes a policy-gradient step on the logits. Three pool variants: the
real pools, the same pools with every correct candidate removed (nothing
right to find), and the real pools with each sampled copy of a box jittered
by a few pixels (no exact copies in a group).

Run from the repository root::

    .venv/bin/python benchmarks/grpo_sim.py                      # everything (a few minutes on 2 cores)
    .venv/bin/python benchmarks/grpo_sim.py --quick              # 40 questions, 20 steps
    .venv/bin/python benchmarks/grpo_sim.py --policies auto,consensus --variants real
    .venv/bin/python benchmarks/grpo_sim.py --heldout            # held-out: 40 other questions, other exploits, lr, group, parametrisation
    .venv/bin/python benchmarks/grpo_sim.py --policies auto,proposal,proposal-alternatives --variants real,no_correct --quick
    .venv/bin/python benchmarks/grpo_sim.py --write-docs         # refresh docs/what-optimising-does.md and its plots
    .venv/bin/python benchmarks/grpo_sim.py --clarify            # ambiguous / unambiguous pools with a clarifying question

Reward calls are cached: for a reward that reads each completion alone
(ground-truth IoU, format, the oracle) by ``(question, completion)``, for
one that reads the group (``consensus``, and ``confidence`` through the
agreement verifier) by ``(question, the group's multiset of completions)``.
``--check-cache N`` rescores N cached groups fresh and counts mismatches.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grpo_pools import Pool, build_pools, data_dir, jitter, load_questions, read_extras

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "grpo_sim.json"


@dataclass(frozen=True)
class Run:
    """One reward under test: a name, how to build it, whether the samples carry ground truth."""

    name: str
    policy: str  # a built-in policy name, "vlm_r1" (VLM-R1's plain IoU reward), "oracle" or "majority" (a plain vote)
    grounded: bool
    per_completion: bool  # the reward reads each completion alone: cache per completion
    label_free: bool = False
    same_as: str | None = None  # a run expected to pay the same rewards: checked, and reused where it does
    options: tuple[tuple[str, Any], ...] = ()  # the policy's options, where a run tries other settings


RUNS: dict[str, list[Run]] = {
    "auto": [Run("auto, GT", "auto", True, True), Run("auto, no GT", "auto", False, False, True)],
    "confidence": [Run("confidence, no GT", "confidence", False, False, True, same_as="auto, no GT"),
                   Run("confidence, GT", "confidence", True, True, same_as="auto, GT")],
    "consensus": [Run("consensus, no GT", "consensus", False, False, True),
                  Run("consensus, GT", "consensus", True, True, same_as="auto, GT")],
    "iou": [Run("iou, GT", "iou", True, True), Run("iou, no GT", "iou", False, True, True)],
    "format": [Run("format, GT", "format", True, True), Run("format, no GT", "format", False, True, True)],
    "vlm_r1": [Run("VLM-R1 IoU, GT", "vlm_r1", True, True)],
    "oracle": [Run("oracle", "oracle", True, True)],
    "majority": [Run("majority vote, no GT", "majority", False, False, True)],
    "proposal": [Run("proposal, no GT", "proposal", False, False, True)],
    "consensus-alternatives": [
        Run("consensus (support 0.3), no GT", "consensus", False, False, True, options=(("min_support", 0.3),)),
        Run("consensus (support 0.25), no GT", "consensus", False, False, True, options=(("min_support", 0.25),))],
    "proposal-alternatives": [Run("proposal (support 0.5), no GT", "proposal", False, False, True),
                              Run("proposal (support 0.25), no GT", "proposal", False, False, True),
                              Run("proposal (copies one vote), no GT", "proposal", False, False, True),
                              Run("proposal (refuted in the group), no GT", "proposal", False, False, True)],
}
PROPOSALS = {"proposal, no GT": (2.0, 0.3, True), "proposal (support 0.5), no GT": (2.0, 0.5, True),
             "proposal (support 0.25), no GT": (2.0, 0.25, True), "proposal (copies one vote), no GT": (0.9, 0.5, True),
             "proposal (refuted in the group), no GT": (2.0, 0.3, False)}
"""The proposal's settings per run: copy_iou (boxes overlapping this much are one vote; 2.0: never, every member
votes), min_support (the share of the votes a consensus must hold to pay above "not found"), and whether the
refutations read each completion alone (True) or in its group, where the chain's agreement verdict moves the
confidence that ``reject_below`` reads (False)."""
"""Each ``--policies`` name and its runs. ``grounded`` is ``auto`` with ground truth; ``click`` does not apply
to box questions (it pays points; the REC logs ask for boxes). ``proposal`` is the label-free rule that
docs/what-optimising-does.md proposes (``benchmarks/grpo_proposal.py``), simulated before it is written.
``consensus-alternatives`` tries the consensus policy with a lower bar (``min_support``) through its options."""
SKIPPED = {"iou, no GT": "iou without ground truth is unscorable (None) for every completion: no advantage, nothing moves",
           "format, no GT": "format reads no ground truth: the same rewards as with it"}
"""Runs left out unless ``--all-runs``, and why."""
JITTERED = ("consensus, no GT", "proposal, no GT")
"""The runs simulated on the jittered pools by default: the rewards with a rule for copies."""
REFERENCES = ("oracle", "majority vote, no GT")
"""Rewards simulated beside the built-in ones to read them by, not held to the targets."""
NO_TRUTH_READ = {"format": "reads no ground truth: the documented exception",
                 "VLM-R1 IoU": "a reference, not a built-in policy: the iou policy with plain = true"}
"""Runs 'with ground truth' that do not read it the way the abstention check asks, and why (their number is still printed)."""
DEFAULT_POLICIES = ("auto", "confidence", "consensus", "iou", "format", "vlm_r1", "oracle", "majority", "proposal")
VARIANTS = ("real", "no_correct", "jittered")


@dataclass
class Settings:
    questions: int = 60
    steps: int = 40
    group: int = 8
    lr: float = 1.0
    seed: int = 0
    shared_lr: float = 0.0  # > 0: a shared logit per candidate style (the held-out parametrisation)
    heldout: bool = False
    exploits_per_family: int = 3
    all_runs: bool = False  # also the runs in SKIPPED, and per-completion rewards on jittered pools
    alias_checks: int = 300  # groups compared before a run expected to pay as another reuses its traces (0: never reuse)


# -- rewards ---------------------------------------------------------------------------------
class Scorer:
    """Rewards for whole groups, through the public Rewarder, with the cache the reward allows."""

    def __init__(self, run: Run, chain: Any = None) -> None:
        self.run = run
        self.cache: dict[tuple[Any, ...], Any] = {}
        self.calls = 0  # completions sent to the Rewarder
        self.seconds = 0.0
        self.rewarder: Any = None
        self.alone: dict[tuple[str, str, bool], Any] = {}  # the proposal's per-completion refutations
        if run.policy in ("oracle", "majority"):
            return
        from groundscore.rewards import Rewarder

        if run.policy == "proposal":
            self.rewarder = Rewarder({"policy": "confidence"}, chain=chain)
        elif run.policy == "vlm_r1":
            from groundscore.integrations.vlm_r1 import VLM_R1_IOU

            self.rewarder = Rewarder(VLM_R1_IOU, chain=chain)
        else:
            self.rewarder = Rewarder({"policy": run.policy, "options": dict(run.options)}, chain=chain)

    def _samples(self, pool: Pool, texts: Sequence[str], gid: str) -> list[dict[str, Any]]:
        return [{"query": pool.query, "completion": t, "image_size": list(pool.image_size), "coords": "original",
                 "solution": pool.solution if self.run.grounded else None, "group": gid,
                 "meta": {"group_size": len(texts)}} for t in texts]

    def score(self, requests: Sequence[tuple[Pool, list[int], list[str]]]) -> list[list[float | None]]:
        """``(pool, candidate indices, texts)`` per group -> the rewards of each member."""
        if self.run.policy == "oracle":
            return [[_oracle(pool, i) for i in idx] for pool, idx, _ in requests]
        if self.run.policy == "majority":
            return [_majority(pool, idx, texts) for pool, idx, texts in requests]
        todo: list[tuple[tuple[Any, ...], Pool, list[str]]] = []
        for pool, _, texts in requests:
            for key in self._keys(pool, texts):
                if key not in self.cache:
                    self.cache[key] = None
                    todo.append((key, pool, list(key[1]) if not self.run.per_completion else texts))
        if todo:
            self._fill(todo)
        return [[self._lookup(pool, texts, k) for k in range(len(texts))] for pool, _, texts in requests]

    def _keys(self, pool: Pool, texts: list[str]) -> list[tuple[Any, ...]]:
        if self.run.per_completion:
            return [(pool.key, t) for t in dict.fromkeys(texts)]
        return [(pool.key, tuple(sorted(texts)))]

    def _lookup(self, pool: Pool, texts: list[str], k: int) -> float | None:
        if self.run.per_completion:
            return self.cache[(pool.key, texts[k])]
        key = (pool.key, tuple(sorted(texts)))
        return self.cache[key][texts[k]]

    def _fill(self, todo: list[tuple[tuple[Any, ...], Pool, list[str]]]) -> None:
        """Score every uncached group in one batch (a per-completion reward still sees its group)."""
        samples, spans = [], []
        seen: set[tuple[Any, ...]] = set()
        for n, (key, pool, texts) in enumerate(todo):
            if self.run.per_completion:
                group_key = (pool.key, tuple(sorted(texts)))
                if group_key in seen:
                    continue
                seen.add(group_key)
            spans.append((key, pool, texts, len(samples)))
            samples += self._samples(pool, texts, f"{pool.key}#{n}")
        start = time.perf_counter()
        rewards = self._rewards(samples, [(at, len(texts)) for _, _, texts, at in spans])
        self.seconds += time.perf_counter() - start
        self.calls += len(samples)
        for key, pool, texts, at in spans:
            got = rewards[at:at + len(texts)]
            if self.run.per_completion:
                for t, r in zip(texts, got, strict=True):
                    if self.cache.get((pool.key, t)) is None:
                        self.cache[(pool.key, t)] = r
            else:
                self.cache[key] = dict(zip(texts, got, strict=True))

    def _rewards(self, samples: list[dict[str, Any]], groups: list[tuple[int, int]]) -> list[float | None]:
        if self.run.policy != "proposal":
            return self.rewarder.rewards(samples)
        from grpo_proposal import group_rewards

        copy_iou, min_support, alone = PROPOSALS[self.run.name]
        if alone:  # refutations read each completion alone (the agreement verdict is the proposal's, not the chain's)
            keys = [(s["query"], s["completion"], s["solution"] is not None) for s in samples]
            todo = {k: {**s, "group": None, "meta": {}} for k, s in zip(keys, samples, strict=True) if k not in self.alone}
            for k, r in zip(todo, self.rewarder.score(list(todo.values())), strict=True):
                self.alone[k] = r
            results = [self.alone[k] for k in keys]
        else:
            results = self.rewarder.score(samples)
        out: list[float | None] = []
        for at, n in groups:
            out += group_rewards(results[at:at + n], self.rewarder.config, copy_iou=copy_iou, min_support=min_support)
        return out

    def same_rewards(self, other: Scorer, pools: dict[str, Pool], n: int, seed: int) -> tuple[int, int]:
        """Score up to ``n`` of ``other``'s cached groups with this reward; (groups compared, groups that differ).

        Where none differs the two rewards are taken to be the same function on
        these pools, and ``other``'s traces are reused (the simulation is
        deterministic given the rewards); the table says so.
        """
        rng = random.Random(seed)
        keys = [k for k, v in other.cache.items() if v is not None and not other.run.per_completion]
        bad = 0
        chosen = rng.sample(keys, min(n, len(keys)))
        for key in chosen:
            pool, texts = pools[key[0]], list(key[1])
            got = self._rewards(self._samples(pool, texts, "same"), [(0, len(texts))])
            bad += any(not _same(g, other.cache[key][t]) for g, t in zip(got, texts, strict=True))
        return len(chosen), bad

    def check(self, pools: dict[str, Pool], n: int, seed: int) -> tuple[int, int]:
        """Rescore up to ``n`` cached entries fresh, in a new group of their own; (checked, mismatches)."""
        rng = random.Random(seed)
        keys = [k for k, v in self.cache.items() if v is not None]
        checked = bad = 0
        for key in rng.sample(keys, min(n, len(keys))):
            pool = pools[key[0]]
            if self.run.per_completion:
                # the completion in another group: the cached reward must not depend on its group
                others = [c.completion for c in rng.sample(pool.candidates, min(7, len(pool.candidates)))]
                fresh = self.rewarder.rewards(self._samples(pool, [key[1], *others], "check"))[0]
                bad += not _same(fresh, self.cache[key])
            else:
                texts = list(key[1])
                fresh_list = self._rewards(self._samples(pool, texts, "check"), [(0, len(texts))])
                bad += any(not _same(f, self.cache[key][t]) for f, t in zip(fresh_list, texts, strict=True))
            checked += 1
        return checked, bad


def _same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-9)


def _oracle(pool: Pool, i: int) -> float:
    """The reference: 1 for a correct answer, the abstain reward (0.25) for "not found", 0 for anything else."""
    cat = pool.candidates[i].category
    return 1.0 if cat == "correct" else 0.25 if cat == "abstain" else 0.0


def _majority(pool: Pool, idx: list[int], texts: list[str]) -> list[float | None]:
    """The plainest label-free reward (test-time RL's majority vote): 1 for the members of the group's largest
    cluster, 0 for the others; a cluster is the members whose first box overlaps at IoU >= 0.5, or every
    "not found"; an answer with no box and no "not found" is never in one. No verifier is read."""
    from grpo_pools import first_box

    from groundscore.model import box_iou

    keys: list[Any] = []
    for i, t in zip(idx, texts, strict=True):
        keys.append("absent" if pool.candidates[i].category == "abstain" else first_box(t))
    support = []
    for k in keys:
        if k is None:
            support.append(0)
        elif k == "absent":
            support.append(sum(o == "absent" for o in keys))
        else:
            support.append(sum(o is not None and o != "absent" and box_iou(k, o) >= 0.5 for o in keys))
    top = max(support)
    return [1.0 if top and s == top else 0.0 for s in support]


# -- the simulation ---------------------------------------------------------------------------
def categories_of(pools: Sequence[Pool]) -> list[str]:
    fixed = ["correct", "wrong", "abstain"]
    rest = sorted({c.category for p in pools for c in p.candidates} - set(fixed))
    return fixed + rest


def style(category: str, source: str) -> str:
    """What a shared parameter can see of a candidate (never whether it is right): its kind or exploit family."""
    if category.startswith("exploit:") or category not in ("correct", "wrong"):
        return category
    return "other" if source.startswith("other:") else "real"


@dataclass
class Trace:
    """Mass per category, per step (0..steps) and pool: ``mass[step, pool, category]``."""

    run: str
    variant: str
    categories: list[str]
    mass: np.ndarray
    reward_calls: int = 0
    reward_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def simulate(pools: Sequence[Pool], reward: Callable[[list[tuple[Pool, list[int], list[str]]]], list[list[float | None]]],
             settings: Settings, jittered: bool = False, categories: list[str] | None = None) -> np.ndarray:
    """GRPO on one tabular softmax policy per pool; returns ``mass[step, pool, category]``."""
    rng = np.random.default_rng(settings.seed)
    cats = categories or categories_of(pools)
    index = {c: k for k, c in enumerate(cats)}
    logits = [np.log(np.array([c.weight for c in p.candidates], dtype=float)) for p in pools]
    member = [np.array([index[c.category] for c in p.candidates]) for p in pools]
    styles = sorted({style(c.category, c.source) for p in pools for c in p.candidates})
    sidx = {s: k for k, s in enumerate(styles)}
    style_of = [np.array([sidx[style(c.category, c.source)] for c in p.candidates]) for p in pools]
    shared = np.zeros(len(styles))
    mass = np.zeros((settings.steps + 1, len(pools), len(cats)))
    G = settings.group
    for step in range(settings.steps + 1):
        probs = []
        for q in range(len(pools)):
            z = logits[q] + shared[style_of[q]]
            z = np.exp(z - z.max())
            pr = z / z.sum()
            probs.append(pr)
            mass[step, q] = np.bincount(member[q], weights=pr, minlength=len(cats))
        if step == settings.steps:
            break
        requests = []
        for q, p in enumerate(pools):
            idx = rng.choice(len(p.candidates), size=G, p=probs[q]).tolist()
            texts = []
            seen: dict[int, int] = {}
            for i in idx:
                k = seen.get(i, 0)
                seen[i] = k + 1
                texts.append(jitter(p.candidates[i].completion, k) if jittered else p.candidates[i].completion)
            requests.append((p, idx, texts))
        rewards = reward(requests)
        shared_grad = np.zeros(len(styles))
        for q, ((p, idx, _), rs) in enumerate(zip(requests, rewards, strict=True)):
            adv = group_advantages(rs)
            grad = np.zeros(len(p.candidates))
            for i, a in zip(idx, adv, strict=True):
                if a:
                    grad[i] += a
                    grad -= a * probs[q]
            grad /= G
            logits[q] += settings.lr * grad
            shared_grad += np.bincount(style_of[q], weights=grad, minlength=len(styles))
        if settings.shared_lr:
            shared += settings.shared_lr * shared_grad / len(pools)
    return mass


def group_advantages(rewards: Sequence[float | None]) -> list[float]:
    """GRPO's group-normalised advantage; a None reward (unscorable) takes no part."""
    vals = [r for r in rewards if r is not None]
    if len(vals) < 2:
        return [0.0] * len(rewards)
    mean = sum(vals) / len(vals)
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
    if std < 1e-9:
        return [0.0] * len(rewards)
    return [0.0 if r is None else (r - mean) / (std + 1e-4) for r in rewards]


# -- summaries ----------------------------------------------------------------------------------
def summarise(trace: Trace) -> dict[str, Any]:
    """Start -> end mass per category (mean over questions), exploit rise overall and per question."""
    m = trace.mass
    cats = trace.categories
    exp = [k for k, c in enumerate(cats) if c.startswith("exploit:")]
    start, end = m[0].mean(axis=0), m[-1].mean(axis=0)
    rise_q = m[-1][:, exp].sum(axis=1) - m[0][:, exp].sum(axis=1) if exp else np.zeros(m.shape[1])
    out: dict[str, Any] = {"run": trace.run, "variant": trace.variant, "questions": int(m.shape[1]),
                           "start": {c: float(start[k]) for k, c in enumerate(cats)},
                           "end": {c: float(end[k]) for k, c in enumerate(cats)},
                           "exploit_start": float(start[exp].sum()) if exp else 0.0,
                           "exploit_end": float(end[exp].sum()) if exp else 0.0,
                           "exploit_rise": float(rise_q.mean()),
                           "questions_exploit_held": float((rise_q <= 0.02).mean()),
                           "reward_calls": trace.reward_calls, "reward_seconds": round(trace.reward_seconds, 1)}
    family_rise = {cats[k]: float(end[k] - start[k]) for k in exp}
    out["worst_family"] = max(family_rise, key=family_rise.get) if family_rise else None  # type: ignore[arg-type]
    out["family_rise"] = family_rise
    return out


def acceptance(summaries: list[dict[str, Any]]) -> list[str]:
    """The must-show targets, each line PASS/FAIL with its number."""
    lines = []
    by = {(s["run"], s["variant"]): s for s in summaries}
    for s in summaries:
        if s["run"] in REFERENCES or s["run"].startswith("VLM-R1"):
            continue
        ok = s["exploit_rise"] <= 0.02 and s["questions_exploit_held"] >= 0.9
        lines.append(f"{'PASS' if ok else 'FAIL'} exploits held: {s['run']} [{s['variant']}] rise {s['exploit_rise']:+.3f}, "
                     f"held on {s['questions_exploit_held']:.0%} of questions")
    gt = by.get(("auto, GT", "real"))
    if gt:
        gain = gt["end"]["correct"] - gt["start"]["correct"]
        for s in summaries:
            if s["variant"] == "real" and s["run"].endswith("no GT"):
                rec = (s["end"]["correct"] - s["start"]["correct"]) / gain if gain > 0 else float("nan")
                verdict = "ref" if s["run"] in REFERENCES else ("PASS" if rec >= 0.5 else "FAIL")
                lines.append(f"{verdict} recovers >= 50% of the GT gain: {s['run']} {rec:.0%}")
    for s in summaries:
        if s["variant"] == "no_correct" and s["run"].endswith(", GT"):
            a = s["end"]["abstain"]
            why = NO_TRUTH_READ.get(s["run"].split(",")[0])
            verdict = "n/a" if why else ("PASS" if a >= 0.8 else "FAIL")
            lines.append(f"{verdict} no-correct pools end >= 0.8 on abstention: {s['run']} {a:.2f}" + (f" ({why})" if why else ""))
    return lines


def recovery(summaries: list[dict[str, Any]], variant: str = "real") -> dict[str, float]:
    by = {(s["run"], s["variant"]): s for s in summaries}
    gt = by.get(("auto, GT", variant))
    if not gt:
        return {}
    gain = gt["end"]["correct"] - gt["start"]["correct"]
    return {s["run"]: (s["end"]["correct"] - s["start"]["correct"]) / gain
            for s in summaries if s["variant"] == variant and gain > 0}


# -- driver -----------------------------------------------------------------------------------
def correctness(pairs: list[tuple[dict[str, Any], str]]) -> list[bool]:
    """IoU >= 0.5 with the solution by the reward library's own matching (the ``iou`` policy's outcome)."""
    from groundscore.chain import Chain
    from groundscore.rewards import Rewarder

    rewarder = Rewarder({"policy": "iou"}, chain=Chain({"verifiers": ["schema"]}))
    results = rewarder.score([{"query": q["query"], "completion": c, "coords": "original", "solution": q["solution"]}
                              for q, c in pairs])
    return [r.outcome == "correct" for r in results]


def run_all(settings: Settings, policies: Sequence[str], variants: Sequence[str], data: Path,
            extras_file: Path | None = None, check_cache: int = 0, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Build the pools, simulate every run on every variant; the summaries, curves and timings."""
    from grpo_probes import minority_probe, plurality_ceiling

    from groundscore.chain import Chain

    t0 = time.perf_counter()
    questions = load_questions(data, settings.questions, settings.seed)
    pools = build_pools(questions, correctness, heldout=settings.heldout, extras=read_extras(extras_file),
                        exploits_per_family=settings.exploits_per_family, seed=settings.seed)
    log(f"pools: {len(questions)} questions, {sum(len(p.candidates) for p in pools['real']) / len(questions):.1f} candidates "
        f"per real pool, {sum(p.has_correct for p in pools['real'])} with a correct one ({time.perf_counter() - t0:.1f}s)")
    ceiling = plurality_ceiling(pools["real"])
    log(f"majority vote of the real answers (no verifier) is correct on {ceiling:.2f} of the real pools")
    chain = Chain()
    summaries, curves, timing, checks, probes = [], {}, {}, {}, {}
    scorers: dict[str, Scorer] = {}
    aliases: dict[str, str] = {}
    by_key = {p.key: p for v in variants for p in pools[v]}
    for name in policies:
        for run in RUNS[name]:
            if run.name in SKIPPED and not settings.all_runs:
                log(f"{run.name}: skipped ({SKIPPED[run.name]}; --all-runs runs it)")
                continue
            scorer = Scorer(run, chain)
            scorers[run.name] = scorer
            if run.same_as in scorers and settings.alias_checks:
                n, bad = scorer.same_rewards(scorers[run.same_as], by_key, settings.alias_checks, settings.seed)
                log(f"{run.name}: {bad} of {n} groups of {run.same_as} paid differently")
                if n and not bad:
                    aliases[run.name] = f"{run.same_as} ({n} of its groups checked, same rewards)"
                    for s in [s for s in summaries if s["run"] == run.same_as]:
                        summaries.append({**s, "run": run.name, "same_as": aliases[run.name]})
                        curves[f"{run.name}|{s['variant']}"] = curves[f"{run.same_as}|{s['variant']}"]
                    scorers[run.name] = scorers[run.same_as]
                    continue
            for variant in variants:
                if variant == "jittered" and run.name not in JITTERED and not settings.all_runs:
                    continue  # only the copy rule of a group-reading reward can tell a copy from a 3 px shift
                vp = [p for p in pools[variant] if variant != "no_correct" or len(p.candidates) > 1]
                cats = categories_of(vp)
                t = time.perf_counter()
                calls0, secs0 = scorer.calls, scorer.seconds
                mass = simulate(vp, scorer.score, settings, jittered=variant == "jittered", categories=cats)
                trace = Trace(run.name, variant, cats, mass, scorer.calls - calls0, scorer.seconds - secs0)
                s = summarise(trace)
                s["seconds"] = round(time.perf_counter() - t, 1)
                summaries.append(s)
                curves[f"{run.name}|{variant}"] = {"categories": cats, "mean": mass.mean(axis=1).round(4).tolist()}
                log(f"{run.name:<20} {variant:<10} correct {s['start']['correct']:.2f}->{s['end']['correct']:.2f} "
                    f"abstain {s['start']['abstain']:.2f}->{s['end']['abstain']:.2f} exploits {s['exploit_start']:.3f}->"
                    f"{s['exploit_end']:.3f} (held on {s['questions_exploit_held']:.0%}) "
                    f"[{s['seconds']}s, {s['reward_calls']} completions scored]")
            if "real" in pools:
                probes[run.name] = minority_probe(pools["real"], scorer)
            timing[run.name] = {"reward_calls": scorer.calls, "reward_seconds": round(scorer.seconds, 1)}
            if check_cache and scorer.rewarder is not None:
                checks[run.name] = scorer.check(by_key, check_cache, settings.seed)
                log(f"  cache check {run.name}: {checks[run.name][1]} of {checks[run.name][0]} differ")
    return {"settings": settings.__dict__, "summaries": summaries, "curves": curves, "timing": timing,
            "cache_checks": checks, "aliases": aliases, "probes": probes, "plurality_ceiling": ceiling, "elapsed_s": round(time.perf_counter() - t0, 1)}


def merge(saved: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``saved`` with the runs of ``new`` in place of (or after) its runs of the same name; the settings must match."""
    keys = ("questions", "steps", "group", "lr", "seed", "heldout", "shared_lr")
    if any(saved["settings"].get(k) != new["settings"].get(k) for k in keys):
        raise SystemExit(f"--merge: settings differ: {saved['settings']} vs {new['settings']}")
    runs = {s["run"] for s in new["summaries"]}
    out = dict(saved)
    out["summaries"] = [s for s in saved["summaries"] if s["run"] not in runs] + new["summaries"]
    for k in ("curves", "timing", "probes", "cache_checks", "aliases"):
        out[k] = {**{n: v for n, v in saved.get(k, {}).items() if n.split("|")[0] not in runs}, **new.get(k, {})}
    out["elapsed_s"] = round(saved["elapsed_s"] + new["elapsed_s"], 1)
    return out


def main(argv: list[str] | None = None) -> int:
    from grpo_report import report

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policies", default=",".join(DEFAULT_POLICIES), help=f"comma-separated, of {', '.join(RUNS)}")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--quick", action="store_true", help="40 questions, 20 steps")
    parser.add_argument("--questions", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--heldout", action="store_true",
                        help="held-out simulation: exploits not from the catalogue, group 16, lr 0.5, a shared logit per style")
    parser.add_argument("--extra", type=Path, default=None, help="JSON lines of extra candidate families (grpo_pools.ExtraCandidate)")
    parser.add_argument("--no-alias", action="store_true", help="simulate every run, even one that pays as another")
    parser.add_argument("--check-cache", type=int, default=0, help="rescore this many cached entries per run, fresh")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--all-runs", action="store_true", help="also the runs that cannot differ (SKIPPED, per-completion rewards on jittered pools)")
    parser.add_argument("--merge", type=Path, default=None,
                        help="a saved result (same settings) whose runs these runs replace or join: rerun one reward after a change")
    parser.add_argument("--baselines", action="store_true", help="print the majority-vote baselines of the real pools and stop")
    parser.add_argument("--from-json", type=Path, default=None, help="print (and with --write-docs, write) a saved result, without simulating")
    parser.add_argument("--clarify", action="store_true", help="the clarification pools instead (benchmarks/grpo_clarify.py)")
    args, rest = parser.parse_known_args(argv)
    if args.clarify:
        from grpo_clarify import main as clarify_main

        return clarify_main(rest + (["--write-docs"] if args.write_docs else []))
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.from_json:
        saved = json.loads(args.from_json.read_text(encoding="utf-8"))
        print(report(saved, write_docs=args.write_docs, heldout=bool(saved["settings"].get("heldout"))))
        return 0
    settings = Settings(group=args.group, lr=args.lr, seed=args.seed, alias_checks=0 if args.no_alias else 300,
                        all_runs=args.all_runs)
    if args.quick:
        settings.questions, settings.steps = 40, 20
    if args.heldout:
        settings.heldout, settings.group, settings.lr, settings.shared_lr = True, 16, 0.5, 0.5
        settings.questions, settings.seed = 40, args.seed + 1  # other questions than the main table's draw
    settings.questions = args.questions or settings.questions
    settings.steps = args.steps or settings.steps
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    unknown = [p for p in policies if p not in RUNS]
    if unknown:
        parser.error(f"unknown policies {unknown}; choose from {', '.join(RUNS)}")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if args.baselines:
        from grpo_probes import plurality_ceiling, unrefuted

        questions = load_questions(args.data or data_dir(), settings.questions, settings.seed)
        real = build_pools(questions, correctness, heldout=settings.heldout, seed=settings.seed)["real"]
        start = float(np.mean([sum(c.weight for c in p.candidates if c.category == "correct") / sum(c.weight for c in p.candidates)
                               for p in real]))
        print(f"{len(real)} real pools; initial correct mass {start:.2f}; a majority vote of the real answers is correct on "
              f"{plurality_ceiling(real):.2f} of them, of the answers the label-free confidence policy does not refute "
              f"on {plurality_ceiling(real, unrefuted(real)):.2f}")
        return 0
    result = run_all(settings, policies, variants, args.data or data_dir(), args.extra, args.check_cache)
    if args.merge:
        result = merge(json.loads(args.merge.read_text(encoding="utf-8")), result)
    out = args.out or (RESULTS.with_name("grpo_sim_heldout.json") if args.heldout else RESULTS)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(report(result, write_docs=args.write_docs, heldout=args.heldout))
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} ({result['elapsed_s']}s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
