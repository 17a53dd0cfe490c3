"""Accuracy and speed of the language verifiers (label_match, consistency, spatial) on real logs.

Run from the repository root (needs the ``[nlp,eval]`` extras and ../shared/data)::

    python benchmarks/bench_language.py                 # everything
    python benchmarks/bench_language.py --only speed    # one section: real, subst_a, subst_b, pairs, seed, spatial, speed

Sections (each prints its numbers; nothing here is hard-coded):

real     false alarms of label_match and consistency on the real labels of every
         REC log (labels copy, paraphrase, re-tokenise or truncate the query).
subst_a  label substitution (a): the label replaced by a noun phrase that the
         completion's own thinking mentions and that is not the target.
subst_b  label substitution (b): the label replaced by another record's
         expression on the same image (another object, GT IoU < 0.3), split into
         another category vs same category (differing by attribute/position).
pairs    the same-object vs different-object pair test of the data README.
seed     the seed hallucination (metal pole -> "man wearing blue shirt and shorts").
spatial  the spatial verifier on the cookbook outputs (real image sizes) and on
         RefCOCO ground-truth boxes with a proxy image size.
speed    label_match + consistency over the grpo-ckpt1000 logs, against a naive
         version (one nlp() call per text, full pipeline, no cache) in the same run.

AUROC and recall at 1% false alarms use the combined score of label_match and
consistency (the product of their scores, None counting as 1), next to a
token-Jaccard baseline (query vs label).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("GROUNDSCORE_DATA", ROOT.parent / "shared" / "data"))
LOGS = DATA / "vlmr1-rec-logs"

from groundscore.inputs import vlm_r1_record_to_sample  # noqa: E402
from groundscore.model import Sample, box_iou  # noqa: E402
from groundscore.parse import parse_completion  # noqa: E402
from groundscore.plugins.manager import get_registry  # noqa: E402
from groundscore.verifiers.base import Context  # noqa: E402

_WORD = re.compile(r"[a-z0-9]+")


# -- helpers -------------------------------------------------------------------
def load(pattern: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(LOGS.glob(pattern)):
        for rec in json.loads(path.read_text())["results"]:
            out.append((path.stem, rec))
    return out


def contexts_for(samples: list[Sample]) -> list[Context]:
    parsers = get_registry().parsers
    return [Context(sample=s, parsed=parse_completion(s, parsers, s.image_size), image_size=s.image_size, index=i) for i, s in enumerate(samples)]


def verifiers() -> tuple[Any, Any]:
    from groundscore.verifiers.consistency import ConsistencyVerifier
    from groundscore.verifiers.label_match import LabelMatchVerifier

    return LabelMatchVerifier(), ConsistencyVerifier()


def run(lm: Any, cons: Any, ctxs: list[Context], batch: int = 64) -> list[tuple[Any, Any]]:
    out = []
    for i in range(0, len(ctxs), batch):
        part = ctxs[i : i + batch]
        out.extend(zip(lm.verify_batch(part), cons.verify_batch(part), strict=True))
    return out


def combined(v: tuple[Any, Any]) -> float:
    """Product of the two verdicts' scores (None counts as 1): a failed gate already scores <= 0.1."""
    s = 1.0
    for verdict in v:
        if verdict.score is not None:
            s *= verdict.score
    return s


def jaccard(a: str, b: str) -> float:
    x, y = set(_WORD.findall(a.lower())), set(_WORD.findall(b.lower()))
    return len(x & y) / len(x | y) if x | y else 1.0


def auroc(neg: list[float], pos: list[float]) -> float:
    """P(score of a real label > score of a substituted one); ties count half. Low score = flagged."""
    from sklearn.metrics import roc_auc_score

    if not neg or not pos:
        return float("nan")
    y = [0] * len(neg) + [1] * len(pos)
    return float(roc_auc_score(y, [-s for s in neg] + [-s for s in pos]))


