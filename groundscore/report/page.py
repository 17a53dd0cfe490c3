"""The HTML page: static parts escaped in Python, the gallery rendered by vanilla JS from an embedded JSON blob.

The JSON is embedded in a ``<script type="application/json">`` with ``<``,
``>`` and ``&`` written as ``\\u`` escapes, so ``</script>`` in a completion
cannot close the element; the JS builds every card with ``textContent``.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any


def embed_json(value: Any) -> str:
    """JSON safe inside a ``<script>`` element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


CSS = """
body{font:14px system-ui,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:18px 0 6px}
table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th:first-child,td:first-child{text-align:left}
.plots svg{margin-right:12px;vertical-align:top}
.bar{margin:10px 0;display:flex;gap:10px;flex-wrap:wrap;align-items:center}
.bar button.on{background:#4363d8;color:#fff}
#cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:10px}
.card{border:1px solid #ccc;border-radius:6px;padding:8px;overflow:hidden}
.card.accept{border-left:6px solid #3cb44b}.card.reject{border-left:6px solid #e6194b}.card.abstain{border-left:6px solid #f58231}
.thumb{position:relative;display:inline-block}.thumb svg{position:absolute;left:0;top:0}
.head{font-weight:600}.q{color:#333;margin:4px 0}.think{color:#666;font-size:12px;white-space:pre-wrap;max-height:6em;overflow:auto}
pre.comp{font-size:11px;background:#f4f4f4;white-space:pre-wrap;max-height:8em;overflow:auto;margin:4px 0}
.verdicts td{font-size:12px}.note{background:#fff7d6;border:1px solid #e6c84f;padding:6px;margin:8px 0}
.legend span{margin-right:10px}
"""

JS = r"""
(function(){
const DATA = JSON.parse(document.getElementById('gs-data').textContent);
const cards = DATA.cards.slice().sort((a,b)=>b.confidence-a.confidence);
const PAGE = DATA.page_size;
let filter = {decision:'', verifier:'', code:''}, page = 0, shown = cards;
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined && text !== null) e.textContent = String(text); return e; };
const SVGNS = 'http://www.w3.org/2000/svg';
function overlay(c, w, h){
  const s = document.createElementNS(SVGNS, 'svg'); s.setAttribute('width', w); s.setAttribute('height', h);
  const sx = w / c.size[0], sy = h / c.size[1];
  const rect = (b, colour, dash) => { const r = document.createElementNS(SVGNS, 'rect');
    r.setAttribute('x', b[0]*sx); r.setAttribute('y', b[1]*sy); r.setAttribute('width', Math.max(1,(b[2]-b[0])*sx)); r.setAttribute('height', Math.max(1,(b[3]-b[1])*sy));
    r.setAttribute('fill', 'none'); r.setAttribute('stroke', colour); r.setAttribute('stroke-width', 2); if (dash) r.setAttribute('stroke-dasharray', dash); s.appendChild(r); };
  c.truth.forEach(b => { if (b.length === 4) rect(b, '#3cb44b', '5 3'); });
  if (c.consensus) rect(c.consensus, '#911eb4', '2 2');
  c.boxes.forEach(b => rect(b, '#e6194b'));
  c.points.forEach(p => { const ci = document.createElementNS(SVGNS, 'circle'); ci.setAttribute('cx', p[0]*sx); ci.setAttribute('cy', p[1]*sy); ci.setAttribute('r', 5);
    ci.setAttribute('fill', '#e6194b'); ci.setAttribute('stroke', '#fff'); ci.setAttribute('stroke-width', 2); s.appendChild(ci); });
  return s;
}
function cardEl(c){
  const d = el('div', 'card ' + c.decision); d.dataset.decision = c.decision;
  const right = c.correct === null ? '' : (c.correct ? '  right' : '  wrong');
  d.appendChild(el('div', 'head', c.decision.toUpperCase() + '  ' + c.confidence.toFixed(2) + right + '  \u00b7 ' + c.id));
  if (c.thumb && c.size){
    const wrap = el('div', 'thumb'); const img = el('img'); img.loading = 'lazy'; img.src = c.thumb;
    const w = c.tw, h = c.th; img.width = w; img.height = h; img.alt = c.id; wrap.appendChild(img); wrap.appendChild(overlay(c, w, h)); d.appendChild(wrap);
  } else {
    d.appendChild(el('div', 'noimg', 'no image' + (c.boxes.length ? ': boxes ' + JSON.stringify(c.boxes.slice(0,3)) : '') + (c.points.length ? ': points ' + JSON.stringify(c.points.slice(0,3)) : '')));
  }
  d.appendChild(el('div', 'q', 'Q: ' + c.query));
  if (c.labels.length) d.appendChild(el('div', 'lab', 'label: ' + c.labels.join(', ')));
  if (c.think) d.appendChild(el('div', 'think', 'think: ' + c.think));
  d.appendChild(el('pre', 'comp', c.completion));
  if (c.error) d.appendChild(el('div', 'err', 'input error: ' + c.error));
  const t = el('table', 'verdicts');
  c.verdicts.forEach(v => { const tr = el('tr'); tr.appendChild(el('td', '', v.v)); tr.appendChild(el('td', '', v.s === null ? '-' : v.s.toFixed(2)));
    tr.appendChild(el('td', '', v.g === false ? 'GATE FAIL' : (v.g ? 'gate ok' : ''))); tr.appendChild(el('td', '', v.c + ': ' + v.r)); t.appendChild(tr); });
  d.appendChild(t);
  return d;
}
function apply(){
  shown = cards.filter(c => (!filter.decision || c.decision === filter.decision)
    && (!filter.code || c.codes.includes(filter.code))
    && (!filter.verifier || c.verdicts.some(v => v.v === filter.verifier && (v.g === false || (v.s !== null && v.s < 0.5)))));
  page = 0; render();
}
function render(){
  const box = document.getElementById('cards'); box.replaceChildren();
  const pages = Math.max(1, Math.ceil(shown.length / PAGE)); page = Math.min(page, pages - 1);
  shown.slice(page*PAGE, (page+1)*PAGE).forEach(c => box.appendChild(cardEl(c)));
  document.getElementById('pageinfo').textContent = 'page ' + (page+1) + ' of ' + pages + ' \u00b7 ' + shown.length + ' of ' + cards.length + ' samples';
}
document.querySelectorAll('[data-decision-filter]').forEach(b => b.addEventListener('click', () => {
  filter.decision = b.dataset.decisionFilter;
  document.querySelectorAll('[data-decision-filter]').forEach(x => x.classList.toggle('on', x === b)); apply(); }));
const vsel = document.getElementById('verifier'), csel = document.getElementById('code');
DATA.verifiers.forEach(v => { const o = el('option', '', v); o.value = v; vsel.appendChild(o); });
DATA.codes.forEach(v => { const o = el('option', '', v); o.value = v; csel.appendChild(o); });
vsel.addEventListener('change', () => { filter.verifier = vsel.value; apply(); });
csel.addEventListener('change', () => { filter.code = csel.value; apply(); });
document.getElementById('prev').addEventListener('click', () => { if (page > 0) { page--; render(); } });
document.getElementById('next').addEventListener('click', () => { page++; render(); });
apply();
})();
"""


