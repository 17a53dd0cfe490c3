"""Getting the referring expression out of a prompt.

Trainers hand us the whole prompt; verifiers want the expression ("water
left"). Known templates are tried in order; a prompt that matches none is
used whole, which is also right when the caller already passes the bare
expression.

The prompt comes from the caller, and over the reward server from anyone, so
the built-in templates are written to run in linear time: no two quantified
parts can match the same characters (``\\s*(?P<expr>.+?)\\s*`` on a run of
spaces is cubic), and the lazy expression of the instruction templates is
bounded. Whitespace, a final period and a dangling ``, and`` are trimmed in
code afterwards (:func:`tidy_expression`) instead of by the pattern.
"""

from __future__ import annotations

import re

# Longest expression the "Locate X and output ..." templates read (the longest REC prompt in
# the VLM-R1 logs is 251 characters in all).
MAX_EXPRESSION = 300

# VLM-R1's REC template (also used by its evaluation logs), and its variants.
REC_TEMPLATES: tuple[str, ...] = (
    r"Please provide the bounding box coordinates? of the region this sentence describes:"
    r"(?P<expr>.*?)(?:(?:First )?output the thinking process.*)?$",
    rf"(?:Locate|Find|Detect|Ground|Outline the position of)\s(?P<expr>.{{1,{MAX_EXPRESSION}}}?) (?:output|report|return|give)\b.*$",
    rf"Locate (?P<expr>[^,.]{{1,{MAX_EXPRESSION}}}?) in (?:the|this) image.*$",
)
_COMPILED = [re.compile(t, re.IGNORECASE | re.DOTALL) for t in REC_TEMPLATES]
MAX_PROMPT = 4096
"""Characters of a prompt the templates are tried on, and of a query the verifiers read: longer text is cut there
(a sample whose query is longer carries a ``query.too_long`` warning)."""
_MAX_PROMPT = MAX_PROMPT


def tidy_expression(expr: str) -> str:
    """``expr`` without surrounding whitespace, final periods/commas and a dangling ``and``.

    "the cat and " (from "Locate the cat and output ...") becomes "the cat";
    "the band" stays. Each round only removes characters from the end: linear.
    """
    text = expr.strip().rstrip(".,").rstrip()
    while text[-3:].lower() == "and" and (len(text) == 3 or text[-4].isspace()):
        text = text[:-3].strip().rstrip(".,").rstrip()
    return text


def find_expression(prompt: str, templates: list[re.Pattern[str]] | None = None) -> str | None:
    """The first template's ``expr`` group in the first :data:`MAX_PROMPT` characters of ``prompt``; None if none matches.

    The cut bounds the work of templates a caller supplies (the built-in ones
    are linear anyway).
    """
    text = (prompt or "").strip()[:_MAX_PROMPT]
    for pattern in templates or _COMPILED:
        m = pattern.search(text)
        if m:
            expr = tidy_expression(m.group("expr"))
            if expr:
                return expr
    return None


def referring_expression(prompt: str, templates: list[re.Pattern[str]] | None = None) -> str:
    """The referring expression in ``prompt``: the first template's ``expr`` group, or the prompt itself.

    A prompt that matches no template is used whole, up to :data:`MAX_PROMPT`
    characters.
    """
    expr = find_expression(prompt, templates)
    return expr if expr is not None else (prompt or "").strip()[:_MAX_PROMPT]
