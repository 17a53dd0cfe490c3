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
from groundscore.nlp.expression import Expression
from groundscore.nlp.thinking import designations

QUERY = "nlp.query"
LABELS = "nlp.labels"
TARGETS = "nlp.targets"
THINK = "nlp.think"
MAX_LABELS = 32
"""Labels of one answer that the language checks read; more are not read (``label_match`` says so)."""
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
    """The answer's labels, boxes then points, up to :data:`MAX_LABELS`."""
    out = [b.label for b in ctx.parsed.boxes if isinstance(b.label, str) and b.label.strip()]
    out += [p.label for p in ctx.parsed.points if isinstance(p.label, str) and p.label.strip()]
    return out[:MAX_LABELS]


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
            labels = labels_of(ctx)
            plan.append((ctx, LABELS, len(texts), len(texts) + len(labels)))
            texts.extend(labels)
        if need_t:
            spans = [d.head_span for d in designations(think_text(ctx))] if ctx.parsed.think else []
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
