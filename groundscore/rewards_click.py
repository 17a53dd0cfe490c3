"""The ``click`` reward policy: the ScreenSpot rule, a click is right when it lands in the target.

GUI grounding benchmarks (ScreenSpot, ScreenSpot-v2/Pro, the VLM-R1 and
GUI-R1 GUI runs) score an answer by one rule: the predicted point, or the
centre of a predicted box, lies inside the ground-truth element's box. IoU
is the wrong measure there: a button is hit by any point on it, and a
model that answers with a point has no area to overlap.

The policy keeps the honesty order of the other policies::

    wrong (0.0)  <=  near miss  <  explicit "not found" (0.25)  <  hit (1.0)

A miss earns a distance-shaped share of the wrong..abstain gap,
``wrong_shaping / (1 + d / diag)``, where ``d`` is the distance from the
click to the nearest target box and ``diag`` that box's diagonal: a click
just beside the button earns a little more than one across the screen,
which keeps a gradient, but never as much as honestly saying "not found"
(``wrong_shaping < 1`` and ``d > 0`` make the share strictly smaller). A
failed gate is a hallucination (``wrong``), an answer without a place is
malformed, and a negative sample (``solution == []``) rewards only the
abstention. Without ground truth it defers to the ``confidence`` policy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from groundscore.model import Box, Parsed, Point, Report
from groundscore.plugins.hookspecs import hookimpl

XYXY = Sequence[float]

# actions whose place is not where the target is
_NOT_A_CLICK = frozenset({"drag_end", "scroll"})


def point_in_box(x: float, y: float, box: XYXY) -> bool:
    """The ScreenSpot rule: inside or on the edge of ``box`` (x1, y1, x2, y2)."""
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def distance_to_box(x: float, y: float, box: XYXY) -> float:
    """Euclidean distance from the point to the box (0 inside)."""
    dx = max(box[0] - x, 0.0, x - box[2])
    dy = max(box[1] - y, 0.0, y - box[3])
    return math.hypot(dx, dy)


def click_point(parsed: Parsed) -> tuple[float, float] | None:
    """Where the answer clicks: its first point (not a drag's end), else the centre of its first box."""
    for p in parsed.points:
        if p.action not in _NOT_A_CLICK:
            return (p.x, p.y)
    if parsed.boxes:
        b: Box = parsed.boxes[0]
        return ((b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2)
    if parsed.points:
        p0: Point = parsed.points[0]
        return (p0.x, p0.y)
    return None


def click_hit(x: float, y: float, solution: Sequence[XYXY]) -> bool:
    """True when the click lands in any ground-truth box (several boxes: any of them is the target)."""
    return any(len(gt) == 4 and point_in_box(x, y, gt) for gt in solution)


def near_miss_share(x: float, y: float, solution: Sequence[XYXY]) -> float:
    """In (0, 1): 1 / (1 + d / diag) for the nearest target box; 0 with no usable box."""
    best = 0.0
    for gt in solution:
        if len(gt) != 4:
            continue
        diag = math.hypot(gt[2] - gt[0], gt[3] - gt[1])
        d = distance_to_box(x, y, gt)
        if diag > 0 and math.isfinite(d):
            best = max(best, 1.0 / (1.0 + d / diag))
    return best


def click_policy(report: Report, solution: list[list[float]] | None, config: Any) -> Any:
    """The ScreenSpot rule as a reward: hit, near miss below "not found", or wrong."""
    from groundscore import reward as rw  # the reward module imports the plugin host: import late

    name = "click"
    if solution is None:
        return rw.get_policy("confidence")(report, None, config)
    parsed = report.parsed

    def result(value: float | None, outcome: str, reason: str, **details: Any) -> Any:
        fmt = rw.format_score(parsed, config.format_require_think)
        if value is not None and config.format_weight:
            value = value + config.format_weight * fmt
        return rw.RewardResult(
            reward=value, outcome=outcome, reason=reason, policy=name, confidence=report.confidence,  # type: ignore[arg-type]
            format=fmt, report=report, details=details, grounded=True,
        )

    if "sample.invalid" in parsed.issue_codes():
        return result(config.unscorable, "unscorable", "the sample is invalid")
    if (parsed.boxes or parsed.points) and not parsed.in_original:
        return result(config.unscorable, "unscorable", "image size unknown: the click is in the model's space, the target in pixels")
    gates = list(report.failed_gates)
    abstained = rw.is_abstention(parsed)
    if not solution:
        if abstained:
            return result(config.correct, "correct", "the target is absent and the answer says so")
        return result(config.wrong, "wrong", "the target is absent but the answer clicks")
    if abstained:
        return result(config.abstain, "abstain", "explicit 'not found' while the target is present")
    point = click_point(parsed)
    if point is None or "schema" in gates:
        return result(config.wrong, "malformed", "no place to click" + (f" (failed gate(s): {', '.join(gates)})" if gates else ""))
    x, y = point
    if not (math.isfinite(x) and math.isfinite(y)):
        return result(config.wrong, "malformed", "the click is not a finite point")
    hit = click_hit(x, y, solution)
    if config.use_gates and gates:
        return result(config.wrong, "hallucination", f"failed gate(s): {', '.join(gates)}", click=[x, y], hit=hit)
    if not hit:
        share = near_miss_share(x, y, solution)
        value = config.wrong + (config.abstain - config.wrong) * config.wrong_shaping * share
        return result(value, "wrong", f"the click ({x:.0f}, {y:.0f}) misses the target", click=[x, y], hit=False, share=share)
    required = getattr(config, "require_checked", None) or []
    scored = {v.verifier for v in report.verdicts if v.score is not None}
    unchecked = [n for n in required if n not in scored]
    if unchecked:
        return result(min(config.correct, config.abstain), "unverified",
                      f"the click hits the target; capped: {', '.join(unchecked)} could not check this answer",
                      click=[x, y], hit=True, unchecked=unchecked)
    return result(config.correct, "correct", f"the click ({x:.0f}, {y:.0f}) is inside the target", click=[x, y], hit=True)


@hookimpl
def register_reward_policies(register: Callable[..., None]) -> None:
    register("click", click_policy)
