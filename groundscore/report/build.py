"""Put a report together: cards from items, thumbnails beside the page, the plots and the page."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from groundscore.report.chunks import build_index, display_order, write_chunks
from groundscore.report.data import card, decision_counts
from groundscore.report.page import render_page
from groundscore.report.svg import reliability_svg, risk_coverage_svg
from groundscore.report.thumbs import image_path, thumbnail

PAGE_SIZE = 60
CHUNK_SIZE = 100
"""Cards a data file holds: ~170 kB of text cards, so a page (60 cards) in view loads one or two."""


def _f(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def _summary(result: Any) -> str:
    rows = [("samples", result.items), ("labelled", result.labelled), ("accuracy", _f(result.accuracy))]
    for name, m in (("raw", result.raw), ("calibrated", result.calibrated)):
        if m is not None:
            rows += [(f"AUROC ({name})", _f(m.auroc)), (f"ECE ({name})", _f(m.ece))]
            rows += [(f"accuracy at {c.coverage:.0%} coverage ({name})", _f(c.accuracy)) for c in m.coverage]
    head = "<h2>Summary</h2><table>" + "".join(f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>" for k, v in rows) + "</table>"
    vrows = "".join(f"<tr><td>{escape(v.name)}</td><td>{v.applied}</td><td>{_f(v.auroc)}</td><td>{_f(v.mean_right)}</td><td>{_f(v.mean_wrong)}</td></tr>"
                    for v in result.verifiers)
    return head + ("<table><tr><th>verifier</th><th>applied</th><th>AUROC</th><th>mean right</th><th>mean wrong</th></tr>" + vrows + "</table>" if vrows else "")


def build_report(items: Any, out_dir: str | Path, *, images: str | Path | None = None, title: str = "groundscore report",
                 result: Any = None, scorer: Any = None, verifiers: Any = None, thumbnails: bool = True,
                 page_size: int = PAGE_SIZE, chunk_size: int = CHUNK_SIZE) -> Path:
    """Write ``out_dir/index.html``, ``out_dir/data/`` and ``out_dir/thumbs/`` for ``items``; returns the page's path.

    The page holds the summary, plots, counts and a compact index of every
    record; the cards themselves go to ``data/`` in files of ``chunk_size``
    (see :mod:`groundscore.report.chunks`), loaded when a page of
    ``page_size`` cards shows them. Open the page from its folder.

    ``result`` is an :class:`~groundscore.scoring.evaluation.EvalResult`; when absent
    and some items are labelled it is computed with :func:`groundscore.scoring.evaluation.evaluate`.
    """
    items = list(items)
    if result is None and any(i.correct is not None for i in items):  # before any folder is made: it may fail
        from groundscore.scoring.evaluation import evaluate

        result = evaluate(items, scorer=scorer, verifiers=verifiers)
    out = Path(out_dir)
    thumbs = out / "thumbs"
    thumbs.mkdir(parents=True, exist_ok=True)
    root = Path(images) if images else None
    cards, missing = [], 0
    for item in items:
        c = card(item)
        path = image_path(item.sample, root) if thumbnails else None
        made = thumbnail(path, thumbs) if path is not None else None
        if made is not None:
            name, size = made
            c["thumb"] = f"thumbs/{name}"
            c["size"] = c["size"] or list(size)
            scale = min(1.0, 320 / max(size))
            c["tw"], c["th"] = max(1, round(size[0] * scale)), max(1, round(size[1] * scale))
        else:
            missing += 1
        cards.append(c)
    summary = _summary(result) if result is not None else f"<h2>Summary</h2><p>{len(items)} samples, none labelled.</p>"
    plots = ""
    if result is not None and result.raw is not None:
        m = result.calibrated or result.raw
        which = "calibrated" if result.calibrated is not None else "raw"
        plots = reliability_svg(m, f"Reliability ({which})") + risk_coverage_svg(m, f"Risk-coverage ({which})")
    counts = decision_counts(cards)
    names = list(counts["verifiers"])
    note = None
    if missing:
        note = (f"{missing} of {len(cards)} samples have no image found: they are shown as text cards. "
                "Point --images DIR at the folder holding their images (paths are looked up under it, then by file name).")
    ordered = display_order(cards)
    index = build_index(ordered, names, list(counts["codes"]))
    index.update(page_size=max(1, page_size), chunk_size=max(1, chunk_size), data=write_chunks(ordered, out, max(1, chunk_size)))
    page = out / "index.html"
    page.write_text(render_page(title, summary, plots, counts, index, note), encoding="utf-8")
    return page
