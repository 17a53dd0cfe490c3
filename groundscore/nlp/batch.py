"""Per-batch preparation shared by the language verifiers.

Both ``label_match`` and ``consistency`` need the query's and the labels'
expressions; whichever runs first tags every unique text of the batch in one
``nlp.pipe`` call and leaves the results in each ``Context.cache`` (and in
the analyzer's LRU cache, so the next batch of the same GRPO group reuses
them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from groundscore.nlp.analyzer import ExpressionAnalyzer
from groundscore.nlp.canonical import canonical_short
from groundscore.nlp.expression import Expression
from groundscore.nlp.thinking import designations

QUERY = "nlp.query"
LABELS = "nlp.labels"
TARGETS = "nlp.targets"
THINK = "nlp.think"
MAX_LABELS = 6
"""Distinct labels of one answer that the language checks read; more are not read (``cap.labels``).

Each label read costs a spaCy pass and a spelling correction per unknown
word: 32 labels of made-up words cost 130x a typical completion
(``benchmarks/bench_cost.py``). Of the 43,168 answers of the shared VLM-R1
logs none has more than 3 distinct labels, and an answer with many boxes for
one object is refuted by ``count_excess`` anyway."""
LABEL_CHARS = 160
"""A label is read up to here (canonical first, so padding and invisible characters cannot push its words out).
A label over 16 words is ``label_too_long`` anyway; the head noun and its attributes come first."""
LABELS_READ = "nlp.labels_read"
LABEL_WORD_BUDGET = 16
"""Words of all the labels of one answer that are read (tagging costs about 0.2 ms a word, and a made-up word
a spelling correction too): one label of 12 words and a short one, or several short ones. Of the 43,168
answers of the shared logs, 25 have more words than this in their distinct labels (each read up to 12)."""
LABEL_WORDS = 12
"""And up to this many words: tagging costs about 0.2 ms a word, so 8 labels of 12 words stay near 20 ms."""


def _readable_part(label: str) -> str:
    """The part of a label the checks read: canonical, at most :data:`LABEL_CHARS` characters and :data:`LABEL_WORDS` words."""
    text = canonical_short(label).text[:LABEL_CHARS]
    words = text.split(" ")
    return " ".join(words[:LABEL_WORDS]) if len(words) > LABEL_WORDS else text
MAX_TARGETS = 1
"""Designations of the thinking that are tagged: the last, the target the thinking settled on. No check reads
an earlier one, and tagging one costs as much as a label (four cost a fifth of a thinking made of
designations, ``benchmarks/bench_cost.py``); 75 of the 22,593 logged thinkings hold more than one."""
THINK_CHARS = 16_000
"""The thinking is made canonical up to here (the checks of :mod:`groundscore.nlp.thinking` read 8,000)."""


def think_text(ctx: Any) -> str:
    """The answer's thinking in canonical form (:mod:`groundscore.nlp.canonical`), computed once per context."""
    cached = ctx.cache.get(THINK)
    if cached is None:
        from groundscore.nlp.canonical import canonical

        cached = canonical(ctx.parsed.think or "", THINK_CHARS)
        ctx.cache[THINK] = cached
    return str(cached.text)


def think_codes(ctx: Any) -> tuple[str, ...]:
    """What :func:`think_text` changed (``text.*`` codes)."""
    think_text(ctx)
    return tuple(ctx.cache[THINK].codes)


def label_count(ctx: Any) -> int:
    """How many labels the answer has (all of them, also those past :data:`MAX_LABELS`)."""
    return sum(1 for b in ctx.parsed.boxes if isinstance(b.label, str) and b.label.strip()) + sum(
        1 for p in ctx.parsed.points if isinstance(p.label, str) and p.label.strip())


def labels_of(ctx: Any) -> list[str]:
    """The answer's distinct labels, boxes then points, that the checks read (see :func:`labels_capped`).

    At most :data:`MAX_LABELS` of them, and only while their words (each read
    up to :data:`LABEL_WORDS`) stay within :data:`LABEL_WORD_BUDGET`; the first
    label is always read.
    """
    cached = ctx.cache.get(LABELS_READ)
    if cached is not None:
        return list(cached)
    seen: dict[str, None] = {}
    words = 0
    for item in (*ctx.parsed.boxes, *ctx.parsed.points):
        label = getattr(item, "label", None)
        if not isinstance(label, str) or not label.strip() or label in seen:
            continue
        n = min(LABEL_WORDS, len(canonical_short(label).text.split()))
        if seen and (len(seen) >= MAX_LABELS or words + n > LABEL_WORD_BUDGET):
            break
        seen[label] = None
        words += n
    ctx.cache[LABELS_READ] = tuple(seen)
    return list(seen)


def labels_capped(ctx: Any) -> bool:
    """Whether the answer has distinct labels the checks did not read (``cap.labels``)."""
    read = len(labels_of(ctx))
    if len(ctx.parsed.boxes) + len(ctx.parsed.points) <= read:
        return False
    labels = {getattr(i, "label", None) for i in (*ctx.parsed.boxes, *ctx.parsed.points)}
    return len({x for x in labels if isinstance(x, str) and x.strip()}) > read


def prepare(contexts: Sequence[Any], analyzer: ExpressionAnalyzer, *, thinking: bool = False) -> None:
    """Fill ``ctx.cache`` with the query's and labels' expressions (and the thinking's targets)."""
    texts: list[str] = []
    plan: list[tuple[Any, str, int, int]] = []
    for ctx in contexts:
        need_q = QUERY not in ctx.cache
        need_l = LABELS not in ctx.cache
        need_t = thinking and TARGETS not in ctx.cache
        if need_q:
            plan.append((ctx, QUERY, len(texts), len(texts) + 1))
            texts.append(ctx.referring_expression)
        if need_l:
            labels = [_readable_part(label) for label in labels_of(ctx)]
            plan.append((ctx, LABELS, len(texts), len(texts) + len(labels)))
            texts.extend(labels)
        if need_t:
            spans = [d.head_span for d in designations(think_text(ctx))[-MAX_TARGETS:]] if ctx.parsed.think else []
            plan.append((ctx, TARGETS, len(texts), len(texts) + len(spans)))
            texts.extend(spans)
    if not plan:
        return
    exprs = analyzer.analyze(texts) if texts else []
    for ctx, key, lo, hi in plan:
        if key == QUERY:
            ctx.cache[QUERY] = exprs[lo]
        else:
            ctx.cache[key] = list(exprs[lo:hi])


def query_expression(ctx: Any) -> Expression:
    return ctx.cache[QUERY]


def label_expressions(ctx: Any) -> list[Expression]:
    return ctx.cache[LABELS]
