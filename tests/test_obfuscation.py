"""Refutations hold under obfuscation, through every integration; absence is read for any query length.

The plain wrong label ("the tree" on the dog's box) is refuted. Each
disguise of it in ``tests/hacks/catalogue.py`` (``OBFUSCATIONS`` and the
padded, JSON-escaped forms) keeps what a reader sees; none may be paid more
than the plain label, with ground truth and without, whichever public entry
point scores it: the :class:`~groundscore.rewards.Rewarder` API, TRL's and
VLM-R1's reward functions, verl's ``compute_score_batch`` and OpenRLHF's
in-process reward. Each integration scores the whole set in one batch (one
sample never changes another's verdict, which ``test_reward_hacking.py``
checks).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hacks.catalogue import (
    ABSENCE_PARAPHRASES,
    ABSENCE_QUERIES,
    DOG,
    QUERY,
    SIZE,
    THINK,
    absence_completion,
    box,
    obfuscated_completions,
    r1,
)

from groundscore.rewards import RewardConfig, Rewarder

ABSTAIN = RewardConfig().abstain
FLOOR = RewardConfig().correct_floor
REC = "Please provide the bounding box coordinate of the region this sentence describes: "
FAMILIES = obfuscated_completions()
NAMES = [n for n in FAMILIES if n != "plain"]


def _api(samples: list[dict[str, Any]]) -> list[float | None]:
    return Rewarder().rewards(samples)


def _trl(samples: list[dict[str, Any]]) -> list[float | None]:
    from groundscore.integrations.trl import grounding_reward

    fn = grounding_reward(query_column="query")
    # one prompt per sample: TRL groups the completions of one prompt, and these are not samples of one question
    return list(fn(prompts=[f"{REC}{s['query']}. (run {i})" for i, s in enumerate(samples)],
                   completions=[s["completion"] for s in samples],
                   query=[s["query"] for s in samples], solution=[s["solution"] for s in samples],
                   image_size=[s["image_size"] for s in samples]))


def _vlm_r1(samples: list[dict[str, Any]]) -> list[float | None]:
    from groundscore.integrations import vlm_r1

    return list(vlm_r1.grounding_reward([[{"role": "assistant", "content": s["completion"]}] for s in samples],
                                        [s["solution"] for s in samples], problem=[s["query"] for s in samples],
                                        image_size=[s["image_size"] for s in samples]))


def _verl(samples: list[dict[str, Any]]) -> list[float | None]:
    from groundscore.integrations import verl

    out = verl.compute_score_batch(["rec"] * len(samples), [s["completion"] for s in samples], [s["solution"] for s in samples],
                                   [{"question": s["query"], "image_size": s["image_size"]} for s in samples])
    return [o["score"] for o in out]


def _openrlhf(samples: list[dict[str, Any]]) -> list[float | None]:
    from groundscore.integrations.openrlhf import OpenRLHFReward

    fn = OpenRLHFReward()
    prompts = [f"{REC}{s['query']}." for s in samples]
    labels = [json.dumps({"solution": s["solution"], "image_size": s["image_size"]}) for s in samples]
    out = fn([p + s["completion"] for p, s in zip(prompts, samples, strict=True)], prompts, labels)
    rewards = out["rewards"] if isinstance(out, dict) else out
    return [float(r) for r in rewards]


INTEGRATIONS: dict[str, Callable[[list[dict[str, Any]]], list[float | None]]] = {
    "api": _api, "trl": _trl, "vlm_r1": _vlm_r1, "verl": _verl, "openrlhf": _openrlhf,
}


def _sample(completion: str, grounded: bool, query: str = QUERY) -> dict[str, Any]:
    return {"query": query, "completion": completion, "image_size": SIZE, "solution": [DOG] if grounded else None}


@pytest.fixture(scope="module", params=list(INTEGRATIONS))
def paid(request: pytest.FixtureRequest) -> dict[tuple[str, bool], float | None]:
    """(family, grounded) -> reward, every family and the plain label in one batch per integration."""
    keys = [(name, g) for name in FAMILIES for g in (True, False)]
    honest = r1(THINK, box(DOG))
    samples = [_sample(FAMILIES[name], g) for name, g in keys] + [_sample(honest, True), _sample(honest, False)]
    rewards = INTEGRATIONS[request.param](samples)
    out = dict(zip(keys, rewards[:-2], strict=True))
    out[("honest", True)], out[("honest", False)] = rewards[-2], rewards[-1]
    return out


@pytest.mark.parametrize("grounded", [True, False], ids=["gt", "nogt"])
@pytest.mark.parametrize("family", NAMES)
def test_obfuscated_wrong_label_is_paid_no_more_than_the_plain_one(paid: dict, family: str, grounded: bool) -> None:
    plain, got = paid[("plain", grounded)], paid[(family, grounded)]
    assert plain is not None and got is not None
    assert got <= plain + 1e-9, (family, got, plain)
    assert got < ABSTAIN  # and below an honest "not found"


def test_the_path_pays_an_honest_answer(paid: dict) -> None:
    """The same path pays the honest answer: the comparison above is not of two zeros by accident."""
    # without ground truth nothing confirms the honest box (no image, no group): paid exactly "not found", and
    # the obfuscated wrong labels above are refuted below it
    assert paid[("honest", True)] > 0.9 and paid[("honest", False)] == pytest.approx(ABSTAIN)


ABSENCE_RUNS = [(t, q) for t in ABSENCE_PARAPHRASES for q in ABSENCE_QUERIES]


@pytest.fixture(scope="module")
def absence_rewards() -> dict[tuple[str, str, bool], Any]:
    samples, keys = [], []
    for template, query in ABSENCE_RUNS:
        for grounded in (True, False):
            keys.append((template, query, grounded))
            samples.append(_sample(absence_completion(template, query), grounded, query))
    return dict(zip(keys, Rewarder().score(samples), strict=True))


@pytest.mark.parametrize(("template", "query"), ABSENCE_RUNS)
def test_absence_then_a_box_is_below_abstain_and_correct_floor(absence_rewards: dict, template: str, query: str) -> None:
    """The thinking says the target is absent, then boxes it exactly: below ``correct_floor`` with ground truth,
    below ``abstain`` without, for one-word and multi-word queries and every wording."""
    with_gt, without = absence_rewards[(template, query, True)], absence_rewards[(template, query, False)]
    assert with_gt.reward < FLOOR, (with_gt.reward, with_gt.reason)
    assert without.reward < ABSTAIN, (without.reward, without.reason)


def test_query_with_its_own_negation_is_no_absence() -> None:
    """A query that itself says "not in the picture", restated in the thinking, denies nothing."""
    from groundscore.nlp.thinking import absence

    query = "the zebra whose head is not in the picture"
    think = f"The query asks for {query}. I see a zebra on the right, cut by the frame."
    assert absence(think, {"zebra", "head"}, query) is None
    assert absence(f"There is no {query}.", {"zebra"}, "zebra") is not None


def test_no_before_a_query_noun_is_absence_unless_the_query_negates() -> None:
    """"no" within four words before a query noun says the target is absent; "no other dog" does not, nor a
    restated query that carries its own "no"; a negated belief in presence and a failed search do."""
    from groundscore.nlp.thinking import absence

    dog = {"dog", "dogs"}
    for said in ("I find no dog here.", "The scene contains no small brown dog.", "There is a cat, but no dog.",
                 "I looked for the dog without success.", "I don't believe the dog is in the picture.",
                 "I do not think there is any dog here.", "The dog does not show up anywhere."):
        assert absence(said, dog, "the dog") == said, said
    for said in ("There is no other dog.", "The dog has no collar.", "I don't think the dog is in the shade.",
                 "No doubt the dog is on the left."):
        assert absence(said, dog, "the dog") is None, said
    assert absence("The man with no hat stands on the left.", {"man", "hat"}, "man with no hat") is None


def test_a_damaged_head_does_not_hide_the_known_noun_before_it() -> None:
    """A misspelt head the corrector cannot place ("standign") leaves the known noun before it to be read: a
    zebra is another animal than the query's woman, paid as the plain label is, with ground truth and without.
    A damaged head with no other noun before it, or an English head, is read as before."""
    import json

    from groundscore.chain import Chain

    def answer(label: str) -> str:
        return f"<think>The target is on the left.</think><answer>{json.dumps([{'bbox_2d': [10, 10, 100, 100], 'label': label}])}</answer>"

    woman, man = "a young woman hugging her friend", "the man"
    cases = [("a zebra standign in front of another", woman), ("a zebra standing in front of another", woman),
             ("woman standign", woman), ("baseball catcher", man)]
    samples = [{"query": q, "completion": answer(label), "image_size": [640, 480], "solution": sol}
               for label, q in cases for sol in ([[10, 10, 100, 100]], None)]
    got = [r.reward for r in Rewarder().score(samples)]
    assert got[0] == got[1] == got[2] == got[3] == 0.0  # misspelt, paid as the plain wrong label: refuted
    assert got[4] > 0.9 and got[6] > 0.9  # the query's own noun, or an English head: the right box is paid
    reports = Chain({"verifiers": ["schema", "label_match"]}).verify(
        [{"query": q, "completion": answer(label), "image_size": [640, 480]} for label, q in cases])
    codes = [next(v for v in r.verdicts if v.verifier == "label_match").code for r in reports]
    assert codes[0] == codes[1] == "mismatch.category" and codes[2] == "ok" and not codes[3].startswith("mismatch")
