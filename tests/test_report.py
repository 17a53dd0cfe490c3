"""The HTML report, rendered and clicked in headless Chromium.

Real cookbook outputs (with their images), a few GUI point answers, and one
completion that carries a ``<script>``: the page must show it as text and
never run it.
"""

from __future__ import annotations

import json
import os
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


def test_report_page_escapes_and_counts(tmp_path: Path) -> None:
    if not COOKBOOK.is_dir():
        pytest.skip("shared cookbook data not found")
    out = tmp_path / "report"
    assert main(["report", str(_samples(tmp_path)), "-o", str(out)]) == 0
    html = (out / "index.html").read_text(encoding="utf-8")
    assert PWN not in html and "<script>window.__pwned" not in html
    assert html.count("<script") == 2  # the data blob and the page's own script
    assert len(list((out / "thumbs").glob("*.jpg"))) == 4  # the four cookbook images, each once
    before = {p.name: p.stat().st_mtime_ns for p in (out / "thumbs").glob("*.jpg")}
    assert main(["report", str(_samples(tmp_path)), "-o", str(out)]) == 0
    assert before == {p.name: p.stat().st_mtime_ns for p in (out / "thumbs").glob("*.jpg")}


@pytest.mark.slow
def test_report_in_headless_chromium(tmp_path: Path) -> None:
    if not COOKBOOK.is_dir():
        pytest.skip("shared cookbook data not found")
    browser, driver_path = _need_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    out = tmp_path / "report"
    samples = _samples(tmp_path)
    total = sum(1 for _ in samples.open())
    assert main(["report", str(samples), "-o", str(out)]) == 0
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1800"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        drv.get((out / "index.html").as_uri())
        cards = drv.find_elements(By.CSS_SELECTOR, "#cards .card")
        assert len(cards) == total
        assert drv.execute_script("return window.__pwned") is None
        assert drv.title != "pwned"
        assert any(PWN in c.text for c in cards)  # shown as text
        accepted = len(drv.find_elements(By.CSS_SELECTOR, "#cards .card.accept"))
        assert accepted > 0
        drv.find_element(By.CSS_SELECTOR, "[data-decision-filter=reject]").click()
        assert not drv.find_elements(By.CSS_SELECTOR, "#cards .card.accept")
        rejected = len(drv.find_elements(By.CSS_SELECTOR, "#cards .card"))
        assert 0 < rejected < total
        drv.find_element(By.CSS_SELECTOR, "[data-decision-filter='']").click()
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
    payload = html.split('id="gs-data">', 1)[1].split("</script>", 1)[0]
    assert len(json.loads(payload)["cards"]) == 200


def test_eval_html_writes_the_report(tmp_path: Path) -> None:
    if not COOKBOOK.is_dir():
        pytest.skip("shared cookbook data not found")
    out = tmp_path / "eval"
    assert main(["eval", str(_samples(tmp_path)), "--no-plots", "--html", "-o", str(out)]) == 0
    html = (out / "samples_report" / "index.html").read_text(encoding="utf-8")
    assert "Summary" in html and "accuracy" in html and PWN not in html
