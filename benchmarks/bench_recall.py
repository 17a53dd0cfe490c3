"""Recall on real logs: is any correct answer not read, or rejected for its shape?

Run from the repository root::

    .venv/bin/python benchmarks/bench_recall.py                 # the table
    .venv/bin/python benchmarks/bench_recall.py --misses        # and every miss, with its issue codes
    .venv/bin/python benchmarks/bench_recall.py --data DIR      # another shared/data folder

For every answer in every log of ``shared/data`` (the 7B and 3B VLM-R1 REC
logs, the ScreenSpot desktop logs, the Qwen2.5-VL cookbook) and in the
collected outputs of other models (``tests/fixtures/formats/real_shapes.json``):

1. an **independent simple reading**, this file's own regex and nothing of
   the library: the first ``[a, b, c, d]`` after the last ``</think>`` (the
   whole text when there is none); for function calls, the first
   ``"coordinate"``-like key followed by two or four numbers;
2. that reading is **correct** when its box has IoU >= 0.5 with the ground
   truth (REC), or when its click (the point, or the box's centre) falls
   inside the target box (GUI);
3. for each correct answer, the **default chain** (the built-in parsers and
   the ``schema`` gate, the part of the chain that rejects for format; the
   other verifiers judge content, not shape) must read the same box or point
   first (within 0.5 px, in the model's coordinates) and not fail the gate.
   Anything else is a **miss**, listed with its issue codes.

Targets: at most 0.1% of correct REC answers and at most 1% of correct GUI
clicks missed, per log family. Next to it, the same measure for the
upstream harness's own reading (``extracted_answer`` in the logs, VLM-R1's
regex) and the agreement of our reading with it where it read a box.

Ground truth: two 3B baseline files (``refcocog`` and ``refcocop``) give it in
0-1000 space; the same 500 questions appear in the same order in the other
3B files of that split, whose pixel ground truth is used instead (checked
question by question). Boxes are compared as the logs compare them, in the
model's resized-input pixels against original pixels, as VLM-R1 scores them.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from shared_data import SHARED_DATA  # noqa: E402

from groundscore.chain import Chain  # noqa: E402
from groundscore.model import Report, Sample  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "formats" / "real_shapes.json"
DOC = ROOT / "docs" / "formats.md"
TABLE = ("<!-- bench_recall:begin -->", "<!-- bench_recall:end -->")
TARGET = {"REC": 0.001, "GUI": 0.01}

_N = r"(-?\d+(?:\.\d+)?)"
SIMPLE_BOX = re.compile(r"\[\s*" + r"\s*,\s*".join([_N] * 4) + r"\s*\]")
SIMPLE_CALL = re.compile(
    r"[\"'](?:coordinate|start_box|box|bbox|point|position)[\"']\s*:\s*[\[\"'(]\s*"
    + _N + r"\s*,\s*" + _N + r"(?:\s*,\s*" + _N + r"\s*,\s*" + _N + r")?"
)


def simple_box(text: str) -> tuple[float, ...] | None:
    """The first ``[a, b, c, d]`` after the last ``</think>`` (or in the whole text): the answer as a person reads it."""
    region = text.rsplit("</think>", 1)[1] if "</think>" in text else text
    m = SIMPLE_BOX.search(region)
    return tuple(float(v) for v in m.groups()) if m else None


def simple_call(text: str) -> tuple[float, ...] | None:
    """The first place of a function call: two numbers (a point) or four (a box)."""
    region = text.rsplit("</think>", 1)[1] if "</think>" in text else text
    m = SIMPLE_CALL.search(region)
    if not m:
        return None
    return tuple(float(v) for v in m.groups() if v is not None)


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Plain area IoU, written here so that the judge shares nothing with the library."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def click_of(place: tuple[float, ...]) -> tuple[float, float]:
    return (place[0], place[1]) if len(place) == 2 else ((place[0] + place[2]) / 2, (place[1] + place[3]) / 2)


def inside(point: tuple[float, float], box: tuple[float, ...]) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def same(a: tuple[float, ...] | None, b: tuple[float, ...] | None, tol: float = 0.5) -> bool:
    return a is not None and b is not None and len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def library_place(report: Report) -> tuple[float, ...] | None:
    """What the chain reads first: the first box, else the first clicking point (original pixels when the size is known)."""
    parsed = report.parsed
    if parsed.boxes:
        return parsed.boxes[0].xyxy
    for p in parsed.points:
        if p.action not in ("drag_end", "scroll"):
            return (p.x, p.y)
    return None


def gate(report: Report) -> tuple[bool, str]:
    for v in report.verdicts:
        if v.verifier == "schema":
            return bool(v.gate), v.code or ""
    return True, ""


@dataclass
class Tally:
    name: str
    kind: str  # REC or GUI
    n: int = 0
    simple_read: int = 0
    correct: int = 0
    missed: int = 0
    upstream_missed: int = 0
    upstream_read: int = 0
    upstream_agree: int = 0
    hedged: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    misses: list[tuple[str, str, list[str], str]] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("n", "simple_read", "correct", "missed", "upstream_missed", "upstream_read", "upstream_agree", "hedged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.codes.update(other.codes)
        self.misses.extend(other.misses)


@dataclass
class Record:
    id: str
    text: str
    truth: tuple[float, ...] | None
    upstream: tuple[float, ...] | None = None  # the harness's own reading, when the log has one
    format: str | None = None
    coords: str | None = "original"
    image_size: tuple[int, int] | None = None  # with coords None: the model wrote Qwen2.5-VL resized pixels


def smart_resize(height: int, width: int, factor: int = 28, min_pixels: int = 3136, max_pixels: int = 12845056) -> tuple[int, int]:
    """Qwen2.5-VL's resize rule, written here from its documentation (not imported from the library)."""
    h, w = max(factor, round(height / factor) * factor), max(factor, round(width / factor) * factor)
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h, w = math.floor(height / beta / factor) * factor, math.floor(width / beta / factor) * factor
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h, w = math.ceil(height * beta / factor) * factor, math.ceil(width * beta / factor) * factor
    return h, w


