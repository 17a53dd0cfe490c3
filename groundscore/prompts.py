"""Getting the referring expression out of a prompt.

Trainers hand us the whole prompt; verifiers want the expression ("water
left"). Known templates are tried in order; a prompt that matches none is
used whole, which is also right when the caller already passes the bare
expression.
"""

from __future__ import annotations

import re

# VLM-R1's REC template (also used by its evaluation logs), and its variants.
REC_TEMPLATES: tuple[str, ...] = (
    r"Please provide the bounding box coordinates? of the region this sentence describes:\s*(?P<expr>.+?)\s*\.?\s*(?:Output the thinking process.*|First output the thinking process.*)?$",
    r"(?:Locate|Find|Detect|Ground|Outline the position of)\s+(?P<expr>.+?)(?:,|\s+and)?\s+(?:and\s+)?(?:output|report|return|give)\b.*$",
    r"Locate (?P<expr>[^,.]+?) in (?:the|this) image.*$",
)
_COMPILED = [re.compile(t, re.IGNORECASE | re.DOTALL) for t in REC_TEMPLATES]
_MAX_PROMPT = 4096


def referring_expression(prompt: str, templates: list[re.Pattern[str]] | None = None) -> str:
    """The referring expression in ``prompt``: the first template's ``expr`` group, or the prompt itself."""
    text = (prompt or "").strip()[:_MAX_PROMPT]
    for pattern in templates or _COMPILED:
        m = pattern.search(text)
        if m and m.group("expr").strip():
            return m.group("expr").strip().rstrip(".").strip()
    return text
