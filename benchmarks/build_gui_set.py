"""Build the GUI evaluation set: screenshots of real pages with the DOM box and text of every visible element.

The pages are the Python documentation as Debian ships it (``python3-doc``,
``/usr/share/doc/python3/html``): real HTML no one here wrote. Each page is
rendered by headless Chromium (Debian's ``chromium`` and ``chromium-driver``,
driven by selenium) at a fixed window size; the screenshot is the viewport,
and the page's own layout engine gives the box of every visible link,
button, heading, list entry and image (``getBoundingClientRect``, in CSS
pixels = screenshot pixels at device scale 1) with its rendered text
(``innerText``; empty for images, which is the "no text to read" case).

    python benchmarks/build_gui_set.py --out out/gui_set --pages 40
    python benchmarks/build_gui_set.py --out tests/fixtures/gui --pages 3 --width 960 --height 600

Writes ``<out>/<n>.png`` and ``<out>/gui_set.json``: ``{"source": ...,
"pages": [{"page", "image", "size", "scroll_y", "elements": [{"tag", "text",
"box"}]}]}``. Pages are picked in sorted path order with a fixed stride, and
each is screenshotted at the top and, when long, once scrolled down, so a
rebuild gives the same set.

Needs: ``apt-get install -y python3-doc chromium chromium-driver`` and
``pip install selenium``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DOC_ROOT = Path("/usr/share/doc/python3/html")

_ELEMENTS_JS = r"""
const out = [];
const W = window.innerWidth, H = window.innerHeight;
const nodes = document.querySelectorAll('a, button, input[type=submit], h1, h2, h3, h4, dt, th, summary, img, label');
for (const el of nodes) {
  const r = el.getBoundingClientRect();
  if (r.width < 4 || r.height < 4) continue;
  if (r.left < 0 || r.top < 0 || r.right > W || r.bottom > H) continue;
  const st = window.getComputedStyle(el);
  if (st.visibility === 'hidden' || st.display === 'none' || parseFloat(st.opacity) === 0) continue;
  // the element must be what is drawn at its centre (not covered by a sticky header, say)
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  if (!hit || !(hit === el || el.contains(hit) || hit.contains(el))) continue;
  const text = el.tagName === 'IMG' ? '' : (el.innerText || el.value || '').replace(/\s+/g, ' ').trim();
  if (el.tagName !== 'IMG' && text.length === 0) continue;
  if (text.length > 120) continue;
  out.push({tag: el.tagName.toLowerCase(), text: text, alt: el.getAttribute('alt') || '',
            box: [r.left, r.top, r.right, r.bottom]});
}
return out;
"""


def _driver(width: int, height: int) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                "--force-device-scale-factor=1", f"--window-size={width},{height}", "--font-render-hinting=none"):
        opts.add_argument(arg)
    opts.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_window_size(width, height)
    # the window size includes no browser chrome in headless mode; make the viewport exact
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(width + (width - inner[0]), height + (height - inner[1]))
    return driver


def pick_pages(count: int) -> list[Path]:
    pages = sorted(p for p in DOC_ROOT.rglob("*.html") if "_static" not in p.parts and p.stat().st_size > 8000)
    if not pages:
        raise SystemExit(f"no pages under {DOC_ROOT}: apt-get install -y python3-doc")
    stride = max(1, len(pages) // count)
    return pages[::stride][:count]


def build(out: Path, pages: int, width: int, height: int, scrolled: bool) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    driver = _driver(width, height)
    shots = []
    try:
        for page in pick_pages(pages):
            driver.get(page.as_uri())
            total = driver.execute_script("return document.documentElement.scrollHeight")
            offsets = [0] + ([min(total - height, height * 2)] if scrolled and total > height * 3 else [])
            for offset in offsets:
                driver.execute_script(f"window.scrollTo(0, {offset});")
                y = driver.execute_script("return window.scrollY")
                elements = driver.execute_script(_ELEMENTS_JS)
                if len([e for e in elements if e["text"]]) < 4:
                    continue
                name = f"{len(shots):03d}.png"
                driver.save_screenshot(str(out / name))
                shots.append({
                    "page": str(page.relative_to(DOC_ROOT)), "image": name, "size": [width, height], "scroll_y": y,
                    "elements": [{"tag": e["tag"], "text": e["text"], "box": [round(v, 1) for v in e["box"]]}
                                 for e in elements],
                })
                print(f"{name}: {page.relative_to(DOC_ROOT)} @ {y}: {len(elements)} elements", file=sys.stderr)
    finally:
        driver.quit()
    data = {
        "source": "Python documentation from Debian's python3-doc package (/usr/share/doc/python3/html), "
                  "rendered by headless Chromium (Debian chromium + chromium-driver, selenium); "
                  "boxes and texts from the DOM. Python documentation (c) Python Software Foundation, PSF License.",
        "window": [width, height],
        "pages": shots,
    }
    (out / "gui_set.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("out/gui_set"))
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=800)
    ap.add_argument("--no-scroll", action="store_true", help="only the top of each page")
    args = ap.parse_args(argv)
    data = build(args.out, args.pages, args.width, args.height, not args.no_scroll)
    n = sum(len(p["elements"]) for p in data["pages"])
    print(f"{len(data['pages'])} screenshots, {n} elements -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
