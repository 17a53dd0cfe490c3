"""Hostile input stays with the sample that carries it, and fails closed.

- A verifier error costs only the sample that caused it (the chain retries a
  failed batch one sample at a time), and a gate that errored never lets the
  answer through: at most abstain, and no reward policy pays it above
  ``abstain``.
- Adding any sample to a batch never changes another sample's report (a
  hypothesis property over the default chain, spaCy included).

The samples here have no group, or each its own: the ``agreement`` verifier
compares the members of one group *by design*, so a sample that joins a
group legitimately changes its mates' reports. Isolation is promised between
samples that do not share a group.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groundscore.chain import Chain
from groundscore.model import Report, Sample, Verdict
from groundscore.rewards import BUILTIN_POLICIES, Rewarder, get_policy
from groundscore.verifiers.base import Context, Verifier
from groundscore.verifiers.label_match import LabelMatchVerifier
from groundscore.verifiers.schema import SchemaVerifier

WRONG = {
    "query": "the metal pole",
    "completion": '<think>x</think><answer>[{"bbox_2d": [10,10,50,50], "label": "man wearing blue shirt"}]</answer>',
    "coords": "original",
    "solution": [10, 10, 50, 50],
}
# finding 1 exactly: a JSON-escaped lone surrogate, plain ASCII in the completion
SURROGATE_LABEL = {
    "query": "banana",
    "completion": '<answer>[{"bbox_2d": [10,10,50,50], "label": "banana\\ud800"}]</answer>',
    "coords": "original",
}


def _raw_sample(**fields: Any) -> Sample:
    """A Sample built without validation, as a caller that skips the boundary can: its text is not cleaned."""
    base: dict[str, Any] = {"query": "", "completion": "", "image": None, "image_size": None, "format": None,
                            "coords": "original", "solution": None, "id": None, "meta": {}, "group": None}
    return Sample.model_construct(**{**base, **fields})


@pytest.fixture(scope="module")
def rewarder() -> Rewarder:
    return Rewarder()


def test_a_wrong_label_is_rejected_alone_and_next_to_a_surrogate_label(rewarder: Rewarder) -> None:
    assert rewarder.rewards([WRONG]) == [0.0]
    results = rewarder.score([WRONG, SURROGATE_LABEL])
    assert results[0].reward == 0.0 and results[0].outcome == "hallucination"
    neighbour = results[1].report
    assert neighbour is not None
    assert neighbour.parsed.labels == ["banana\ufffd"] and "text.replaced" in neighbour.parsed.issue_codes()
    assert neighbour.verdict("label_match").code == "ok"  # the replaced label is read, not an error
    neighbour.model_dump_json()  # and written


def test_a_verifier_error_costs_only_the_sample_that_raised() -> None:
    """spaCy really raises here: the sample's query holds a lone surrogate (it never passed validation)."""
    chain = Chain()
    culprit = _raw_sample(query="banana\ud800", completion='[{"bbox_2d": [10,10,50,50], "label": "banana"}]', id="bad")
    good = {"query": "dog", "completion": '[{"bbox_2d": [10,10,50,50], "label": "dog"}]', "coords": "original", "id": "ok"}
    alone = chain.verify([good])[0]
    reports = chain.verify([WRONG, culprit, good])
    assert reports[0].decision == "reject" and reports[0].verdict("label_match").code == "mismatch.category"
    bad = reports[1]
    assert bad.verdict("label_match").code == "error" and "UnicodeEncodeError" in bad.verdict("label_match").reason
    assert bad.decision == "abstain" and bad.confidence <= chain.config.thresholds.reject
    issue = next(i for i in bad.parsed.issues if i.code == "chain.gate_error")
    assert "label_match" in issue.message and "not accepted" in issue.message
    assert _view(reports[2]) == _view(alone) and reports[2].decision == "accept"
    bad.model_dump_json()


