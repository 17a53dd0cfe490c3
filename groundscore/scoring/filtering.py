"""The inference-time filter: keep an answer, replace it by an abstention, or drop it.

At inference there is no ground truth; the (ideally calibrated) confidence
decides. For every sample the filter returns exactly one
:class:`FilterResult`, in input order, whatever the mode, with the reason
for its action; a sample is never lost without a record of why.

Modes (what happens to an answer that is not kept):

- ``abstain`` (default): the answer is replaced by an explicit abstention:
  an empty answer, no boxes, and the reason. The output has one line per
  input line.
- ``drop``: the answer is left out of the kept answers; its result (action
  ``drop``, with the reason) is still returned, and the CLI writes it to a
  decisions file.
- ``annotate``: every answer is kept as it is, with the decision attached,
  for a caller that wants to decide later.

Which answers are kept: with ``threshold=None``, those whose chain decision
is ``accept`` (``confidence >= thresholds.accept``); with a threshold, those
whose confidence is at least that threshold and where no gate failed. An
input line that could not be read is never kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from groundscore.issues import NOT_ACCEPTED
from groundscore.model import Box, Clarification, Decision, Report, Sample

FilterMode = Literal["abstain", "drop", "annotate"]
Action = Literal["keep", "abstain", "drop"]
MODES: tuple[str, ...] = ("abstain", "drop", "annotate")


class FilterResult(BaseModel):
    """What the filter did with one sample, and why."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: int = Field(description="Position of the sample in the input.")
    id: str | None = None
    action: Action = Field(description="keep: the answer passes; abstain: replaced by an abstention; drop: left out.")
    kept: bool = Field(description="Whether the model's answer passed the filter (in annotate mode it is passed on either way).")
    decision: Decision = Field(description="The chain's decision (accept / reject / abstain).")
    confidence: float
    threshold: float | None = Field(description="The confidence threshold used (None: the chain's accept threshold).")
    reason: str = Field(description="One sentence: why the answer was kept or not.")
    completion: str = Field(description="The answer to pass on: the model's text when kept, '' for an abstention.")
    boxes: list[Box] = Field(default_factory=list, description="The answer's boxes (original pixels) when kept.")
    clarification: Clarification | None = Field(
        default=None, description="The question the model asks instead of answering (which object is meant), with the "
        "candidates it names; the application can put it to the user.")
    report: Report | None = Field(default=None, exclude=True, description="The full report (not serialised).")

    @property
    def abstained(self) -> bool:
        return self.action == "abstain"


def _weakest(report: Report) -> str | None:
    """The reason of the verdict that most lowered the confidence."""
    failed = [v for v in report.verdicts if v.gate is False]
    if failed:
        v = failed[0]
        return f"{v.verifier} gate failed: {v.reason or v.code}"
    scored = [v for v in report.verdicts if v.score is not None and v.score < 1.0]
    if not scored:
        return None
    v = min(scored, key=lambda v: v.score if v.score is not None else 1.0)
    return f"lowest verdict {v.verifier} {v.score:.2f}: {v.reason or v.code}"


def disagreement(report: Report) -> str | None:
    """"the answers disagree: ..." when the group's answers split between well-supported objects, else None."""
    verdict = report.verdict("agreement")
    if verdict is None or not verdict.details.get("ambiguous"):
        return None
    candidates = verdict.details.get("candidates") or []
    boxes = "; ".join(str([round(v) for v in c[0]]) if c else "?" for c in candidates)
    return f"the answers disagree: {len(candidates)} well-supported candidate objects ({boxes}); ask which one is meant"


def passes(report: Report, threshold: float | None) -> bool:
    """Whether an answer is kept (before the mode decides what happens to the others)."""
    if any(i.code in ("input.unreadable", "sample.invalid") or i.code in NOT_ACCEPTED for i in report.parsed.issues):
        return False  # unreadable, or the chain would not accept it (a gate errored, nothing checked it)
    if disagreement(report) is not None:  # a grouped answer whose group splits between objects: abstain
        return False
    if threshold is None:
        return report.decision == "accept"
    if any(v.gate is False for v in report.verdicts):
        return False
    if not any(v.score is not None for v in report.verdicts):
        return False
    return report.confidence >= threshold