def recall_at(neg: list[float], pos: list[float], fa: float = 0.01) -> tuple[float, float]:
    """Best recall of 'score < t' with at most ``fa`` of the real labels below t; returns (recall, t)."""
    best = (0.0, 0.0)
    for t in sorted(set(neg) | set(pos) | {1.0 + 1e-9}):
        false_alarm = sum(s < t for s in neg) / len(neg)
        if false_alarm <= fa:
            r = sum(s < t for s in pos) / len(pos)
            if r >= best[0]:
                best = (r, t)
    return best


def swap_label(completion: str, old: str, new: str) -> str:
    """The completion with every ``"label": "<old>"`` replaced by ``new``."""
    new_json = json.dumps(new)[1:-1]
    return re.sub(r'("label"\s*:\s*")' + re.escape(json.dumps(old)[1:-1]) + '"', lambda m: m.group(1) + new_json + '"', completion)


def table(rows: list[tuple], header: tuple) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print("  " + "  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)))
    for r in rows:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))


def fmt(x: float) -> str:
    return f"{x:.3f}"


# -- sections ------------------------------------------------------------------
def section_real(args: argparse.Namespace) -> None:
    print("\n== real labels: false alarms on every REC log ==")
    lm, cons = verifiers()
    rows = []
    total = [0, 0, 0, 0]
    examples: list[str] = []
    for path in sorted(LOGS.glob("*.json")):
        recs = json.loads(path.read_text())["results"][: args.limit]
        samples = [vlm_r1_record_to_sample(r, f"{path.stem}:{i}") for i, r in enumerate(recs)]
        ctxs = contexts_for(samples)
        res = run(lm, cons, ctxs)
        labelled = [(c, v) for c, v in zip(ctxs, res, strict=True) if v[0].score is not None]
        lm_fa = [x for x in labelled if x[1][0].gate is False or (x[1][0].score or 0) < 0.5]
        cons_applicable = [x for x in labelled if x[1][1].score is not None]
        cons_fa = [x for x in cons_applicable if x[1][1].gate is False or (x[1][1].score or 0) < 0.5]
        both = [x for x in labelled if combined(x[1]) < 0.5]
        rows.append((path.stem, len(labelled), f"{len(lm_fa) / max(1, len(labelled)):.2%}", f"{len(cons_fa) / max(1, len(cons_applicable)):.2%} of {len(cons_applicable)}", f"{len(both) / max(1, len(labelled)):.2%}"))
        total[0] += len(labelled)
        total[1] += len(lm_fa)
        total[2] += len(both)
        total[3] += len(cons_fa)
        for c, v in (lm_fa + cons_fa)[:3]:
            bad = v[0] if v[0].gate is False or (v[0].score or 0) < 0.5 else v[1]
            examples.append(f"{path.stem}: query={c.sample.query!r} labels={c.parsed.labels[:2]} -> {bad.verifier}: {bad.reason}")
    table(rows, ("log", "labelled", "label_match flags", "consistency flags", "combined < 0.5"))
    print(f"  ALL: {total[0]} labelled completions; label_match flags {total[1] / max(1, total[0]):.2%}; combined flags {total[2] / max(1, total[0]):.2%}")
    print("  examples of flags (read them: some are real hallucinations):")
    for e in examples[: args.examples]:
        print("   -", e)


_META = frozenset(
    "image picture photo sentence phrase instruction description task box bounding coordinate coordinates region area side part "
    "frame left right top bottom center centre middle front back background foreground view scene position one object item thing "
    "question answer target reference viewer perspective location corner edge direction way rest set focus subject individual "
    "someone something anything detail other others end half shape color colour size number lot kind type portion piece section "
    "person people figure child kid man woman guy lady boy girl".split()
)


