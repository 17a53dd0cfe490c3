"""The language layer shared by the ``label_match`` and ``consistency`` verifiers.

Importing this package does not import spaCy: the model loads on the first
:meth:`ExpressionAnalyzer.analyze` call. Pieces:

- :mod:`~groundscore.nlp.loader`: which spaCy model, which components, install hint.
- :mod:`~groundscore.nlp.analyzer`: batched, cached text -> :class:`Expression`.
- :mod:`~groundscore.nlp.expression`: head noun, attributes, negation, count.
- :mod:`~groundscore.nlp.positions`: position words (no spaCy).
- :mod:`~groundscore.nlp.lexicon`: synonyms and hypernyms of object nouns.
- :mod:`~groundscore.nlp.compare`: does one expression contradict another?
- :mod:`~groundscore.nlp.thinking`: what a ``<think>`` text settles on, denies, writes.
"""

from __future__ import annotations

from groundscore.nlp.analyzer import ExpressionAnalyzer, default_analyzer, normalize
from groundscore.nlp.expression import Expression
from groundscore.nlp.lexicon import Lexicon, default_lexicon
from groundscore.nlp.loader import INSTALL_HINT, spacy_unavailable
from groundscore.nlp.positions import Positions, find_positions

__all__ = [
    "INSTALL_HINT",
    "Expression",
    "ExpressionAnalyzer",
    "Lexicon",
    "Positions",
    "default_analyzer",
    "default_lexicon",
    "find_positions",
    "normalize",
    "spacy_unavailable",
]
