"""Guards against reward hacking, shared by the policies that read verdicts (docs/reward-hacking.md).

Each guard is read from what the parser and the verifiers found (issue codes,
findings, box geometry), never from the wording, so that a new phrasing of an
exploit meets the same check.
"""

from __future__ import annotations

from collections.abc import Mapping

from groundscore.model import Report, box_iou
from groundscore.rewards.options import GuardOptions


def finding_codes(report: Report) -> list[str]:
    """The codes of the consistency verifier's findings on this answer."""
    out: list[str] = []
    for v in report.verdicts:
        if v.verifier == "consistency" and isinstance(v.details, Mapping):
            out.extend(str(f.get("code")) for f in v.details.get("findings", ()) if isinstance(f, Mapping))
    return out


def qualified_absence(report: Report, opts: GuardOptions) -> str | None:
    """The sentence affirming the object where the thinking's absence only denies a description, else None.

    Only with ``qualified_absence = "cap"``; see :mod:`groundscore.nlp.absence`.
    """
    if opts.qualified_absence != "cap":
        return None
    from groundscore.nlp.absence import qualified

    spans = []
    for v in report.verdicts:
        if v.verifier == "consistency" and isinstance(v.details, Mapping):
            spans += [str(f.get("span") or "") for f in v.details.get("findings", ())
                      if isinstance(f, Mapping) and f.get("code") == "absent_but_boxed"]
    if not spans:
        return None
    affirmed = [qualified(report.parsed.think, span) for span in spans]
    return affirmed[0] if all(affirmed) else None


def hack(report: Report, opts: GuardOptions, grounded: bool, image_size: tuple[int, int] | None = None) -> tuple[str, str] | None:
    """``(code, reason)`` when the answer takes a route to a reward that skips the check, else None.

    Read from what the parser and the verifiers found (issue codes, findings,
    box geometry), never from the wording, so that a new phrasing of an
    exploit meets the same check. ``hack.*`` codes: ``tags`` (the answer was
    not read from one well-placed <answer>), ``points`` (a point answer to a
    box task), ``duplicates`` (one object boxed twice), ``finding`` (the
    thinking contradicts the box), ``coverage`` (without ground truth, a box
    over most of the image), ``degenerate`` (without ground truth, a sliver).
    """
    parsed = report.parsed
    if not (parsed.boxes or parsed.points):
        return None
    codes = parsed.issue_codes()
    bad = [c for c in codes if any(c == r or c.startswith(r + "_") for r in opts.reject_issues)]
    if parsed.has_answer_tags and "answer.outside_tags" in codes and "answer.outside_tags" in opts.reject_outside:
        # an <answer> was written but holds no box, and the box sits outside it (after </answer>, before <think>)
        bad.append("answer.outside_tags")
    if bad:
        return "hack.tags", f"the answer was not read from one well-placed <answer> ({', '.join(bad)})"
    if parsed.points and not parsed.boxes and not opts.accept_points:
        return "hack.points", "a point answer to a box task (set accept_points for point tasks)"
    boxes = [b.xyxy for b in parsed.boxes]
    if 1 < len(boxes) <= 100:
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                if box_iou(boxes[i], boxes[j]) >= opts.duplicate_iou:
                    return "hack.duplicates", f"boxes {i} and {j} overlap (IoU >= {opts.duplicate_iou}): one object boxed twice"
    rejected = {*opts.reject_findings, *(() if grounded else opts.reject_findings_without_truth)}
    found = [f for f in finding_codes(report) if f in rejected]
    if grounded and "absent_but_boxed" in found and qualified_absence(report, opts):
        found = [f for f in found if f != "absent_but_boxed"]  # a score (capped by the policy), not a gate
    if found:
        return "hack.finding", f"the thinking contradicts the answer ({', '.join(found)})"
    if not grounded and image_size:
        w, h = image_size
        if w and h:
            for x1, y1, x2, y2 in boxes:
                cw = max(0.0, min(x2, w) - max(x1, 0.0))
                ch = max(0.0, min(y2, h) - max(y1, 0.0))
                if cw * ch >= opts.max_coverage * w * h:
                    return "hack.coverage", f"a box covers {cw * ch / (w * h):.0%} of the image: nothing checkable is localised"
                if min(x2 - x1, (y2 - y1) * w / h) < opts.min_side * w:
                    return "hack.degenerate", "a sliver or point-sized box: nothing checkable is localised"
    return None


def hedge(report: Report) -> str | None:
    """The ``hedge.*`` issue when the answer states several candidates for one target, else None.

    Duplicate keys, several JSON lists, several ``<answer>`` blocks, calls at
    different places, a box and a clarifying question: the parser keeps every candidate (``Parsed.candidates``)
    and flags the shape. One rule for all of them, applied by the host to
    every policy that reads verdicts: a hedge is paid ``wrong``, which is no
    more than its worst candidate would earn alone, so hedging never pays.
    """
    return next((c for c in report.parsed.issue_codes() if c.startswith("hedge.") or c == "clarify.hedge"), None)
