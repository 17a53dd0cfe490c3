"""The HTML report, rendered and clicked in headless Chromium.

Real cookbook outputs (with their images), a few GUI point answers, and one
completion that carries a ``<script>``: the page must show it as text and
never run it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest
from shared_data import COOKBOOK, REC_LOGS

from groundscore.cli import main

DOCS_SHOT = Path(__file__).resolve().parents[1] / "docs" / "images" / "report.png"
PWN = "</script><script>window.__pwned=1;document.title='pwned'</script><img src=x onerror=\"window.__pwned=2\">"


def _chromium() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None
    return (browser, driver) if browser and driver else None


def _need_chromium() -> tuple[str, str]:
    found = _chromium()
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium, chromedriver and selenium are required in CI (see .ci/run)")
        pytest.skip("headless Chromium not installed: apt-get install -y chromium chromium-driver; pip install selenium")
    return found


def _browser(browser: str, driver_path: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1800"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(driver_path), options=opts)


def _settled(drv) -> None:
    """Wait until the gallery has rendered (the page marks #cards busy while chunks load)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(drv, 20).until(lambda d: d.execute_script(
        "const c = document.getElementById('cards'); return c !== null && !c.hasAttribute('aria-busy');"))


def _index(out: Path) -> dict:
    html = (out / "index.html").read_text(encoding="utf-8")
    return json.loads(html.split('id="gs-index">', 1)[1].split("</script>", 1)[0])


def _chunks(out: Path) -> list[list[dict]]:
    """The cards of each data file, in order: each file is ``window.__gs_chunk(n,[...]);``."""
    index = _index(out)
    found = []
    for n, path in enumerate(sorted((out / index["data"]).glob("chunk-*.js"))):
        text = path.read_text(encoding="utf-8")
        head = f"window.__gs_chunk({n},"
        assert text.startswith(head) and text.endswith(");\n"), path
        found.append(json.loads(text[len(head):-3]))
    return found


def _samples(tmp: Path) -> Path:
    records = json.loads((COOKBOOK / "cookbook_outputs_transcribed.json").read_text())["records"]
    lines = []
    for n, r in enumerate(records):
        lines.append({"id": f"cookbook-{n}", "query": r["prompt"], "completion": r["raw_output"],
                      "image": str(COOKBOOK / r["image"]), "image_size": r["image_size"]})
    # GUI-style point answers on a screenshot-sized canvas, one of them far outside it.
    gui = [("click the search box", '{"action": "click", "point_2d": [640, 88]}', [600, 70, 700, 110]),
           ("open the settings menu", '<think>The gear icon is top right.</think>{"point_2d": [1250, 30], "label": "settings"}', [1230, 10, 1270, 50]),
           ("press the submit button", '{"point_2d": [5000, 5000], "label": "submit"}', [500, 600, 620, 640])]
    for n, (q, c, sol) in enumerate(gui):
        lines.append({"id": f"gui-{n}", "query": q, "completion": c, "image_size": [1280, 720], "solution": [sol]})
    lines.append({"id": "injected", "query": "find the <b>cat</b>", "image_size": [640, 480],
                  "completion": f"<think>{PWN}</think><answer>[10, 10, 100, 100] cat {PWN}</answer>"})
    path = tmp / "samples.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def _varied(tmp: Path) -> Path:
    """200 answers of four kinds (a right box, a box far outside, no box, a small box) with labels: all decisions occur."""
    rng = random.Random(0)
    lines = []
    for n in range(200):
        x, y = rng.randint(0, 500), rng.randint(0, 300)
        completion = [f'<think>answer {n}</think><answer>{{"bbox_2d": [{x}, {y}, {x + 80}, {y + 60}], "label": "cat"}}</answer>',
                      f"<answer>[{x}, {y}, {x + 3000}, {y + 2000}]</answer>", "I cannot find it.",
                      f"<answer>[{x}, {y}, {x + 40}, {y + 40}] dog</answer>"][n % 4]
        if n == 57:
            completion = f"<answer>{PWN}</answer>"
        lines.append({"id": f"s{n}", "query": "the cat on the left", "completion": completion, "image_size": [640, 480],
                      "solution": [[x, y, x + 80, y + 60]]})
    path = tmp / "varied.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def test_report_page_escapes_and_counts(tmp_path: Path) -> None:
    if not COOKBOOK.is_dir():
        pytest.skip("shared cookbook data not found")
    out = tmp_path / "report"
    assert main(["report", str(_samples(tmp_path)), "-o", str(out)]) == 0
    html = (out / "index.html").read_text(encoding="utf-8")
    assert PWN not in html and "<script>window.__pwned" not in html
    assert html.count("<script") == 2  # the index blob and the page's own script
    chunk_text = "".join(p.read_text(encoding="utf-8") for p in (out / "data").glob("*/chunk-*.js"))
    assert "</script" not in chunk_text and "<script" not in chunk_text and "<img" not in chunk_text
    assert sum(len(c) for c in _chunks(out)) == sum(1 for _ in _samples(tmp_path).open())
    assert len(list((out / "thumbs").glob("*.jpg"))) == 4  # the four cookbook images, each once
    before = {p.name: p.stat().st_mtime_ns for p in (out / "thumbs").glob("*.jpg")}
    assert main(["report", str(_samples(tmp_path)), "-o", str(out)]) == 0
    assert before == {p.name: p.stat().st_mtime_ns for p in (out / "thumbs").glob("*.jpg")}