def _nonTarget_phrases(nlp: Any, think: str, query: str) -> list[str]:
    """Noun phrases of the thinking that are not the target (see module docstring)."""
    qwords = {w for w in _WORD.findall(query.lower())}
    unquoted = re.sub(r"\"[^\"]*\"|“[^”]*”", " ", think)
    doc = nlp(unquoted)
    out = []
    for chunk in doc.noun_chunks:
        root = chunk.root
        if root.pos_ != "NOUN" or root.lemma_.lower() in _META or root.text.lower() in _META:
            continue
        words = {w for w in _WORD.findall(chunk.text.lower())}
        if words & qwords:
            continue  # may restate the target
        if root.head.lemma_ in {"wear", "in", "with", "of", "dress", "have", "hold"} or any(t.dep_ == "poss" for t in chunk):
            continue  # clothing, parts and belongings of someone: attributes, not other objects
        if root.dep_ in {"attr", "appos"} or root.head.lemma_ in {"refer", "be", "identify", "describe", "to"}:
            continue  # "refers to X", "X is the target": the designated target itself
        text = chunk.text.strip()
        text = re.sub(r"^(?:the|a|an|this|that|these|those)\s+", "", text, flags=re.IGNORECASE)
        if 2 <= len(text) <= 60:
            out.append(text)
    return out


def section_subst_a(args: argparse.Namespace) -> None:
    print("\n== substitution (a): label replaced by a non-target noun phrase of the thinking ==")
    from groundscore.nlp.loader import load_spacy

    nlp = load_spacy(full=True)
    rng = random.Random(0)
    lm, cons = verifiers()
    recs = [r for r in load("grpo-ckpt1000_*.json") + load("original-model_ref*.json") if "<think>" in (r[1].get("model_output") or "")]
    rng.shuffle(recs)
    recs = recs[: args.subst]
    orig_s, sub_s, pairs = [], [], []
    for stem, rec in recs:
        s = vlm_r1_record_to_sample(rec, stem)
        ctx = contexts_for([s])[0]
        labels = ctx.parsed.labels
        if len(labels) != 1 or not ctx.parsed.think:
            continue
        phrases = _nonTarget_phrases(nlp, ctx.parsed.think, s.query)
        if not phrases:
            continue
        new = rng.choice(phrases)
        s2 = s.model_copy(update={"completion": swap_label(s.completion, labels[0], new)})
        orig_s.append(s)
        sub_s.append(s2)
        pairs.append((s.query, labels[0], new))
    o_ctx, n_ctx = contexts_for(orig_s), contexts_for(sub_s)
    o_res, n_res = run(lm, cons, o_ctx), run(lm, cons, n_ctx)
    neg = [combined(v) for v in o_res]
    pos = [combined(v) for v in n_res]
    neg_j = [jaccard(s.query, lab) for s, (_, lab, _) in zip(orig_s, pairs, strict=True)]
    pos_j = [jaccard(s.query, new) for s, (_, _, new) in zip(orig_s, pairs, strict=True)]
    lm_only_neg = [v[0].score if v[0].score is not None else 1.0 for v in o_res]
    lm_only_pos = [v[0].score if v[0].score is not None else 1.0 for v in n_res]
    r, t = recall_at(neg, pos)
    rj, tj = recall_at(neg_j, pos_j)
    rl, tl = recall_at(lm_only_neg, lm_only_pos)
    def at_half(n: list[float], p: list[float]) -> str:
        return f"{sum(x < 0.5 for x in p) / len(p):.3f} / {sum(x < 0.5 for x in n) / len(n):.3f}"

    table([
        ("label_match + consistency", len(pos), fmt(auroc(neg, pos)), fmt(r), f"< {t:.3f}", at_half(neg, pos)),
        ("label_match alone", len(pos), fmt(auroc(lm_only_neg, lm_only_pos)), fmt(rl), f"< {tl:.3f}", at_half(lm_only_neg, lm_only_pos)),
        ("token Jaccard (baseline)", len(pos), fmt(auroc(neg_j, pos_j)), fmt(rj), f"< {tj:.3f}", at_half(neg_j, pos_j)),
    ], ("method", "n", "AUROC", "recall@1%FA", "flag when score", "recall / FA at score < 0.5"))
    flagged_real = sum(s < 0.5 for s in neg) / max(1, len(neg))
    print(f"  real completions scored < 0.5 by the pair: {flagged_real:.1%} (mostly consistency's absent_but_boxed; see 'real')")
    missed = [(p, v) for p, v, sc in zip(pairs, n_res, pos, strict=True) if sc >= t]
    print(f"  missed at the 1%-FA threshold: {len(missed)}; examples (query | substituted label | label_match relation):")
    for (q, _, new), v in missed[: args.examples]:
        rel = v[0].details.get("labels", [{}])[0].get("relation") if v[0].details.get("labels") else None
        print(f"   - {q!r} | {new!r} | {rel}")


