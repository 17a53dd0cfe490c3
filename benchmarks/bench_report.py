"""Time and size of HTML reports: the 18,000 REC-log records, and 100,000 records made from them.

The REC logs (``shared/data/vlmr1-rec-logs``, no images there: text cards)
are verified once with the default chain and evaluated once (the summary's
cross-validated calibration), both timed apart from building the page so
the report's own cost shows; both reports get that evaluation. The 100,000-record report repeats
those records under new ids. For each report: build time (against writing
the same cards as plain JSON in the same run), total size, the inline
index's size, and, in headless Chromium over ``file://``, the time to the
first page of cards, to a filter click and to a page change. The baseline
in the browser is the page as it was before the data moved out: every card
inline in one JSON blob, parsed on load (built for the 18,000 only).

``python benchmarks/bench_report.py [--limit N] [--total 100000] [--no-browser]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from shared_data import REC_LOGS


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _inline_baseline(cards: list[dict[str, Any]], out: Path) -> Path:
    """The former page shape: all cards in one inline JSON blob, parsed and sorted, first page rendered."""
    from groundscore.report.chunks import script_json

    out.mkdir(parents=True, exist_ok=True)
    page = out / "inline.html"
    js = ("const D=JSON.parse(document.getElementById('d').textContent);const c=D.slice().sort((a,b)=>b.confidence-a.confidence);"
          "const box=document.getElementById('cards');c.slice(0,60).forEach(x=>{const e=document.createElement('div');"
          "e.textContent=x.id+' '+x.query+' '+x.completion;box.appendChild(e);});window.__gs_rendered=performance.now();")
    page.write_text(f'<!DOCTYPE html><html><body><div id="cards"></div><script type="application/json" id="d">{script_json(cards)}'
                    f"</script><script>{js}</script></body></html>", encoding="utf-8")
    return page


class Browser:
    """Headless Chromium timing a page with the page's own clock (performance.now at each render)."""

    def __init__(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        opts = webdriver.ChromeOptions()
        opts.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1800"):
            opts.add_argument(arg)
        self.drv = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
        self.drv.set_page_load_timeout(300)

    def _wait(self) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.drv, 300, poll_frequency=0.02).until(
            lambda d: d.execute_script("return window.__gs_rendered !== undefined && !document.getElementById('cards').hasAttribute('aria-busy')"))

    def load(self, page: Path) -> float:
        """Milliseconds from navigation start to the first page of cards on screen."""
        self.drv.get(page.as_uri())
        self._wait()
        return float(self.drv.execute_script("return window.__gs_rendered"))

    def click(self, selector: str) -> float:
        """Milliseconds from a click to its page of cards on screen."""
        self.drv.execute_script("window.__gs_rendered = undefined; window.__t0 = performance.now(); document.querySelector(arguments[0]).click();", selector)
        self._wait()
        return float(self.drv.execute_script("return window.__gs_rendered - window.__t0"))

    def choose(self, select_id: str, value: str) -> float:
        """Milliseconds from choosing ``value`` in a select to its page of cards on screen."""
        self.drv.execute_script("window.__gs_rendered = undefined; window.__t0 = performance.now();"
                                "const o = document.getElementById(arguments[0]); o.value = arguments[1]; o.dispatchEvent(new Event('change'));",
                                select_id, value)
        self._wait()
        return float(self.drv.execute_script("return window.__gs_rendered - window.__t0"))

    def shown(self) -> str:
        return str(self.drv.execute_script("return document.getElementById('pageinfo').textContent"))

    def close(self) -> None:
        self.drv.quit()


