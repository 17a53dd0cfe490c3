"""Groups: several answers to the same question, compared with each other.

- :mod:`.grouping`: which samples form a group (given ids, consecutive runs,
  prompts, merged logs) and how members see each other's verdicts.
- :mod:`.gather`: members that arrive one call at a time (OpenRLHF, verl)
  meet here and are scored together.

The ``agreement`` verifier (:mod:`groundscore.verifiers.agreement`) and the
``consensus`` reward (:mod:`groundscore.rewards.consensus`) read groups.
"""

from groundscore.groups.grouping import (
    GROUP_INDEX_KEY,
    GROUP_KEY,
    VERDICTS_KEY,
    assign_groups,
    attach_groups,
    derive_group,
    expected_size,
    group_of,
    groups_from_consecutive,
    groups_from_ids,
    groups_from_prompts,
    groups_from_runs,
    image_identity,
    members_of,
    merge_logs,
    prior_verdicts,
    question_key,
    record_verdicts,
)

__all__ = [
    "GROUP_INDEX_KEY",
    "GROUP_KEY",
    "VERDICTS_KEY",
    "assign_groups",
    "attach_groups",
    "derive_group",
    "expected_size",
    "group_of",
    "groups_from_consecutive",
    "groups_from_ids",
    "groups_from_prompts",
    "groups_from_runs",
    "image_identity",
    "members_of",
    "merge_logs",
    "prior_verdicts",
    "question_key",
    "record_verdicts",
]
