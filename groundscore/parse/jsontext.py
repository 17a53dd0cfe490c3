"""Finding and reading the JSON inside a model's answer, bounded and repair-aware.

Models wrap JSON in fences (sometimes closed wrongly, as in ```` ```json</answer> ````),
put prose around it, truncate it, or leave trailing commas. We locate the
candidate JSON text in linear time, refuse anything too deep or too long
before a parser can recurse or crawl over it, try the strict ``json`` module,
then a linear repair of what real outputs get wrong (trailing commas,
truncation, a missing closing bracket), and only for short texts the
maintained ``json-repair`` library, whose time grows faster than the square of
the length on some malformed inputs (0.1 s at 256 characters of ``[{1}{1}...``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from groundscore.model import Issue
from groundscore.parse.base import RawParse

MAX_JSON_CHARS = 100_000
MAX_JSON_DEPTH = 32
# Longest text handed to json-repair; longer text gets only the linear repair (close_json).
MAX_REPAIR_CHARS = 128
# strict=False: raw newlines and tabs inside strings (seen in real labels) are fine.
# One decoder for all calls: json.loads(..., strict=False) would build a new one each time.
_DECODER = json.JSONDecoder(strict=False)
_BRACKET = re.compile(r"[\[\]{}]")


def _bracket_depth(text: str, limit: int) -> int:
    """Maximum nesting of [] and {}, inside strings or not; stops early past ``limit``.

    Brackets inside strings count too: a repairing parser may not agree with
    us on where a string of malformed JSON ends (``"{"{"{...``), so a guard
    that skipped them could let deep text through to it.
    """
    depth = best = 0
    for m in _BRACKET.finditer(text):  # only the brackets are visited
        ch = m.group()
        if ch in "[{":
            depth += 1
            if depth > best:
                best = depth
                if best > limit:
                    return best
        elif ch in "]}":
            depth = max(0, depth - 1)
    return best


_CLOSER = {"[": "]", "{": "}"}
_PLAIN_IN_STRING = re.compile(r'[^"\\]+')
_PLAIN_OUTSIDE = re.compile(r'[^\[\]{}":,]+')
# Where an open object is: a key may come (after "{" or ","), a key was written, or a value comes (after ":").
_KEY, _KEY_DONE, _VALUE = 0, 1, 2


def close_json(text: str, limit: int = MAX_JSON_DEPTH) -> str | None:
    """``text`` with the slips real outputs make fixed, in one linear pass; None when it is not that.

    Fixed: trailing commas (``{"bbox_2d": [...], "label": "x",}``), a
    closing bracket of the wrong kind where an inner one is missing
    (``[{"bbox_2d": [1, 2, 3, 4]]``), text after the value is complete
    (``{...}]``), and truncation: an open string is closed, a dangling key
    is dropped, a dangling colon gets ``""`` (as json-repair does), open
    brackets are closed. None for a closing
    bracket that closes nothing open or nesting past ``limit``. The result
    may still be invalid JSON (the strict parser decides).
    """
    out: list[str] = []  # pieces: runs of plain text, and every character the repair may look at alone
    stack: list[str] = []  # expected closers
    states: list[int] = []  # per open object
    key_starts: list[int] = []  # per open object: where its last key began in ``out``
    in_str = escaped = False
    i, n = 0, len(text)
    while i < n:
        # runs that hold no character of meaning are copied in one step (C speed), so 64 KB of labels or
        # padding cost a few hundred steps, not one Python step per character
        if in_str:
            if escaped:
                out.append(text[i])
                escaped = False
                i += 1
                continue
            run = _PLAIN_IN_STRING.match(text, i)
            if run is not None:
                out.append(run.group())
                i = run.end()
                continue
            ch = text[i]
            i += 1
            out.append(ch)
            if ch == "\\":
                escaped = True
            else:  # the closing quote
                in_str = False
                if stack and stack[-1] == "}" and states[-1] == _KEY:
                    states[-1] = _KEY_DONE
            continue
        run = _PLAIN_OUTSIDE.match(text, i)
        if run is not None:
            out.append(run.group())
            i = run.end()
            continue
        ch = text[i]
        i += 1
        if ch in "]}":
            if not stack:
                break  # the value is complete: what follows is not part of it
            if ch not in stack:
                return None
            while stack:
                closer = _close(out, stack, states, key_starts)
                if closer == ch:
                    break
            continue
        if ch in "[{":
            if len(stack) >= limit:
                return None
            stack.append(_CLOSER[ch])
            if ch == "{":
                states.append(_KEY)
                key_starts.append(0)
        elif ch == '"':
            in_str = True
            if stack and stack[-1] == "}" and states[-1] == _KEY:
                key_starts[-1] = len(out)
        elif stack and stack[-1] == "}" and ch in ":,":
            states[-1] = _VALUE if ch == ":" else _KEY
        out.append(ch)
    if in_str:
        if escaped:
            out.pop()
        out.append('"')
        if stack and stack[-1] == "}" and states[-1] == _KEY:
            states[-1] = _KEY_DONE
    while stack:
        _close(out, stack, states, key_starts)
    return "".join(out)


def _close(out: list[str], stack: list[str], states: list[int], key_starts: list[int]) -> str:
    """Close the innermost open bracket, dropping a dangling key and completing a dangling colon."""
    closer = stack.pop()
    if closer == "}":
        state, key_start = states.pop(), key_starts.pop()
        if state == _KEY_DONE:
            del out[key_start:]
        elif state == _VALUE and _last_significant(out) == ":":
            out.append(' ""')
    _drop_trailing_comma(out)
    out.append(closer)
    return closer


def _drop_trailing_comma(out: list[str]) -> None:
    """Drop a final comma (and the whitespace after it)."""
    end = len(out)
    while end and out[end - 1].isspace():
        end -= 1
    if end and out[end - 1] == ",":
        del out[end - 1 :]


def _last_significant(out: list[str]) -> str:
    for piece in reversed(out):
        if not piece.isspace():
            return piece.rstrip()[-1]
    return ""


MAX_FENCES = 8


def _fence_body_start(text: str, fence: int) -> int:
    """Where the body of the fence opened at ``fence`` starts (after ``json`` and the newline)."""
    body_start = fence + 3
    nl = text.find("\n", body_start, body_start + 20)
    word = text[body_start : nl if nl != -1 else body_start].strip()
    if nl != -1 and (word.isalpha() or not word):
        return nl + 1
    while body_start < len(text) and text[body_start].isalpha():
        body_start += 1
    return body_start


def _bracket_span(text: str) -> str | None:
    """From the first ``[``/``{`` to the last ``]``/``}`` (or to the end, for truncated output)."""
    a, b = text.find("["), text.find("{")
    if a == -1 and b == -1:
        return None
    start = b if a == -1 else a if b == -1 else min(a, b)
    end = max(text.rfind("]"), text.rfind("}"))
    if end < start:
        return text[start:].strip()
    return text[start : end + 1]


def iter_json_texts(text: str) -> Iterator[tuple[str, bool]]:
    """Candidate JSON texts in ``text``, in document order: ``(candidate, fenced)``.

    Every fenced block that holds a bracket (at most :data:`MAX_FENCES`; an
    unclosed fence runs to the end, as in truncated output), or, when there
    is no such block, the span from the first bracket to the last. Models
    sometimes write a draft block and then a "final answer" block, so the
    caller reads them in order and keeps the first that holds a box.
    """
    pos = 0
    yielded = False
    for _ in range(MAX_FENCES):
        fence = text.find("```", pos)
        if fence == -1:
            break
        body_start = _fence_body_start(text, fence)
        end = text.find("```", body_start)
        body = text[body_start : end if end != -1 else len(text)]
        if "[" in body or "{" in body:
            yielded = True
            yield body.strip(), True
        if end == -1:
            break
        pos = end + 3
    if not yielded:
        span = _bracket_span(text)
        if span is not None:
            yield span, False


def find_json_text(text: str) -> tuple[str | None, bool]:
    """The first JSON-looking part of ``text`` and whether it came from a fence.

    Fence: the text after the first ```` ``` ```` (and an optional language
    word) up to the next ```` ``` ````, or to the end when the fence is never
    closed. Otherwise: from the first ``[`` or ``{`` to the last ``]`` or
    ``}`` (or to the end, for truncated output).
    """
    for candidate, fenced in iter_json_texts(text):
        return candidate, fenced
    return None, False


def load_json(candidate: str, issues: list[Issue]) -> Any:
    """Strict JSON first, then json-repair; None (with an issue) if neither works.

    The strict reader is C code with its own recursion guard, so it runs first
    and unguarded; the nesting limit is checked only before json-repair, which
    is pure Python and recursive.
    """
    if len(candidate) > MAX_JSON_CHARS:
        issues.append(Issue(code="json.too_long", message=f"JSON text is {len(candidate)} characters, over the {MAX_JSON_CHARS} limit", severity="error"))
        return None
    try:
        return _DECODER.decode(candidate)
    except RecursionError:
        issues.append(Issue(code="json.too_deep", message=f"JSON nests deeper than {MAX_JSON_DEPTH} levels", severity="error"))
        return None
    except ValueError:  # every JSONDecodeError: try the repairs below
        pass
    unquoted = unquote_objects(candidate)
    if unquoted is not None:
        try:
            value = _DECODER.decode(unquoted)
        except (ValueError, RecursionError):
            closed = close_json(unquoted)
            value = None
            if closed is not None:
                try:
                    value = _DECODER.decode(closed)
                except (ValueError, RecursionError):
                    value = None
        if isinstance(value, list | dict) and value:
            issues.append(Issue(code="json.quoted", severity="warning", message=(
                "JSON objects were written inside quotes (\"{...}\"); read without the stray quotes")))
            return value
    closed = close_json(candidate)
    if closed is not None and closed != candidate:
        try:
            value = _DECODER.decode(closed)
        except (ValueError, RecursionError):
            pass
        else:
            if value not in ("", None):
                issues.append(Issue(code="json.repaired", message="the JSON was malformed and was repaired", severity="warning"))
                return value
    if _bracket_depth(candidate, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        issues.append(Issue(code="json.too_deep", message=f"JSON nests deeper than {MAX_JSON_DEPTH} levels", severity="error"))
        return None
    if len(candidate) > MAX_REPAIR_CHARS:
        issues.append(Issue(code="json.invalid", severity="error", message=(
            f"JSON could not be read or repaired (a general repair is tried only up to {MAX_REPAIR_CHARS} characters; "
            f"this is {len(candidate)})")))
        return None
    try:
        import json_repair

        value = json_repair.loads(candidate)
    except Exception as exc:  # noqa: BLE001 - the repair library must not crash us
        issues.append(Issue(code="json.invalid", message=f"JSON could not be read or repaired: {type(exc).__name__}", severity="error"))
        return None
    if value in ("", None) or (value == [] and "[" not in candidate):
        issues.append(Issue(code="json.invalid", message="JSON could not be read or repaired", severity="error"))
        return None
    issues.append(Issue(code="json.repaired", message="the JSON was malformed and was repaired", severity="warning"))
    return value


# A quote written right before an object opens (after "[", "," or the start) or right after one closes
# (before "]", "," or the end): ["{"bbox_2d": [..], "label": ".."}"]. Linear: no nested quantifiers.
_QUOTE_BEFORE = re.compile(r'(^|[\[,])(\s*)"(\s*)\{')
_QUOTE_AFTER = re.compile(r'\}(\s*)"(\s*)(?=[\],]|$)')


def unquote_objects(text: str) -> str | None:
    """``text`` with the quotes around JSON objects removed, or None when there are none.

    A GRPO checkpoint of Qwen2.5-VL-3B writes ``["{"bbox_2d": [14, 135, 136,
    470], "label": "man"}]`` (8% of its answers in the shared 3B logs): a
    person reads one box, ``json`` reads nothing. Only quotes that touch an
    object's brace and sit where a list item starts or ends are removed, so a
    quoted ``{`` inside a label is left alone.
    """
    if '"{' not in text and '}"' not in text and not re.search(r'"\s+\{|\}\s+"', text[:4096]):
        return None
    out = _QUOTE_AFTER.sub(r"}\1\2", _QUOTE_BEFORE.sub(r"\1\2\3{", text.strip()))
    return out if out != text.strip() else None


def split_values(text: str, most: int = MAX_FENCES, checked: bool = False) -> list[tuple[Any, str]] | None:
    """Two or more complete JSON values written one after another, each with its text; None otherwise.

    ``[{"bbox_2d": A}] [{"bbox_2d": B}]`` inside one ``<answer>`` is two
    answers, not one broken one: repair would merge or cut them silently.
    Only text that strict JSON rejects is split, each value decoded where
    the previous one ended (linear); prose between values is skipped.
    """
    if len(text) > MAX_JSON_CHARS:
        return None
    if not checked:  # ``checked``: the caller has seen strict JSON reject the text
        try:
            _DECODER.decode(text)
            return None  # one value
        except (ValueError, RecursionError):
            pass
    out: list[tuple[Any, str]] = []
    pos = 0
    while len(out) < most:
        a, b = text.find("[", pos), text.find("{", pos)
        start = b if a == -1 else a if b == -1 else min(a, b)
        if start == -1:
            break
        try:
            value, end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            break
        out.append((value, text[start:end]))
        pos = end
    if len(out) < 2 or text[pos:].strip(" \t\r\n,;"):
        return None  # one value and damage after it: the repairs decide
    return out


def decode_quoted(value: Any, issues: list[Issue]) -> Any:
    """A JSON string that itself holds a JSON object or list, decoded (``["{\\"bbox_2d\\": ...}"]``).

    Escaped JSON inside a string is what a model writes when it serialises its
    answer twice; a person reads the box in it unambiguously. Strings inside a
    list are decoded one level; anything else is returned unchanged.
    """
    def one(v: Any) -> tuple[Any, bool]:
        if isinstance(v, str):
            t = v.strip()
            if len(t) <= MAX_JSON_CHARS and t[:1] in "[{" and t[-1:] in "]}":
                try:
                    inner = _DECODER.decode(t)
                except (ValueError, RecursionError):
                    return v, False
                if isinstance(inner, list | dict) and inner:
                    return inner, True
        return v, False

    changed = False
    if isinstance(value, str):
        value, changed = one(value)
    elif isinstance(value, list) and any(isinstance(v, str) for v in value):
        out = []
        for v in value:
            new, did = one(v)
            changed = changed or did
            if did and isinstance(new, list):
                out.extend(new)
            else:
                out.append(new)
        value = out
    if changed:
        issues.append(Issue(code="json.quoted", severity="warning",
                            message="the JSON answer was written as an escaped string; read the JSON inside it"))
    return value


def load_answer_json(
    text: str, raw: RawParse, missing: str, load: Callable[[str, list[Issue]], Any] = load_json
) -> Any:
    """The JSON value of the answer, or None when the parse ends here.

    None when there is no JSON (a ``json.missing`` issue with the message
    ``missing``), when ``load`` cannot read it (its issues say why), and for
    an empty list or dict, which is the model saying "no object" (``raw`` is
    marked found and no_object). The opening every one-block JSON format
    shares.
    """
    candidate, _fenced = find_json_text(text)
    if candidate is None:
        raw.issue("json.missing", missing, "error")
        return None
    value = load(candidate, raw.issues)
    if value is None:
        return None
    if value in ([], {}):
        raw.found = raw.no_object = True
        return None
    return value


def iter_dicts(value: Any, max_items: int = 10_000) -> Iterator[dict[str, Any]]:
    """Every dict in a JSON value, depth-first, in document order, bounded.

    Lazy: a reader that stops early (the parser stops at :data:`MAX_BOXES`)
    leaves the rest of a long list unvisited.
    """
    start = 0
    if isinstance(value, list) and len(value) <= max_items:
        # the common shape, [{"bbox_2d": [...], "label": ...}, ...]: items with no deeper dict are yielded as
        # they come; from the first item that holds one, the walk below goes on in the same order
        for item in value:
            if type(item) is not dict or not all(map(_is_flat, item.values())):
                break
            yield item
            start += 1
        else:
            return
        stack = list(reversed(value[start:]))
    else:
        stack = [value]
    seen = 0
    while stack and seen < max_items:
        item = stack.pop()
        seen += 1
        if isinstance(item, dict):
            yield item
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _is_flat(value: Any) -> bool:
    """A scalar or a list of scalars (a coordinate list): holds no dict to look into."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is list:
        return all(type(v) in _SCALARS for v in value) or not any(isinstance(v, dict | list) for v in value)
    return not isinstance(value, dict | list)


def to_float(value: Any) -> float | None:
    """A coordinate as float: numbers, numeric strings; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an integer beyond float range: infinite, which the schema gate rejects
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def to_numbers(value: Any) -> list[float] | None:
    """A coordinate list: ``[1, "2", 3.0, 4]`` or ``"1, 2, 3, 4"``; None if not numeric."""
    if isinstance(value, str):
        parts = value.replace("(", " ").replace(")", " ").replace("[", " ").replace("]", " ").replace(",", " ").split()
        value = parts
    if isinstance(value, dict):
        keys = [k for k in ("x1", "y1", "x2", "y2") if k in value] or [k for k in ("x", "y") if k in value]
        value = [value[k] for k in keys]
    if not isinstance(value, list | tuple):
        return None
    out = []
    for v in value:
        f = to_float(v)
        if f is None:
            return None
        out.append(f)
    return out


def finite(values: list[float]) -> bool:
    return all(math.isfinite(v) for v in values)