@pytest.mark.slow
def test_report_in_headless_chromium(tmp_path: Path) -> None:
    if not COOKBOOK.is_dir():
        pytest.skip("shared cookbook data not found")
    browser, driver_path = _need_chromium()
    from selenium.webdriver.common.by import By

    out = tmp_path / "report"
    samples = _samples(tmp_path)
    total = sum(1 for _ in samples.open())
    assert main(["report", str(samples), "-o", str(out)]) == 0
    drv = _browser(browser, driver_path)
    try:
        drv.get((out / "index.html").as_uri())
        _settled(drv)
        cards = drv.find_elements(By.CSS_SELECTOR, "#cards .card")
        assert len(cards) == total
        assert drv.execute_script("return window.__pwned") is None
        assert drv.title != "pwned"
        assert any(PWN in c.text for c in cards)  # shown as text
        accepted = len(drv.find_elements(By.CSS_SELECTOR, "#cards .card.accept"))
        assert accepted > 0
        drv.find_element(By.CSS_SELECTOR, "[data-decision-filter=reject]").click()
        _settled(drv)
        assert not drv.find_elements(By.CSS_SELECTOR, "#cards .card.accept")
        rejected = len(drv.find_elements(By.CSS_SELECTOR, "#cards .card"))
        assert 0 < rejected < total
        drv.find_element(By.CSS_SELECTOR, "[data-decision-filter='']").click()
        _settled(drv)
        assert len(drv.find_elements(By.CSS_SELECTOR, "#cards .card")) == total
        imgs = drv.find_elements(By.CSS_SELECTOR, "#cards img")
        assert len(imgs) == 7 and all(i.get_attribute("loading") == "lazy" for i in imgs)
        assert drv.execute_script("return window.__pwned") is None
        shot = tmp_path / "report.png"
        drv.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
        if os.environ.get("GROUNDSCORE_UPDATE_SCREENSHOT"):
            DOCS_SHOT.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, DOCS_SHOT)
    finally:
        drv.quit()


def test_report_of_rec_log_without_images(tmp_path: Path) -> None:
    log = REC_LOGS / "grpo-ckpt1000_refcocog_val.json"
    if not log.is_file():
        pytest.skip("shared REC logs not found")
    out = tmp_path / "rec"
    assert main(["report", str(log), "--from", "vlm-r1", "--limit", "200", "-o", str(out)]) == 0
    html = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="images-note"' in html and "--images DIR" in html
    assert "Reliability" in html and "<svg" in html
    index = _index(out)
    assert index["n"] == 200 and len(index["decisions"]) == 200
    assert len(html) < 200 * 200  # the cards are not in the page: a small index is
    cards = [c for chunk in _chunks(out) for c in chunk]
    assert len(cards) == 200 and len({c["id"] for c in cards}) == 200
    assert [c["confidence"] for c in cards] == sorted((c["confidence"] for c in cards), reverse=True)


