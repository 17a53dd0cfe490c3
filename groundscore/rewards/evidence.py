"""Evidence, not priors, is paid: which verdicts confirm an answer and which can only refute it.

A verifier declares its role (:attr:`~groundscore.verifiers.base.Verifier.evidence`).
*Refuting* checks (schema, label_match, consistency, spatial, the hack and
absence guards) can show that an answer is wrong; passing them is no
evidence that the box is right, since a policy can copy the query into its
label and write thinking that agrees with it. *Confirming* evidence is what
can show the box is on its target: ground truth (its IoU), the pixels
(``clip``, the OCR plugin), and agreement among independently sampled answers
(``agreement``). The host (:func:`groundscore.rewards.rewarder.apply_contract`)
enforces the rule on every policy that reads verdicts:

- an answer with no confirming evidence is paid at most ``abstain``
  (outcome ``unverified``): GRPO then learns nothing from it, rather than
  the wrong thing;
- an answer refuted by a failed gate is paid below ``abstain``;
- above ``abstain`` only as far as confirming evidence supports.

No reward reads :attr:`Report.confidence <groundscore.model.Report.confidence>`:
the confidence may use priors (box size, query length) to rank answers for a
filter, and a policy could move a prior without being right.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from groundscore.model import Report, Verdict
from groundscore.scoring.scorer import combine

NO_CONFIRMING_EVIDENCE = (
    "no confirming evidence: no ground truth, no pixel check (clip, ocr) and no agreement among sampled answers "
    "checked the box; the refuting checks passed, which says nothing about whether the box is on its target"
)


def confirming_verdicts(report: Report, confirming: frozenset[str]) -> list[Verdict]:
    """The verdicts of confirming verifiers that scored this answer (a None score is no evidence)."""
    return [v for v in report.verdicts if v.verifier in confirming and v.score is not None]


def refuting_verdicts(report: Report, confirming: frozenset[str]) -> list[Verdict]:
    """The verdicts of every other verifier: they can lower an answer, never raise it above ``abstain``."""
    return [v for v in report.verdicts if v.verifier not in confirming]


def evidence_value(verdict: Verdict) -> float:
    """How much a confirming verdict supports the answer, in [0, 1].

    A confirming verifier may say it in ``details["evidence"]`` when its
    score means something else: ``agreement`` gives the share of the other
    voters of the group that agree with the answer (its score is a mean IoU,
    for the filter). Otherwise the score itself.
    """
    value = verdict.details.get("evidence") if isinstance(verdict.details, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0:
        return float(value)
    return float(verdict.score or 0.0)


def confirmation(verdicts: Sequence[Verdict]) -> float:
    """The confirming verdicts' evidence, combined as the chain combines scores (a geometric mean)."""
    values = [evidence_value(v) for v in verdicts]
    if not values or min(values) <= 0.0:
        return 0.0
    return math.exp(sum(math.log(v) for v in values) / len(values))


def support(verdicts: Sequence[Verdict]) -> float | None:
    """The verdicts' geometric mean (a failed gate or a score of 0 gives 0); None when none scored."""
    value, applied = combine(verdicts)
    return value if applied else None


def has_confirming_evidence(report: Report, confirming: frozenset[str], grounded: bool) -> bool:
    """Ground truth checks the answer, or a confirming verifier scored it."""
    return grounded or bool(confirming_verdicts(report, confirming))