def _table(rows: list[list[Any]], head: list[str]) -> str:
    out = ["<table><tr>" + "".join(f"<th>{escape(str(h))}</th>" for h in head) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{escape('-' if v is None else str(v))}</td>" for v in r) + "</tr>")
    return "".join(out) + "</table>"


def render_page(title: str, summary_html: str, plots_html: str, counts: dict[str, Any], payload: dict[str, Any],
                note: str | None) -> str:
    """The whole page as a string; every argument except the two ``_html`` ones (built escaped) is escaped here."""
    dec = counts["decisions"]
    dec_table = _table([[k, dec.get(k, 0)] for k in ("accept", "abstain", "reject")], ["decision", "samples"])
    ver_table = _table([[k, v.get("scored", 0), v.get("skipped", 0), v.get("gate failed", 0)] for k, v in counts["verifiers"].items()],
                       ["verifier", "scored", "skipped", "gate failed"])
    code_table = _table([[k, v.get("accept", 0), v.get("abstain", 0), v.get("reject", 0)] for k, v in list(counts["codes"].items())[:40]],
                        ["issue code", "accept", "abstain", "reject"])
    note_html = f'<div class="note" id="images-note">{escape(note)}</div>' if note else ""
    buttons = "".join(f'<button data-decision-filter="{d}"{" class=on" if not d else ""}>{label}</button>'
                      for d, label in (("", "all"), ("accept", "accepted"), ("abstain", "abstained"), ("reject", "rejected")))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{escape(title)}</title><style>{CSS}</style></head>
<body>
<h1>{escape(title)}</h1>
{summary_html}
<div class="plots">{plots_html}</div>
<h2>Decisions</h2><div style="display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start">{dec_table}{ver_table}{code_table}</div>
<h2>Samples</h2>{note_html}
<div class="legend"><span style="color:#e6194b">&#9632; answer</span><span style="color:#3cb44b">&#9632; ground truth (dashed)</span><span style="color:#911eb4">&#9632; group consensus (dotted)</span></div>
<div class="bar">{buttons}
<label>verifier low or gate failed <select id="verifier"><option value="">any</option></select></label>
<label>issue code <select id="code"><option value="">any</option></select></label>
<button id="prev">&larr; prev</button><span id="pageinfo"></span><button id="next">next &rarr;</button></div>
<div id="cards"></div>
<script type="application/json" id="gs-data">{embed_json(payload)}</script>
<script>{JS}</script>
</body></html>
"""
