"""The reliability and risk-coverage plots as inline SVG (no matplotlib needed), from :mod:`groundscore.scoring.evaluation`'s numbers."""

from __future__ import annotations

from html import escape
from typing import Any

W, H, PAD = 300, 240, 36


def _xy(x: float, y: float) -> str:
    return f"{PAD + x * (W - 2 * PAD):.1f},{H - PAD - y * (H - 2 * PAD):.1f}"


def _frame(title: str, xlabel: str, ylabel: str) -> list[str]:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img">',
             f"<title>{escape(title)}</title>",
             f'<rect x="{PAD}" y="{PAD}" width="{W - 2 * PAD}" height="{H - 2 * PAD}" fill="#fafafa" stroke="#999"/>',
             f'<text x="{W / 2}" y="16" text-anchor="middle" font-size="13">{escape(title)}</text>',
             f'<text x="{W / 2}" y="{H - 6}" text-anchor="middle" font-size="11">{escape(xlabel)}</text>',
             f'<text x="10" y="{H / 2}" font-size="11" transform="rotate(-90 10 {H / 2})" text-anchor="middle">{escape(ylabel)}</text>']
    for t in (0, 0.5, 1):
        x, y = _xy(t, 0).split(",")
        parts.append(f'<text x="{x}" y="{float(y) + 13}" text-anchor="middle" font-size="10">{t:g}</text>')
        x, y = _xy(0, t).split(",")
        parts.append(f'<text x="{float(x) - 4}" y="{float(y) + 3}" text-anchor="end" font-size="10">{t:g}</text>')
    return parts


def reliability_svg(metrics: Any, title: str = "Reliability") -> str:
    parts = _frame(title, "confidence", "accuracy")
    parts.append(f'<polyline points="{_xy(0, 0)} {_xy(1, 1)}" stroke="#888" stroke-dasharray="4 3" fill="none"/>')
    for b in metrics.reliability:
        if b.accuracy is None or not b.count:
            continue
        x0, y0 = (float(v) for v in _xy(b.lo, b.accuracy).split(","))
        x1, _ = (float(v) for v in _xy(b.hi, 0).split(","))
        parts.append(f'<rect x="{x0 + 1:.1f}" y="{y0:.1f}" width="{x1 - x0 - 2:.1f}" height="{H - PAD - y0:.1f}" '
                     f'fill="#4363d8" opacity="0.75"><title>{b.count} samples, accuracy {b.accuracy:.2f}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def risk_coverage_svg(metrics: Any, title: str = "Risk-coverage") -> str:
    parts = _frame(title, "coverage", "risk (error rate)")
    pts = " ".join(_xy(c, r) for _, c, r in metrics.risk_coverage)
    if pts:
        parts.append(f'<polyline points="{pts}" stroke="#e6194b" stroke-width="2" fill="none"/>')
    parts.append("</svg>")
    return "".join(parts)
