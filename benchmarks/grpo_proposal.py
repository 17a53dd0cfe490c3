"""A proposed label-free reward, simulated before it is written into the reward code.

Built only on the public :class:`groundscore.rewards.Rewarder` (the
``confidence`` policy's refutations and parsed boxes), so that
``benchmarks/grpo_sim.py --policies proposal`` measures the rule that
docs/what-optimising-does.md proposes, beside the built-in rewards:

1. **Refutation first.** An answer the ``confidence`` policy pays below the
   abstain reward (a failed gate, a guard, a confidence under
   ``reject_below``) keeps that reward. "Not found" is paid exactly
   ``abstain``.
2. **One rule for copies.** Exact and near copies are treated alike,
   whatever their text: with ``copy_iou`` > 1 (the proposal) every member
   is one vote, a copy like any other sample (GRPO's samples are
   independent draws; no rule on boxes can tell a copy from two models
   agreeing, see the page); with ``copy_iou`` <= 1 (the alternative it was
   measured against) members whose boxes overlap at IoU >= ``copy_iou`` are
   one vote. Either way a group whose voters all give one answer (every box
   within ``collapse_iou`` of the others, exact or near, and no "not found")
   is paid exactly ``abstain``: nothing in it was compared with anything
   else (under GRPO its advantages are zero anyway).
3. **Only agreement pays above "not found".** An unrefuted one-box answer
   is paid ``abstain + (correct - abstain) * share`` where ``share`` is the
   share of the votes (boxes, and "not found" answers, which vote too) that
   agree with it (IoU >= 0.5), provided at least one *other* vote agrees and
   the agreeing votes hold at least ``min_support`` of all votes.
   Otherwise it is paid exactly ``abstain`` (nothing confirmed it, nothing
   refuted it), or ``wrong`` when it disagrees with a supported consensus.

The confidence itself (a calibrated prior: box size, query length) is never
paid: it only refutes, through ``reject_below``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from groundscore.model import box_iou

COPY_IOU = 2.0
COLLAPSE_IOU = 0.9
AGREE_IOU = 0.5
MIN_SUPPORT = 0.5


def _clusters(boxes: dict[int, tuple[float, ...]], copy_iou: float) -> dict[int, int]:
    """Single-linkage clusters of members whose boxes overlap at ``copy_iou`` or more: member -> cluster id."""
    parent = {i: i for i in boxes}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    keys = sorted(boxes)
    for a_pos, a in enumerate(keys):
        for b in keys[a_pos + 1:]:
            if box_iou(boxes[a], boxes[b]) >= copy_iou:
                parent[find(a)] = find(b)
    return {i: find(i) for i in keys}


def group_rewards(results: Sequence[Any], config: Any, copy_iou: float = COPY_IOU, min_support: float = MIN_SUPPORT,
                  collapse_iou: float = COLLAPSE_IOU) -> list[float | None]:
    """The proposal's rewards for one group, from the ``confidence`` policy's :class:`RewardResult` of each member."""
    abstain, correct, wrong = config.abstain, config.correct, config.wrong
    out: list[float | None] = []
    boxes: dict[int, tuple[float, ...]] = {}
    said_none = False
    for i, r in enumerate(results):
        if r.reward is None:
            continue
        if r.outcome == "abstain":
            said_none = True
        elif r.reward >= abstain and r.report is not None and len(r.report.parsed.boxes) == 1:
            boxes[i] = r.report.parsed.boxes[0].xyxy
    nones = sum(1 for r in results if r.reward is not None and r.outcome == "abstain")
    collapsed = not said_none and len(boxes) >= 2 and len(set(_clusters(boxes, collapse_iou).values())) == 1
    cluster = _clusters(boxes, copy_iou)
    reps = {c: boxes[i] for i, c in cluster.items()}  # one box per vote
    distinct = len(reps) + (nones if copy_iou > 1 else min(nones, 1))
    support = {c: [d for d, b in reps.items() if box_iou(reps[c], b) >= AGREE_IOU] for c in reps}
    strong = set() if collapsed else {c for c, agree in support.items() if len(agree) >= 2 and len(agree) / max(distinct, 1) >= min_support}
    for i, r in enumerate(results):
        if r.reward is None or r.outcome == "abstain" or i not in boxes:
            out.append(r.reward if r.reward is None or r.reward <= abstain else abstain)
            continue
        c = cluster[i]
        if c in strong:
            out.append(abstain + (correct - abstain) * len(support[c]) / distinct)
        elif strong and not any(c in support[s] for s in strong):
            out.append(wrong)
        else:
            out.append(abstain)
    return out
