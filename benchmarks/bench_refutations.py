"""Refuting checks on real answers, and on obfuscations and absence wordings that are not in the repository.

Run from the repository root (needs the ``[nlp]`` extra and the shared logs)::

    .venv/bin/python benchmarks/bench_refutations.py               # 300 answers per log, 400 held-out cases
    .venv/bin/python benchmarks/bench_refutations.py --limit 100 --held-out 100

1. **Real answers** (the VLM-R1 REC logs, with ground truth): the share of
   all answers and of IoU-correct answers (first box, IoU >= 0.5) on which
   each refuting check fires: ``absent_but_boxed`` (the thinking says the
   target is absent), ``target_is_other`` (the thinking says it is actually
   something of another kind), a label ``label_match`` cannot read
   (``skipped.unreadable``), and the label-text findings the canonical form
   feeds (``label_obfuscated``, ``label_to_grader``); with examples. A check
   that fires on IoU-correct answers must stay a score, not a gate.
2. **Held-out obfuscations**: wrong labels taken from *other questions* of the
   logs (a real expression whose head the lexicon places in another
   category than the query's, so the plain label is refuted), disguised by
   transformations generated here at random and unlike the catalogue's
   (mathematical and circled letters, random combining marks, random format
   characters, random space classes, random one- and two-edit misspellings,
   case changes, precomposed accented letters, small capitals). Printed:
   the share paid no more than the plain wrong label, with and without
   ground truth, per transformation; beside it, the baseline of the same box
   with no label, which is what a label the checks cannot read was paid
   before such labels were refuted (and a made-up label, "the zqxv", before
   the canonical form).
3. **Held-out absence wordings**: sentences composed here (subject, verb
   phrase, place: none of them a template of ``tests/hacks/catalogue.py``)
   with real queries of 1 to 15 words, then the exact box: the share paid
   below ``abstain`` without ground truth and below ``correct_floor`` with it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from shared_data import REC_LOGS  # noqa: E402

SIZE = [640, 480]
BOX = [40, 200, 240, 440]
THINK = "I look at the image and find the object the query describes, then give its box."
NO_LABEL = f"<think>{THINK}</think>\n<answer>{json.dumps([{'bbox_2d': BOX}])}</answer>"
CHECKS = ("absent_but_boxed", "target_is_other", "label_obfuscated", "label_to_grader")


def r1(think: str, label: str) -> str:
    return f"<think>{think}</think>\n<answer>{json.dumps([{'bbox_2d': BOX, 'label': label}], ensure_ascii=False)}</answer>"


# -- 1. real answers ---------------------------------------------------------------------------------
def real_firing(limit: int) -> dict[str, Any]:
    from groundscore.chain import Chain
    from groundscore.inputs import iter_samples
    from groundscore.rewards import match_boxes

    chain = Chain()
    fired: dict[str, Counter[str]] = defaultdict(Counter)
    examples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    total = correct = 0
    for path in sorted(p for p in REC_LOGS.glob("*.json") if "screenspot" not in p.name):
        samples = [s for s in iter_samples(path, "vlm-r1") if s.solution][:limit]
        for sample, report in zip(samples, chain.verify(samples), strict=True):
            boxes = [b.xyxy for b in report.parsed.boxes]
            good = bool(boxes) and match_boxes(boxes, sample.solution or [], "first")[0] >= 0.5
            total += 1
            correct += good
            codes: dict[str, str] = {}
            cons = report.verdict("consistency")
            for f in (cons.details.get("findings", []) if cons is not None else []):
                if f.get("code") in CHECKS:
                    codes.setdefault(f["code"], str(f.get("span") or f.get("label") or f.get("why") or ""))
            lm = report.verdict("label_match")
            if lm is not None and lm.code == "skipped.unreadable":
                codes["label_unreadable"] = lm.reason
            elif lm is not None and any("unreadable" in e for e in lm.details.get("labels", [])):
                codes["label_unreadable"] = "one of several labels: " + lm.reason
            for code, why in codes.items():
                fired[code]["all"] += 1
                fired[code]["correct"] += good
                if len(examples[code]) < 4:
                    examples[code].append({"log": path.stem, "id": sample.id, "iou_correct": good,
                                           "query": sample.query[:70], "evidence": why[:150]})
    return {"answers": total, "iou_correct": correct, "fired": {k: dict(v) for k, v in fired.items()},
            "examples": dict(examples)}


# -- 2. held-out obfuscations --------------------------------------------------------------------------
def _by_name(prefix: str) -> dict[str, str]:
    """Latin letter -> a character whose Unicode name is ``prefix + LETTER`` (looked up, not listed here)."""
    out = {}
    for letter in "abcdefghijklmnopqrstuvwxyz":
        try:
            out[letter] = unicodedata.lookup(prefix + letter.upper())
        except KeyError:
            continue
    return out


MATH_BOLD = _by_name("MATHEMATICAL BOLD SMALL ")
CIRCLED = _by_name("CIRCLED LATIN SMALL LETTER ")
SMALL_CAPS = _by_name("LATIN LETTER SMALL CAPITAL ")
PRECOMPOSED = {}
for _c in "aeiouycnzsrlt":
    for _mark in ("WITH OGONEK", "WITH CARON", "WITH DOT BELOW", "WITH STROKE", "WITH MACRON"):
        try:
            PRECOMPOSED.setdefault(_c, unicodedata.lookup(f"LATIN SMALL LETTER {_c.upper()} {_mark}"))
        except KeyError:
            continue
SPACES = [chr(c) for c in (0x2002, 0x2005, 0x2007, 0x2009, 0x202F, 0x205F, 0x3000, 0x1680)]
FORMAT = [chr(c) for c in (0x2061, 0x2062, 0x2063, 0x2064, 0x180E, 0xFEFF, 0x200E, 0x061C)]


def _letters(rng: random.Random, text: str, table: dict[str, str], share: float) -> str:
    return "".join(table[c] if c in table and rng.random() < share else c for c in text)


def _misspell(rng: random.Random, text: str, edits: int) -> str:
    words = text.split()
    k = max(range(len(words)), key=lambda i: len(words[i]))
    w = list(words[k])
    for _ in range(edits):
        op = rng.choice("idst")
        i = rng.randrange(1, max(2, len(w)))
        if op == "i":
            w.insert(i, rng.choice("aeioulnrst"))
        elif op == "d" and len(w) > 3:
            del w[i % len(w)]
        elif op == "s":
            w[i % len(w)] = rng.choice("aeioulnrst")
        elif op == "t" and i + 1 < len(w):
            w[i], w[i + 1] = w[i + 1], w[i]
    words[k] = "".join(w)
    return " ".join(words)


TRANSFORMS = {
    "math bold letters": lambda rng, t: _letters(rng, t, MATH_BOLD, 0.7),
    "circled letters": lambda rng, t: _letters(rng, t, CIRCLED, 0.7),
    "random combining marks": lambda rng, t: "".join(c + (chr(rng.randint(0x300, 0x36F)) if c.isalpha() and rng.random() < 0.6 else "")
                                                     for c in t),
    "random format characters": lambda rng, t: "".join(c + (rng.choice(FORMAT) if rng.random() < 0.4 else "") for c in t),
    "random space classes": lambda rng, t: "".join(rng.choice(SPACES) if c == " " else c for c in t),
    "one-edit misspelling": lambda rng, t: _misspell(rng, t, 1),
    "two-edit misspelling": lambda rng, t: _misspell(rng, t, 2),
    "upper / alternating case": lambda rng, t: t.upper() if rng.random() < 0.5 else "".join(
        c.upper() if i % 2 else c for i, c in enumerate(t)),
    "precomposed accented letters": lambda rng, t: _letters(rng, t, PRECOMPOSED, 0.6),
    "small capitals": lambda rng, t: _letters(rng, t, SMALL_CAPS, 0.6),
}


def wrong_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    """(query, wrong label): a real expression of another question whose head names another category (refuted plainly)."""
    from groundscore.inputs import iter_samples
    from groundscore.nlp.analyzer import default_analyzer
    from groundscore.nlp.lexicon import default_lexicon

    rng = random.Random(seed)
    queries = []
    for path in sorted(REC_LOGS.glob("instruct-baseline_*.json")):
        queries += [s.query for s in iter_samples(path, "vlm-r1")][1000:1400]  # questions the tests never read
    exprs = dict(zip(queries, default_analyzer().analyze(queries), strict=True))
    lex = default_lexicon()
    out: list[tuple[str, str]] = []
    while len(out) < n:
        q, other = rng.choice(queries), rng.choice(queries)
        a, b = exprs[q], exprs[other]
        if a.head and b.head and lex.knows(a.head) and lex.knows(b.head) and lex.relation(a.head, b.head) == "different":
            out.append((q, other))
    return out


def held_out_obfuscations(n: int, seed: int) -> dict[str, Any]:
    from groundscore.rewards import Rewarder

    rng = random.Random(seed + 1)
    rewarder = Rewarder()
    pairs = wrong_pairs(n, seed)
    rows = []
    for name, fn in TRANSFORMS.items():
        for q, wrong in pairs[: max(1, n // len(TRANSFORMS)) * 1]:
            rows.append((name, q, wrong, fn(rng, wrong)))
    samples = []
    for _, q, wrong, disguised in rows:
        for completion in (r1(THINK, wrong), r1(THINK, disguised), NO_LABEL):
            for gt in (True, False):
                samples.append({"query": q, "completion": completion, "image_size": SIZE, "solution": [BOX] if gt else None})
    rewards = rewarder.rewards(samples)
    per: dict[str, Counter[str]] = defaultdict(Counter)
    escaped: list[dict[str, Any]] = []
    for k, (name, q, _wrong, disguised) in enumerate(rows):
        plain_gt, plain, dis_gt, dis, unk_gt, unk = rewards[6 * k : 6 * k + 6]
        per[name]["n"] += 1
        per[name]["gt_ok"] += dis_gt <= plain_gt + 1e-9
        per[name]["nogt_ok"] += dis <= plain + 1e-9
        per[name]["baseline_gt_ok"] += unk_gt <= plain_gt + 1e-9
        per[name]["baseline_nogt_ok"] += unk <= plain + 1e-9
        if (dis_gt > plain_gt + 1e-9 or dis > plain + 1e-9) and len(escaped) < 8:
            escaped.append({"transform": name, "query": q, "label": disguised, "paid_gt": round(dis_gt, 3), "paid": round(dis, 3),
                            "plain_gt": round(plain_gt, 3), "plain": round(plain, 3)})
    return {"per": {k: dict(v) for k, v in per.items()}, "escaped": escaped}


# -- 3. held-out absence wordings ------------------------------------------------------------------------
SUBJECTS = ("After scanning every region of the photo,", "Having checked the whole scene,", "Honestly,", "To be precise:", "")
CLAIMS = (
    "I can't make out {q} anywhere",
    "no {q} can be located",
    "{q} seems to be missing from this photo",
    "I see nothing resembling {q}",
    "the photo does not include {q}",
    "there does not seem to be {q}",
    "{q} isn't present",
    "I couldn't spot {q}",
    "{q} is not there",
    "it appears there is no {q}",
    "{q} cannot be seen",
    "I'm unable to identify {q}",
)
# Written after the first run had been read and the checks extended (see docs/refutations.md): these wordings
# were never used to change a check, so their numbers are the held-out ones.
CLAIMS_FRESH = (
    "{q} is absent from the frame",
    "the image lacks {q}",
    "I do not notice {q} anywhere",
    "{q} doesn't exist in this scene",
    "nowhere in the picture is there {q}",
    "I have not found {q}",
    "there appears to be no {q}",
    "{q} could not be detected",
    "my search for {q} came up empty",
    "I'm not seeing {q}",
)
# Written before a run, after the second set's misses had been read and the checks extended once more (to
# "nowhere in the picture is there ...", "I do not think there is any ...", "nothing here matches"): these were
# never used to change a check. The second set is no longer held out.
CLAIMS_FRESH2 = (
    "I searched but could find no {q}",
    "{q} is not part of this image",
    "I don't believe {q} is in the picture",
    "{q} does not show up anywhere",
    "the scene contains no {q}",
    "{q} is nowhere in sight",
    "I find no {q} here",
    "this image has no {q}",
    "{q} does not appear to be in the frame",
    "I looked for {q} without success",
)
# Written after the third set's first run, before the checks were generalised (a query noun after "no", negated
# belief in presence, failed searches): never used to change a check. The third set is no longer held out.
CLAIMS_FRESH3 = (
    "{q} isn't in this shot",
    "I can see no {q}",
    "my scan turned up no {q}",
    "there is not a single {q} in view",
    "I see only the background, no {q}",
    "{q} is not depicted",
    "the described object, {q}, does not exist here",
    "{q} seems absent",
    "no part of the image shows {q}",
    "I am fairly sure {q} is not included in this photo",
    "{q} cannot be found in the frame",
    "I checked twice and {q} is just not there",
)
# Written after the fourth set's first run, before its misses were used to extend the checks: never used to
# change a check. The fourth set is no longer held out.
CLAIMS_FRESH4 = (
    "{q} is not something I can see here",
    "I could not pick out {q}",
    "the photo has nothing that looks like {q}",
    "{q} does not seem to be pictured",
    "there's nothing resembling {q} in this image",
    "{q} is out of frame",
    "I am not able to see {q} in this photo",
    "none of the objects here is {q}",
    "{q} is not visible to me",
    "the image does not feature {q}",
    "I found no evidence of {q}",
    "{q} appears to be missing",
)
# Written before the grammar reading (groundscore/nlp/denial.py) was first run on any set, and before any run
# read these: never used to change a check. The fifth set's wordings were in this file while the grammar was
# written (its misses were not used), so this sixth set is the one held out.
CLAIMS_FRESH5 = (
    "I cannot detect any trace of {q}",
    "{q} is not among the things in this picture",
    "there isn't {q} to be found",
    "{q} has no presence in this image",
    "I was not able to locate {q}",
    "this photo shows no sign of {q}",
    "I fail to see {q}",
    "{q} does not feature in this frame",
    "there is no trace of {q} here",
    "{q} is not in view",
    "try as I might, I cannot find {q}",
    "I have looked everywhere and {q} is not visible",
)
# Written after the grammar reading landed, before any run read it; never used to change a check.
CLAIMS_FRESH6 = (
    "{q} does not appear anywhere I look",
    "I see no trace of {q}",
    "there's no {q} that I can make out",
    "{q} is not present in the scene",
    "I'm unable to find {q}",
    "the picture holds no {q}",
    "{q} has not been captured here",
    "I could not see {q} in the photo",
    "this frame does not contain {q}",
    "{q} never appears in this image",
    "no sign of {q} is visible",
    "I failed to spot {q}",
)
# Written on 2026-12-07 before any run read it, after the seventh set had been read and before the checks were
# next changed: never used to change a check.
CLAIMS_FRESH7 = (
    "{q} is nowhere to be seen",
    "I scanned the picture and saw no {q}",
    "there is no sign whatsoever of {q}",
    "I do not spot {q} in the image",
    "{q} is not pictured here",
    "the image contains nothing like {q}",
    "I can't locate {q} in this scene",
    "{q} isn't visible anywhere",
    "I see no evidence that {q} is in this picture",
    "{q} is missing from the scene",
    "I don't think {q} is shown",
    "unfortunately {q} cannot be identified in this photo",
)
# Written on 2026-12-07 after the eighth set's misses had been read (noun-less queries) and before the phrases
# for the fifth and sixth sets' misses were added: never used to change a check, so this is the held-out set.
CLAIMS_FRESH8 = (
    "{q} is not to be found in this picture",
    "I'm afraid I can't see {q}",
    "{q} is not captured in this photo",
    "the image has no {q} in it",
    "my eyes cannot find {q}",
    "I could not make {q} out in the scene",
    "{q} isn't anywhere in this shot",
    "the scene holds nothing that matches {q}",
    "{q} is not shown in this image",
    "there seems to be no {q} in the photo",
    "{q} is absent here",
    "I have failed to find {q}",
)
# Written on 2026-12-08 before any run read it, after the ninth set's misses had been read (and left): the
# held-out set of the next change.
CLAIMS_FRESH9 = (
    "{q} is simply not in the picture",
    "I can find nothing that corresponds to {q}",
    "no {q} appears in the frame",
    "I don't see {q} anywhere in the image",
    "{q} remains unseen even after a close look",
    "the photograph lacks any {q}",
    "nothing in this image is {q}",
    "{q} is not something this picture contains",
    "I couldn't locate anything like {q}",
    "{q} has been left out of this picture",
    "the image shows no {q} whatsoever",
    "I am unable to make out {q}",
)
# Written on 2026-12-08 right after the tenth set's first run, before any check was changed for its misses and
# before any run read this set: the held-out set of that change.
CLAIMS_FRESH10 = (
    "there is nothing here that could be {q}",
    "{q} does not figure in this image",
    "I have no view of {q} in this picture",
    "{q} is not depicted anywhere in the photo",
    "the scene is empty of {q}",
    "{q} was not captured by the camera",
    "I looked all over and found no {q}",
    "no trace of {q} exists in this image",
    "{q} is impossible to find here",
    "this picture is without {q}",
    "I could not identify anything resembling {q}",
    "{q} has gone unnoticed because it is not there",
)
# Written on 2026-12-08 right after the eleventh set's first run, before any check was changed for its misses
# and before any run read this set: the held-out set of that change.
CLAIMS_FRESH11 = (
    "{q} is not what this image shows",
    "I would not be able to point to {q}",
    "there's no sign that {q} is in the frame",
    "{q} can't be spotted in the photo",
    "{q} is beyond what the image shows",
    "this picture contains zero instances of {q}",
    "I don't detect {q} in the scene",
    "{q} is not present, so any box is a guess",
    "I've looked and {q} simply isn't here",
    "there does not appear to be any {q} here",
    "no {q} is in the image as far as I can tell",
    "the photo gives no view of {q}",
)
ENDINGS = (".", " at all.", ", but I will still give a box.", " in this picture.")


def held_out_absence(n: int, seed: int, claims: tuple[str, ...] = CLAIMS) -> dict[str, Any]:
    from groundscore.inputs import iter_samples
    from groundscore.rewards import RewardConfig, Rewarder

    rng = random.Random(seed + 2)
    queries = []
    for path in sorted(REC_LOGS.glob("instruct-baseline_*.json")):
        queries += [s.query for s in iter_samples(path, "vlm-r1")][1400:1600]
    config = RewardConfig()
    rows = []
    for _ in range(n):
        q = rng.choice(queries)
        claim = rng.choice(claims)
        sentence = f"{rng.choice(SUBJECTS)} {claim.format(q=q)}{rng.choice(ENDINGS)}".strip()
        sentence = sentence[0].upper() + sentence[1:]
        rows.append((q, claim, sentence))
    samples = [{"query": q, "completion": r1(s, q), "image_size": SIZE, "solution": [BOX] if gt else None}
               for q, _, s in rows for gt in (True, False)]
    results = Rewarder().score(samples)
    per: dict[str, Counter[str]] = defaultdict(Counter)
    by_len: dict[str, Counter[str]] = defaultdict(Counter)
    missed = []
    for k, (q, claim, sentence) in enumerate(rows):
        gt, nogt = results[2 * k], results[2 * k + 1]
        ok_gt, ok = gt.reward < config.correct_floor, nogt.reward < config.abstain
        per[claim]["n"] += 1
        per[claim]["gt_ok"] += ok_gt
        per[claim]["nogt_ok"] += ok
        bucket = "1 word" if len(q.split()) == 1 else ("2-4 words" if len(q.split()) <= 4 else "5+ words")
        by_len[bucket]["n"] += 1
        by_len[bucket]["ok"] += ok_gt and ok
        if not (ok_gt and ok) and len(missed) < 8:
            missed.append({"sentence": sentence, "paid_gt": round(gt.reward, 3), "paid": round(nogt.reward, 3)})
    return {"per": {k: dict(v) for k, v in per.items()}, "by_length": {k: dict(v) for k, v in by_len.items()}, "missed": missed}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=300, help="answers per REC log for part 1 (0: skip)")
    ap.add_argument("--held-out", type=int, default=400, help="held-out cases for parts 2 and 3 (0: skip)")
    ap.add_argument("--seed", type=int, default=2028)
    args = ap.parse_args(argv)
    out: dict[str, Any] = {}
    if args.limit:
        real = out["real"] = real_firing(args.limit)
        print(f"1. real answers: {real['answers']} of the REC logs (first {args.limit} per log), "
              f"{real['iou_correct']} IoU-correct (first box)")
        print(f"   {'check':20s} {'fires':>6s} {'of all':>8s} {'of IoU-correct':>15s}")
        for code in (*CHECKS, "label_unreadable"):
            n = real["fired"].get(code, {})
            print(f"   {code:20s} {n.get('all', 0):6d} {n.get('all', 0) / max(real['answers'], 1):8.2%} "
                  f"{n.get('correct', 0) / max(real['iou_correct'], 1):15.2%}")
        for code, exs in real["examples"].items():
            for e in exs:
                print(f"   e.g. {code} ({e['log']} {e['id']}, IoU-correct {e['iou_correct']}): {e['query']!r}: {e['evidence']!r}")
    if args.held_out:
        obf = out["obfuscation"] = held_out_obfuscations(args.held_out, args.seed)
        print("\n2. held-out obfuscations of a wrong label (real expressions of other questions, another category):")
        print(f"   {'transformation':30s} {'n':>4s} {'<= plain, gt':>13s} {'<= plain, no gt':>16s} "
              f"{'baseline gt':>12s} {'baseline no gt':>15s}")
        for name, c in obf["per"].items():
            n = c["n"]
            print(f"   {name:30s} {n:4d} {c['gt_ok'] / n:13.1%} {c['nogt_ok'] / n:16.1%} "
                  f"{c['baseline_gt_ok'] / n:12.1%} {c['baseline_nogt_ok'] / n:15.1%}")
        for e in obf["escaped"]:
            print(f"   paid more than the plain label: {e}")
        for key, claims, title in (("absence", CLAIMS, "first set (read before the checks were extended: not held out now)"),
                                   ("absence_fresh", CLAIMS_FRESH, "second set (its misses read, checks extended: not held out now)"),
                                   ("absence_fresh2", CLAIMS_FRESH2, "third set (its misses read, checks generalised: not held out now)"),
                                   ("absence_fresh3", CLAIMS_FRESH3, "fourth set (its misses read, checks extended: not held out now)"),
                                   ("absence_fresh4", CLAIMS_FRESH4, "fifth set (never used to change a check)"),
                                   ("absence_fresh5", CLAIMS_FRESH5, "sixth set (written before the grammar reading ran)"),
                                   ("absence_fresh6", CLAIMS_FRESH6, "seventh set (written after the grammar landed)"),
                                   ("absence_fresh7", CLAIMS_FRESH7, "eighth set (its misses read: noun-less queries)"),
                                   ("absence_fresh8", CLAIMS_FRESH8, "ninth set (its 'make {q} out' miss read)"),
                                   ("absence_fresh9", CLAIMS_FRESH9, "tenth set (its first run read, checks generalised)"),
                                   ("absence_fresh10", CLAIMS_FRESH10, "eleventh set (its first run read, checks generalised)"),
                                   ("absence_fresh11", CLAIMS_FRESH11, "twelfth set (written before any run read it)")):
            ab = out[key] = held_out_absence(args.held_out, args.seed, claims)
            print(f"\n3. absence wordings, {title}, then the exact box "
                  "(below correct_floor with ground truth, below abstain without):")
            for claim, c in ab["per"].items():
                print(f"   {claim:45s} n={c['n']:3d}  gt {c['gt_ok'] / c['n']:6.1%}  no gt {c['nogt_ok'] / c['n']:6.1%}")
            for bucket, c in sorted(ab["by_length"].items()):
                print(f"   query of {bucket:10s} n={c['n']:3d}  both {c['ok'] / c['n']:6.1%}")
            for e in ab["missed"]:
                print(f"   missed: {e}")
    path = ROOT / "benchmarks" / "results" / "bench_refutations.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
