"""R1-style ``<think>...</think><answer>...</answer>`` tags, around any format.

Tags are separated from the answer before any format parser runs, so every
format gets R1 support for free. Missing, duplicated, unclosed or misordered
tags never raise: they become issues, and the schema verifier decides whether
they matter (tags are optional unless configured as required).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from groundscore.model import Issue

# Linear: the spaces after "<" are taken whole by a lookahead and a backreference (an
# atomic group, which Python 3.10 lacks), so a failed tag is not retried with fewer of
# them. ``<\s*(/?)\s*`` was quadratic on "<" and a long run of spaces.
_TAG = re.compile(r"<(?=(?P<space>\s*))(?P=space)(?P<slash>/?)\s*(?P<name>think|answer)\s*>", re.IGNORECASE)


@dataclass(slots=True)
class R1Split:
    think: str | None = None
    answer: str | None = None
    outside: str = ""  # text outside both tag pairs (where some models put the box)
    has_think: bool = False
    has_answer: bool = False
    issues: list[Issue] = field(default_factory=list)
    other_answers: list[str] = field(default_factory=list)
    """With several ``<answer>`` blocks, the text of every closed one but the one read (in order)."""


def _issue(split: R1Split, code: str, message: str, severity: str = "warning") -> None:
    split.issues.append(Issue(code=code, message=message, severity=severity))


def split_r1(text: str) -> R1Split:
    """Split a completion into think, answer and the text outside the tags.

    Every tag is found by one regular expression; each irregularity
    (duplicated, unopened, unclosed, misordered) becomes an issue.
    """
    split = R1Split()
    tags = [(m.start(), m.end(), bool(m.group("slash")), m.group("name").lower()) for m in _TAG.finditer(text)]
    if not tags:
        split.answer = text
        split.outside = text
        return split
    spans: dict[str, tuple[int, int, int, int] | None] = {"think": None, "answer": None}
    for kind in ("think", "answer"):
        opens = [t for t in tags if t[3] == kind and not t[2]]
        closes = [t for t in tags if t[3] == kind and t[2]]
        if len(opens) > 1:
            _issue(split, f"r1.duplicate_{kind}", f"<{kind}> appears {len(opens)} times; the {'first' if kind == 'think' else 'last'} is used")
        if not opens:
            if closes:
                _issue(split, f"r1.unopened_{kind}", f"</{kind}> has no matching <{kind}>")
                if kind == "think":
                    # "reasoning...</think><answer>..." : the think text is everything before.
                    spans[kind] = (0, 0, closes[0][0], closes[0][1])
            continue
        open_tag = opens[0] if kind == "think" else opens[-1]
        if kind == "answer" and len(opens) > 1:
            for other in opens[:-1][:16]:
                close = next((c for c in closes if c[0] >= other[1]), None)
                if close is not None and close[0] <= open_tag[0]:
                    split.other_answers.append(text[other[1] : close[0]].strip())
        close = next((c for c in closes if c[0] >= open_tag[1]), None)
        if close is None:
            _issue(split, f"r1.unclosed_{kind}", f"<{kind}> is never closed; taking the text to the end")
            spans[kind] = (open_tag[0], open_tag[1], len(text), len(text))
        else:
            spans[kind] = (open_tag[0], open_tag[1], close[0], close[1])

    think_span, answer_span = spans["think"], spans["answer"]
    if think_span is not None:
        split.has_think = True
        split.think = text[think_span[1] : think_span[2]].strip()
    if answer_span is not None:
        split.has_answer = True
        split.answer = text[answer_span[1] : answer_span[2]].strip()
    if think_span and answer_span:
        if answer_span[0] < think_span[0]:
            _issue(split, "r1.misordered", "<answer> comes before <think>")
        elif answer_span[0] < think_span[3] and think_span[2] != len(text):
            _issue(split, "r1.overlapping", "<answer> starts inside <think>")
    # Text outside the used tag pairs, joined: the original-model logs put the
    # JSON after </think> with no <answer> at all.
    cut = sorted(s for s in (think_span, answer_span) if s is not None)
    pieces, pos = [], 0
    for start, _, _, end in cut:
        if start > pos:
            pieces.append(text[pos:start])
        pos = max(pos, end)
    pieces.append(text[pos:])
    split.outside = "\n".join(p for p in pieces if p.strip())
    if split.answer is None:
        _issue(split, "r1.missing_answer", "no <answer> tag; reading the answer from the text outside <think>")
        split.answer = split.outside.strip()
    if split.has_answer and not split.has_think:
        _issue(split, "r1.missing_think", "<answer> without <think>", severity="info")
    return split


def tag_blocks(text: str, tag: str, ignore_case: bool = True) -> list[str]:
    """The text inside every ``<tag>...</tag>``, as ``re.findall(r"<tag>(.*?)</tag>", DOTALL)`` gives it.

    Why not that regex: on text holding many ``<tag>`` and no ``</tag>``,
    every opening tag scans to the end (quadratic: 5 s for ground truth made
    of 40,000 ``<answer>``). Once an opening tag has no closing tag after it,
    no later one has, so this scan stops there: linear.
    """
    flags = re.IGNORECASE if ignore_case else 0
    opening = re.compile(re.escape(f"<{tag}>"), flags)
    closing = re.compile(re.escape(f"</{tag}>"), flags)
    blocks: list[str] = []
    pos = 0
    while (start := opening.search(text, pos)) is not None:
        end = closing.search(text, start.end())
        if end is None:
            break
        blocks.append(text[start.end() : end.start()])
        pos = end.end()
    return blocks
