"""The gallery's data beside the page: cards in small script files, and a compact index inline.

A report of 100,000 records holds ~170 MB of cards; inlined, the browser
parses all of it before showing anything. Instead the cards are written in
display order (highest confidence first) to ``data/<token>/chunk-NNNN.js``,
each a JSONP-style ``window.__gs_chunk(n, [...])`` call, and the page
injects the ``<script>`` of a chunk only when a card of it is on screen.
Script elements load over ``file://``, where ``fetch`` and XHR are refused,
so the report still opens by double-click.

Filters must work across every record without loading them, so the page
carries an index: one decision letter per record, and for each verifier and
each issue code the (gap-encoded) positions it marks. That is a few bytes a
record. ``<token>`` is a hash of the chunks' content: a rebuilt report never
reads a stale chunk from a cache, and an unchanged one keeps its names.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

DECISION_LETTER = {"accept": "a", "abstain": "b", "reject": "r"}


def script_json(value: Any) -> str:
    """JSON that is also safe inside a ``<script>`` element and any JavaScript parser.

    ``<``, ``>`` and ``&`` become ``\\u`` escapes (so ``</script>`` in a
    completion cannot close an element), as do U+2028/U+2029 (line ends to
    older JavaScript parsers). Lone surrogates, which a JSON input can hold
    but UTF-8 cannot, are written as ``\\u`` escapes too.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def is_low(verdict: dict[str, Any]) -> bool:
    """The verifier filter's rule: the verifier failed its gate or scored below 0.5."""
    return verdict["g"] is False or (verdict["s"] is not None and verdict["s"] < 0.5)


def _gaps(positions: list[int]) -> list[int]:
    """Ascending positions as the first one and then the gaps: small numbers, short JSON."""
    out, last = [], 0
    for p in positions:
        out.append(p - last)
        last = p
    return out


def display_order(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Highest confidence first; ties keep the input order (a stable sort)."""
    return sorted(cards, key=lambda c: -c["confidence"])


def build_index(cards: list[dict[str, Any]], verifiers: list[str], codes: list[str]) -> dict[str, Any]:
    """The facets of ``cards`` (already in display order) that the page filters on."""
    low: dict[str, list[int]] = {v: [] for v in verifiers}
    marked: dict[str, list[int]] = {c: [] for c in codes}
    for pos, c in enumerate(cards):
        for v in {v["v"] for v in c["verdicts"] if is_low(v)}:
            low.setdefault(v, []).append(pos)
        for code in c["codes"]:
            marked.setdefault(code, []).append(pos)
    return {
        "n": len(cards),
        "decisions": "".join(DECISION_LETTER.get(c["decision"], "b") for c in cards),
        "verifiers": verifiers,
        "low": [_gaps(low[v]) for v in verifiers],
        "codes": codes,
        "marked": [_gaps(marked[c]) for c in codes],
    }


def write_chunks(cards: list[dict[str, Any]], out_dir: Path, chunk_size: int) -> str:
    """Write the cards as ``data/<token>/chunk-NNNN.js``; returns ``data/<token>``, relative to the page.

    The previous build's ``data/`` is removed first, so a smaller rebuild
    leaves no orphan chunks behind.
    """
    data = out_dir / "data"
    if data.exists():
        shutil.rmtree(data)
    building = data / "building"
    building.mkdir(parents=True)
    digest = hashlib.sha1()
    for n, start in enumerate(range(0, len(cards), chunk_size)):
        body = f"window.__gs_chunk({n},{script_json(cards[start:start + chunk_size])});\n"
        digest.update(body.encode("utf-8"))
        (building / f"chunk-{n:04d}.js").write_text(body, encoding="utf-8")
    token = digest.hexdigest()[:12]
    building.rename(data / token)
    return f"data/{token}"
