"""Completion text -> :class:`~groundscore.model.Parsed`, for every registered format.

The package is split by job:

* :mod:`~groundscore.parse.base`: what a parser is (:class:`Parser`, :class:`RawParse`);
* :mod:`~groundscore.parse.detection`: which parser reads a text, and the named confidences that decide it;
* :mod:`~groundscore.parse.completion`: the steps every completion goes through (:func:`parse_completion`);
* :mod:`~groundscore.parse.resolve`: from the model's coordinate space to original pixels (:class:`ParseConfig`);
* :mod:`~groundscore.parse.coords`: the coordinate spaces themselves;
* :mod:`~groundscore.parse.r1`: ``<think>/<answer>`` tags; one module per format for the rest.

Issue codes are in :mod:`groundscore.issues`. This module only re-exports.
"""

from __future__ import annotations

from groundscore.parse.base import MAX_BOXES, Parser, RawParse
from groundscore.parse.completion import is_no_object_answer, parse_completion
from groundscore.parse.coords import SPACES, CoordSpace, get_space, qwen25_space, register_space, smart_resize
from groundscore.parse.detection import AMBIGUITY_MARGIN, detect_format, detection_issue, parser_table
from groundscore.parse.resolve import ParseConfig, resolve_space, to_original

__all__ = [
    "AMBIGUITY_MARGIN",
    "MAX_BOXES",
    "SPACES",
    "CoordSpace",
    "ParseConfig",
    "Parser",
    "RawParse",
    "detect_format",
    "detection_issue",
    "get_space",
    "is_no_object_answer",
    "parse_completion",
    "parser_table",
    "qwen25_space",
    "register_space",
    "resolve_space",
    "smart_resize",
    "to_original",
]
