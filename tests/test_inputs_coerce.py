"""One way in: every entry point reads Python inputs through groundscore.inputs.coerce_samples."""

from __future__ import annotations

from typing import Any

import pytest

import groundscore
from groundscore.chain import Chain
from groundscore.inputs import coerce_sample, coerce_samples
from groundscore.model import Sample
from groundscore.rewards import Rewarder

CONFIG = {"verifiers": ["schema"]}
CHAIN = Chain(CONFIG)
GOOD = {"query": "dog", "completion": '[{"bbox_2d": [10, 10, 50, 50], "label": "dog"}]', "coords": "original"}


@pytest.mark.parametrize("bad", ["[1, 2, 3, 4]", b"[1, 2, 3, 4]", None, 42, 3.5, object()])
def test_wrong_argument_types_raise_a_type_error_naming_the_shapes(bad: Any) -> None:
    for call in (lambda: groundscore.verify(bad, CONFIG), lambda: CHAIN.verify(bad),
                 lambda: Rewarder(chain=CHAIN).score(bad)):
        with pytest.raises(TypeError, match="a mapping of Sample fields"):
            call()


def test_verify_of_a_string_no_longer_reports_per_character() -> None:
    with pytest.raises(TypeError, match=r"\{'completion': text\}"):
        groundscore.verify("[1, 2, 3, 4]", CONFIG)
    with pytest.raises(TypeError):
        CHAIN.verify_one("[1, 2, 3, 4]")


def test_one_sample_many_samples_and_generators() -> None:
    assert isinstance(groundscore.verify(GOOD, CONFIG), groundscore.Report)
    assert len(groundscore.verify([GOOD, Sample(**GOOD)], CONFIG)) == 2
    assert len(groundscore.verify((g for g in [GOOD, GOOD, GOOD]), CONFIG)) == 3


def test_model_text_and_bad_fields_never_raise() -> None:
    pairs = coerce_samples([GOOD, {"image_size": 5, "completion": "x"}, None, "[1,2,3,4]"])
    assert [issue is None for _, issue in pairs] == [True, False, False, True]
    sample, issue = pairs[1]
    assert sample.completion == "x" and issue is not None and issue.code == "sample.invalid" and "image_size" in issue.message
    assert pairs[3][0].completion == "[1,2,3,4]"


def test_a_failing_generator_becomes_one_invalid_sample() -> None:
    def gen() -> Any:
        yield GOOD
        raise RuntimeError("disk gone")

    pairs = coerce_samples(gen())
    assert len(pairs) == 2 and pairs[1][1] is not None and "disk gone" in pairs[1][1].message


def test_chain_and_rewarder_agree_on_invalid_samples() -> None:
    items = [GOOD | {"solution": [10, 10, 50, 50]}, {"image_size": "640x480", "completion": "[]"}]
    reports = CHAIN.verify(items)
    assert "sample.invalid" in reports[1].parsed.issue_codes()
    results = Rewarder(chain=CHAIN).score(items)
    assert results[0].reward == pytest.approx(1.0)
    assert results[1].reward is None and "image_size" in results[1].reason


def test_solution_parser_only_where_asked() -> None:
    sample, issue = coerce_sample({"solution": "[1, 2, 3, 4]"}, solution_parser=lambda v: [[1, 2, 3, 4]])
    assert issue is None and sample.solution == [[1, 2, 3, 4]]
    _, issue = coerce_sample({"solution": "[1, 2, 3, 4]"})
    assert issue is not None
