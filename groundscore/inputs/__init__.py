"""Stage 0 of the pipeline: what enters groundscore becomes a :class:`~groundscore.model.Sample`.

- :mod:`.samples`: JSONL lines, VLM-R1 logs and mappings -> samples, with a
  clear issue for every line that cannot be read (``coerce_samples``).
- :mod:`.hygiene`: text that nothing downstream can handle (lone surrogates,
  NULs, invalid UTF-8) is cleaned once, here.
- :mod:`.prompts`: the referring expression taken out of a trainer's prompt.
- :mod:`.records`: a report as ``verify`` writes it, so that later commands
  (and the Ray engine) read it back as a sample with its verdicts.
"""

from groundscore.inputs.samples import (
    SAMPLE_KEYS,
    SAMPLE_SHAPES,
    SOURCES,
    check_batch_type,
    coerce_sample,
    coerce_samples,
    detect_source,
    iter_jsonl,
    iter_samples,
    iter_vlm_r1,
    not_a_file,
    unknown_keys_issue,
    vlm_r1_record_to_sample,
)

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
