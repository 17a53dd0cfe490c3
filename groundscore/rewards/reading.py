"""What the policies read off a report: the format, an abstention, points, and the shared results."""

from __future__ import annotations

import re
from typing import Any

from groundscore.issues import codes_feeding
from groundscore.model import Parsed, Report
from groundscore.rewards.base import Outcome, RewardResult, Solution
from groundscore.rewards.context import RewardContext
from groundscore.rewards.options import RewardConfig

_R1_TAG_ISSUES = codes_feeding("r1.tags")  # the one registry of issue codes says which are tag problems


def format_score(parsed: Parsed, require_think: bool = True) -> float:
    """1.0 when the completion has VLM-R1's shape: tags in order around a readable answer."""
    codes = parsed.issue_codes()
    if require_think and not parsed.has_think_tags:
        return 0.0
    if not parsed.has_answer_tags or not _R1_TAG_ISSUES.isdisjoint(codes):
        return 0.0
    if "answer.outside_tags" in codes:
        return 0.0
    return 1.0 if (parsed.boxes or parsed.points or parsed.no_object or parsed.clarify) else 0.0


_EMPTY_ANSWER = re.compile(r"```(?:json)?|[\s\[\]{}]")


def is_abstention(parsed: Parsed) -> bool:
    """An explicit "not found": ``[]``, "no such object", or an empty ``<answer></answer>``.

    A bare ``[]`` counts even when no format parser claimed the text (a
    parser only claims text that names its keys).
    """
    if parsed.boxes or parsed.points or parsed.clarify is not None:
        return False  # a clarifying question is its own outcome (groundscore.rewards.clarify), not "not found"
    if parsed.no_object:
        return True
    answer = (parsed.answer or "")[:200]
    if not answer.strip():
        return parsed.has_answer_tags
    return len(answer) < 200 and not _EMPTY_ANSWER.sub("", answer)


def unchecked(report: Report, config: RewardConfig) -> list[str]:
    """Required verifiers that gave no score (or did not run) on this answer."""
    if not config.require_checked:
        return []
    scored = {v.verifier for v in report.verdicts if v.score is not None}
    return [name for name in config.require_checked if name not in scored]


def applicable(report: Report) -> bool:
    """At least one verifier gave a score (the confidence means something)."""
    return any(v.score is not None for v in report.verdicts)


def answer_boxes(parsed: Parsed) -> list[tuple[float, float, float, float]]:
    return [b.xyxy for b in parsed.boxes]


def point_hits(parsed: Parsed, solution: Solution) -> float:
    """Point answers (``point_2d``): share of solution boxes holding a distinct point."""
    used: set[int] = set()
    hits = 0
    for box in solution:
        for k, p in enumerate(parsed.points):
            if k not in used and box[0] <= p.x <= box[2] and box[1] <= p.y <= box[3]:
                used.add(k)
                hits += 1
                break
    return hits / max(len(solution), len(parsed.points))


def result(
    reward: float | None, outcome: Outcome, reason: str, report: Report, policy: str,
    iou: float | None = None, **details: Any,
) -> RewardResult:
    """A policy's base result (the host adds the format term and the require_checked cap)."""
    return RewardResult(
        reward=reward, outcome=outcome, reason=reason, policy=policy, iou=iou,
        confidence=report.confidence, report=report, details=details,
    )


def unscorable(reason: str, config: RewardConfig, report: Report | None, policy: str) -> RewardResult:
    """The result for a sample that cannot be scored: ``config.unscorable`` (None by default)."""
    return RewardResult(
        reward=config.unscorable, outcome="unscorable", reason=reason, policy=policy,
        confidence=report.confidence if report else 0.0, report=report,
    )


def input_problem(report: Report, solution: Solution | None) -> str | None:
    """Why the sample cannot be scored at all (an invalid sample, boxes in an unknown space), or None."""
    codes = report.parsed.issue_codes()
    if "sample.invalid" in codes:
        issue = next(i for i in report.parsed.issues if i.code == "sample.invalid")
        return issue.message
    if solution and report.parsed.boxes and not report.parsed.in_original:
        return "image size unknown: the boxes are in the model's coordinate space, the solution in original pixels"
    return None


def negative_sample(report: Report, context: RewardContext, policy: str) -> RewardResult:
    """The target is absent (``solution == []``): "not found" is correct, any box is wrong."""
    config = context.config
    if is_abstention(report.parsed):
        return result(config.correct, "correct", "the target is absent and the answer says so", report, policy)
    gates = report.failed_gates
    if context.malformed(gates):
        return result(config.wrong, "malformed", f"failed gate(s): {', '.join(gates)}", report, policy)
    return result(config.wrong, "wrong", "the target is absent but the answer gives a box", report, policy)
