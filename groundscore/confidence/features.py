"""What the confidence model reads of one answer: a flat vector of named numbers.

Why these and no others: a filter may use any signal that ranks answers, so
beside the verifiers' scores the model reads priors that no verifier turns
into evidence (box size and shape, how hard the query looks, how the model
hedged while thinking, how the answer had to be repaired). Rewards must never
read these priors (a policy could move them without being right); only the
confidence does.

Everything is pure Python and deterministic, computed from what the chain
already has (the sample's query, the parse, the verdicts), so the same
function serves fitting (``benchmarks/fit_confidence.py``) and prediction.
Signals that need the image size (box area relative to the image, contact
with the border) are not read: the labelled logs the model is fitted on hold
no image sizes, so no weight for them could be measured.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from groundscore.model import Parsed, Verdict, box_iou

TEXT_VERIFIERS: tuple[str, ...] = ("schema", "label_match", "consistency", "spatial")
"""Verifiers whose scores the model reads. Others (clip, plugins) were not in the labelled data: see scoring."""

SINGLE_FEATURES: tuple[str, ...] = (
    *(f"{name}.{what}" for name in TEXT_VERIFIERS for what in ("score", "applied")),
    "verifiers.logit",
    "box.none", "box.point", "box.count", "box.log_area", "box.log_aspect",
    "parse.warnings", "parse.errors", "parse.think_tags", "parse.answer_tags",
    "query.words", "query.spatial", "query.ordinal",
    "think.words", "think.hedge", "think.others",
    "label.missing", "label.query_overlap",
)
"""Features of one answer on its own, in the order the model's coefficients follow."""

GROUP_ONLY: tuple[str, ...] = (
    "group.mean_iou", "group.support", "group.share", "group.margin", "group.in_consensus",
    "group.ambiguous", "group.log_size", "group.iou_consensus", "group.log_area_ratio",
)
GROUP_FEATURES: tuple[str, ...] = (*SINGLE_FEATURES, *GROUP_ONLY)
"""Features of an answer in a group: its own, then what the ``agreement`` verdict shows of the group."""

_WORD = re.compile(r"[a-z0-9]+")
_SPATIAL = frozenset(
    "left right top bottom middle center centre upper lower front back behind near far closest nearest "
    "farthest furthest above below under beside next corner edge side leftmost rightmost topmost".split()
)
_ORDINAL = frozenset("first second third fourth fifth last 1st 2nd 3rd 4th".split())
_HEDGE = (
    "not sure", "unclear", "uncertain", "difficult", "hard to", "cannot", "can't", "not visible", "no ",
    "maybe", "might", "possibly", "perhaps", "likely", "appears", "seems", "assume",
)
_OTHERS = frozenset("another other others both two several multiple either".split())
_MAX_TEXT = 20_000  # cues are read from the first characters only: bounded work on any completion


def _words(text: str | None) -> list[str]:
    return _WORD.findall((text or "")[:_MAX_TEXT].lower())


def _logit(p: float, clip: float = 1e-4) -> float:
    p = min(1.0 - clip, max(clip, p))
    return math.log(p / (1.0 - p))


def _combined(verdicts: Sequence[Verdict]) -> float:
    """The geometric mean of the text verifiers' applicable scores (1 when none applied)."""
    logs = [math.log(max(1e-4, float(v.score))) for v in verdicts if v.verifier in TEXT_VERIFIERS and v.score is not None]
    return math.exp(sum(logs) / len(logs)) if logs else 1.0


def _first_box(parsed: Parsed) -> tuple[float, float, float, float] | None:
    if parsed.boxes:
        b = parsed.boxes[0]
        return (b.x1, b.y1, b.x2, b.y2)
    return None


