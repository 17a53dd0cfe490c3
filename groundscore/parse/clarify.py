"""Clarifying questions: an answer that asks which object is meant instead of boxing one.

A grounding model that is unsure has two honest moves: say "not found", or ask
("There are two men; do you mean the one on the left or the one holding the
umbrella?"). This module reads the second, in every form we support:

- plain text, or the text inside ``<answer>``: a question sentence with a
  clarifying cue ("do you mean", "which one ... do you mean", "are you
  referring to", "could you clarify");
- a JSON answer with no box and a question: ``{"clarify": "..."}``,
  ``{"question": "..."}``, ``{"clarification": ..., "candidates": [...]}``;
- a GUI agent's ask-user action: UI-TARS ``call_user()`` (its question is the
  ``Thought:`` before it), a Qwen computer-use / mobile-use tool call
  ``{"action": "answer" | "terminate" | "call_user" | "ask_user", "text": "...?"}``,
  a JSON action item ``{"action": "ask_user", "text": ...}`` (GUI-R1 style
  lists), and call syntax ``answer('...?')`` / ``call_user('...')``.

Only the answer is read, never ``<think>``: a question the model asks itself
while reasoning is not a question to the user. :func:`read_clarification`
returns None when there is no clarifying question; the caller
(:func:`groundscore.parse.completion.parse_completion`) decides what a question
next to a box is (a hedge: the box is read, the question flagged).
Everything is bounded (:data:`MAX_CHARS`), linear in the text, and never raises.
"""

from __future__ import annotations

import json
import re
from typing import Any

from groundscore.model import Clarification

MAX_CHARS = 2000
"""Only the first this many characters of an answer are searched for a question."""

_MAX_CANDIDATE = 120
_MAX_CANDIDATES = 8

# A clarifying cue inside one sentence. Bounded word gaps only: no nested quantifiers.
_CUE = re.compile(
    r"\b(?:do|did|would|could) you mean\b"
    r"|\bare you (?:referring|talking) (?:to|about)\b"
    r"|\bwhich(?: \w+){0,4} (?:do|did|should|would|are|were) you (?:mean|want|refer|intend|like|looking)"
    r"|\bwhich(?: \w+){0,4} (?:is|are|was) (?:meant|intended|the target|the one you)"
    r"|\b(?:could|can|would) you (?:please )?(?:clarify|specify|tell me which|confirm which)\b"
    r"|\bplease (?:clarify|specify|tell me which|confirm which)\b"
    r"|\bwhich one\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.?!\n]{1,400}[.?!]?")
# what introduces the candidates inside the question
_INTRO = re.compile(
    r"(?:(?:do|did|would|could) you mean|are you (?:referring|talking) (?:to|about)|you (?:mean|want|refer to)|:)\s*",
    re.IGNORECASE,
)
_SPLIT = re.compile(r"\s*,\s*(?:or\s+)?|\s*;\s*|\s+or\s+", re.IGNORECASE)
_LEAD = re.compile(r"^(?:either|just|maybe|perhaps|rather)\s+", re.IGNORECASE)

_QUESTION_KEYS = ("clarify", "clarification", "clarifying_question", "question", "ask", "ask_user")
_CANDIDATE_KEYS = ("candidates", "options", "choices")
_BOX_KEYS = ("bbox_2d", "bbox", "box", "boxes", "point_2d", "point", "points", "coordinate", "position")
_TEXT_KEYS = ("text", "question", "content", "message", "value", "input_text", "answer")
ASK_ACTIONS = frozenset({"call_user", "ask_user", "ask", "user_input", "request_user_input"})
"""GUI actions that hand the turn to the user: any text they carry is the question."""
ANSWER_ACTIONS = frozenset({"answer", "terminate", "finished", "finish", "done", "complete", "status"})
"""GUI actions that end the turn with a text: a clarification only when that text is a clarifying question."""

_HINTS = ("clarif", "specify", "call_user", "ask", "which")
_FENCE = re.compile(r"```(?:json)?")
_TOOL_CALL = re.compile(r"<tool_call>\s*(\{.{0,4000}?\})\s*</tool_call>", re.DOTALL)
_PY_CALL = re.compile(
    r"\b(call_user|ask_user|ask|answer|finished|terminate)\(\s*(?:\w{1,20}\s*=\s*)?(?:(['\"])(.{0,600}?)\2)?\s*[,)]",
    re.DOTALL,
)
_THOUGHT = re.compile(r"Thought:\s*(.{1,1500}?)\s*(?:\n\s*)?Action:", re.DOTALL)


