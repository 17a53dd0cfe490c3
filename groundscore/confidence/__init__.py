"""P(correct) for one answer: the confidence model, its features and its file format.

See :mod:`groundscore.confidence.features` for what it reads and
:mod:`groundscore.confidence.model` for how it predicts (pure Python).
``benchmarks/fit_confidence.py`` refits the shipped model;
``benchmarks/eval_confidence.py`` measures it on held-out models and questions.
"""

from groundscore.confidence.features import GROUP_FEATURES, SINGLE_FEATURES, group_features, single_features
from groundscore.confidence.model import ConfidenceFile, SubModel, default_model, load_confidence_model

__all__ = [
    "GROUP_FEATURES", "SINGLE_FEATURES", "ConfidenceFile", "SubModel", "default_model", "group_features",
    "load_confidence_model", "single_features",
]