class _RaisesOn(Verifier):
    """A gate that raises on any sample whose query says so (a plugin bug that one input triggers)."""

    name: ClassVar[str] = "fragile_gate"
    is_gate: ClassVar[bool] = True

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        out = []
        for ctx in contexts:
            if "boom" in ctx.query:
                raise ValueError("cannot read this one")
            out.append(Verdict(verifier=self.name, score=1.0, gate=True))
        return out


def _sample(query: str, box: list[float], label: str, solution: list[float] | None) -> dict[str, Any]:
    sample: dict[str, Any] = {"query": query, "completion": f'<think>the {label}</think><answer>[{{"bbox_2d": {box}, '
                              f'"label": "{label}"}}]</answer>', "coords": "original"}
    if solution is not None:
        sample["solution"] = solution
    return sample


@pytest.mark.parametrize("policy", sorted({*BUILTIN_POLICIES, "click", "consensus"}))
def test_an_errored_gate_is_never_paid_above_abstain(policy: str) -> None:
    chain = Chain({"verifiers": ["schema"]}, verifiers=[SchemaVerifier(), LabelMatchVerifier(), _RaisesOn()])
    rewarder = Rewarder({"policy": policy}, chain=chain)
    abstain = rewarder.config.abstain
    batch = [
        _sample("boom dog", [10, 10, 50, 50], "dog", [10, 10, 50, 50]),
        _sample("boom dog", [10, 10, 50, 50], "dog", None),
        _sample("dog", [10, 10, 50, 50], "dog", [10, 10, 50, 50]),
        _sample("dog", [10, 10, 50, 50], "dog", None),
    ]
    results = rewarder.score(batch)
    for result in results[:2]:
        assert result.report is not None and "chain.gate_error" in result.report.parsed.issue_codes()
        assert result.report.decision != "accept"
        if get_policy(policy).uses_gates and result.reward is not None:
            assert result.reward <= abstain + 1e-12, (policy, result)
            assert result.outcome != "correct"
    clean = rewarder.score(batch[2:])
    assert [r.reward for r in results[2:]] == [r.reward for r in clean]  # the neighbours are paid as alone
    assert all("chain.gate_error" not in (r.report.parsed.issue_codes() if r.report else []) for r in results[2:])


class _Doubtful(Verifier):
    """A verifier that is not a gate and scores every answer low: the confidence falls below ``reject``."""

    name: ClassVar[str] = "doubtful"

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        return [Verdict(verifier=self.name, score=0.001, reason="looks unlikely") for _ in contexts]


class _Refutes(Verifier):
    """A gate that refutes every answer whose query says so."""

    name: ClassVar[str] = "refuting_gate"
    is_gate: ClassVar[bool] = True

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        return [Verdict(verifier=self.name, score=0.0 if "refute" in ctx.query else 1.0,
                        gate="refute" not in ctx.query) for ctx in contexts]


def test_a_low_confidence_does_not_reject_what_a_gate_could_not_check() -> None:
    chain = Chain({"verifiers": ["schema"], "confidence": "combine"},
                  verifiers=[SchemaVerifier(), _Doubtful(), _RaisesOn(), _Refutes()])
    errored, plain, refuted = chain.verify([
        _sample("boom dog", [10, 10, 50, 50], "dog", None),
        _sample("dog", [10, 10, 50, 50], "dog", None),
        _sample("boom refute dog", [10, 10, 50, 50], "dog", None),
    ])
    # the same low score rejects the answer every gate read ...
    assert plain.decision == "reject" and plain.confidence < chain.config.thresholds.reject
    # ... and abstains, saying why, where a gate raised: nothing checked it, so nothing may reject it
    assert errored.verdict("fragile_gate").code == "error"
    assert errored.decision == "abstain" and errored.confidence <= chain.config.thresholds.reject
    assert "chain.gate_error" in errored.parsed.issue_codes()
    # another gate's refutation is evidence: that answer is rejected although a gate raised too
    assert refuted.verdict("fragile_gate").code == "error" and refuted.decision == "reject"