def _measure(label: str, items: list[Any], tmp: Path, chain: Any, result: Any, browser: Browser | None,
             baseline_page: bool) -> dict[str, Any]:
    from groundscore.report import build_report
    from groundscore.report.data import card

    t1 = time.perf_counter()
    cards = [card(i) for i in items]
    (tmp / f"{label}-cards.json").write_text(json.dumps(cards), encoding="utf-8")
    baseline_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    page = build_report(items, tmp / label, title=f"REC logs ({label})", result=result)
    build_s = time.perf_counter() - t2
    html = page.read_text(encoding="utf-8")
    index_bytes = len(html.split('id="gs-index">', 1)[1].split("</script>", 1)[0].encode("utf-8"))
    row: dict[str, Any] = {"records": len(items), "build_s": build_s, "json_baseline_s": baseline_s,
                           "total_bytes": _size(tmp / label), "page_bytes": page.stat().st_size, "index_bytes": index_bytes,
                           "data_files": len(list((tmp / label / "data").rglob("chunk-*.js")))}
    print(f"[{label}] {len(items)} records: build {build_s:.2f} s ({build_s / baseline_s:.1f}x writing the cards as plain JSON, {baseline_s:.2f} s)")
    print(f"[{label}] total {row['total_bytes'] / 1e6:.1f} MB in {row['data_files']} data files + index.html {row['page_bytes'] / 1e6:.2f} MB"
          f" (inline index {index_bytes / 1e6:.2f} MB, {index_bytes / len(items):.1f} bytes a record)")
    if browser is not None:
        load_ms = min(browser.load(page) for _ in range(3))
        next_ms = min(browser.click("#next") for _ in range(3))
        filter_ms = browser.click("[data-decision-filter=reject]")
        info = browser.shown()
        all_ms = browser.click("[data-decision-filter='']")
        counts: dict[str, int] = {}
        for c in cards:
            for code in c["codes"]:
                counts[code] = counts.get(code, 0) + 1
        code = min(counts, key=lambda k: abs(counts[k] - len(cards) / 2))  # the most selective-but-broad code
        code_ms = browser.choose("code", code)
        code_info = browser.shown()
        browser.choose("code", "")
        far_ms = browser.choose("order", "asc")
        row.update(load_ms=load_ms, filter_ms=filter_ms, next_ms=next_ms, all_ms=all_ms, code_ms=code_ms, order_ms=far_ms)
        print(f"[{label}] Chromium: first page {load_ms:.0f} ms; 'rejected' click {filter_ms:.0f} ms ({info}); next page {next_ms:.0f} ms;"
              f" back to all {all_ms:.0f} ms; issue code {code} {code_ms:.0f} ms ({code_info}); lowest-first (the last data files) {far_ms:.0f} ms")
        if baseline_page:
            inline = _inline_baseline(cards, tmp / f"{label}-inline")
            inline_ms = min(browser.load(inline) for _ in range(2))
            row.update(inline_page_bytes=inline.stat().st_size, inline_load_ms=inline_ms)
            print(f"[{label}] baseline, every card inline ({inline.stat().st_size / 1e6:.1f} MB page): first page {inline_ms:.0f} ms"
                  f" ({inline_ms / load_ms:.1f}x the paged report)")
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=None, help="records per log (default all)")
    ap.add_argument("--total", type=int, default=100_000, help="records of the synthesised report (default 100,000)")
    ap.add_argument("--no-browser", action="store_true", help="skip the Chromium timings")
    ap.add_argument("--json", default=None, help="also write the numbers to this file")
    args = ap.parse_args()
    from groundscore.chain import Chain
    from groundscore.scoring.labelled import iter_items

    logs = sorted(p for p in REC_LOGS.glob("*_ref*_val.json"))
    chain = Chain()
    t0 = time.perf_counter()
    items = []
    for log in logs:
        items.extend(iter_items(log, "vlm-r1", chain, limit=args.limit))
    for n, item in enumerate(items):
        item.index = n
    verify_s = time.perf_counter() - t0
    print(f"records: {len(items)} from {len(logs)} logs; verify (chain, not part of the report): {verify_s:.1f} s")
    from groundscore.scoring.evaluation import evaluate

    t1 = time.perf_counter()
    result = evaluate(items, scorer=chain.scorer, verifiers=chain.names)
    evaluate_s = time.perf_counter() - t1
    print(f"evaluate (summary and plots, cross-validated calibration; build_report runs it when not given): {evaluate_s:.1f} s")
    many = []
    for n in range(args.total):
        item = items[n % len(items)]
        copy = n // len(items)
        sample = item.sample if copy == 0 else item.sample.model_copy(update={"id": f"{item.sample.id or item.index}~{copy}"})
        many.append(dataclasses.replace(item, index=n, sample=sample))
    browser = None if args.no_browser else Browser()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rows = {"rec": _measure("rec", items, Path(tmp), chain, result, browser, baseline_page=True)}
            shutil.rmtree(Path(tmp) / "rec")
            rows["synth"] = _measure("synth", many, Path(tmp), chain, result, browser, baseline_page=False)
    finally:
        if browser is not None:
            browser.close()
    if args.json:
        Path(args.json).write_text(json.dumps({"verify_s": verify_s, "evaluate_s": evaluate_s, **rows}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
