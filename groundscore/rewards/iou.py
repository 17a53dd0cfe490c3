"""The ``iou`` policy: VLM-R1's accuracy reward, matched IoU, no gates, on the honesty scale.

VLM-R1 pays the IoU in [0, 1] for any box and 0 for "not found". Under
optimisation that teaches a model to prefer a wrong box that half-covers
the target (IoU 0.3 beats 0) over saying it found nothing, and any box that
grows the overlap (a larger box, several boxes) gains mass where no right
answer is available (docs/what-optimising-does.md). So by default a box
under ``iou_threshold`` keeps VLM-R1's gradient (more overlap, more reward)
but is paid below ``abstain``, and "not found" is paid ``abstain``; a box at
or above the threshold is paid its IoU, as VLM-R1 pays it. ``plain = true``
is VLM-R1's reward exactly (the ``vlm_r1`` integration uses it), the
documented exception to the honesty order, as ``format`` is.
"""

from __future__ import annotations

from collections.abc import Callable

from groundscore.model import Report
from groundscore.plugins.hookspecs import hookimpl
from groundscore.rewards.base import Outcome, RewardPolicy, RewardResult, Solution
from groundscore.rewards.context import RewardContext
from groundscore.rewards.matching import match_boxes
from groundscore.rewards.options import IouPolicyOptions, RewardConfig
from groundscore.rewards.reading import answer_boxes, input_problem, is_abstention, point_hits, result, unscorable
from groundscore.rewards.truth import near_miss


class IouPolicy(RewardPolicy):
    """VLM-R1's accuracy reward: matched IoU, no gates; under the threshold below "not found" unless ``plain``."""

    name = "iou"
    description = "VLM-R1's accuracy reward: matched IoU, no gates; a box under the threshold is paid below 'not found' (plain: exactly VLM-R1)"
    Options = IouPolicyOptions
    uses_gates = False
    options: IouPolicyOptions

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
            if is_abstention(parsed):
                value = 0.0 if opts.plain else config.abstain
                return result(value, "abstain", "no box in the answer", report, name, iou=0.0)
            outcome: Outcome = "correct" if hits >= opts.iou_threshold else "malformed"
            return result(self._pay(hits, config), outcome, "no box in the answer" if not parsed.points else "point answer",
                          report, name, iou=hits)
        iou, pairs = match_boxes(answer_boxes(parsed), solution, opts.matching, opts.iou_formula)
        outcome = "correct" if iou >= opts.iou_threshold else "wrong"
        return result(self._pay(iou, config), outcome, f"IoU {iou:.3f}", report, name, iou=iou, pairs=pairs)

    def _pay(self, iou: float, config: RewardConfig) -> float:
        """VLM-R1's IoU at or above the threshold (at least ``correct_floor``; always the IoU, ``plain``); under it below ``abstain``."""
        t = self.options.iou_threshold
        if self.options.plain:
            return iou
        if iou >= t:
            return max(iou, config.correct_floor)  # a threshold set under correct_floor must not pay a match below it
        return near_miss(iou, t, self.options.wrong_shaping, config)


@hookimpl
def register_reward_policies(register: Callable[..., None]) -> None:
    register(IouPolicy)
