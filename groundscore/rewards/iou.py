"""The ``iou`` policy: VLM-R1's accuracy reward, matched IoU in [0, 1], no gates, no shaping."""

from __future__ import annotations

from collections.abc import Callable

from groundscore.model import Report
from groundscore.plugins.hookspecs import hookimpl
from groundscore.rewards.base import Outcome, RewardPolicy, RewardResult, Solution
from groundscore.rewards.context import RewardContext
from groundscore.rewards.matching import match_boxes
from groundscore.rewards.options import IouOptions
from groundscore.rewards.reading import answer_boxes, input_problem, is_abstention, point_hits, result, unscorable


class IouPolicy(RewardPolicy):
    """VLM-R1's accuracy reward: plain matched IoU in [0, 1], no gates, no shaping."""

    name = "iou"
    description = "VLM-R1's accuracy reward: matched IoU in [0, 1], no gates, no shaping"
    Options = IouOptions
    uses_gates = False
    options: IouOptions

    def score(self, report: Report, solution: Solution | None, context: RewardContext) -> RewardResult:
        config, opts, name = context.config, self.options, self.name
        if solution is None:
            return unscorable("the iou policy needs ground truth (solution)", config, report, name)
        problem = input_problem(report, solution)
        if problem:
            return unscorable(problem, config, report, name)
        parsed = report.parsed
        if not solution:
            ok = is_abstention(parsed)
            return result(1.0 if ok else 0.0, "correct" if ok else "wrong", "negative sample", report, name)
        if parsed.points and not parsed.boxes and not opts.accept_points:
            # as VLM-R1's own IoU reward: its box pattern needs four numbers, so a point earns 0
            return result(0.0, "malformed", "a point answer to a box task (set accept_points for point tasks)", report, name, iou=0.0)
        if not parsed.boxes:
            hits = point_hits(parsed, solution) if parsed.points else 0.0
            outcome: Outcome = "abstain" if is_abstention(parsed) else ("correct" if hits >= opts.iou_threshold else "malformed")
            return result(hits, outcome, "no box in the answer" if not parsed.points else "point answer", report, name, iou=hits)
        iou, pairs = match_boxes(answer_boxes(parsed), solution, opts.matching, opts.iou_formula)
        outcome = "correct" if iou >= opts.iou_threshold else "wrong"
        return result(iou, outcome, f"IoU {iou:.3f}", report, name, iou=iou, pairs=pairs)


@hookimpl
def register_reward_policies(register: Callable[..., None]) -> None:
    register(IouPolicy)