def test_eval_html_writes_the_report(tmp_path: Path) -> None:
    if not COOKBOOK.is_dir():
        pytest.skip("shared cookbook data not found")
    out = tmp_path / "eval"
    assert main(["eval", str(_samples(tmp_path)), "--no-plots", "--html", "-o", str(out)]) == 0
    html = (out / "samples_report" / "index.html").read_text(encoding="utf-8")
    assert "Summary" in html and "accuracy" in html and PWN not in html


@pytest.mark.slow
def test_paged_report_loads_chunks_on_demand_over_file_url(tmp_path: Path) -> None:
    """Cards live in data files; a page loads only its own, and filters count every record from the index."""
    browser, driver_path = _need_chromium()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from groundscore.chain import Chain
    from groundscore.report import build_report
    from groundscore.report.chunks import is_low
    from groundscore.scoring.labelled import iter_items

    chain = Chain()
    items = list(iter_items(_varied(tmp_path), None, chain))
    out = tmp_path / "paged"
    page = build_report(items, out, title="paged", scorer=chain.scorer, verifiers=chain.names, page_size=20, chunk_size=7)
    cards = [c for chunk in _chunks(out) for c in chunk]
    assert len(cards) == 200 and len(_chunks(out)) == 29
    rejected = [c["id"] for c in cards if c["decision"] == "reject"]
    assert 20 < len(rejected) < 200  # more than one page of them, so paging a filter is exercised
    drv = _browser(browser, driver_path)

    def shown() -> list[str]:
        return [e.text.split("\u00b7 ", 1)[1].split("\n", 1)[0] for e in drv.find_elements(By.CSS_SELECTOR, "#cards .card .head")]

    def loaded() -> list[int]:
        return sorted(drv.execute_script("return window.__gs_loaded"))

    try:
        assert page.as_uri().startswith("file://")
        drv.get(page.as_uri())
        _settled(drv)
        assert shown() == [c["id"] for c in cards[:20]]
        assert loaded() == [0, 1, 2]  # positions 0-19 sit in chunks 0-2 of 7 cards; no other chunk loaded
        drv.find_element(By.ID, "next").click()
        _settled(drv)
        assert shown() == [c["id"] for c in cards[20:40]]
        assert loaded() == [0, 1, 2, 3, 4, 5]
        assert "page 2 of 10" in drv.find_element(By.ID, "pageinfo").text
        # A filter counts all 200 records from the index, then loads what its first page needs.
        drv.find_element(By.CSS_SELECTOR, "[data-decision-filter=reject]").click()
        _settled(drv)
        assert f"{len(rejected)} of 200 samples" in drv.find_element(By.ID, "pageinfo").text
        assert shown() == rejected[:20]
        assert len(drv.find_elements(By.CSS_SELECTOR, "#cards .card.reject")) == 20
        drv.find_element(By.ID, "next").click()
        _settled(drv)
        assert shown() == rejected[20:40]
        # Lowest confidence first reverses the order over every record.
        drv.find_element(By.CSS_SELECTOR, "[data-decision-filter='']").click()
        _settled(drv)
        Select(drv.find_element(By.ID, "order")).select_by_value("asc")
        _settled(drv)
        assert shown() == [c["id"] for c in cards[::-1][:20]]
        assert 28 in loaded()
        # The verifier and issue-code filters agree with the cards' own verdicts and codes.
        verifier = next(v["v"] for c in cards for v in c["verdicts"] if is_low(v))
        Select(drv.find_element(By.ID, "verifier")).select_by_value(verifier)
        _settled(drv)
        low = [c["id"] for c in cards[::-1] if any(v["v"] == verifier and is_low(v) for v in c["verdicts"])]
        assert f"{len(low)} of 200 samples" in drv.find_element(By.ID, "pageinfo").text
        assert shown() == low[:20]
        Select(drv.find_element(By.ID, "verifier")).select_by_value("")
        code = next(c["codes"][0] for c in cards if c["codes"])
        Select(drv.find_element(By.ID, "code")).select_by_value(code)
        _settled(drv)
        marked = [c["id"] for c in cards[::-1] if code in c["codes"]]
        assert f"{len(marked)} of 200 samples" in drv.find_element(By.ID, "pageinfo").text
        assert shown() == marked[:20]
        # Every page of every record, walked: the injected completion shows as text and never runs.
        Select(drv.find_element(By.ID, "code")).select_by_value("")
        _settled(drv)
        texts = []
        for _ in range(10):
            texts += [e.text for e in drv.find_elements(By.CSS_SELECTOR, "#cards .card")]
            drv.find_element(By.ID, "next").click()
            _settled(drv)
        assert len(texts) == 200 and any(PWN in t for t in texts)
        assert loaded() == list(range(29))
        assert drv.execute_script("return window.__pwned") is None and drv.title != "pwned"
    finally:
        drv.quit()