def read_clarification(answer: str | None) -> Clarification | None:
    """The clarifying question an answer asks instead of giving a box, or None.

    ``answer`` is the answer region only (``<answer>``'s text, or the text
    outside ``<think>``). Structured forms (a tool call, an action, JSON) are
    read before plain text, so that a question is attributed to the action
    that carries it.
    """
    if not answer:
        return None
    text = answer[:MAX_CHARS]
    if "?" not in text and not any(hint in text.lower() for hint in _HINTS):
        return None  # the common case, a box answer with no question: one scan, no pattern
    try:
        return _from_gui(text) or _from_json(text) or _from_text(text)
    except Exception:  # noqa: BLE001 - model text is data: an unreadable question is no question
        return None


def question_sentence(text: str) -> str | None:
    """The first sentence of ``text`` that asks a clarifying question, or None."""
    for match in _SENTENCE.finditer(text[:MAX_CHARS]):
        sentence = match.group().strip()
        cue = _CUE.search(sentence)
        if cue is None:
            continue
        if sentence.endswith("?") or re.match(r"(?i)(?:could|can|would) you|please", cue.group()):
            return sentence
    return None


def candidates_of(question: str) -> list[str]:
    """The object descriptions a question offers ("the man on the left", "the one holding the umbrella")."""
    body = question.strip().rstrip("?.! ")
    # the last introducer: "which man do you mean: A or B" -> after ':'
    intro = next(reversed(list(_INTRO.finditer(body))), None)
    if intro is None:
        return []
    rest = body[intro.end():]
    parts = [_LEAD.sub("", p.strip(" \"'`.,;:")) for p in _SPLIT.split(rest)]
    parts = [p for p in parts if 0 < len(p) <= _MAX_CANDIDATE]
    if len(parts) < 2 and not re.search(r"(?i)you mean|referring to|talking about", body[: intro.end()]):
        return []
    return parts[:_MAX_CANDIDATES]


def _clarification(question: str, via: str, candidates: list[str] | None = None) -> Clarification:
    question = question.strip()[:600]
    sentence = question_sentence(question) or question
    named = [str(c).strip()[:_MAX_CANDIDATE] for c in (candidates or []) if str(c).strip()][:_MAX_CANDIDATES]
    return Clarification(question=question, candidates=named or candidates_of(sentence), via=via)


def _from_text(text: str) -> Clarification | None:
    if "Action:" in text or "<tool_call>" in text:
        return None  # an agent's thought is its reasoning: only its action can ask (read by _from_gui)
    sentence = question_sentence(text)
    if sentence is None:
        return None
    return Clarification(question=text.strip()[:600], candidates=candidates_of(sentence), via="text")


def _load(text: str) -> Any:
    body = _FENCE.sub("", text).strip()
    if not body or body[0] not in "[{":
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _from_mapping(data: dict[str, Any], via: str) -> Clarification | None:
    keys = {str(k).lower(): v for k, v in data.items()}
    if any(k in keys for k in _BOX_KEYS):
        return None  # a box answer (a question beside it is a hedge, flagged by the caller)
    candidates = next((v for k, v in keys.items() if k in _CANDIDATE_KEYS and isinstance(v, list)), None)
    action = str(keys.get("action") or "").strip().lower()
    if action:
        text = next((v for k, v in keys.items() if k in _TEXT_KEYS and isinstance(v, str) and v.strip()), "")
        if action in ASK_ACTIONS:
            return _clarification(text or "(the agent asks the user)", action, candidates)
        if action in ANSWER_ACTIONS and text and question_sentence(text):
            return _clarification(text, action, candidates)
        return None
    for key in _QUESTION_KEYS:
        value = keys.get(key)
        if isinstance(value, str) and value.strip():
            if key == "question" and not (value.strip().endswith("?") or question_sentence(value)):
                return None
            return _clarification(value, via, candidates)
    return None


def _from_json(text: str) -> Clarification | None:
    data = _load(text)
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if isinstance(data, dict):
        return _from_mapping(data, "json")
    return None


def _from_gui(text: str) -> Clarification | None:
    if "<tool_call>" in text:
        for body in _TOOL_CALL.findall(text):
            data = _load(body)
            if not isinstance(data, dict):
                continue
            args = data.get("arguments")
            if isinstance(args, str):
                args = _load(args)
            if isinstance(args, dict) and args.get("action"):
                found = _from_mapping(args, "tool_call")
                if found is not None:
                    return found
        return None
    if "(" not in text:
        return None
    for call in _PY_CALL.finditer(text):
        name, said = call.group(1).lower(), call.group(3) or ""
        if name in ASK_ACTIONS:
            if not said.strip():
                thought = _THOUGHT.search(text)
                said = thought.group(1) if thought else "(the agent asks the user)"
            return _clarification(said, name)
        if said and question_sentence(said):
            return _clarification(said, name)
    return None
