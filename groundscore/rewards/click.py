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

from pydantic import Field

from groundscore.model import Box, Parsed, Point, Report
from groundscore.plugins.hookspecs import hookimpl
from groundscore.rewards.base import PolicyOptions, RewardResult, Solution
from groundscore.rewards.confidence import ConfidenceFallback
from groundscore.rewards.context import RewardContext
from groundscore.rewards.reading import is_abstention, negative_sample, result, unscorable

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


class ClickOptions(PolicyOptions):
    """The ``click`` policy's settings."""

    wrong_shaping: float = Field(default=0.5, ge=0.0, lt=1.0, description="Share of the wrong..abstain gap a near miss can earn.")
    use_gates: bool = Field(default=True, description="A failed gate verdict makes the click wrong whatever it hits.")
    reject_below: float = Field(default=0.25, ge=0.0, lt=1.0, description="Without ground truth: confidence under this is a wrong answer.")


class ClickPolicy(ConfidenceFallback):
    """The ScreenSpot rule as a reward: hit, near miss below "not found", or wrong.

    Returns the base reward; the host adds the format term and the
    ``require_checked`` cap, as for every policy.
    """

    name = "click"
    description = "GUI grounding: the click (a point, or a box's centre) inside the target; near misses below 'not found'"
    Options = ClickOptions
    options: ClickOptions

    def score(self, report: Report, solution: Solution | None, context: RewardContext) -> RewardResult:
        if solution is None:
            return self.without_ground_truth.score(report, None, context)
        config, opts, name = context.config, self.options, self.name
        parsed = report.parsed
        if "sample.invalid" in parsed.issue_codes():
            return unscorable("the sample is invalid", config, report, name)
        if (parsed.boxes or parsed.points) and not parsed.in_original:
            return unscorable("image size unknown: the click is in the model's space, the target in pixels", config, report, name)
        if not solution:
            return negative_sample(report, context, name)
        gates = list(report.failed_gates)
        if is_abstention(parsed):
            return result(config.abstain, "abstain", "explicit 'not found' while the target is present", report, name)
        point = click_point(parsed)
        if point is None or context.malformed(gates):
            why = "no place to click" + (f" (failed gate(s): {', '.join(gates)})" if gates else "")
            return result(config.wrong, "malformed", why, report, name)
        x, y = point
        if not (math.isfinite(x) and math.isfinite(y)):
            return result(config.wrong, "malformed", "the click is not a finite point", report, name)
        hit = click_hit(x, y, solution)
        if opts.use_gates and gates:
            return result(config.wrong, "hallucination", f"failed gate(s): {', '.join(gates)}", report, name,
                          click=[x, y], hit=hit, gates=gates)
        if not hit:
            share = near_miss_share(x, y, solution)
            value = config.wrong + (config.abstain - config.wrong) * opts.wrong_shaping * share
            return result(value, "wrong", f"the click ({x:.0f}, {y:.0f}) misses the target", report, name,
                          click=[x, y], hit=False, share=share)
        return result(config.correct, "correct", f"the click ({x:.0f}, {y:.0f}) is inside the target", report, name,
                      click=[x, y], hit=True)


@hookimpl
def register_reward_policies(register: Callable[..., None]) -> None:
    register(ClickPolicy)
