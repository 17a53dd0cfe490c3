"""label_match: the answer's label names the query's target; a clear mismatch fails the gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groundscore.chain import Chain
from groundscore.inputs import vlm_r1_record_to_sample
from groundscore.model import Sample
from groundscore.plugins.manager import get_registry
from groundscore.verifiers.label_match import LabelMatchOptions, LabelMatchVerifier

FIXTURES = Path(__file__).parent / "fixtures"
SEED_THINK = (
    "The image shows a street scene with a tall metal pole on the left side of the sidewalk. "
    "A man wearing a blue shirt and shorts is standing next to the pole, and a red car is parked behind him. "
    "The instruction asks for the metal pole."
)
PROMPT = "Please provide the bounding box coordinate of the region this sentence describes: the metal pole."


def completion(label: str | None, think: str = SEED_THINK) -> str:
    item = {"bbox_2d": [368, 1, 475, 330]}
    if label is not None:
        item["label"] = label
    return f"<think>{think}</think><answer>```json\n{json.dumps([item])}\n```</answer>"


@pytest.fixture(scope="module")
def chain() -> Chain:
    return Chain({"verifiers": ["schema", "label_match"]})


def test_registered_as_a_builtin_gate() -> None:
    assert get_registry().verifiers["label_match"] is LabelMatchVerifier
    assert LabelMatchVerifier.is_gate
    assert LabelMatchVerifier().unavailable() is None


def test_seed_hallucination_is_rejected_and_the_right_label_passes(chain: Chain) -> None:
    bad = chain.verify_one(Sample(query=PROMPT, completion=completion("man wearing blue shirt and shorts")))
    v = bad.verdict("label_match")
    assert v is not None and v.gate is False and v.score == 0.0
    assert v.code == "mismatch.category"
    assert v.details["query"]["head"] == "pole"
    assert v.details["labels"][0]["head"] == "man"
    assert v.details["labels"][0]["conflicts"][0] == {"kind": "category", "query": "pole", "label": "man"}
    assert bad.decision == "reject" and bad.confidence == 0.0

    good = chain.verify_one(Sample(query=PROMPT, completion=completion("metal pole")))
    g = good.verdict("label_match")
    assert g is not None and g.gate is True and g.score == 1.0
    assert good.decision == "accept"


def test_missing_label_is_not_applicable(chain: Chain) -> None:
    v = chain.verify_one(Sample(query=PROMPT, completion=completion(None))).verdict("label_match")
    assert v is not None and v.score is None and v.code == "skipped.no_label"


def test_empty_query_is_not_applicable(chain: Chain) -> None:
    v = chain.verify_one(Sample(query="", completion=completion("dog"))).verdict("label_match")
    assert v is not None and v.score is None and v.code == "skipped.no_query"


@pytest.mark.parametrize(
    ("query", "label"),
    [
        ("man ' s hat", "man 's hat"),
        ("zebra on left side", "zebra on left side."),
        ("table in front of lady in red", "table in front of"),
        ("left guy", "man on the left"),
        ("couch", "sofa"),
        ("kid with a kite", "child"),
        ("the one on the right", "dog on the right"),
        ("giraffee on left", "giraffe on the left"),
    ],
)
def test_copies_paraphrases_and_variants_pass(chain: Chain, query: str, label: str) -> None:
    v = chain.verify_one(Sample(query=query, completion=completion(label, think="ok"))).verdict("label_match")
    assert v is not None and v.gate is True and v.score >= 0.8, v


@pytest.mark.parametrize(
    ("query", "label", "code"),
    [
        ("red car", "blue car", "mismatch.color"),
        ("left zebra", "zebra on the right", "mismatch.position"),
        ("kid without hat", "kid with hat", "mismatch.negation"),
        ("woman in red", "man in red", "mismatch.gender"),
        ("big elephant", "small elephant", "mismatch.size"),
    ],
)
def test_attribute_contradictions_fail_the_gate(chain: Chain, query: str, label: str, code: str) -> None:
    v = chain.verify_one(Sample(query=query, completion=completion(label, think="ok"))).verdict("label_match")
    assert v is not None and v.gate is False and v.code == code and v.score <= 0.1
    assert v.details["labels"][0]["conflicts"]


def test_gate_is_configurable() -> None:
    lenient = Chain({"verifiers": ["label_match"], "options": {"label_match": {"gate": False}}})
    v = lenient.verify_one(Sample(query=PROMPT, completion=completion("red car"))).verdict("label_match")
    assert v is not None and v.gate is None and v.score == 0.0
    only_category = Chain({"verifiers": ["label_match"], "options": {"label_match": {"gate_on": ["category"]}}})
    v = only_category.verify_one(Sample(query="left zebra", completion=completion("right zebra"))).verdict("label_match")
    assert v is not None and v.gate is True and v.score <= 0.1


def test_options_reject_unknown_keys() -> None:
    with pytest.raises(ValueError, match="extra"):
        LabelMatchOptions.model_validate({"gate_onn": []})


def test_multiple_labels_take_the_worst(chain: Chain) -> None:
    text = '[{"bbox_2d": [1, 1, 50, 50], "label": "dog"}, {"bbox_2d": [60, 60, 90, 90], "label": "cat"}]'
    v = chain.verify_one(Sample(query="dog", completion=text)).verdict("label_match")
    assert v is not None and len(v.details["labels"]) == 2
    assert v.details["labels"][0]["score"] == 1.0 and v.score == v.details["labels"][1]["score"] < 0.5


def test_real_grpo_labels_do_not_false_alarm(chain: Chain) -> None:
    """Every 8th record of the grpo-ckpt1000 RefCOCOg log: labels copy the query, none may fail."""
    data = json.loads((FIXTURES / "vlmr1_grpo_refcocog_excerpt.json").read_text())["results"]
    samples = [vlm_r1_record_to_sample(r, f"grpo:{i}") for i, r in enumerate(data)]
    reports = chain.verify(samples)
    verdicts = [r.verdict("label_match") for r in reports]
    scored = [v for v in verdicts if v is not None and v.score is not None]
    assert len(scored) >= 0.9 * len(samples)
    failed = [v.reason for v in scored if v.gate is False]
    assert len(failed) <= 0.01 * len(scored), failed


def test_bad_inputs_never_raise(chain: Chain) -> None:
    weird = ["", "\x00\x00", "{" * 500, '[{"bbox_2d": [1, 2, 3, 4], "label": 7}]', '[{"bbox_2d": [1, 2, 3, 4], "label": "' + "x" * 10000 + '"}]']
    for text in weird:
        report = chain.verify_one(Sample(query="dog " * 3000, completion=text))
        v = report.verdict("label_match")
        assert v is not None and v.code != "error", v


def _lm(report):
    return report.verdict("label_match")


def test_a_label_with_no_word_the_checks_read_supports_nothing(chain: Chain) -> None:
    """Digits or another script: no disguise of an English label, scored None as no label is."""
    for label in ("12345 ###", "\u6591\u9a6c"):
        v = _lm(chain.verify([Sample(query="the metal pole", completion=completion(label))])[0])
        assert v.score is None and v.code == "skipped.unreadable", (label, v)
    # a real but unknown word stays readable: no contradiction, unknown head
    v = _lm(chain.verify([Sample(query="the metal pole", completion=completion("the gizmo"))])[0])
    assert v.score is not None and v.gate is True


def test_a_label_made_unreadable_is_never_a_pass(chain: Chain) -> None:
    """Made-up words, a made-up head noun, heavy damage: refuted, so a disguise never beats the plain wrong label."""
    for label in ("the zqxvbt wrplk", "p\ufffd\ufffd\ufffd\ufffd\ufffdo", "a geeraffee was eting in grass", "blue shrin",
                  "girnfatfe with mouth open"):
        v = _lm(chain.verify([Sample(query="the metal pole", completion=completion(label))])[0])
        assert v.gate is False and v.code == "mismatch.unreadable", (label, v)
        assert "cannot be read" in v.reason and v.details["labels"][0]["unreadable"], v.reason
    # a misspelled verb the tagger takes for the head, after a known noun: the noun is what the label names
    v = _lm(chain.verify([Sample(query="the woman", completion=completion("a woman standign in front of a car"))])[0])
    assert v.gate is True, v.reason
    # a made-up word the query itself uses is the query's own name for the thing
    v = _lm(chain.verify([Sample(query="the zorblax on the left", completion=completion("zorblax"))])[0])
    assert v.gate is True, v.reason
    # an identifier names what its words name
    v = _lm(chain.verify([Sample(query="a person wearing jeans", completion=completion("sitting_person"))])[0])
    assert v.gate is True and v.code == "ok", v.reason


def test_words_the_dictionary_lacks_but_english_writes_are_readable(chain: Chain) -> None:
    """GUI and brand words WordNet lacks ("screenshot", "bluetooth", "spotify", "ipad") are no invention."""
    from groundscore.nlp.words import in_use, wordfreq_available

    assert wordfreq_available(), "wordfreq is part of the [nlp] extra"
    assert in_use("screenshot") and in_use("spotify") and not in_use("geeraffee") and not in_use("shrin")
    for query, label in (("capture the screen", "screenshot button"), ("the tablet on the desk", "an ipad"),
                         ("wireless settings", "bluetooth toggle"), ("the music app", "spotify")):
        v = _lm(chain.verify([Sample(query=query, completion=completion(label))])[0])
        assert v.code != "mismatch.unreadable" and v.gate is True, (label, v.reason)


def test_the_unreadable_gate_can_be_turned_off() -> None:
    chain = Chain({"verifiers": ["schema", "label_match"], "options": {"label_match": {"gate_on": ["category"]}}})
    v = _lm(chain.verify([Sample(query="the metal pole", completion=completion("blue shrin"))])[0])
    assert v.code == "mismatch.unreadable" and v.gate is True and v.score == 0.0


def test_a_disguised_wrong_label_is_refuted_like_the_plain_one(chain: Chain) -> None:
    for label in ("the car\ufffd", "ｔｈｅ ｃａｒ", "the c\u0301a\u0301r\u0301", "the c\u0430r", "the\u00a0car", "the cr\u200bar", "the carr"):
        v = _lm(chain.verify([Sample(query="the metal pole", completion=completion(label))])[0])
        assert v.gate is False and v.code == "mismatch.category", (label, v.reason)
        if label != "the carr":
            assert v.details["labels"][0].get("text"), label  # what the canonical form undid is noted


def test_a_sibling_label_is_named_as_another_kind_of_thing() -> None:
    chain = Chain({"verifiers": ["schema", "label_match", "consistency"]})
    report = chain.verify([Sample(query="the dog", completion=completion("cat", think="A cat sits next to the dog."))])[0]
    lm, cons = report.verdict("label_match"), report.verdict("consistency")
    assert "another animal" in lm.reason
    assert "agree" not in cons.reason and "another animal" in cons.reason