def to_pixels(place: tuple[float, ...], record: Record) -> tuple[float, ...]:
    """The simple reading in original pixels: scaled back from the resized input when the model wrote in it."""
    if record.coords is not None or record.image_size is None:
        return place
    w, h = record.image_size
    rh, rw = smart_resize(h, w)
    sx, sy = w / rw, h / rh
    return tuple(v * (sx if i % 2 == 0 else sy) for i, v in enumerate(place))


def measure(name: str, kind: str, records: list[Record], chain: Chain) -> Tally:
    tally = Tally(name, kind)
    samples = [Sample(id=r.id, query="the target", completion=r.text, coords=r.coords, format=r.format, image_size=r.image_size)
               for r in records]
    reports = chain.verify(samples)
    for record, report in zip(records, reports, strict=True):
        tally.n += 1
        simple = simple_box(record.text) if kind == "REC" else (simple_call(record.text) or simple_box(record.text))
        simple = to_pixels(simple, record) if simple is not None else None
        ours = library_place(report)
        passed, failure = gate(report)
        if record.upstream is not None and any(record.upstream):
            tally.upstream_read += 1
            tally.upstream_agree += same(ours, record.upstream, 2.0 if record.image_size else 0.5)
        if getattr(report.parsed, "candidates", None):
            tally.hedged += 1
        if simple is None:
            continue
        tally.simple_read += 1
        if record.truth is None:
            ok = True  # no ground truth (the cookbook): every answer a person reads counts
        elif kind == "REC":
            ok = len(simple) == 4 and iou(simple, record.truth) >= 0.5
        else:
            ok = inside(click_of(simple), record.truth)
        if not ok:
            continue
        tally.correct += 1
        if record.upstream is not None and not same(record.upstream, simple, 2.0 if record.image_size else 0.5):
            tally.upstream_missed += 1
        if same(ours, simple, 1.0 if record.image_size else 0.5) and passed:
            continue
        tally.missed += 1
        codes = [i.code for i in report.parsed.issues if i.code not in ("format.detected", "format.declared")]
        why = failure if not passed else ("another box read first" if ours else "nothing read")
        tally.codes[why] += 1
        tally.misses.append((record.id, why, codes, record.text))
    return tally


# -- the logs --------------------------------------------------------------------------
def _box(value: object) -> tuple[float, ...] | None:
    if isinstance(value, list) and len(value) == 4 and all(isinstance(v, int | float) for v in value):
        return tuple(float(v) for v in value)
    return None


