"""Reports (and ground truth) -> one reward per completion, shaped for grounding RL.

A reward policy is a :class:`RewardPolicy` subclass registered by name through
the ``register_reward_policies(register)`` hook, so a plugin can add its own.
Each policy has its own pydantic ``Options`` model: the ``[reward.options]``
table of a configuration is validated against it, and a typo names the bad
key. The built-in policies:

``auto`` (default)
    ``grounded`` when the sample has ground truth, else ``confidence``.
``grounded``
    Ground truth known. IoU of the answered box(es) with the solution, shaped
    so that *hallucination costs more than honesty*::

        wrong (0.0)  <  explicit "not found" (0.25)  <  correct (0.5 .. 1.0)

    A failed gate (schema, label_match, consistency, ...) or an IoU below
    ``iou_threshold`` is *wrong*; a small IoU-proportional credit below the
    threshold (``wrong_shaping``) keeps a gradient but never reaches the
    "not found" reward. A correct box earns ``correct_floor`` at the threshold
    rising to ``correct`` at IoU 1 (with the defaults the reward *is* the IoU).
    Negative samples (``solution == []``: the target is absent) reward an
    explicit "not found" as correct and any box as wrong. Without ground
    truth it scores as ``confidence`` does.
``confidence``
    No ground truth. A failed gate or a confidence below ``reject_below`` is
    wrong (below "not found"); otherwise the reward rises linearly from the
    "not found" reward at ``reject_below`` to ``correct`` at confidence 1.
``iou``
    VLM-R1's accuracy reward: the matched IoU in [0, 1], 0 for no answer, no
    shaping and no gates. With ``iou_formula="vlm_r1"`` and ``matching="first"``
    it reproduces VLM-R1's ``iou_reward`` number for number.
``format``
    VLM-R1's format reward: 1 when ``<think>...</think><answer>...</answer>``
    wraps a readable grounding answer, else 0.

The host (:class:`Rewarder`), not the policy, applies what every policy
shares: ``format_weight * format`` is added to every reward, an answer that
a ``require_checked`` verifier could not check is capped at ``abstain``, so
is an answer the chain would not accept because a gate errored on it
(``chain.gate_error``) or, without ground truth, because nothing could check
it against the query (``chain.unverified``), and an exception or a
non-finite reward becomes ``unscorable``. Every policy
returns one float per completion, or None (``unscorable``) when the sample
cannot be scored; nothing here raises.

Which failed gate makes an answer *malformed* (rather than a hallucination)
is a property of the verifier (:attr:`Verifier.malformed_gate`, True for
``schema``), not a name written here.

Multi-box answers are matched to the solution boxes one-to-one, maximising the
total IoU (an exact Hungarian assignment in pure Python), and the matched IoUs
are summed and divided by ``max(#answered, #solution)``: a missing box and an
extra box both cost.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> the module that defines it; imported on first use so that the plugin host
# can import the contract (groundscore.rewards.base) without the chain or the policies.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("Outcome", "Solution", "PolicyOptions", "RewardResult", "RewardPolicy", "as_policy"), "base"),
    **dict.fromkeys(("PointOptions", "IouOptions", "GuardOptions", "ConfidenceOptions", "GroundedOptions",
                     "DEFAULT_REJECT_ISSUES", "RewardConfig", "load_reward_config"), "options"),
    **dict.fromkeys(("RewardContext", "builtin_malformed_gates"), "context"),
    **dict.fromkeys(("parse_solution", "AmbiguousSolution"), "solution"),
    **dict.fromkeys(("ambiguity", "clarification_result", "group_ambiguous"), "clarify"),
    **dict.fromkeys(("vlm_r1_iou", "hungarian", "match_boxes"), "matching"),
    **dict.fromkeys(("format_score", "is_abstention", "unchecked", "applicable", "answer_boxes", "point_hits",
                     "result", "unscorable", "input_problem", "negative_sample"), "reading"),
    **dict.fromkeys(("finding_codes", "qualified_absence", "hack", "hedge"), "guards"),
    **dict.fromkeys(("ConfidencePolicy", "confidence_fallback"), "confidence"),
    **dict.fromkeys(("GroundedPolicy", "AutoPolicy"), "grounded"),
    "IouPolicy": "iou",
    "FormatPolicy": "format",
    **dict.fromkeys(("ClickPolicy", "ClickOptions"), "click"),
    **dict.fromkeys(("ConsensusPolicy", "ConsensusOptions"), "consensus"),
    **dict.fromkeys(("Rewarder", "apply_contract", "not_accepted", "build_policy", "get_policy", "BUILTIN_POLICIES"),
                    "rewarder"),
}

__all__ = sorted(_EXPORTS)



def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'groundscore.rewards' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"groundscore.rewards.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
