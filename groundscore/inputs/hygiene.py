"""Text hygiene at the boundary: what model text may hold that nothing downstream can.

A completion is model output, and JSON lets it spell anything: a lone
surrogate (``"banana\\ud800"``) is valid JSON and a valid Python ``str``, but
UTF-8 cannot encode it, so spaCy's tokenizer raises on it and
``Report.model_dump_json()`` raises on every report that quotes it. NUL
characters end C strings early and break terminals and log files. Bytes that
are not UTF-8 cannot be compared with anything.

Samples are cleaned once, where they enter (:class:`~groundscore.model.Sample`
validation, which :func:`groundscore.inputs.samples.coerce_samples` and the file
readers go through): lone surrogates become U+FFFD, NULs are removed, bytes
are decoded with U+FFFD for what is not UTF-8, and each change is noted as an
issue (``text.replaced``, ``text.nul``) on the sample's parse. Everything
after the boundary can assume text that encodes.

Padding is folded there too (:func:`fold_padding`): a run of
:data:`PADDING_RUN` or more whitespace characters in a long completion
becomes one, noted as ``text.padding``. Without that, 65,536 characters of
spaces in front of a label pushed the label past the parser's length cut,
the label was lost and its check skipped: padding bought a pass.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")  # one character class: linear
PADDING_RUN = 256
"""Whitespace runs this long or longer are padding (no layout needs them): folded to their first character."""
PADDING_FROM = 8192
"""Only completions longer than this are folded: a shorter one is never cut, so its padding costs nothing."""
_PADDING = re.compile(r"(\s)\s{" + str(PADDING_RUN - 1) + ",}")  # one class and a counted repeat: linear
_TWO_SPACES = re.compile(r"\s\s")
MAX_DEPTH = 8
"""How deep :func:`clean_value` walks nested ``meta`` containers; deeper values are left as they are."""


def clean_text(text: str) -> tuple[str, str | None]:
    """``(clean text, what was changed)``: ``None``, ``"nul"``, ``"surrogate"`` or ``"nul,surrogate"``.

    ASCII text without NUL (nearly all of it) is returned unchanged after
    two C-speed scans.
    """
    what: list[str] = []
    if "\x00" in text:
        text = text.replace("\x00", "")
        what.append("nul")
    if not text.isascii() and _SURROGATE.search(text) is not None:
        text = _SURROGATE.sub(REPLACEMENT, text)
        what.append("surrogate")
    return text, ",".join(what) if what else None


def fold_padding(text: str) -> tuple[str, int]:
    """``(text with each whitespace run of PADDING_RUN+ characters folded to its first, characters removed)``."""
    if len(text) <= PADDING_FROM:
        return text, 0
    # A run of PADDING_RUN or more covers two characters PADDING_RUN // 2 apart at multiples of that step:
    # a C-speed sample of the text rules the run out in most texts, without trying the pattern at every position.
    if _TWO_SPACES.search(text[:: PADDING_RUN // 2]) is None:
        return text, 0
    folded = _PADDING.sub(r"\1", text)
    return folded, len(text) - len(folded)


def decode_bytes(data: bytes | bytearray) -> tuple[str, str | None]:
    """UTF-8 bytes -> clean text; what is not UTF-8 becomes U+FFFD (``"invalid_utf8"``)."""
    raw = bytes(data)
    try:
        text = raw.decode("utf-8")
        invalid = False
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        invalid = True
    text, what = clean_text(text)
    if invalid:
        what = f"invalid_utf8,{what}" if what else "invalid_utf8"
    return text, what


def clean_value(value: Any, kinds: set[str] | None = None, depth: int = 0, max_depth: int = MAX_DEPTH) -> tuple[Any, bool]:
    """``(value with every string cleaned, whether anything changed)``, for free-form ``meta``.

    Dicts, lists and tuples are rebuilt only when something inside changed;
    keys are cleaned too. Other objects are left alone. ``kinds``, when
    given, collects what was changed (``nul``, ``surrogate``).
    """
    if isinstance(value, str):
        text, what = clean_text(value)
        if what is not None and kinds is not None:
            kinds.update(what.split(","))
        return text, what is not None
    if depth >= max_depth:
        return value, False
    if isinstance(value, Mapping):
        changed = False
        out: dict[Any, Any] = {}
        for key, item in value.items():
            new_key, key_changed = clean_value(key, kinds, depth + 1, max_depth) if isinstance(key, str) else (key, False)
            new_item, item_changed = clean_value(item, kinds, depth + 1, max_depth)
            changed = changed or key_changed or item_changed
            out[new_key] = new_item
        return (out if changed else value), changed
    if isinstance(value, list | tuple):
        items = [clean_value(item, kinds, depth + 1, max_depth) for item in value]
        if not any(changed for _, changed in items):
            return value, False
        rebuilt = [item for item, _ in items]
        return (tuple(rebuilt) if isinstance(value, tuple) else rebuilt), True
    return value, False


def describe(changes: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Field -> what changed, as ``(text.replaced message, text.nul message)``; None where nothing was."""
    changes = {f: what for f, what in changes.items() if not f.endswith(".padding")}  # noted on its own
    replaced = sorted(f for f, what in changes.items() if "surrogate" in what or "invalid_utf8" in what)
    nul = sorted(f for f, what in changes.items() if "nul" in what)
    msg_replaced = (
        f"lone surrogates or invalid UTF-8 in {', '.join(replaced)} were replaced by U+FFFD" if replaced else None
    )
    msg_nul = f"NUL characters were removed from {', '.join(nul)}" if nul else None
    return msg_replaced, msg_nul
