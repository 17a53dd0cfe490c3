"""The HTML page: static parts escaped in Python, the gallery rendered by vanilla JS a page at a time.

The page embeds only the index (:mod:`groundscore.report.chunks`) in a
``<script type="application/json">``, written with ``<``, ``>`` and ``&`` as
``\\u`` escapes so nothing in it can close the element. The script filters
on the index, loads the chunks of the cards in view by ``<script>``
injection, and builds every card with ``textContent``: no model-written
string is ever parsed as HTML.
"""

from __future__ import annotations

from html import escape
from typing import Any

from groundscore.report.chunks import script_json

CSS = """
body{font:14px system-ui,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:18px 0 6px}
table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th:first-child,td:first-child{text-align:left}
.plots svg{margin-right:12px;vertical-align:top}
.bar{margin:10px 0;display:flex;gap:10px;flex-wrap:wrap;align-items:center}
.bar button.on{background:#4363d8;color:#fff}
#cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:10px}
.card{border:1px solid #ccc;border-radius:6px;padding:8px;overflow:hidden;min-width:0}
.card.accept{border-left:6px solid #3cb44b}.card.reject{border-left:6px solid #e6194b}.card.abstain{border-left:6px solid #f58231}
.thumb{position:relative;display:inline-block}.thumb svg{position:absolute;left:0;top:0}
.head{font-weight:600}.q{color:#333;margin:4px 0}.clarify{color:#0a5d8f;margin:4px 0;font-style:italic}.think{color:#666;font-size:12px;white-space:pre-wrap;max-height:6em;overflow:auto}
pre.comp{font-size:11px;background:#f4f4f4;white-space:pre-wrap;max-height:8em;overflow:auto;margin:4px 0}
.verdicts{width:100%;table-layout:fixed}.verdicts td{font-size:12px;vertical-align:top;overflow-wrap:anywhere}
.verdicts td:nth-child(1){width:24%}.verdicts td:nth-child(2){width:11%}.verdicts td:nth-child(3){width:17%}
.verdicts td:nth-child(4){text-align:left}.q,.lab,.think,.err{overflow-wrap:anywhere}.note{background:#fff7d6;border:1px solid #e6c84f;padding:6px;margin:8px 0}
.legend span{margin-right:10px}
"""

