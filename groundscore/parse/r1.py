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
from groundscore.parse.base import unchecked

# Linear: a fixed alternation with no nested quantifiers.
_TAG = re.compile(r"<\s*(/?)\s*(think|answer)\s*>", re.IGNORECASE)


_CANONICAL = [(False, "think"), (True, "think"), (False, "answer"), (True, "answer")]


@dataclass(slots=True)
class R1Split:
    think: str | None = None
    answer: str | None = None
    outside: str = ""  # text outside both tag pairs (where some models put the box)
    has_think: bool = False
    has_answer: bool = False
    issues: list[Issue] = field(default_factory=list)


def _issue(split: R1Split, code: str, message: str, severity: str = "warning") -> None:
    split.issues.append(unchecked(Issue, code=code, message=message, severity=severity))


def _split_canonical(text: str) -> R1Split | None:
    """The canonical layout, or one of its two common truncations, read with one ``str.split``; else None.

    ``<think>..</think>..<answer>..</answer>`` with no other ``<`` means
    there is no other tag to find: the common case of a well-trained model.
    The same without ``</answer>`` (cut off at the token limit) or without
    the ``<answer>`` pair (the box written after ``</think>``) are read here
    too, with the issue the general path gives them. Anything else goes the
    general way, and a test checks both ways agree. (One split on ``<`` is
    the cheapest way to both count the ``<`` and cut the text at them.)
    """
    parts = text.split("<")
    count = len(parts)
    if count < 3 or count > 5:
        return None
    before, think, between = parts[0], parts[1], parts[2]
    if not (think.startswith("think>") and between.startswith("/think>")):
        return None
    think, between = think[6:].strip(), between[7:]
    if count < 5:  # truncated: the text outside is what surrounds <think>
        outside = "\n".join(p for p in (before, between) if p.strip())
        if count == 3:  # no <answer>: the answer is the text outside <think>
            return R1Split(think, outside.strip(), outside, True, False, [_MISSING_ANSWER])
        answer = parts[3]
        if not answer.startswith("answer>"):
            return None
        # <answer> never closed: the answer runs to the end
        return R1Split(think, answer[7:].strip(), outside, True, True, [_UNCLOSED_ANSWER])
    answer = parts[3]
    if not answer.startswith("answer>"):
        return None
    answer = answer[7:]
    after = parts[4]
    if not after.startswith("/answer>"):
        return None
    after = after[8:]
    if (before and not before.isspace()) or (between and not between.isspace()) or (after and not after.isspace()):
        pieces = [p for p in (before, between, after) if p and not p.isspace()]
        outside = pieces[0] if len(pieces) == 1 else "\n".join(pieces)
    else:
        outside = ""
    return R1Split(think, answer.strip(), outside, True, True)


# The issues of the two truncated layouts, as the general path words them (shared: issues are frozen).
_UNCLOSED_ANSWER = unchecked(
    Issue, code="r1.unclosed_answer", message="<answer> is never closed; taking the text to the end", severity="warning"
)
_MISSING_ANSWER = unchecked(
    Issue, code="r1.missing_answer", message="no <answer> tag; reading the answer from the text outside <think>",
    severity="warning",
)


def split_r1(text: str) -> R1Split:
    """Split a completion into think, answer and the text outside the tags."""
    if "<" not in text:
        return R1Split(answer=text, outside=text)
    canonical = _split_canonical(text)
    return canonical if canonical is not None else split_tags(text)


def split_tags(text: str) -> R1Split:
    """The general way: every tag found by a regular expression, each irregularity an issue."""
    split = R1Split()
    tags = [(m.start(), m.end(), bool(m.group(1)), m.group(2).lower()) for m in _TAG.finditer(text)]
    if not tags:
        split.answer = text
        split.outside = text
        return split
    if len(tags) == 4 and _CANONICAL == [(t[2], t[3]) for t in tags]:
        # <think>..</think> <answer>..</answer>, the shape an R1 format reward asks for
        (t0, t1, _, _), (t2, t3, _, _), (a0, a1, _, _), (a2, a3, _, _) = tags
        split.think = text[t1:t2].strip()
        split.answer = text[a1:a2].strip()
        split.has_think = split.has_answer = True
        split.outside = "\n".join(p for p in (text[:t0], text[t3:a0], text[a3:]) if p and not p.isspace())
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
