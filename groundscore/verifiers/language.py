"""What the verifiers that read the query with spaCy share (``label_match``, ``consistency``).

Both need spaCy and an English model, and neither applies to a sample
without a query; saying so in one place keeps their install hint and their
skip verdict the same.
"""

from __future__ import annotations

from typing import ClassVar

from groundscore.model import Verdict
from groundscore.verifiers.base import Verifier


class LanguageVerifier(Verifier):
    """A verifier that reads the query's referring expression with spaCy."""

    checks_target: ClassVar[bool] = True

    def unavailable(self) -> str | None:
        from groundscore.nlp.loader import spacy_unavailable

        return spacy_unavailable()

    def skip_no_query(self) -> Verdict:
        """The verdict for a sample whose query is empty once the prompt is stripped."""
        return Verdict.skip(self.name, "skipped.no_query", "the sample has no query: supply the referring expression as `query`")
