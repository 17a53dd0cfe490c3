"""Cards: the plain JSON-ready facts the page shows for one item.

Only numbers and strings go in; the page builds its DOM with
``textContent``, so no string here is ever parsed as HTML.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

THINK_EXCERPT = 600
COMPLETION_EXCERPT = 1500


def _short(text: str | None, most: int) -> str:
    if not text:
        return ""
    return text if len(text) <= most else text[: most - 1] + "\u2026"


def _consensus(report: Any) -> list[float] | None:
    """A group consensus box, when some verifier's details hold one (groups add it)."""
    for v in report.verdicts:
        box = v.details.get("consensus_box") or v.details.get("consensus")
        if isinstance(box, (list, tuple)) and len(box) == 4 and all(isinstance(x, (int, float)) for x in box):
            return [float(x) for x in box]
    return None


def card(item: Any) -> dict[str, Any]:
    """The card of one :class:`~groundscore.scoring.labelled.Item`."""
    sample, report = item.sample, item.report
    parsed = report.parsed
    codes = sorted({i.code for i in parsed.issues} | {v.code for v in report.verdicts if v.code != "ok"})
    return {
        "i": item.index,
        "id": sample.id or report.id or str(item.index),
        "query": _short(sample.query, 600),
        "completion": _short(sample.completion, COMPLETION_EXCERPT),
        "think": _short(parsed.think, THINK_EXCERPT),
        "labels": list(parsed.labels),
        "decision": report.decision,
        "confidence": round(float(report.confidence), 4),
        "correct": item.correct,
        "boxes": [[round(v, 1) for v in b.xyxy] for b in parsed.boxes[:50]],
        "points": [[round(p.x, 1), round(p.y, 1)] for p in parsed.points[:50]],
        "truth": [[float(v) for v in s] for s in (sample.solution or [])[:20]],
        "consensus": _consensus(report),
        "clarify": None if parsed.clarify is None else {
            "q": _short(parsed.clarify.question, 600), "c": [_short(c, 120) for c in parsed.clarify.candidates[:8]]},
        "size": list(sample.image_size) if sample.image_size else None,
        "codes": codes,
        "verdicts": [
            {"v": v.verifier, "s": None if v.score is None else round(float(v.score), 3), "g": v.gate,
             "c": v.code, "r": _short(v.reason, 300)}
            for v in report.verdicts
        ],
        "thumb": None,
        "error": item.input_error,
    }


def decision_counts(cards: list[dict[str, Any]]) -> dict[str, Any]:
    """Decisions overall, per verifier code and per issue code."""
    decisions = Counter(c["decision"] for c in cards)
    per_verifier: dict[str, Counter[str]] = {}
    for c in cards:
        for v in c["verdicts"]:
            key = "gate failed" if v["g"] is False else ("skipped" if v["s"] is None else "scored")
            per_verifier.setdefault(v["v"], Counter())[key] += 1
    codes: dict[str, Counter[str]] = {}
    for c in cards:
        for code in c["codes"]:
            codes.setdefault(code, Counter())[c["decision"]] += 1
    return {
        "decisions": dict(decisions),
        "verifiers": {k: dict(v) for k, v in per_verifier.items()},
        "codes": {k: dict(v) for k, v in sorted(codes.items(), key=lambda kv: -sum(kv[1].values()))},
    }