def _area(box: Sequence[float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def single_features(query: str, parsed: Parsed, verdicts: Sequence[Verdict]) -> dict[str, float]:
    """The :data:`SINGLE_FEATURES` of one answer (the agreement verdict is not read)."""
    out: dict[str, float] = {}
    scores = {v.verifier: v.score for v in verdicts}
    for name in TEXT_VERIFIERS:
        s = scores.get(name)
        out[f"{name}.score"] = 0.0 if s is None else float(s)
        out[f"{name}.applied"] = 0.0 if s is None else 1.0
    out["verifiers.logit"] = _logit(_combined(verdicts))
    box = _first_box(parsed)
    out["box.none"] = float(box is None and not parsed.points)
    out["box.point"] = float(box is None and bool(parsed.points))
    out["box.count"] = math.log(1 + len(parsed.boxes) + len(parsed.points))
    if box is not None:
        w, h = max(0.0, box[2] - box[0]), max(0.0, box[3] - box[1])
        out["box.log_area"] = math.log(1.0 + w * h)
        out["box.log_aspect"] = abs(math.log((w + 1.0) / (h + 1.0)))
    else:
        out["box.log_area"] = 0.0
        out["box.log_aspect"] = 0.0
    issues = parsed.issues
    out["parse.warnings"] = math.log1p(sum(1 for i in issues if i.severity == "warning"))
    out["parse.errors"] = math.log1p(sum(1 for i in issues if i.severity == "error"))
    out["parse.think_tags"] = float(parsed.has_think_tags)
    out["parse.answer_tags"] = float(parsed.has_answer_tags)
    q = _words(query)
    out["query.words"] = math.log1p(len(q))
    out["query.spatial"] = float(sum(1 for w in q if w in _SPATIAL))
    out["query.ordinal"] = float(sum(1 for w in q if w in _ORDINAL))
    think_text = (parsed.think or "")[:_MAX_TEXT].lower()
    t = _WORD.findall(think_text)
    out["think.words"] = math.log1p(len(t))
    out["think.hedge"] = math.log1p(sum(think_text.count(cue) for cue in _HEDGE))
    out["think.others"] = math.log1p(sum(1 for w in t if w in _OTHERS))
    labels = parsed.labels
    out["label.missing"] = float(not labels)
    if labels and q:
        a, b = set(_words(labels[0])), set(q)
        out["label.query_overlap"] = len(a & b) / len(a | b) if a | b else 0.0
    else:
        out["label.query_overlap"] = 0.0
    return out


def group_features(query: str, parsed: Parsed, verdicts: Sequence[Verdict]) -> dict[str, float] | None:
    """The :data:`GROUP_FEATURES`, or None when no ``agreement`` verdict applied (no group to read)."""
    verdict = next((v for v in verdicts if v.verifier == "agreement" and v.score is not None), None)
    if verdict is None:
        return None
    out = single_features(query, parsed, verdicts)
    d: Mapping[str, Any] = verdict.details or {}
    clusters = d.get("clusters") or []
    first = _num(clusters[0].get("share")) if clusters and isinstance(clusters[0], Mapping) else 0.0
    second = _num(clusters[1].get("share")) if len(clusters) > 1 and isinstance(clusters[1], Mapping) else 0.0
    out["group.mean_iou"] = _num(d.get("mean_iou"))
    out["group.support"] = _num(d.get("support"))
    out["group.share"] = first
    out["group.margin"] = first - second
    out["group.in_consensus"] = float(bool(d.get("in_consensus")))
    out["group.ambiguous"] = float(bool(d.get("ambiguous")))
    out["group.log_size"] = math.log(max(1.0, _num(d.get("group_seen") or d.get("group_size") or 1)))
    consensus = d.get("consensus") if isinstance(d.get("consensus"), Mapping) else None
    boxes = (consensus or {}).get("boxes") or []
    box = _first_box(parsed)
    if box is not None and boxes and isinstance(boxes[0], Sequence) and len(boxes[0]) == 4:
        ref = tuple(_num(c) for c in boxes[0])
        out["group.iou_consensus"] = box_iou(box, ref)
        out["group.log_area_ratio"] = math.log((1.0 + _area(box)) / (1.0 + _area(ref)))
    else:
        out["group.iou_consensus"] = 0.0
        out["group.log_area_ratio"] = 0.0
    return out


def _num(value: Any) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return 0.0
    return f if math.isfinite(f) else 0.0
