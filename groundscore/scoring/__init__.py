"""Verdicts -> confidence -> decision, and what is built on the confidence.

- :mod:`.scorer`: the verdicts of one answer become its confidence and its
  decision (accept / abstain / reject).
- :mod:`.calibration`: a calibrator fitted on labelled answers maps scores
  to probabilities.
- :mod:`.filtering`: the inference-time filter (keep, abstain or drop).
- :mod:`.labelled` and :mod:`.evaluation`: labelled runs, and how well the
  confidence tells right from wrong on them (``groundscore eval``).
"""

from groundscore.scoring.scorer import Calibrator, Scorer, combine, decide, missing_evidence

__all__ = ["Calibrator", "Scorer", "combine", "decide", "missing_evidence"]