def _groups(files: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    by_image: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for stem, rec in load(files):
        by_image[(stem, rec["image"])].append(rec)
    return by_image


def section_subst_b(args: argparse.Namespace) -> None:
    print("\n== substitution (b): label replaced by another record's expression on the same image (GT IoU < 0.3) ==")
    from groundscore.inputs.prompts import referring_expression
    from groundscore.nlp.analyzer import default_analyzer
    from groundscore.nlp.lexicon import default_lexicon

    rng = random.Random(1)
    lm, cons = verifiers()
    analyzer, lexicon = default_analyzer(), default_lexicon()
    orig_s, sub_s, meta = [], [], []
    for (stem, _), recs in _groups("grpo-ckpt1000_*.json").items():
        for r in recs:
            others = [o for o in recs if o is not r and box_iou(o["ground_truth"], r["ground_truth"]) < 0.3]
            if not others:
                continue
            o = rng.choice(others)
            s = vlm_r1_record_to_sample(r, stem)
            ctx = contexts_for([s])[0]
            if len(ctx.parsed.labels) != 1:
                continue
            new = referring_expression(o["question"])
            if new.strip().lower() == s.query.strip().lower():
                continue
            qa, na = analyzer.analyze([s.query, new])
            rel = lexicon.relation(qa.head, na.head)
            if rel in {"different", "sibling", "gender"}:
                split = "another category"
            elif rel in {"same", "hypernym"}:
                split = "same category, comparable" if _comparable(qa, na) else "same category, other"
            else:
                split = "head unknown/none"
            orig_s.append(s)
            sub_s.append(s.model_copy(update={"completion": swap_label(s.completion, ctx.parsed.labels[0], new)}))
            meta.append((split, s.query, ctx.parsed.labels[0], new))
    if args.subst and len(orig_s) > args.subst:
        idx = sorted(rng.sample(range(len(orig_s)), args.subst))
        orig_s, sub_s, meta = [orig_s[i] for i in idx], [sub_s[i] for i in idx], [meta[i] for i in idx]
    o_res, n_res = run(lm, cons, contexts_for(orig_s)), run(lm, cons, contexts_for(sub_s))
    neg = [combined(v) for v in o_res]
    neg_j = [jaccard(m[1], m[2]) for m in meta]
    rows = []
    for split in ("another category", "same category", "same category, comparable", "same category, other", "head unknown/none", "all"):
        ix = [i for i, m in enumerate(meta) if split == "all" or m[0] == split or (split == "same category" and m[0].startswith("same category"))]
        if not ix:
            continue
        pos = [combined(n_res[i]) for i in ix]
        pos_j = [jaccard(meta[i][1], meta[i][3]) for i in ix]
        r, t = recall_at(neg, pos)
        rj, _ = recall_at(neg_j, pos_j)
        half = sum(x < 0.5 for x in pos) / len(pos)
        rows.append((split, len(ix), fmt(auroc(neg, pos)), fmt(r), f"< {t:.3f}", fmt(half), fmt(auroc(neg_j, pos_j)), fmt(rj)))
    table(rows, ("substitution", "n", "AUROC", "recall@1%FA", "flag when score", "recall at < 0.5", "Jaccard AUROC", "Jaccard recall@1%FA"))
    print(f"  false alarms at < 0.5 on the negatives: {sum(x < 0.5 for x in neg) / len(neg):.3f}")
    print(f"  negatives: the {len(neg)} real completions (labels as the model wrote them)")
    print("  split by the lexicon relation of the two head nouns (same/hypernym = same category); 'comparable':")
    print("  both expressions state something on one dimension (a side, height, depth, ordinal, or a colour/size of one noun).")
    same = [(m, n_res[i]) for i, m in enumerate(meta) if m[0].startswith("same category") and combined(n_res[i]) >= 0.5]
    print("  same-category substitutions not caught, examples (query -> substituted):")
    for m, _ in same[: args.examples]:
        print(f"   - {m[1]!r} -> {m[3]!r}")


def _comparable(a: Any, b: Any) -> bool:
    """Both expressions say something on one dimension, so a difference there is checkable."""
    pa, pb = a.positions, b.positions
    if any(pa.on(ax) and pb.on(ax) for ax in ("x", "y", "z")) or (pa.on("c") and pb.on("x")) or (pa.on("x") and pb.on("c")):
        return True
    if pa.ordinal and pb.ordinal:
        return True
    if {r for _, _, r in pa.anchored} & {r for _, _, r in pb.anchored}:
        return True
    if set(a.colors) & set(b.colors) or set(a.sizes) & set(b.sizes):
        return True
    return bool((a.with_nouns | a.without_nouns) & (b.with_nouns | b.without_nouns))


def section_pairs(args: argparse.Namespace) -> None:
    print("\n== same-object vs different-object expression pairs (data README test) ==")
    from groundscore.inputs.prompts import referring_expression
    from groundscore.nlp.analyzer import default_analyzer
    from groundscore.nlp.compare import compare
    from groundscore.nlp.lexicon import default_lexicon

    analyzer, lexicon = default_analyzer(), default_lexicon()
    rows = []
    for name in ("refcoco", "refcocop", "refcocog"):
        same, diff = [], []
        for recs in _groups(f"instruct-baseline_{name}_val.json").values():
            for i in range(len(recs)):
                for j in range(i + 1, len(recs)):
                    a, b = recs[i], recs[j]
                    iou = box_iou(a["ground_truth"], b["ground_truth"])
                    qa, qb = referring_expression(a["question"]), referring_expression(b["question"])
                    if qa.strip().lower() == qb.strip().lower():
                        continue
                    if iou > 0.9:
                        same.append((qa, qb))
                    elif iou < 0.3:
                        diff.append((qa, qb))
        def scores(pairs: list[tuple[str, str]]) -> list[float]:
            ex = analyzer.analyze([t for p in pairs for t in p])
            return [compare(ex[2 * k], ex[2 * k + 1], lexicon).score for k in range(len(pairs))]
        s_same, s_diff = scores(same), scores(diff)
        j_same, j_diff = [jaccard(*p) for p in same], [jaccard(*p) for p in diff]
        flagged_same = sum(s < 0.5 for s in s_same) / max(1, len(s_same))
        flagged_diff = sum(s < 0.5 for s in s_diff) / max(1, len(s_diff))
        rows.append((name, len(same), len(diff), fmt(auroc(s_same, s_diff)), fmt(auroc(j_same, j_diff)), f"{flagged_same:.1%}", f"{flagged_diff:.1%}"))
    table(rows, ("split", "same pairs", "diff pairs", "AUROC label_match", "AUROC Jaccard", "same flagged", "diff flagged"))
    print("  'flagged' = label_match score < 0.5 (a contradiction). A different-object pair that does not")
    print("  contradict ('man in white shirt' / 'guy on phone') cannot be flagged from text alone.")


SEED_THINK = (
    "The image shows a street scene with a tall metal pole on the left side of the sidewalk. "
    "A man wearing a blue shirt and shorts is standing next to the pole, and a red car is parked behind him. "
    "The instruction asks for the metal pole."
)


def seed_completion(label: str) -> str:
    return f'<think>{SEED_THINK}</think><answer>```json\n[{{"bbox_2d": [368, 1, 475, 330], "label": "{label}"}}]\n```</answer>'


def section_seed(args: argparse.Namespace) -> None:
    print("\n== seed example ==")
    from groundscore.chain import Chain

    chain = Chain({"verifiers": ["schema", "label_match", "consistency", "spatial"]})
    for label in ("man wearing blue shirt and shorts", "metal pole"):
        r = chain.verify_one(Sample(query="the metal pole", completion=seed_completion(label), image_size=(640, 480)))
        print(f"  label {label!r}: decision={r.decision} confidence={r.confidence:.2f}")
        for v in r.verdicts:
            print(f"    {v.verifier}: score={v.score} gate={v.gate} {v.reason}")


def section_spatial(args: argparse.Namespace) -> None:
    print("\n== spatial ==")
    from groundscore.chain import Chain

    chain = Chain({"verifiers": ["spatial"]})
    cook = json.loads((DATA / "qwen25vl-cookbook" / "cookbook_outputs_transcribed.json").read_text())["records"]
    print("  cookbook outputs (real image sizes):")
    for rec in cook:
        r = chain.verify_one(Sample(query=rec["prompt"], completion=rec["raw_output"], image_size=tuple(rec["image_size"])))
        v = r.verdict("spatial")
        print(f"    {rec['prompt'][:60]!r}: score={v.score} ({v.code})")
    # RefCOCO: the logs hold no image sizes. Proxy: the image is at least as large as the union of all
    # ground-truth boxes on it; ground-truth boxes are right by definition, so flags on them are false alarms.
    from groundscore.verifiers.spatial import SpatialVerifier

    sv = SpatialVerifier()
    files = "instruct-baseline_ref*.json"
    for proxy in ("union of GT boxes", "COCO long side 640"):
        gt_scores, wrong_scores, n_terms = [], [], 0
        for (stem, _), recs in _groups(files).items():
            w = max(r["ground_truth"][2] for r in recs)
            h = max(r["ground_truth"][3] for r in recs)
            if proxy == "COCO long side 640":  # COCO images are at most 640 px on their long side
                w, h = (max(w, 640.0), h) if w >= h else (w, max(h, 640.0))
            size = (max(1, round(w)), max(1, round(h)))
            for r in recs:
                s = vlm_r1_record_to_sample(r, stem).model_copy(update={"image_size": size})
                gt = r["ground_truth"]
                gt_comp = json.dumps([{"bbox_2d": gt, "label": s.query}])
                ctx_gt = contexts_for([s.model_copy(update={"completion": gt_comp})])[0]
                v = sv.verify(ctx_gt)
                if v.score is None:
                    continue
                n_terms += 1
                gt_scores.append(v.score)
                ctx = contexts_for([s])[0]
                if ctx.parsed.boxes and box_iou(ctx.parsed.boxes[0].xyxy, gt) < 0.1:
                    vp = sv.verify(ctx)
                    if vp.score is not None:
                        wrong_scores.append(vp.score)
        print(f"  RefCOCO-family ({files}), image size proxied by: {proxy}")
        print(f"    expressions with an absolute position word: {n_terms}")
        print(f"    ground-truth boxes flagged (score < 0.5, false alarms): {sum(s < 0.5 for s in gt_scores) / max(1, len(gt_scores)):.2%}")
        print(f"    predictions with IoU < 0.1 to GT flagged (score < 0.5): {sum(s < 0.5 for s in wrong_scores) / max(1, len(wrong_scores)):.2%} of {len(wrong_scores)}")
        if gt_scores and wrong_scores:
            print(f"    AUROC (GT boxes vs IoU<0.1 predictions): {auroc(gt_scores, wrong_scores):.3f}")


def section_speed(args: argparse.Namespace) -> None:
    print("\n== speed: label_match + consistency over the grpo-ckpt1000 logs ==")
    from groundscore.nlp import analyzer as an
    from groundscore.nlp.compare import compare
    from groundscore.nlp.expression import extract
    from groundscore.nlp.lexicon import default_lexicon
    from groundscore.nlp.loader import load_spacy
    from groundscore.nlp.thinking import designations

    recs = load("grpo-ckpt1000_*.json")
    samples = [vlm_r1_record_to_sample(r, stem) for stem, r in recs]
    ctxs = contexts_for(samples)
    load_spacy()
    full = load_spacy(full=True)
    lexicon = default_lexicon()
    lm, cons = verifiers()

    # ours: batched, unique texts piped once, tagger only, LRU cache (cold at start)
    an._default = an.ExpressionAnalyzer()
    fresh = [Context(sample=c.sample, parsed=c.parsed, index=c.index) for c in ctxs]
    t0 = time.perf_counter()
    run(lm, cons, fresh, batch=args.batch)
    ours = len(fresh) / (time.perf_counter() - t0)

    # the same completions again, as the next GRPO step would see repeated queries (warm cache)
    fresh = [Context(sample=c.sample, parsed=c.parsed, index=c.index) for c in ctxs]
    t0 = time.perf_counter()
    run(lm, cons, fresh, batch=args.batch)
    warm = len(fresh) / (time.perf_counter() - t0)

    # naive: one nlp() call per text (query, each label, the whole thinking), full pipeline, no cache
    n = min(len(ctxs), args.naive)
    t0 = time.perf_counter()
    for c in ctxs[:n]:
        def ex(text: str) -> Any:
            doc = full(an.normalize(text))
            return extract(text, [(t.text.lower(), t.lemma_.lower(), t.pos_, t.tag_) for t in doc], lexicon), doc
        q, _ = ex(c.sample.query)
        for lab in c.parsed.labels:
            compare(q, ex(lab)[0], lexicon)
        if c.parsed.think:
            think_doc = full(c.parsed.think)
            _ = [ch.root.lemma_ for ch in think_doc.noun_chunks]
            for d in designations(c.parsed.think):
                ex(d.head_span)
    naive = n / (time.perf_counter() - t0)

    # naive, but sparing the whole thinking (only the query, labels and designating spans through nlp())
    t0 = time.perf_counter()
    for c in ctxs[:n]:
        q = extract(c.sample.query, [(t.text.lower(), t.lemma_.lower(), t.pos_, t.tag_) for t in full(an.normalize(c.sample.query))], lexicon)
        for text in [*c.parsed.labels, *(d.head_span for d in designations(c.parsed.think))]:
            doc = full(an.normalize(text))
            compare(q, extract(text, [(t.text.lower(), t.lemma_.lower(), t.pos_, t.tag_) for t in doc], lexicon), lexicon)
    naive_short = n / (time.perf_counter() - t0)
    print(f"  completions: {len(ctxs)} (naive timed on the first {n}); batch size {args.batch}; cores: {os.cpu_count()}")
    table([
        ("ours, cold cache", f"{ours:.0f}", f"{ours / naive:.1f}x"),
        ("ours, warm cache (repeated queries)", f"{warm:.0f}", f"{warm / naive:.1f}x"),
        ("naive (nlp() per text, full pipeline, no cache)", f"{naive:.0f}", "1.0x"),
        ("naive, thinking not tagged (short texts only)", f"{naive_short:.0f}", f"{naive_short / naive:.1f}x"),
    ], ("version", "completions/s", "vs naive"))


SECTIONS = {
    "real": section_real,
    "subst_a": section_subst_a,
    "subst_b": section_subst_b,
    "pairs": section_pairs,
    "seed": section_seed,
    "spatial": section_spatial,
    "speed": section_speed,
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", action="append", choices=sorted(SECTIONS), help="run only these sections (repeatable)")
    p.add_argument("--limit", type=int, default=None, help="records per log in the 'real' section (default: all)")
    p.add_argument("--subst", type=int, default=3000, help="substituted completions per construction (default 3000)")
    p.add_argument("--naive", type=int, default=600, help="completions timed for the naive version (default 600)")
    p.add_argument("--batch", type=int, default=64, help="batch size for the verifiers (default 64)")
    p.add_argument("--examples", type=int, default=8)
    args = p.parse_args()
    if not LOGS.exists():
        sys.exit(f"data not found at {LOGS}; set GROUNDSCORE_DATA")
    for name in args.only or list(SECTIONS):
        SECTIONS[name](args)


if __name__ == "__main__":
    main()
