"""Fixed probes of the GRPO simulation's rewards: what each pays the minority of a group, and majority-vote baselines."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from grpo_pools import Pool
from grpo_sim import Scorer, group_advantages

# -- the minority probe ------------------------------------------------------------------------
PROBES = {
    "right minority (2 right, 6 copies of a wrong box)": (("correct", 2), ("wrong", 6)),
    "wrong minority (6 copies of a right box, 2 wrong)": (("correct", 6), ("wrong", 2)),
    "'not found' minority (2 'not found', 6 wrong)": (("abstain", 2), ("wrong", 6)),
}
"""Fixed groups per question: what a reward pays each side (its mean reward and GRPO advantage)."""


def minority_probe(pools: Sequence[Pool], scorer: Scorer) -> dict[str, dict[str, float]]:
    """For each probe, the mean reward and advantage of each side, over the pools that hold both candidates.

    Each side is the pool's most likely candidate of that category, copied; a
    side of the jittered kind is not used here (exact copies), so the copy rule
    shows in the numbers.
    """
    out: dict[str, dict[str, float]] = {}
    for name, sides in PROBES.items():
        requests, roles = [], []
        for p in pools:
            picks = []
            for cat, n in sides:
                best = max((i for i, c in enumerate(p.candidates) if c.category == cat and c.source.startswith(("real", "abstention"))),
                           key=lambda i, p=p: p.candidates[i].weight, default=None)
                picks.append((best, n))
            if any(b is None for b, _ in picks):
                continue
            idx = [b for b, n in picks for _ in range(n)]
            requests.append((p, idx, [p.candidates[i].completion for i in idx]))
            roles.append([k for k, (_, n) in enumerate(picks) for _ in range(n)])
        if not requests:
            continue
        rewards = scorer.score(requests)
        sums: dict[str, list[float]] = {}
        for rs, role in zip(rewards, roles, strict=True):
            adv = group_advantages(rs)
            for k in (0, 1):
                vals = [r for r, ro in zip(rs, role, strict=True) if ro == k and r is not None]
                advs = [a for a, ro in zip(adv, role, strict=True) if ro == k]
                side = sides[k][0]
                sums.setdefault(f"{side} reward", []).append(sum(vals) / len(vals) if vals else float("nan"))
                sums.setdefault(f"{side} advantage", []).append(sum(advs) / len(advs))
        out[name] = {k: float(np.nanmean(v)) for k, v in sums.items()} | {"groups": len(requests)}
    return out


def plurality_ceiling(pools: Sequence[Pool], keep: Callable[[Pool, Any], bool] | None = None) -> float:
    """Share of real pools whose most supported real answer is correct: a plain majority vote.

    Each real box answer's support is the initial mass of the real answers
    overlapping it at IoU >= 0.5; the answer with the most support is the
    one a reward that pays agreement pushes a policy towards. ``keep``
    limits the vote to some answers (those no verifier refutes).
    """
    from grpo_pools import first_box

    from groundscore.model import box_iou

    hits = []
    for p in pools:
        real = [(c, b) for c in p.candidates if c.category in ("correct", "wrong") and (b := first_box(c.completion))
                and (keep is None or keep(p, c))]
        if not real:
            continue
        best = max(real, key=lambda cb: sum(o.weight for o, ob in real if box_iou(cb[1], ob) >= 0.5))
        hits.append(best[0].category == "correct")
    return sum(hits) / max(len(hits), 1)


def unrefuted(pools: Sequence[Pool], chain: Any = None) -> Callable[[Pool, Any], bool]:
    """Which real answers the label-free ``confidence`` policy does not refute (paid at least "not found"), each scored alone."""
    from groundscore.rewards import Rewarder

    rewarder = Rewarder({"policy": "confidence"}, chain=chain)
    cands = [(p, c) for p in pools for c in p.candidates if c.category in ("correct", "wrong")]
    results = rewarder.score([{"query": p.query, "completion": c.completion, "image_size": list(p.image_size),
                               "coords": "original"} for p, c in cands])
    ok = {(p.key, c.completion) for (p, c), r in zip(cands, results, strict=True)
          if r.reward is not None and r.reward >= rewarder.config.abstain and r.outcome != "abstain"}
    return lambda p, c: (p.key, c.completion) in ok
