"""Stage 0 of the pipeline: what enters groundscore becomes a :class:`~groundscore.model.Sample`.

- :mod:`.samples`: JSONL lines, VLM-R1 logs and mappings -> samples, with a
  clear issue for every line that cannot be read (``coerce_samples``).
- :mod:`.hygiene`: text that nothing downstream can handle (lone surrogates,
  NULs, invalid UTF-8) is cleaned once, here.
- :mod:`.prompts`: the referring expression taken out of a trainer's prompt.
- :mod:`.records`: a report as ``verify`` writes it, so that later commands
  (and the Ray engine) read it back as a sample with its verdicts.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "SAMPLE_KEYS",
    "SAMPLE_SHAPES",
    "SOURCES",
    "check_batch_type",
    "coerce_sample",
    "coerce_samples",
    "detect_source",
    "iter_jsonl",
    "iter_samples",
    "iter_vlm_r1",
    "not_a_file",
    "unknown_keys_issue",
    "vlm_r1_record_to_sample",
]


def __getattr__(name: str) -> Any:
    # Lazy, so that importing groundscore.inputs.hygiene (which the data model uses)
    # does not import the sample readers, which import the data model.
    if name in __all__:
        value = getattr(importlib.import_module("groundscore.inputs.samples"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'groundscore.inputs' has no attribute {name!r}")
