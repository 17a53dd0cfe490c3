"""Every public entry point keeps its contract on generated model output (bounded hypothesis properties).

What a policy writes is not under anyone's control, so the promises are
checked on generated text, not only on written examples: real completions
from the VLM-R1 logs (``tests/fixtures``, Apache-2.0) mutated, garbage,
NaN/inf/huge/negative coordinates, deep and huge JSON, unbalanced tags,
unicode confusables and invisible characters, NULs, and lone surrogates.

For ``groundscore.verify``, ``Chain.verify``, ``Rewarder.score`` (every
registered policy) and the reward functions of every integration (TRL,
VLM-R1, verl, OpenRLHF): no exception, one result per input, rewards that
are finite floats in the documented range (``wrong`` .. ``correct +
format_weight``, [0, 1] by default; None only where the host accepts it),
and every Report serialises. Adding a neighbour to a batch never changes
another sample's report.

Bounded: few examples each, derandomised (the same cases every run, no
example database), so the file runs in seconds as part of every test run.
The long, seeded run over 100,000 inputs is ``benchmarks/fuzz.py``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import groundscore
from groundscore.chain import Chain
from groundscore.integrations import openrlhf, trl, verl, vlm_r1
from groundscore.model import Report
from groundscore.plugins.manager import get_registry
from groundscore.rewards import Rewarder

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

# Known findings fail fast: no shrinking (a shrink of a known failure costs minutes and says nothing new).
KNOWN_FAILING = settings(SETTINGS, max_examples=10, phases=[Phase.explicit, Phase.generate])

FIXTURES = Path(__file__).parent / "fixtures"
REAL = [r for name in ("vlmr1_grpo_refcocog_excerpt.json", "vlmr1_original_refcoco_excerpt.json")
        for r in json.loads((FIXTURES / name).read_text(encoding="utf-8"))["results"][:20]]
REC = "Please provide the bounding box coordinate of the region this sentence describes: "

# The chain without the agreement verifier, whose score reads the other answers of a group by design.
ISOLATED = Chain({"verifiers": ["schema", "label_match", "consistency", "spatial"]})
GATES = frozenset(v.name for v in Chain().verifiers if getattr(v, "is_gate", False))

# -- strategies ----------------------------------------------------------------------------------
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), -1.0, 0.0, 1e308, -1e308, 5e-324, 2**63]),
)
CONFUSABLE = str.maketrans({"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "1": "１", "[": "［", ",": "，", ":": "："})
INVISIBLE = ["\u200b", "\u200d", "\ufeff", "\u202e", "\x00", "\x1b[0m", "\u2028", "\r"]
TAGS = ["<think>", "</think>", "<answer>", "</answer>", "```json", "```", "<ref>", "</ref>", "<box>", "</box>",
        "<|box_start|>", "<|box_end|>", "[", "]", "{", "}", '"bbox_2d":', ","]


def _box_answer(values: list[Any], label: str, think: str) -> str:
    return f'<think>{think}</think><answer>[{{"bbox_2d": {json.dumps(values)}, "label": {json.dumps(label)}}}]</answer>'


def _insert(text: str, at: int, piece: str) -> str:
    at = at % (len(text) + 1)
    return text[:at] + piece + text[at:]


real_text = st.sampled_from([r["model_output"] for r in REAL])
clean_completions = st.one_of(
    real_text,
    st.text(max_size=300),
    st.builds(_box_answer, st.lists(numbers, max_size=6), st.text(max_size=30), st.text(max_size=60)),
    st.builds(_insert, real_text, st.integers(0, 2000), st.one_of(st.text(max_size=20), st.sampled_from(INVISIBLE))),
    real_text.map(lambda t: t.translate(CONFUSABLE)),
    st.builds(lambda d, o, closed: "```json\n" + o * d + (({"[": "]", "{": "}"}[o]) * d if closed else "") + "\n```",
              st.integers(1, 3000), st.sampled_from(["[", "{"]), st.booleans()),
    st.lists(st.sampled_from(TAGS) | st.text(max_size=8), max_size=40).map("".join),
    st.builds(lambda n: "<answer>[" + ",".join(['{"bbox_2d": [1, 2, 30, 40], "label": "x"}'] * n) + "]</answer>",
              st.integers(0, 400)),
    st.builds(lambda t, n: t[:n], real_text, st.integers(0, 400)),
)
lone_surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
surrogate_completions = st.one_of(
    st.builds(_insert, real_text, st.integers(0, 2000), lone_surrogate),
    st.builds(lambda t, s: t.replace('"label": "', '"label": "' + s, 1), real_text, lone_surrogate),
    real_text.map(lambda t: t.replace('"label": "', '"label": "banana\\ud800', 1)),  # JSON-escaped: plain ASCII text
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=100),
)
queries = st.one_of(st.sampled_from([r["question"].split("describes: ", 1)[-1].rstrip(".") for r in REAL]),
                    st.text(max_size=60), st.just(""), st.none())
image_sizes = st.one_of(st.none(), st.tuples(st.integers(1, 5000), st.integers(1, 5000)),
                        st.sampled_from([[0, 0], [-1, 5], [10**9, 10**9], "640x480", [640], [float("nan"), 1]]))
solutions = st.one_of(st.none(), st.just([]), st.lists(numbers, min_size=4, max_size=4),
                      st.sampled_from([r["ground_truth"] for r in REAL]),
                      st.builds(lambda b: f"<answer>{json.dumps(b)}</answer>", st.lists(st.integers(-5, 2000), min_size=4, max_size=4)),
                      st.text(max_size=40))
coords = st.sampled_from([None, "qwen25", "norm1000", "original", "original:xywh", "bogus"])


def sample_dicts(completions: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    def build(completion: str, query: Any, size: Any, solution: Any, space: Any) -> dict[str, Any]:
        item: dict[str, Any] = {"completion": completion, "query": query}
        for key, value in (("image_size", size), ("solution", solution), ("coords", space)):
            if value is not None:
                item[key] = value
        return item

    return st.builds(build, completions, queries, image_sizes, solutions, coords)


clean_batches = st.lists(sample_dicts(clean_completions), min_size=1, max_size=6)
surrogate_batches = st.lists(sample_dicts(st.one_of(clean_completions, surrogate_completions)), min_size=1, max_size=6)


# -- checks --------------------------------------------------------------------------------------
def check_reports(reports: list[Any], n: int) -> None:
    assert len(reports) == n
    for r in reports:
        assert isinstance(r, Report)
        assert math.isfinite(r.confidence) and 0.0 <= r.confidence <= 1.0
        assert r.decision in ("accept", "reject", "abstain")
        json.loads(r.model_dump_json())  # every report serialises
        if r.decision == "accept":
            assert not [v.verifier for v in r.verdicts if v.gate is False], "accepted with a failed gate"
            errored = [v.verifier for v in r.verdicts if v.code == "error" and v.verifier in GATES]
            assert not errored, f"accepted although gate verifier(s) {errored} raised (fail open)"


def check_rewards(rewards: Any, n: int, lo: float = 0.0, hi: float = 1.0, allow_none: bool = False) -> None:
    values = list(rewards)
    assert len(values) == n
    for v in values:
        if v is None and allow_none:
            continue
        v = float(v)
        assert math.isfinite(v) and lo <= v <= hi, v


def prompts_for(batch: list[dict[str, Any]]) -> list[str]:
    return [REC + (b["query"] if isinstance(b.get("query"), str) else "x") + "." for b in batch]


# -- the API -------------------------------------------------------------------------------------
@SETTINGS
@given(clean_batches)
def test_verify_keeps_its_contract(batch: list[dict[str, Any]]) -> None:
    check_reports(groundscore.verify(batch), len(batch))


@SETTINGS
@given(clean_batches)
def test_chain_verify_keeps_its_contract(batch: list[dict[str, Any]]) -> None:
    check_reports(ISOLATED.verify(batch), len(batch))


@KNOWN_FAILING
@given(surrogate_batches)
def test_verify_with_lone_surrogates_keeps_its_contract(batch: list[dict[str, Any]]) -> None:
    check_reports(groundscore.verify(batch), len(batch))


def _signature(report: Report) -> tuple[Any, ...]:
    return (report.decision, round(report.confidence, 9),
            tuple((v.verifier, v.score, v.gate, v.code) for v in report.verdicts))


@SETTINGS
@given(sample_dicts(clean_completions), clean_batches)
def test_a_neighbour_never_changes_a_report(item: dict[str, Any], neighbours: list[dict[str, Any]]) -> None:
    alone = ISOLATED.verify([item])[0]
    beside = ISOLATED.verify([*neighbours, item])[-1]
    assert _signature(beside) == _signature(alone)


@KNOWN_FAILING
@given(sample_dicts(clean_completions), st.lists(sample_dicts(surrogate_completions), min_size=1, max_size=3))
def test_a_hostile_neighbour_never_changes_a_report(item: dict[str, Any], neighbours: list[dict[str, Any]]) -> None:
    alone = ISOLATED.verify([item])[0]
    beside = ISOLATED.verify([*neighbours, item])[-1]
    assert _signature(beside) == _signature(alone)


POLICIES = sorted(get_registry().reward_policies)
_CHAIN = Chain()
REWARDERS = {p: Rewarder({"policy": p}, chain=_CHAIN) for p in POLICIES}


@pytest.mark.parametrize("policy", POLICIES)
@settings(SETTINGS, max_examples=8)
@given(batch=surrogate_batches)
def test_every_policy_gives_one_finite_reward_per_input(policy: str, batch: list[dict[str, Any]]) -> None:
    rewarder = REWARDERS[policy]
    results = rewarder.score(batch)
    cfg = rewarder.config
    check_rewards([r.reward for r in results], len(batch), cfg.wrong, cfg.correct + cfg.format_weight,
                  allow_none=cfg.unscorable is None)


# -- the integrations ----------------------------------------------------------------------------
TRL = trl.grounding_reward()
OPENRLHF = openrlhf.OpenRLHFReward()


@SETTINGS
@given(surrogate_batches, st.booleans())
def test_trl_reward(batch: list[dict[str, Any]], chat: bool) -> None:
    completions = [[{"role": "assistant", "content": b["completion"]}] if chat else b["completion"] for b in batch]
    rewards = TRL(prompts=prompts_for(batch), completions=completions, completion_ids=[[1]] * len(batch),
                  solution=[b.get("solution") for b in batch], image_size=[b.get("image_size") for b in batch])
    check_rewards(rewards, len(batch), allow_none=True)


@SETTINGS
@given(surrogate_batches)
def test_vlm_r1_rewards(batch: list[dict[str, Any]]) -> None:
    completions = [[{"role": "assistant", "content": b["completion"]}] for b in batch]
    solution = [b.get("solution") for b in batch]
    problem = [b["query"] if isinstance(b.get("query"), str) else "" for b in batch]
    for fn in (vlm_r1.iou_reward, vlm_r1.iou_reward_vlm_r1, vlm_r1.grounding_reward):
        check_rewards(fn(completions, solution, problem=problem), len(batch))
    check_rewards(vlm_r1.format_reward(completions, problem=problem), len(batch))


@SETTINGS
@given(surrogate_batches)
def test_verl_rewards(batch: list[dict[str, Any]]) -> None:
    extra = [{"question": p, "image_size": b.get("image_size")} for p, b in zip(prompts_for(batch), batch, strict=True)]
    gts = [b.get("solution") for b in batch]
    out = verl.compute_score_batch(["refcoco"] * len(batch), [b["completion"] for b in batch], gts, extra)
    assert len(out) == len(batch) and len({tuple(sorted(o)) for o in out}) == 1
    for o in out:
        assert all(isinstance(v, float | int) and math.isfinite(v) for v in o.values()), o
    check_rewards([o["score"] for o in out], len(batch))
    one = verl.compute_score("refcoco", batch[0]["completion"], json.dumps(gts[0]), extra[0])
    check_rewards([one["score"]], 1)


@SETTINGS
@given(surrogate_batches)
def test_openrlhf_rewards(batch: list[dict[str, Any]]) -> None:
    prompts = [f"<|im_start|>user\n{p}<|im_end|>\n<|im_start|>assistant\n" for p in prompts_for(batch)]
    queries = [p + b["completion"] for p, b in zip(prompts, batch, strict=True)]
    labels = [json.dumps({k: b[k] for k in ("solution", "image_size") if k in b}) for b in batch]
    out = OPENRLHF(queries, prompts, labels)
    check_rewards(out["rewards"].tolist(), len(batch))
    check_rewards(out["scores"].tolist(), len(batch))
    for values in out["extra_logs"].values():
        assert len(values) == len(batch) and all(math.isfinite(float(v)) for v in values)


# -- obfuscation: a disguised wrong label is never paid more than the plain one -----------------------
# Generated disguises (not the catalogue's list): each character of the wrong label may gain a combining
# mark, a format character or a replacement character, become fullwidth or a look-alike letter, and each
# space may become a space of another class. The plain label names another object than the query.
_WRONG_LABELS = ("the tree", "a red car", "the kitchen table", "man in a blue shirt", "the traffic light")
_MARKS = [chr(c) for c in range(0x300, 0x370)]
_FORMAT = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202a", "\u202c", "\u2066", "\u2069"]
_SPACES = ["\u00a0", "\u2002", "\u2003", "\u2009", "\u202f", "\u205f", "\u3000"]
_LOOKALIKE = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "c": "\u0441", "p": "\u0440", "i": "\u0456"}


@st.composite
def disguised(draw: Any, label: str) -> str:
    out = []
    for ch in label:
        kind = draw(st.sampled_from(["keep", "keep", "mark", "format", "fffd", "wide", "look"]))
        if ch == " ":
            out.append(draw(st.sampled_from([" ", *_SPACES])))
        elif kind == "mark":
            out.append(ch + draw(st.sampled_from(_MARKS)))
        elif kind == "format":
            out.append(ch + draw(st.sampled_from(_FORMAT)))
        elif kind == "fffd":
            out.append(ch + "\ufffd")
        elif kind == "wide" and "!" <= ch <= "~":
            out.append(chr(ord(ch) + 0xFEE0))
        elif kind == "look":
            out.append(_LOOKALIKE.get(ch, ch))
        else:
            out.append(ch)
    return "".join(out)


_OBF_QUERY = "the brown dog on the left"
_OBF_BOX = [40, 200, 240, 440]


def _obf_sample(label: str, grounded: bool) -> dict[str, Any]:
    think = "The query asks for the brown dog on the left. I can see it on the grass at the left."
    completion = f"<think>{think}</think>\n<answer>{json.dumps([{'bbox_2d': _OBF_BOX, 'label': label}], ensure_ascii=False)}</answer>"
    return {"query": _OBF_QUERY, "completion": completion, "image_size": [640, 480], "solution": [_OBF_BOX] if grounded else None}


_OBF_REWARDER = Rewarder()


@settings(SETTINGS, max_examples=25)
@given(st.sampled_from(_WRONG_LABELS).flatmap(lambda w: st.tuples(st.just(w), disguised(w))))
def test_a_disguised_wrong_label_is_never_paid_more_than_the_plain_one(pair: tuple[str, str]) -> None:
    wrong, label = pair
    rewards = _OBF_REWARDER.rewards([_obf_sample(wrong, True), _obf_sample(label, True),
                                     _obf_sample(wrong, False), _obf_sample(label, False)])
    assert rewards[1] <= rewards[0] + 1e-9, (label, rewards)
    assert rewards[3] <= rewards[2] + 1e-9, (label, rewards)


@settings(SETTINGS, max_examples=15)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_canonical_text_is_idempotent_and_bounded(text: str) -> None:
    from groundscore.nlp.canonical import canonical

    once = canonical(text, 200)
    assert canonical(once.text, 200).text == once.text
    assert len(once.text) <= 200 or "text.cut" in once.codes
    once.text.encode("utf-8")
