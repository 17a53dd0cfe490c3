"""The ``agreement`` verifier: how strongly the rest of the group supports each answer.

Why: without pixels nothing sees a well-labelled box on the wrong object, but
answers to the same question rarely come alone (a GRPO group, k samples at
inference). A box the other answers also give is more often right than one
they contradict: on the shared REC logs the agreement of an answer with two
other models' answers separates right from wrong far better than any
single-answer check (see docs/groups.md).

Who votes: every member of the group, in the batch, that gave a box or point
answer or an explicit "not found", failed no gate (``schema``, ``label_match``,
``consistency``, or any other gate earlier in the chain) and that the reward's
hacking guards would not reject: no ``consistency`` finding of
``reject_findings`` (the thinking says the target is absent, an obfuscated or
grader-addressed label, several boxes for one object), no parser issue of
``reject_issues`` (the answer not read from one well-placed ``<answer>``), no
two boxes on one object (``duplicate_iou``). A malformed, gated or rejected
answer does not vote and weighs nothing in any other member's score, so a
batch of broken outputs cannot vouch for itself, and an answer the reward
pays ``wrong`` cannot move its neighbours' rewards.

How: two box answers agree as much as their matched IoU (boxes paired one to
one by an exact assignment for small multi-box answers, summed and divided by
the larger count, so a missing or extra box costs); two "not found" answers
agree fully, a box and a "not found" not at all. Point answers (GUI clicks,
``point_2d``) vote too: two points agree when they lie within
``point_distance`` of the image diagonal of each other (their similarity
falls linearly with the distance and crosses ``iou_threshold`` exactly at
that distance, so "agree" means the same for points as for boxes), and a
point agrees with a box it lies inside (outside, its similarity falls from
just under ``iou_threshold`` at the edge to 0 at ``point_distance``). An answer's score is its
mean agreement with the other voters; ``support`` is the share of them that
agree at IoU >= ``iou_threshold``. The voters are clustered (greedy, most
supported first) and the largest cluster is the consensus. Each cluster also
counts its ``distinct`` answers (one per distinct box or point set, one per
distinct "not found" completion), and ``distinct_share`` is that count over
the group's distinct answers: copies of one completion agree with each other
by construction, so the ``consensus`` reward policy reads these counts, not
the member counts, to tell a consensus from one answer repeated. When two or more
clusters of boxes are each well supported (:func:`well_supported`: at least
2 members, a quarter of the group, half the largest cluster of boxes) the
group is ``ambiguous``, and the candidate boxes are listed, so an
application can ask the user which object was meant; the reward reads it to
pay a clarifying question above "not found" and a box as a guess
(:mod:`groundscore.rewards.clarify`). Only box and point answers that vote
form these clusters: an answer that asks, says "not found" or is rejected
never makes a group ambiguous.

None, with the reason, for an ungrouped sample, a group of one, an answer
with nothing to compare, or a group where no other member could vote: so
ungrouped use of the default chain is unchanged.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import Field

from groundscore.groups.grouping import GROUP_INDEX_KEY, GROUP_KEY, VERDICTS_KEY, expected_size
from groundscore.issues import GUARD_DUPLICATE_IOU, GUARD_FINDINGS, GUARD_ISSUES
from groundscore.model import Parsed, Verdict
from groundscore.plugins.hookspecs import hookimpl
from groundscore.verifiers.base import Context, Evidence, Verifier, VerifierOptions

XYXY = tuple[float, float, float, float]
_EXACT_MAX = 7  # exact assignment up to this many boxes on the larger side (7! = 5040 orderings)


class AgreementOptions(VerifierOptions):
    iou_threshold: float = Field(default=0.5, gt=0.0, lt=1.0, description="Matched IoU at and above which two box answers agree.")
    ambiguity_min: int = Field(
        default=2, ge=2,
        description="A cluster of boxes needs at least this many members to count towards ambiguity.",
    )
    ambiguity_share: float = Field(
        default=0.25, gt=0.0, le=0.5,
        description="... and at least this share of the group's members (all of them: a member that asks, abstains or "
                    "does not vote counts here and in no cluster, so it can only make a split less likely).",
    )
    ambiguity_balance: float = Field(
        default=0.5, ge=0.0, le=1.0,
        description="... and at least this share of the largest cluster of boxes: one object most members agree on "
                    "with a few answers on another is a confusion, not a split.",
    )
    gates: list[str] | None = Field(
        default=None,
        description="Gate verifiers whose failure removes a member's vote; None: every gate that ran before agreement.",
    )
    reject_findings: list[str] = Field(
        default_factory=lambda: list(GUARD_FINDINGS),
        description="consistency findings that remove a member's vote (the reward's hacking guards reject them).",
    )
    reject_issues: list[str] = Field(
        default_factory=lambda: list(GUARD_ISSUES),
        description="Parser issue codes (prefixes) that remove a member's vote (the answer was not read from one <answer>).",
    )
    duplicate_iou: float = Field(
        default=GUARD_DUPLICATE_IOU, gt=0.0, le=1.0,
        description="A member with two boxes overlapping this much (one object boxed twice) does not vote.",
    )
    guards: dict[str, Any] | None = Field(
        default=None,
        description="A reward policy's guard options (the fields of GuardOptions). When set, a member votes only if that "
                    "policy's own guards, read without ground truth (groundscore.rewards.guards.hack and the hedge rule), "
                    "accept it; reject_findings, reject_issues and duplicate_iou are then not read. The Rewarder sets it "
                    "from the consensus policy's options, so that the members it pays wrong are the members that do not vote.",
    )
    point_distance: float = Field(
        default=0.04, gt=0.0, le=1.0,
        description="Two points agree when they are at most this share of the image diagonal apart "
                    "(without an image size, of a 1000-pixel diagonal).",
    )
    floor: float = Field(
        default=0.2, ge=0.0, lt=1.0,
        description="Score of an answer no other member supports. Above 0 so that a lone dissenter is lowered, not "
                    "zeroed: the geometric mean would turn a 0 into confidence 0, and a minority is sometimes right.",
    )


MAX_DUPLICATE_CHECK = 100
"""Boxes of one answer compared pairwise for duplicates; an answer with more does not vote at all."""


def _truncated(parsed: Parsed) -> bool:
    """The parser left boxes or points unread: its cap is :data:`MAX_DUPLICATE_CHECK` too, so a truncated answer
    would otherwise look like one of exactly that many and be compared."""
    return any(i.code in ("box.too_many", "point.too_many") for i in parsed.issues)


def guard_rejection(parsed: Parsed, prior: Any, options: AgreementOptions,
                    image_size: tuple[int, int] | None = None) -> str | None:
    """Why the reward's hacking guards would reject this answer (so it must not vote), or None.

    Read from what the parser and the earlier verifiers found, as the reward
    reads it: a rejected finding of ``consistency``, a rejected parser issue,
    two boxes on one object, more boxes than can be checked. With
    ``options.guards`` (a policy's guard options), the policy's own guards
    decide (:func:`policy_rejection`).
    """
    if len(parsed.boxes) > MAX_DUPLICATE_CHECK or len(parsed.points) > MAX_DUPLICATE_CHECK or _truncated(parsed):
        return (f"{len(parsed.boxes) + len(parsed.points)} boxes and points: more than {MAX_DUPLICATE_CHECK}, "
                "too many to check")
    if options.guards is not None:
        return policy_rejection(parsed, prior, options.guards, image_size)
    issues = [c for c in parsed.issue_codes()
              if any(c == r or c.startswith(r + "_") for r in options.reject_issues)]
    if issues:
        return f"the answer was not read from one well-placed <answer> ({', '.join(sorted(set(issues)))})"
    consistency = prior.get("consistency") if prior else None
    if consistency is not None and isinstance(consistency.details, dict):
        found = sorted({str(f.get("code")) for f in consistency.details.get("findings", ())
                        if isinstance(f, dict) and f.get("code") in options.reject_findings})
        if found:
            return f"rejected by the reward's guards ({', '.join(found)})"
    boxes = [b.xyxy for b in parsed.boxes]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            if _iou(boxes[i], boxes[j]) >= options.duplicate_iou:
                return f"boxes {i} and {j} overlap (IoU >= {options.duplicate_iou}): one object boxed twice"
    return None


def policy_rejection(parsed: Parsed, prior: Any, guards: dict[str, Any],
                     image_size: tuple[int, int] | None = None) -> str | None:
    """Why a reward policy with these guard options pays this answer wrong whatever the group says, or None.

    The same functions the ``consensus`` policy calls on the finished report
    (:func:`groundscore.rewards.guards.hack` without ground truth, then the
    host's hedge rule), on the verdicts known so far: a custom ``min_side``,
    ``max_coverage``, ``reject_issues`` ... decides the vote as it decides the pay.
    """
    from groundscore.model import Report
    from groundscore.rewards.guards import hack, hedge
    from groundscore.rewards.options import GuardOptions

    opts = _guard_options(tuple(sorted((k, repr(v)) for k, v in guards.items())), guards, GuardOptions)
    report = Report(parsed=parsed, verdicts=list(prior.values()) if prior else [])
    found = hack(report, opts, grounded=False, image_size=image_size)
    if found is not None:
        return f"rejected by the reward's guards ({found[0]}: {found[1]})"
    hedged = hedge(report) if opts.reject_hedges else None
    return f"rejected by the reward's guards ({hedged}: several candidates for one target)" if hedged else None


_GUARDS: dict[tuple[tuple[str, str], ...], Any] = {}


def _guard_options(key: tuple[tuple[str, str], ...], guards: dict[str, Any], cls: Any) -> Any:
    """The validated guard options, once per distinct setting (validated per member would cost as much as the vote)."""
    opts = _GUARDS.get(key)
    if opts is None:
        if len(_GUARDS) > 64:
            _GUARDS.clear()
        opts = _GUARDS[key] = cls.model_validate(guards)
    return opts


def _is_absent(parsed: Parsed) -> bool:
    """An explicit "not found": no_object, ``[]``, or empty answer tags."""
    if parsed.boxes or parsed.points:
        return False
    if parsed.no_object:
        return True
    answer = (parsed.answer or "").strip()
    if not answer:
        return parsed.has_answer_tags
    if len(answer) > 200:
        return False
    stripped = answer.replace("```json", "").replace("```", "")
    return not any(ch not in " \t\r\n[]{}" for ch in stripped)


def _answer_key(kind: str | None, shapes: Any, parsed: Parsed) -> tuple[Any, ...]:
    """What makes two answers the same vote: the same shapes (rounded to 0.01 px), whatever the thinking says;
    for "not found", the same words (a rewording of the thinking alone leaves a box answer the same vote)."""
    if kind == "absent":
        words = " ".join(f"{parsed.think or ''} {parsed.answer or ''}".lower().split())
        return ("absent", words)
    return (kind, tuple(sorted(tuple(round(float(v), 2) for v in s) for s in shapes)))


def _sane(box: XYXY) -> bool:
    x1, y1, x2, y2 = box
    # NaN fails every comparison; infinities fail the finite-sum check
    return x2 > x1 and y2 > y1 and math.isfinite(x1 + y1 + x2 + y2)


XY = tuple[float, float]
_NO_SIZE_DIAGONAL = 1000.0  # the scale for point distances when the image size is unknown


def _sane_point(point: XY) -> bool:
    return math.isfinite(point[0] + point[1])


def _point_sim(p: XY, q: XY, radius: float, t: float) -> float:
    """1 for the same point, ``t`` at distance ``radius``, 0 at ``radius / (1 - t)`` and beyond."""
    d = math.hypot(p[0] - q[0], p[1] - q[1])
    return max(0.0, 1.0 - (1.0 - t) * d / radius)


def _point_box_sim(p: XY, b: XYXY, radius: float, t: float) -> float:
    """1 inside the box; outside, from just under ``t`` at the edge down to 0 at ``radius`` from it."""
    dx = max(b[0] - p[0], 0.0, p[0] - b[2])
    dy = max(b[1] - p[1], 0.0, p[1] - b[3])
    if dx == 0.0 and dy == 0.0:
        return 1.0
    return max(0.0, 0.999 * t * (1.0 - math.hypot(dx, dy) / radius))


def shape_similarity(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]], radius: float, t: float = 0.5) -> float:
    """:func:`matched_iou` generalised to boxes (4 numbers) and points (2 numbers) mixed.

    Pairs are matched one to one (exact for small answers, greedy beyond)
    and the sum divided by the larger count; box-box pairs score their IoU,
    point-point and point-box pairs as the module docstring says, with
    ``radius`` the agreement distance in pixels.
    """
    if not a or not b:
        return 0.0
    if all(len(x) == 4 for x in a) and all(len(x) == 4 for x in b):
        return matched_iou(a, b)
    sa = [tuple(float(v) for v in x) for x in a if len(x) in (2, 4)]
    sb = [tuple(float(v) for v in x) for x in b if len(x) in (2, 4)]
    na = max(len(a), len(b))
    sa = [x for x in sa if (_sane(x) if len(x) == 4 else _sane_point(x))]  # type: ignore[arg-type]
    sb = [x for x in sb if (_sane(x) if len(x) == 4 else _sane_point(x))]  # type: ignore[arg-type]
    nb = max(len(sa), len(sb))
    if not nb:
        return 0.0
    return _matched(sa, sb, radius, t) * nb / na  # type: ignore[arg-type]


def _sim(p: tuple[float, ...], q: tuple[float, ...], radius: float, t: float) -> float:
    if len(p) == 4:
        return _iou(p, q) if len(q) == 4 else _point_box_sim(q, p, radius, t)  # type: ignore[arg-type]
    return _point_box_sim(p, q, radius, t) if len(q) == 4 else _point_sim(p, q, radius, t)  # type: ignore[arg-type]


def _iou(a: XYXY, b: XYXY) -> float:
    """IoU of two boxes already checked finite and ordered (the hot loop: no conversions)."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    if iw <= 0:
        return 0.0
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def matched_iou(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> float:
    """Sum of one-to-one matched IoUs over ``max(len(a), len(b))`` (exact for small answers, greedy beyond).

    A degenerate or non-finite box matches nothing (but still counts in the denominator).
    """
    if not a or not b:
        return 0.0
    na, nb = max(len(a), len(b)), 0
    sa = [tuple(float(v) for v in x) for x in a if len(x) == 4]
    sb = [tuple(float(v) for v in x) for x in b if len(x) == 4]
    sa, sb = [x for x in sa if _sane(x)], [x for x in sb if _sane(x)]  # type: ignore[arg-type]
    nb = max(len(sa), len(sb))
    if not nb:
        return 0.0
    return _matched(sa, sb) * nb / na  # type: ignore[arg-type]


def _matched(a: Sequence[tuple[float, ...]], b: Sequence[tuple[float, ...]], radius: float = 0.0, t: float = 0.5) -> float:
    """:func:`shape_similarity` for shapes already checked sane (boxes only: ``radius`` unused)."""
    if len(a) == 1 and len(b) == 1:
        p, q = a[0], b[0]
        return _iou(p, q) if len(p) == 4 and len(q) == 4 else _sim(p, q, radius, t)  # type: ignore[arg-type]
    if len(a) > len(b):
        a, b = b, a
    if radius:
        matrix = [[_sim(p, q, radius, t) for q in b] for p in a]
    else:
        matrix = [[_iou(p, q) for q in b] for p in a]  # type: ignore[arg-type]
    n, m = len(a), len(b)
    if n == 1:
        best = max(matrix[0])
    elif m <= _EXACT_MAX:
        best = max(sum(matrix[i][cols[i]] for i in range(n)) for cols in itertools.permutations(range(m), n))
    else:
        pairs = sorted(((matrix[i][j], i, j) for i in range(n) for j in range(m)), reverse=True)
        used_i: set[int] = set()
        used_j: set[int] = set()
        best = 0.0
        for v, i, j in pairs:
            if i not in used_i and j not in used_j:
                used_i.add(i)
                used_j.add(j)
                best += v
    return best / m


def well_supported(clusters: list[dict[str, Any]], members: int, options: AgreementOptions) -> list[dict[str, Any]]:
    """The clusters of box (or point) answers well supported enough that two of them make the group ambiguous.

    Each needs ``ambiguity_min`` members, ``ambiguity_share`` of the
    group's ``members`` and ``ambiguity_balance`` of the largest such
    cluster. Why each: two is the least that is more than one stray
    answer; the share is of every member, so answers that ask, abstain or
    are rejected by the guards (they join no box cluster) can only make a
    split less likely, never create one; the balance tells two objects the
    group hesitates between (4 and 3 of 8) from one object with a few
    answers on a distractor (6 and 2), which the REC logs show is how
    models confuse objects in single-target queries (benchmarks/eval_ambiguity.py).
    """
    boxes = [c for c in clusters if not c["absent"]]
    largest = max((c["size"] for c in boxes), default=0)
    need = max(options.ambiguity_min, math.ceil(options.ambiguity_share * members - 1e-9),
               math.ceil(options.ambiguity_balance * largest - 1e-9))
    return [c for c in boxes if c["size"] >= need]


def _median(values: list[float]) -> float:
    s = sorted(values)
    k = len(s) // 2
    return s[k] if len(s) % 2 else (s[k - 1] + s[k]) / 2


class _Group:
    """One group's votes, worked out once for all its members."""

    __slots__ = (
        "ambiguous",
        "answers",
        "asks",
        "candidates",
        "clusters",
        "consensus",
        "distinct",
        "public_clusters",
        "public_consensus",
        "radius",
        "sim",
        "voters",
        "why_not",
    )

    def __init__(self, members: list[Context], options: AgreementOptions) -> None:
        t = options.iou_threshold
        # answers[k]: ("box", boxes) | ("point", boxes and points) | ("absent", None) | (None, why not)
        self.answers: list[tuple[str | None, Any]] = []
        self.why_not: list[str | None] = []
        self.asks = [ctx.parsed.clarify is not None for ctx in members]  # members asking which object is meant
        for ctx in members:
            parsed = ctx.parsed
            boxes = [b.xyxy for b in parsed.boxes]
            points = [(p.x, p.y) for p in parsed.points]
            sane = all(_sane(b) for b in boxes) and all(_sane_point(p) for p in points)
            if len(boxes) + len(points) > MAX_DUPLICATE_CHECK or _truncated(parsed):
                # comparing it would cost (boxes x boxes) per member pair, and the guards reject it anyway
                answer = (None, f"more than {MAX_DUPLICATE_CHECK} boxes and points: too many to compare")
            elif points and sane:
                answer: tuple[str | None, Any] = ("point", boxes + points)
            elif boxes and sane:
                answer = ("box", boxes)
            elif not boxes and _is_absent(parsed):
                answer = ("absent", None)
            else:
                answer = (None, "no readable box, point or 'not found' answer")
            self.answers.append(answer)
            cache = ctx._cache
            prior = cache.get(VERDICTS_KEY) if cache else None
            failed = [
                name for name, v in prior.items()
                if v.gate is False and (options.gates is None or name in options.gates)
            ] if prior else []
            self.why_not.append(
                f"failed gate(s): {', '.join(failed)}" if failed
                else (answer[1] if answer[0] is None else guard_rejection(parsed, prior, options, ctx.image_size))
            )
        self.voters = [k for k, why in enumerate(self.why_not) if why is None]
        keys = {k: _answer_key(*self.answers[k], members[k].parsed) for k in self.voters}
        self.distinct = len(set(keys.values()))
        n = len(members)
        size = members[0].image_size if members else None
        diagonal = math.hypot(size[0], size[1]) if size else _NO_SIZE_DIAGONAL
        radius = options.point_distance * diagonal
        self.radius = radius if any(a[0] == "point" for a in self.answers) else None
        sim: list[list[float]] = [[0.0] * n for _ in range(n)]
        comparable = [k for k in range(n) if self.answers[k][0] is not None]
        voting = set(self.voters)
        for x, i in enumerate(comparable):
            kind_i, boxes_i = self.answers[i]
            sim[i][i] = 1.0
            for j in comparable[x + 1:]:
                if i not in voting and j not in voting:
                    continue  # two members that do not vote: nobody reads their agreement
                kind_j, boxes_j = self.answers[j]
                if kind_i == "box" and kind_j == "box":
                    v = _matched(boxes_i, boxes_j)
                elif kind_i != "absent" and kind_j != "absent":
                    v = _matched(boxes_i, boxes_j, radius, t)
                else:
                    v = 1.0 if kind_i == kind_j else 0.0
                sim[i][j] = sim[j][i] = v
        self.sim = sim
        # clusters of voters: the most supported unassigned voter seeds the next cluster
        left = list(self.voters)
        clusters: list[dict[str, Any]] = []
        while left:
            seed = max(left, key=lambda i: (sum(1 for j in left if sim[i][j] >= t), sum(sim[i][j] for j in left), -i))
            members_k = [j for j in left if sim[seed][j] >= t]
            left = [j for j in left if j not in members_k]
            kind, shapes = self.answers[seed]
            cluster: dict[str, Any] = {"absent": kind == "absent", "boxes": []}
            if kind is not None and kind != "absent":
                # one shape answered by several members: the coordinate median of those giving one shape of that kind
                arity = len(shapes[0])
                singles = [self.answers[j][1][0] for j in members_k
                           if len(self.answers[j][1]) == 1 and len(self.answers[j][1][0]) == arity]
                if len(shapes) == 1 and singles:
                    rep = [[round(_median([b[c] for b in singles]), 2) for c in range(arity)]]
                else:
                    rep = [list(b) for b in shapes]
                cluster["boxes"] = [r for r in rep if len(r) == 4]
                if kind == "point":
                    cluster["points"] = [r for r in rep if len(r) == 2]
            distinct = len({keys[j] for j in members_k})
            cluster.update(size=len(members_k), share=round(len(members_k) / len(self.voters), 4), members=members_k,
                           distinct=distinct, distinct_share=round(distinct / self.distinct, 4))
            clusters.append(cluster)
        clusters.sort(key=lambda c: (-c["size"], c["members"][0]))
        self.clusters = clusters
        self.consensus = clusters[0] if clusters else None
        strong = well_supported(clusters, n, options)
        self.ambiguous = len(strong) >= 2
        self.candidates = [c["boxes"] + c.get("points", []) for c in strong] if self.ambiguous else []
        # what every member's details show of the group: built once, shared (verdict details are read-only)
        self.public_clusters = [{key: c[key] for key in ("absent", "boxes", "points", "size", "share", "distinct", "distinct_share")
                                if key in c}
                                for c in clusters]
        self.public_consensus = self.public_clusters[0] if clusters else None

    def verdict(self, k: int, name: str, options: AgreementOptions, seen: int, expected: int | None) -> Verdict:
        base: dict[str, Any] = {"group_size": expected or seen, "group_seen": seen, "member": k}
        if expected is not None and seen < expected:
            base["group_split"] = True
        kind, _ = self.answers[k]
        if kind is None and self.asks[k]:
            # a clarifying question does not vote and gets no score, but it is told whether the group split:
            # the reward host pays asking above abstain only where the answers show the query is ambiguous
            split = {"ambiguous": self.ambiguous, **({"candidates": self.candidates} if self.ambiguous else {})}
            return Verdict.skip(name, "skipped.clarify", "the answer asks which object is meant; the group's answers "
                                + ("split between well-supported objects" if self.ambiguous else "do not split"),
                                **base, **split)
        if kind is None:
            why = self.answers[k][1] or "the answer has no box, point or 'not found' to compare with the group"
            return Verdict.skip(name, "skipped.no_answer", why, **base)
        others = [j for j in self.voters if j != k]
        if not others:
            return Verdict.skip(name, "skipped.no_voters", "no other member of the group gave a usable answer to compare with",
                                voters=len(self.voters), **base)
        t = options.iou_threshold
        sims = [self.sim[k][j] for j in others]
        score = sum(sims) / len(sims)
        agreeing = sum(1 for v in sims if v >= t)
        support = agreeing / len(others)
        consensus = self.consensus
        details = {
            **base,
            "voters": len(self.voters), "distinct_voters": self.distinct, "voting": self.why_not[k] is None,
            "agreeing": agreeing,
            "support": round(support, 4), "mean_iou": round(score, 4),
            # what a reward reads as confirming evidence: the share of the group's voters that give this answer,
            # itself included (every voter one vote, copies too)
            "evidence": round((agreeing + 1) / (len(others) + 1), 4),
            "consensus": self.public_consensus,
            "in_consensus": consensus is not None and k in consensus["members"],
            "clusters": self.public_clusters,
            "ambiguous": self.ambiguous,
        }
        if self.radius is not None:
            details["point_radius"] = round(self.radius, 2)  # pixels within which two points agree
        if self.why_not[k] is not None:
            details["not_voting"] = self.why_not[k]
        if self.ambiguous:
            details["candidates"] = self.candidates
        what = {"absent": "'not found'", "point": "point"}.get(kind, "box")
        reason = f"{agreeing} of {len(others)} other answers agree with this {what} (mean agreement {score:.2f})"
        if self.ambiguous:
            reason += f"; the answers disagree: {len(self.candidates)} well-supported candidate objects"
        if "group_split" in base:
            reason += f"; saw {seen} of {expected} members of the group"
        code = "ambiguous" if self.ambiguous else ("ok" if support >= 0.5 else "disagreement")
        scaled = options.floor + (1.0 - options.floor) * min(1.0, max(0.0, score))
        return Verdict(verifier=name, score=scaled, gate=None, code=code,
                       reason=reason, details=details, elapsed_ms=0.0)


class AgreementVerifier(Verifier):
    name: ClassVar[str] = "agreement"
    description: ClassVar[str] = "how strongly the other answers of the same group (same image and query) support this one"
    Options: ClassVar[type[VerifierOptions]] = AgreementOptions
    is_gate: ClassVar[bool] = False
    evidence: ClassVar[Evidence] = "confirming"  # independently sampled answers that agree
    reads_verdicts: ClassVar[bool] = True  # the chain hands it the gates' verdicts: failed members do not vote

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        options: AgreementOptions = self.options  # type: ignore[assignment]
        out: list[Verdict] = []
        done: dict[int, tuple[_Group, dict[int, int]]] = {}
        for ctx in contexts:
            cache = ctx._cache
            if not cache or GROUP_KEY not in cache:
                out.append(Verdict.skip(self.name, "skipped.ungrouped", "the sample has no group: nothing to compare it with"))
                continue
            members = cache[GROUP_INDEX_KEY].get(cache[GROUP_KEY]) or [ctx]
            if len(members) < 2:
                expected = expected_size(ctx)
                reason = "a group of one: nothing to compare with"
                if expected and expected > 1:
                    reason = f"only 1 of the group's {expected} members is in this batch: nothing to compare with"
                out.append(Verdict.skip(self.name, "skipped.group_of_one", reason, group_size=expected or 1, group_seen=1))
                continue
            key = id(members)
            entry = done.get(key)
            if entry is None:
                entry = done[key] = (_Group(members, options), {id(m): k for k, m in enumerate(members)})
            group, position = entry
            out.append(group.verdict(position[id(ctx)], self.name, options, len(members), expected_size(ctx)))
        return out


def agreement_of(report: Any) -> Verdict | None:
    """The agreement verdict of a report, when it applied."""
    verdict = report.verdict("agreement") if hasattr(report, "verdict") else None
    return verdict if verdict is not None and verdict.score is not None else None


@hookimpl
def register_verifiers(register: Any) -> None:
    register(AgreementVerifier)
