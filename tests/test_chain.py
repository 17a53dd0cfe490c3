"""The chain: batch-first, verifier isolation, unavailable verifiers, timings, configuration errors."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar

import pytest

import groundscore
from groundscore.chain import Chain
from groundscore.model import Report, Sample, Verdict
from groundscore.verifiers.base import Context, Verifier

GOOD = '[{"bbox_2d": [10, 20, 110, 220], "label": "dog"}]'


class Recorder(Verifier):
    """Scores by box count; records the batch sizes it was called with."""

    name = "recorder"
    calls: ClassVar[list[int]] = []

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        Recorder.calls.append(len(contexts))
        return [Verdict(verifier=self.name, score=0.5 if c.parsed.boxes else 0.1, reason="r") for c in contexts]


class Exploding(Verifier):
    name = "exploding"

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        raise RuntimeError("CUDA out of memory")


class WrongCount(Verifier):
    name = "wrong_count"

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        return []


class WrongType(Verifier):
    name = "wrong_type"

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        return [0.5 for _ in contexts]  # type: ignore[misc]


class Missing(Verifier):
    name = "missing"

    def unavailable(self) -> str | None:
        return "needs spaCy: pip install 'groundscore[nlp]'"

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:  # pragma: no cover - never called
        raise AssertionError("an unavailable verifier must not run")


def make(*extra: Verifier) -> Chain:
    schema = Chain({"verifiers": ["schema"]}).verifiers[0]
    return Chain({"verifiers": ["schema"]}, verifiers=[schema, *extra])


def test_batch_first_in_order_one_call_per_verifier() -> None:
    Recorder.calls = []
    chain = make(Recorder())
    items = [{"completion": GOOD, "id": str(i)} if i % 2 == 0 else {"completion": "the dog is somewhere", "id": str(i)} for i in range(7)]
    reports = chain.verify(items)
    assert Recorder.calls == [7]
    assert [r.id for r in reports] == [str(i) for i in range(7)]
    assert [r.verdict("recorder").score for r in reports] == [0.5, 0.1] * 3 + [0.5]
    assert all(r.decision == "reject" for r in reports[1::2])  # the schema gate failed
    assert set(chain.timings_ms) == {"schema", "recorder"}
    assert all(v.elapsed_ms > 0 for r in reports for v in r.verdicts)


def test_a_failing_verifier_becomes_none_verdicts_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    chain = make(Exploding(), Recorder())
    with caplog.at_level(logging.WARNING, logger="groundscore"):
        first = chain.verify([{"completion": GOOD}, {"completion": GOOD}])
        chain.verify([{"completion": GOOD}])
    v = first[0].verdict("exploding")
    assert v.score is None and v.code == "error" and "CUDA out of memory" in v.reason
    assert v.details == {"error": "RuntimeError"}
    assert first[0].verdict("recorder").score == 0.5  # the others still ran
    assert first[0].decision == "accept"  # None verdicts do not count
    assert sum("exploding" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize("bad", [WrongCount(), WrongType()])
def test_malformed_verifier_output_is_isolated(bad: Verifier) -> None:
    report = make(bad).verify_one({"completion": GOOD})
    v = report.verdict(bad.name)
    assert v.score is None and v.code == "error"
    assert report.verdict("schema").gate is True


def test_unavailable_verifier_says_how_to_install() -> None:
    report = make(Missing()).verify_one({"completion": GOOD})
    v = report.verdict("missing")
    assert (v.score, v.code) == (None, "skipped.unavailable")
    assert "pip install 'groundscore[nlp]'" in v.reason


@pytest.mark.slow  # builds every verifier (spaCy, CLIP availability checks)
def test_default_chain_runs_on_a_bare_install() -> None:
    chain = Chain()
    assert "schema" in chain.names
    report = chain.verify_one({"query": "dog", "completion": GOOD, "image_size": (640, 480)})
    assert report.verdict("schema").gate is True
    assert all(isinstance(v, Verdict) for v in report.verdicts)
    assert {v.verifier for v in report.verdicts} == set(chain.names)


def test_configuration_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match=r"unknown verifier name\(s\) \['shcema'\]; registered: .*'schema'"):
        Chain({"verifiers": ["shcema"]})
    with pytest.raises(ValueError, match="unknown verifier name"):
        Chain({"verifiers": ["schema"], "options": {"nope": {}}})
    with pytest.raises(ValueError, match=r"bad options for verifier 'schema': options.schema.max_boxes: Input should be greater than 0 \(got 0\)"):
        Chain({"verifiers": ["schema"], "options": {"schema": {"max_boxes": 0}}})


def test_disable_removes_a_verifier() -> None:
    chain = Chain({"disable": ["schema"]})
    assert "schema" not in chain.names


def test_python_api() -> None:
    report = groundscore.verify({"query": "dog", "completion": GOOD, "image_size": [640, 480]}, config={"verifiers": ["schema"]})
    assert isinstance(report, Report) and report.decision == "accept"
    reports = groundscore.verify([Sample(completion=GOOD), {"completion": ""}], config={"verifiers": ["schema"]})
    assert [r.decision for r in reports] == ["accept", "reject"]
    assert groundscore.Chain is Chain


def test_reports_are_plain_pydantic_and_mutable_where_documented() -> None:
    report = make().verify_one({"completion": GOOD, "id": "x"})
    report.reward = 0.75  # reward layers set this after scoring
    again = Report.model_validate_json(report.model_dump_json())
    assert again == report
    assert again.model_dump()["parsed"]["boxes"][0] == {"x1": 10.0, "y1": 20.0, "x2": 110.0, "y2": 220.0, "label": "dog", "score": None}


def test_image_sizes_are_read_once_from_the_file(tmp_path) -> None:
    from PIL import Image

    path = tmp_path / "im.png"
    Image.new("RGB", (300, 200)).save(path)
    chain = make()
    reports = chain.verify([{"completion": GOOD, "image": str(path), "coords": "original"}] * 3)
    assert all(r.verdict("schema").code == "box.outside" for r in reports)  # 220 > 200 + 4
    assert chain._image_sizes == {str(path): (300, 200)}


def test_gc_is_paused_during_a_batch_and_restored() -> None:
    import gc

    from groundscore.chain import gc_paused

    seen: list[bool] = []

    class Probe(Verifier):
        name = "gc_probe"

        def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
            seen.append(gc.isenabled())
            return [Verdict.skip(self.name, "skipped", "probe") for _ in contexts]

    assert gc.isenabled()
    make(Probe()).verify_one({"completion": GOOD})
    assert seen == [False] and gc.isenabled()
    Chain({"verifiers": ["schema"], "pause_gc": False}, verifiers=[Probe()]).verify_one({"completion": GOOD})
    assert seen == [False, True]
    # re-entrant, and a collector that was off stays off
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        make(Probe()).verify_one({"completion": GOOD})
        assert not gc.isenabled()
    finally:
        gc.enable()
    # an exception inside the pause still restores the collector
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_identical_completions_in_a_batch_share_work_not_objects() -> None:
    chain = make()
    items = [{"completion": GOOD, "coords": "original", "id": str(i)} for i in range(3)]
    items.append({"completion": GOOD, "coords": "original", "image_size": (50, 50), "id": "small"})
    reports = chain.verify(items)
    a, b = reports[0].parsed, reports[1].parsed
    assert a == b and a is not b and a.boxes is not b.boxes and a.issues is not b.issues
    a.issues.clear()
    assert b.issues  # mutating one report leaves the others alone
    # a different image size is a different parse: the box is outside the small image
    assert reports[3].verdict("schema").code == "box.outside"
    assert [r.verdict("schema").code for r in reports[:3]] == ["ok"] * 3


def test_contexts_are_what_verify_hands_the_verifiers() -> None:
    chain = make(Recorder())
    items = [{"completion": GOOD, "coords": "original", "query": "dog", "id": "a"}, {"completion": GOOD, "image_size": "huge"}, 42]
    contexts = chain.contexts(items)
    assert [c.index for c in contexts] == [0, 1, 2]
    assert contexts[0].sample.id == "a" and contexts[0].parsed.boxes[0].xyxy == (10.0, 20.0, 110.0, 220.0)
    assert [c.parsed.issues[0].code for c in contexts[1:]] == ["sample.invalid", "sample.invalid"]
    # the same verdicts as through verify
    direct = Recorder().verify_batch(contexts)
    assert [v.score for v in direct] == [r.verdict("recorder").score for r in chain.verify(items)]
    # one sample alone is a batch of one, as in verify
    assert len(chain.contexts({"completion": GOOD})) == 1