def test_a_verifier_that_raises_on_every_sample_still_gives_one_verdict_each() -> None:
    # "combine": schema's 1.0 would accept both, so the abstentions are the errored gate's doing
    chain = Chain({"verifiers": ["schema"], "confidence": "combine"}, verifiers=[SchemaVerifier(), _RaisesOn()])
    reports = chain.verify([_sample("boom", [1, 1, 9, 9], "x", None), _sample("boom too", [1, 1, 9, 9], "x", None)])
    assert [r.verdict("fragile_gate").code for r in reports] == ["error", "error"]
    assert [r.decision for r in reports] == ["abstain", "abstain"]


# -- the isolation property -----------------------------------------------------------
QUERIES = ["dog", "the metal pole", "man in blue shirt", "left zebra", "two cats", "red car on the right", "", "banana"]
LABELS = ["dog", "man wearing blue shirt", "zebra", "cats", "car", "banana\\ud800", "pole", "x\\u0000y", "\u00e9l\u00e9phant"]
THINK = ["", "<think>the dog on the left</think>", "<think>there is no pole in the image</think>",
         "<think>a man in a blue shirt stands near the pole</think>"]


@st.composite
def samples(draw: st.DrawFn, index: int) -> dict[str, Any] | Sample:
    box = draw(st.lists(st.integers(0, 600), min_size=4, max_size=4))
    label = draw(st.sampled_from(LABELS))
    answer = draw(st.sampled_from([
        f'[{{"bbox_2d": {box}, "label": "{label}"}}]',
        f'[{{"bbox_2d": {box}, "label": "{label}"}}, {{"bbox_2d": [1, 2, 30, 40], "label": "{label}"}}]',
        "[]", f"{box}", '{"bbox_2d": [1, 2', "no object here",
    ]))
    completion = draw(st.sampled_from(THINK)) + f"<answer>{answer}</answer>"
    sample: dict[str, Any] = {"id": f"s{index}", "query": draw(st.sampled_from(QUERIES)), "completion": completion,
                              "image_size": [640, 480]}
    if draw(st.booleans()):
        sample["query"] += draw(st.sampled_from(["\ud800", "\x00", " \udfff on the left"]))
    if draw(st.booleans()):
        sample["group"] = f"own-{index}"  # a group of one: nothing to compare with, by construction
    if draw(st.integers(0, 3)) == 0:  # one that skipped validation: spaCy raises on its query
        return _raw_sample(id=f"s{index}", query="dog\ud800", completion=completion, image_size=(640, 480))
    return sample


def _view(report: Report) -> dict[str, Any]:
    """What must not depend on the rest of the batch (timings do)."""
    return {
        "id": report.id, "decision": report.decision, "confidence": report.confidence,
        "verdicts": [v.model_dump(exclude={"elapsed_ms"}) for v in report.verdicts],
        "parsed": report.parsed.model_dump(),
    }


@pytest.fixture(scope="module")
def default_chain() -> Chain:
    return Chain()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_adding_samples_to_a_batch_never_changes_another_samples_report(default_chain: Chain, data: st.DataObject) -> None:
    target = data.draw(samples(0), label="target")
    others = data.draw(st.lists(st.integers(1, 10_000), min_size=1, max_size=5, unique=True), label="others")
    extra = [data.draw(samples(i), label=f"other {i}") for i in others]
    position = data.draw(st.integers(0, len(extra)), label="position")
    alone = default_chain.verify([target])[0]
    batch = [*extra[:position], target, *extra[position:]]
    together = default_chain.verify(batch)[position]
    assert _view(together) == _view(alone)
    together.model_dump_json()


# -- a live server: one client's poison must not reach another client's rewards -----------
PROMPT = ("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Please provide the bounding box coordinate "
          "of the region this sentence describes: {expr}. First output the thinking process in <think> </think> "
          "tags and then output the final answer in <answer> </answer> tags.<|im_end|>\n<|im_start|>assistant\n")