def asked(report: Report) -> str | None:
    """"the model asks which object is meant: ..." for a clarifying answer, else None."""
    clarify = report.parsed.clarify
    if clarify is None:
        return None
    named = f" (candidates: {'; '.join(clarify.candidates)})" if clarify.candidates else ""
    return f"the model asks which object is meant{named}: {clarify.question[:200]!r}"


def explain(report: Report, threshold: float | None, kept: bool) -> str:
    """One sentence for the result: the rule that decided and the weakest evidence."""
    question = asked(report)
    if question is not None:  # not a box to keep or refuse: a question for the user
        return f"{question}; {_explain(report, threshold, kept)}"
    return _explain(report, threshold, kept)


def _explain(report: Report, threshold: float | None, kept: bool) -> str:
    unreadable = next((i for i in report.parsed.issues if i.code in ("input.unreadable", "sample.invalid")), None)
    if unreadable is not None:
        return f"input could not be read: {unreadable.message}"
    if not any(v.score is not None for v in report.verdicts) and not any(v.gate is False for v in report.verdicts):
        return "no verifier applied, so nothing vouches for the answer"
    rule = (
        f"decision {report.decision} (confidence {report.confidence:.3f})"
        if threshold is None
        else f"confidence {report.confidence:.3f} {'>=' if report.confidence >= threshold else '<'} threshold {threshold:g}"
    )
    if kept:
        return rule
    disagree = disagreement(report)
    if disagree is not None:
        return f"{disagree} ({rule})"
    refused = next((i for i in report.parsed.issues if i.code in NOT_ACCEPTED), None)
    if refused is not None:  # the chain would not accept it whatever the scores: say what to fix
        return f"{rule}; {refused.message}"
    weakest = _weakest(report)
    return f"{rule}; {weakest}" if weakest else f"{rule}; no verifier found a fault"


def filter_reports(
    reports: Sequence[Report],
    samples: Sequence[Sample | None] | None = None,
    *,
    threshold: float | None = None,
    mode: FilterMode = "abstain",
    start: int = 0,
) -> list[FilterResult]:
    """One :class:`FilterResult` per report, in order. Never raises on a report.

    ``samples`` (parallel to ``reports``) supply the completion text that a
    kept answer passes on; ``start`` numbers results when filtering a stream
    in batches.
    """
    if mode not in MODES:
        raise ValueError(f"unknown filter mode {mode!r}; choose from {', '.join(MODES)}")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
    results = []
    for i, report in enumerate(reports):
        sample = samples[i] if samples is not None and i < len(samples) else None
        ok = passes(report, threshold)
        if ok or mode == "annotate":
            action: Action = "keep"
        else:
            action = "drop" if mode == "drop" else "abstain"
        show = action == "keep"
        results.append(FilterResult(
            index=start + i,
            id=report.id if report.id is not None else (sample.id if sample is not None else None),
            action=action, kept=ok, decision=report.decision, confidence=report.confidence,
            threshold=threshold, reason=explain(report, threshold, ok),
            completion=_answer_text(report, sample) if show else "",
            boxes=list(report.parsed.boxes) if show else [],
            clarification=report.parsed.clarify,
            report=report,
        ))
    return results


def _answer_text(report: Report, sample: Sample | None) -> str:
    """The model's text; for a report read back without its completion, the parsed answer."""
    if sample is not None and sample.completion:
        return sample.completion
    return report.parsed.answer or ""


def result_record(result: FilterResult, sample: Sample | None = None) -> dict[str, Any]:
    """A result as written to JSONL: the sample's fields, the answer to pass on, the filter's verdict.

    The model's original completion is replaced by ``completion`` (empty
    for an abstention); ``filter`` holds the action, decision, confidence
    and reason.
    """
    record: dict[str, Any] = {}
    if sample is not None:
        image = sample.image if isinstance(sample.image, str) else None
        record.update({
            "id": sample.id, "query": sample.query, "image": image,
            "image_size": list(sample.image_size) if sample.image_size else None,
            "solution": sample.solution, "meta": sample.meta,
        })
    record["id"] = result.id
    record["completion"] = result.completion
    record["boxes"] = [b.model_dump(mode="json") for b in result.boxes]
    record["filter"] = {
        "index": result.index, "action": result.action, "kept": result.kept, "decision": result.decision,
        "confidence": round(result.confidence, 6), "threshold": result.threshold, "reason": result.reason,
    }
    if result.clarification is not None:
        record["filter"]["clarify"] = result.clarification.model_dump(mode="json")
    return record