JS = r"""
(function(){
const IDX = JSON.parse(document.getElementById('gs-index').textContent);
const N = IDX.n, PAGE = IDX.page_size, CHUNK = IDX.chunk_size;
const LETTER = {accept: 'a', abstain: 'b', reject: 'r'};
let filter = {decision:'', verifier:'', code:''}, order = 'desc', page = 0, shown = new Int32Array(0), ticket = 0;
const chunks = new Map(), waiting = new Map(), masks = new Map();
window.__gs_loaded = [];
window.__gs_chunk = (n, cards) => { chunks.set(n, cards); window.__gs_loaded.push(n); const w = waiting.get(n); if (w) { waiting.delete(n); w.ok(); } };
// A chunk is a script file calling __gs_chunk: a script element loads over file://, where fetch and XHR are refused.
function load(n){
  if (chunks.has(n)) return Promise.resolve();
  if (waiting.has(n)) return waiting.get(n).promise;
  const w = {}; w.promise = new Promise((ok, fail) => { w.ok = ok; w.fail = fail; }); waiting.set(n, w);
  const s = document.createElement('script'); s.src = IDX.data + '/chunk-' + String(n).padStart(4, '0') + '.js'; s.dataset.chunk = n;
  s.onerror = () => { waiting.delete(n); s.remove(); w.fail(new Error(s.src)); };
  s.onload = () => s.remove();
  document.head.appendChild(s);
  return w.promise;
}
function forget(keep){ // bound memory on long browsing sessions: drop chunks not on this page
  if (chunks.size <= 64) return;
  for (const n of chunks.keys()) { if (!keep.has(n)) chunks.delete(n); if (chunks.size <= 64) break; }
}
function mask(kind, i){ // the positions a verifier (low) or an issue code marks, as a byte per record
  const key = kind + i; if (masks.has(key)) return masks.get(key);
  const m = new Uint8Array(N); let p = 0; for (const gap of IDX[kind][i]) { p += gap; m[p] = 1; }
  masks.set(key, m); return m;
}
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
  if (c.clarify) d.appendChild(el('div', 'clarify', 'asks which object is meant: ' + c.clarify.q + (c.clarify.c.length ? '  \u00b7 candidates: ' + c.clarify.c.join(' | ') : '')));
  if (c.think) d.appendChild(el('div', 'think', 'think: ' + c.think));
  d.appendChild(el('pre', 'comp', c.completion));
  if (c.error) d.appendChild(el('div', 'err', 'input error: ' + c.error));
  const t = el('table', 'verdicts');
  c.verdicts.forEach(v => { const tr = el('tr'); tr.appendChild(el('td', '', v.v)); tr.appendChild(el('td', '', v.s === null ? '-' : v.s.toFixed(2)));
    tr.appendChild(el('td', '', v.g === false ? 'GATE FAIL' : (v.g ? 'gate ok' : ''))); tr.appendChild(el('td', '', v.c + ': ' + v.r)); t.appendChild(tr); });
  d.appendChild(t);
  return d;
}
function apply(){ // filters read only the index: every record counts, no chunk is loaded
  const letter = LETTER[filter.decision] || '';
  const vm = filter.verifier ? mask('low', IDX.verifiers.indexOf(filter.verifier)) : null;
  const cm = filter.code ? mask('marked', IDX.codes.indexOf(filter.code)) : null;
  const out = new Int32Array(N); let k = 0;
  for (let i = 0; i < N; i++) {
    if ((letter && IDX.decisions[i] !== letter) || (vm && !vm[i]) || (cm && !cm[i])) continue;
    out[k++] = i;
  }
  shown = out.subarray(0, k); if (order === 'asc') shown.reverse();
  page = 0; return render();
}
function render(){
  const mine = ++ticket;
  const pages = Math.max(1, Math.ceil(shown.length / PAGE)); page = Math.max(0, Math.min(page, pages - 1));
  const here = Array.from(shown.subarray(page*PAGE, (page+1)*PAGE));
  const need = new Set(here.map(p => Math.floor(p / CHUNK)));
  const info = document.getElementById('pageinfo'), box = document.getElementById('cards');
  const label = 'page ' + (page+1) + ' of ' + pages + ' \u00b7 ' + shown.length + ' of ' + N + ' samples';
  info.textContent = label + ' \u00b7 loading'; box.setAttribute('aria-busy', 'true');
  return Promise.all(Array.from(need, load)).then(() => {
    if (mine !== ticket) return; // a newer click won
    box.replaceChildren(...here.map(p => cardEl(chunks.get(Math.floor(p / CHUNK))[p % CHUNK])));
    info.textContent = label; box.removeAttribute('aria-busy'); forget(need); window.__gs_rendered = performance.now();
  }, err => {
    if (mine !== ticket) return;
    box.replaceChildren(el('div', 'note', 'could not load ' + err.message + ': open index.html from its folder, with data/ beside it'));
    info.textContent = label; box.removeAttribute('aria-busy');
  });
}
document.querySelectorAll('[data-decision-filter]').forEach(b => b.addEventListener('click', () => {
  filter.decision = b.dataset.decisionFilter;
  document.querySelectorAll('[data-decision-filter]').forEach(x => x.classList.toggle('on', x === b)); apply(); }));
const vsel = document.getElementById('verifier'), csel = document.getElementById('code'), osel = document.getElementById('order');
IDX.verifiers.forEach(v => { const o = el('option', '', v); o.value = v; vsel.appendChild(o); });
IDX.codes.forEach(v => { const o = el('option', '', v); o.value = v; csel.appendChild(o); });
vsel.addEventListener('change', () => { filter.verifier = vsel.value; apply(); });
csel.addEventListener('change', () => { filter.code = csel.value; apply(); });
osel.addEventListener('change', () => { order = osel.value; apply(); });
document.getElementById('prev').addEventListener('click', () => { if (page > 0) { page--; render(); } });
document.getElementById('next').addEventListener('click', () => { if ((page+1)*PAGE < shown.length) { page++; render(); } });
window.__gs_ready = apply();
})();
"""


def _table(rows: list[list[Any]], head: list[str]) -> str:
    out = ["<table><tr>" + "".join(f"<th>{escape(str(h))}</th>" for h in head) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{escape('-' if v is None else str(v))}</td>" for v in r) + "</tr>")
    return "".join(out) + "</table>"


def render_page(title: str, summary_html: str, plots_html: str, counts: dict[str, Any], index: dict[str, Any],
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
<label>confidence <select id="order"><option value="desc">highest first</option><option value="asc">lowest first</option></select></label>
<button id="prev">&larr; prev</button><span id="pageinfo"></span><button id="next">next &rarr;</button></div>
<div id="cards"></div>
<script type="application/json" id="gs-index">{script_json(index)}</script>
<script>{JS}</script>
</body></html>
"""