def _request(expr: str, label: str, box: list[int], truth: list[int] | None) -> dict[str, Any]:
    completion = (f'<think>the {label} stands next to the {expr}</think><answer>[{{"bbox_2d": {box}, '
                  f'"label": "{label}"}}]</answer><|im_end|>')
    prompt = PROMPT.format(expr=expr)
    fields: dict[str, Any] = {"image_size": [640, 480], "coords": "original"}
    if truth is not None:
        fields["solution"] = truth
    return {"query": [prompt + completion], "prompts": [prompt], "labels": [json.dumps(fields)]}


def _good_requests() -> list[dict[str, Any]]:
    out = []
    for i in range(24):
        expr = ["dog", "metal pole", "red car", "man in blue shirt"][i % 4]
        label = expr if i % 3 else ["man wearing blue shirt", "zebra", "banana", "woman"][i % 4]  # every third drifts
        box = [100 + i % 7, 100 - i % 5, 200 + i % 11, 220 + i % 3]
        out.append(_request(expr, label, box, [100, 100, 200, 220] if i % 2 else None))
    return out


def _poisoned_requests() -> list[bytes]:
    """Bodies as bytes: json.dumps escapes lone surrogates (``\\ud800``), which is how they travel in JSON."""
    bodies = []
    for i in range(16):
        req = _request("banana", "banana\\ud800" if i % 2 else "banana\\u0000", [10, 10, 50, 50], None if i % 3 else [10, 10, 50, 50])
        kind = i % 4
        if kind == 1:
            req["query"] = [q + "\ud800\x00\udfff" for q in req["query"]]
        elif kind == 2:
            req["prompts"] = ["\ud800" + p for p in req["prompts"]]
            req["labels"] = ['{"solution": "\ud800", "image_size": [640, 480], "qeury": "\x00"}']
        elif kind == 3:
            req["query"] = ["dog\ud800"] * 8 + ["<answer>[{\"bbox_2d\": [1, 2, 3, 4], \"label\": \"\\udc00\"}]</answer>"] * 8
            req["prompts"] = req["labels"] = None
        bodies.append(json.dumps({k: v for k, v in req.items() if v is not None}).encode())
    bodies.append(b'{"query": ["\xff\xfe invalid utf-8"]}')
    return bodies


@pytest.mark.slow
def test_a_poisoned_client_leaves_other_clients_rewards_unchanged(tmp_path: Path) -> None:
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("fastapi")
    from serve_process import running_server

    good = _good_requests()
    poisoned = _poisoned_requests()
    with running_server(["--max-wait-ms", "50", "--max-queries", "64"], tmp_path / "server.log") as base:
        url = f"{base}/get_reward"
        baseline = []
        for body in good:  # one at a time: no neighbour at all
            r = httpx.post(url, json=body, timeout=60)
            assert r.status_code == 200, r.text
            baseline.append(r.json())
        before = httpx.get(f"{base}/health", timeout=10).json()

        def post_good(body: dict[str, Any]) -> dict[str, Any]:
            r = httpx.post(url, json=body, timeout=60)
            assert r.status_code == 200, r.text
            return r.json()

        def post_poison(content: bytes) -> tuple[int, dict[str, Any]]:
            r = httpx.post(url, content=content, headers={"content-type": "application/json"}, timeout=60)
            return r.status_code, r.json()

        with ThreadPoolExecutor(max_workers=24) as pool:
            poison_futures = [pool.submit(post_poison, b) for b in poisoned]
            good_futures = [pool.submit(post_good, b) for b in good]
            together = [f.result() for f in good_futures]
            poison_results = [f.result() for f in poison_futures]
        health = httpx.get(f"{base}/health", timeout=10).json()

    assert together == baseline
    assert any(b["rewards"] == [0.0] for b in baseline) and any(b["rewards"][0] > 0.5 for b in baseline)  # gates held
    for status, answer in poison_results:
        assert status in (200, 400, 422), (status, answer)  # never a 500
        if status == 200:
            assert all(isinstance(v, float) for v in answer["rewards"])
    assert sum(s == 200 for s, _ in poison_results) >= len(poisoned) - 1
    assert health["status"] == "ok"
    # the good and poisoned requests really shared chain calls
    assert health["batches"] - before["batches"] < len(good) + len(poisoned)