def test_script_json_is_inert_inside_a_script_and_round_trips() -> None:
    from groundscore.report.chunks import script_json

    value = {"c": "</script><script>x()</script> & \u2028\u2029 \ud800 done"}
    text = script_json(value)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    text.encode("utf-8")  # a lone surrogate must not make the data file unwritable
    assert json.loads(text) == value


CLIPPED = """
const out = [];
document.querySelectorAll('#cards .card').forEach(card => {
  const box = card.getBoundingClientRect();
  const right = box.right - parseFloat(getComputedStyle(card).borderRightWidth);
  card.querySelectorAll('table.verdicts td').forEach(td => {
    const r = td.getBoundingClientRect();
    if (r.right > right + 0.5 || td.scrollWidth > td.clientWidth + 1)
      out.push({card: card.querySelector('.head') ? card.querySelector('.head').textContent : '?', text: td.textContent,
                right: r.right, card_right: right, scroll: td.scrollWidth, client: td.clientWidth});
  });
});
return {clipped: out, cells: document.querySelectorAll('#cards table.verdicts td').length};
"""


def test_no_verdict_cell_is_clipped_at_common_widths(tmp_path: Path) -> None:
    """Long reasons and unbroken tokens wrap inside the card at 1400 and 1920 px: no verdict cell runs past its card."""
    browser, driver_path = _need_chromium()
    rows = [
        {"id": "long-label", "query": "the " + "verylongunbrokenword" * 12, "image_size": [640, 480],
         "completion": '{"bbox_2d": [10, 10, 100, 100], "label": "' + "verylongunbrokenword" * 12 + '"}'},
        {"id": "path", "query": "the dog", "image": "/no/such/" + "folder/" * 30 + "dog.jpg",
         "completion": '<think>the dog is left</think><answer>[{"bbox_2d": [10, 10, 100, 100], "label": "dog"}]</answer>'},
        {"id": "plain", "query": "water left", "image_size": [640, 480],
         "completion": '[{"bbox_2d": [45, 36, 137, 209], "label": "water left"}]'},
    ]
    src = tmp_path / "long.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "report"
    assert main(["report", str(src), "-o", str(out)]) == 0
    drv = _browser(browser, driver_path)
    try:
        for width in (1400, 1920):
            drv.set_window_size(width, 1800)
            drv.get((out / "index.html").as_uri())
            _settled(drv)
            found = drv.execute_script(CLIPPED)
            assert found["cells"] >= 3 * 4, found  # every card's verdict rows were rendered and measured
            assert found["clipped"] == [], f"at {width} px: {found['clipped'][:3]}"
            shot = tmp_path / f"report-{width}.png"
            drv.save_screenshot(str(shot))
            assert shot.stat().st_size > 10_000
    finally:
        drv.quit()
