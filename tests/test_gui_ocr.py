"""The ``ocr`` plugin on real screenshots (tests/fixtures/gui: Python docs rendered by Chromium), and the set builder.

The OCR runs for real (RapidOCR, PP-OCRv4 ONNX models from the wheel): the
plugin is installed by ``make test`` (``pip install -e ./plugins/groundscore-ocr``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from groundscore.model import Box, Parsed, Point, Sample
from groundscore.plugins.manager import get_registry
from groundscore.verifiers.base import Context

pytest.importorskip("groundscore_ocr") if os.environ.get("CI") != "true" else None
from groundscore_ocr.text import fold, match_at, match_score, target_words  # noqa: E402
from groundscore_ocr.verifier import OcrVerifier  # noqa: E402

GUI = Path(__file__).parent / "fixtures" / "gui"
SET = json.loads((GUI / "gui_set.json").read_text(encoding="utf-8"))
ABOUT = SET["pages"][0]
assert ABOUT["page"] == "about.html"
SIZE = tuple(ABOUT["size"])
IMAGE = str(GUI / ABOUT["image"])


def _el(text: str) -> list[float]:
    return next(e["box"] for e in ABOUT["elements"] if e["text"] == text)


def _ctx(query: str, box: list[float] | None = None, point: tuple[float, float] | None = None, image: object = IMAGE) -> Context:
    parsed = Parsed(boxes=[Box(x1=box[0], y1=box[1], x2=box[2], y2=box[3])] if box else [],
                    points=[Point(x=point[0], y=point[1], action="click")] if point else [])
    return Context(Sample(query=query, completion="", image=image, image_size=SIZE), parsed, SIZE)


def _centre(box: list[float]) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


@pytest.fixture(scope="module")
def ocr() -> OcrVerifier:
    return OcrVerifier({"threads": 2})


def test_fold_and_match_are_case_accent_and_space_insensitive() -> None:
    assert fold("Résumé  — ÉDITER!") == "resume editer"
    assert match_score(fold("Table of Contents"), "tableofcontents") == 1.0
    assert target_words("Click the 'Found a bug' link") == "found a bug"
    assert target_words("open Dealing with Bugs") == "dealing with bugs"
    assert match_score("sphinx", "dealing with bugs") < 0.4
    # a click names a place on the line: the words must be written there
    line = "see dealing with bugs for more"
    assert match_at("dealing with bugs", line, 0.5) > 0.9
    assert match_at("dealing with bugs", line, 0.98) < match_at("dealing with bugs", line, 0.5)


def test_the_plugin_is_found_through_its_entry_point() -> None:
    registry = get_registry()
    assert registry.verifiers.get("ocr") is OcrVerifier
    assert not registry.plugins["ocr"].builtin


def test_right_element_beats_another_element(ocr: OcrVerifier) -> None:
    for right, other in (("Sphinx", "Dealing with Bugs"), ("Docutils", "Misc/ACKS"), ("Found a bug", "Please donate.")):
        good_box, bad_box = ocr.verify(_ctx(right, _el(right))), ocr.verify(_ctx(right, _el(other)))
        assert good_box.score is not None and bad_box.score is not None
        assert good_box.score >= 0.8 > bad_box.score, (right, good_box.reason, bad_box.reason)
        good_pt = ocr.verify(_ctx(right, point=_centre(_el(right))))
        bad_pt = ocr.verify(_ctx(right, point=_centre(_el(other))))
        assert good_pt.score is not None and good_pt.score > (bad_pt.score or 0.0), (good_pt.reason, bad_pt.reason)


def test_a_box_over_the_whole_paragraph_does_not_pass(ocr: OcrVerifier) -> None:
    whole = [0, 95, 960, 180]  # the first two paragraphs: "Sphinx" is in there, with much else
    verdict = ocr.verify(_ctx("Sphinx", whole))
    assert verdict.score is not None and verdict.score < 0.8


def test_no_text_is_none_with_a_reason(ocr: OcrVerifier) -> None:
    blank = [300, 185, 900, 215]  # the empty space right of "Many thanks go to:"
    page = ocr.page(IMAGE)
    assert not ocr.lines_for_box(page, tuple(blank))
    for ctx in (_ctx("Sphinx", blank), _ctx("Sphinx", point=_centre(blank))):
        verdict = ocr.verify(ctx)
        assert verdict.score is None and verdict.code == "skipped.no_text" and "icon" in verdict.reason
    assert ocr.verify(_ctx("Sphinx", _el("Sphinx"), image=None)).code == "skipped.no_image"
    assert ocr.verify(_ctx("Sphinx")).code == "skipped.no_place"


def test_one_ocr_per_screenshot_content_across_a_group() -> None:
    verifier = OcrVerifier({"threads": 2})
    data = Path(IMAGE).read_bytes()
    group = [_ctx("Sphinx", _el("Sphinx")), _ctx("Sphinx", _el("Docutils"), image=data),
             _ctx("Docutils", point=_centre(_el("Docutils")), image=bytes(data))]
    first = verifier.verify_batch(group)
    again = verifier.verify_batch(group)
    assert verifier.ocr_runs == 1
    assert [v.score for v in first] == [v.score for v in again]
    page = verifier.page(data)
    recognised = sum(t is not None for t in page.texts)
    assert 0 < recognised < len(page.texts)  # only the lines the answers touched were recognised
    assert len(verifier.read_all(data)) > recognised


def test_missing_models_give_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    assert OcrVerifier().unavailable() is None
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)
    hint = OcrVerifier().unavailable()
    assert hint is not None and "pip install" in hint and "rapidocr" in hint


def test_chain_runs_the_ocr_verifier_on_a_computer_use_answer() -> None:
    from groundscore import Chain
    from groundscore.config import ChainConfig

    x, y = _centre(_el("Sphinx"))
    text = f'<tool_call>{{"name": "computer_use", "arguments": {{"action": "left_click", "coordinate": [{x:.0f}, {y:.0f}]}}}}</tool_call>'
    sample = Sample(query="Sphinx", completion=text, image=IMAGE, image_size=SIZE, coords="original")
    chain = Chain(ChainConfig(verifiers=["schema", "ocr"]))
    report = chain.verify([sample])[0]
    verdict = report.verdict("ocr")
    assert verdict is not None and verdict.score is not None and verdict.score >= 0.8, verdict


@pytest.mark.slow
def test_build_gui_set_renders_a_real_page(tmp_path: Path) -> None:
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None or not Path("/usr/share/doc/python3/html").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium, chromium-driver and python3-doc must be installed in CI (.ci/run installs them)")
        pytest.skip("needs apt-get install -y python3-doc chromium chromium-driver")
    pytest.importorskip("selenium")
    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    import build_gui_set

    data = build_gui_set.build(tmp_path, pages=1, width=800, height=600, scrolled=False)
    shot = data["pages"][0]
    assert (tmp_path / shot["image"]).stat().st_size > 1000
    texts = [e for e in shot["elements"] if e["text"]]
    assert len(texts) >= 4
    for e in texts:
        x1, y1, x2, y2 = e["box"]
        assert 0 <= x1 < x2 <= 800 and 0 <= y1 < y2 <= 600


def test_the_ocr_verifier_is_confirming_evidence() -> None:
    """It reads the pixels: the host may pay an answer above "not found" on its score."""
    from groundscore_ocr.verifier import OcrVerifier

    assert OcrVerifier.evidence == "confirming"