def _load(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["results"]


def _pixel_truth(path: Path) -> list[tuple[float, ...] | None] | None:
    """Pixel ground truth for a 3B baseline file that writes it in 0-1000: another file of the same split, same questions."""
    if "_baseline" not in path.name or not any(s in path.name for s in ("refcocog_val", "refcocop_val")):
        return None
    mine = _load(path)
    sibling = path.with_name(path.name.replace("_baseline", "_r1_100"))
    other = _load(sibling)
    if [r["question"] for r in mine] != [r["question"] for r in other]:
        raise SystemExit(f"{sibling.name} does not hold the questions of {path.name} in the same order")
    return [_box(r["ground_truth"]) for r in other]


def log_records(path: Path) -> list[Record]:
    fixed = _pixel_truth(path)
    out = []
    for i, r in enumerate(_load(path)):
        truth = fixed[i] if fixed is not None else _box(r.get("ground_truth"))
        out.append(Record(f"{path.stem}#{i}", str(r.get("model_output") or ""), truth, _box(r.get("extracted_answer"))))
    return out


def cookbook_records(folder: Path) -> list[Record]:
    data = json.loads((folder / "cookbook_outputs_transcribed.json").read_text(encoding="utf-8"))
    return [Record(f"cookbook#{i}", rec["raw_output"], None, coords=None) for i, rec in enumerate(data["records"])
            if "bbox_2d" in rec["raw_output"]]


def fixture_records(path: Path) -> dict[str, list[Record]]:
    """The collected outputs of other models: one group per source family, the truth the fixture states."""
    groups: dict[str, list[Record]] = {}
    for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
        truth = _box(case.get("target")) if case.get("target") else None
        kind = "GUI" if case.get("points") else "REC"
        pred = case.get("harness_pred")
        size = tuple(case["image_size"]) if case.get("image_size") else None
        groups.setdefault(f"{kind}:{case.get('family', 'other models')}", []).append(Record(
            case["id"], case["completion"], truth, tuple(float(v) for v in pred) if pred else None,
            coords=case.get("coords"), image_size=size))  # type: ignore[arg-type]
    return groups


def families(data: Path) -> Iterable[tuple[str, str, list[Path]]]:
    rec7 = sorted(p for p in (data / "vlmr1-rec-logs").glob("*.json") if not p.name.startswith("screenspot"))
    yield "7B REC (VLM-R1 logs)", "REC", rec7
    yield "3B REC (VLM-R1 logs)", "REC", sorted((data / "vlmr1-3b-logs").glob("*.json"))
    yield "ScreenSpot desktop (7B)", "GUI", sorted((data / "vlmr1-rec-logs").glob("screenspot-*.json"))


def pct(a: int, b: int) -> str:
    return f"{a / b:.2%}" if b else "n/a"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    ap.add_argument("--misses", action="store_true", help="print every miss with its issue codes")
    ap.add_argument("--per-file", action="store_true", help="a row per log file too")
    ap.add_argument("--write-docs", action="store_true", help=f"replace the table in {DOC.relative_to(ROOT)}")
    args = ap.parse_args(argv)
    rows = measure_all(args.data, args.per_file)
    table = render(rows)
    print(table)
    if args.write_docs:
        page = DOC.read_text(encoding="utf-8")
        start, end = page.index(TABLE[0]) + len(TABLE[0]), page.index(TABLE[1])
        DOC.write_text(page[:start] + "\n" + table + "\n" + page[end:], encoding="utf-8")
    verdict = all(t.missed / t.correct <= TARGET[t.kind] for t in rows if t.correct)
    print(f"\nall targets {'met' if verdict else 'NOT met'}")
    codes = Counter[str]()
    for t in rows:
        codes.update(t.codes)
    if codes:
        print("misses by reason: " + ", ".join(f"{c} {n}" for c, n in codes.most_common()))
    for t in rows:
        for rid, why, issue_codes, text in t.misses if args.misses else t.misses[:3]:
            print(f"  {rid}: {why}; issues {issue_codes}; ends {text[-160:]!r}")
    return 0


def measure_all(data: Path, per_file: bool = False) -> list[Tally]:
    """Every log family of ``data`` and every collected group, one row each (and one per file with ``per_file``)."""
    chain = Chain({"verifiers": ["schema"]})

    rows: list[Tally] = []
    for name, kind, paths in families(data):
        total = Tally(name, kind)
        for path in paths:
            t = measure(path.stem, kind, log_records(path), chain)
            if per_file:
                rows.append(t)
            total.add(t)
        rows.append(total)
    rows.append(measure("Qwen2.5-VL cookbook (7B, no ground truth)", "REC", cookbook_records(data / "qwen25vl-cookbook"), chain))
    if FIXTURE.exists():
        for group, records in fixture_records(FIXTURE).items():
            kind, _, fam = group.partition(":")
            rows.append(measure(f"{fam} (collected)", kind, records, chain))
    return rows


def render(rows: list[Tally]) -> str:
    """The markdown table of the docs."""
    lines = ["| logs | answers | read by the simple reading | correct (simple reading) | missed by groundscore | "
             "missed by the harness | target | harness agreement | hedges flagged |",
             "|---|---|---|---|---|---|---|---|---|"]
    for t in rows:
        met = t.missed / t.correct <= TARGET[t.kind] if t.correct else True
        harness = pct(t.upstream_missed, t.correct) if t.upstream_read or t.upstream_missed else "n/a"
        agree = f"{pct(t.upstream_agree, t.upstream_read)} of {t.upstream_read}" if t.upstream_read else "n/a"
        lines.append(f"| {t.name} | {t.n} | {t.simple_read} | {t.correct} | {t.missed} ({pct(t.missed, t.correct)}) | "
                     f"{harness} | {TARGET[t.kind]:.1%} {'met' if met else 'NOT met'} | {agree} | {t.hedged} |")
    return "\n".join(lines)

if __name__ == "__main__":
    raise SystemExit(main())
