"""One canonical form of model text, read by every check that can refute an answer.

Why: a refuting check compares words ("tree" is not the queried "dog"). A
policy that learns the comparison is by string can dodge it without changing
what a person reads: fullwidth letters (``ｔｒｅｅ``), a Cyrillic ``е`` in
``tree``, a combining accent on every letter, a replacement character or a
zero-width space between letters, a no-break space between words. Each of
those turned a refuted label into an "unknown" one, which was paid. So
labels, thinking and queries pass through :func:`canonical` once, before any
check reads them, and what it changed is kept as codes:

=====================  ======================================================
``text.invisible``     format characters (zero-width spaces and joiners,
                       direction marks, soft hyphens, tags) were removed
``text.replacement``   U+FFFD (what a lone surrogate or bad UTF-8 became) was
                       removed
``text.whitespace``    spaces of other classes (no-break, ideographic, ...)
                       became plain spaces, runs became one
``text.nfkc``          compatibility forms (fullwidth, ligatures,
                       superscripts, circled letters) became plain letters
``text.combining``     combining marks were removed ("t̷r̷e̷e̷" -> "tree")
``text.confusable``    a letter of another script that looks Latin (Cyrillic
                       ``о``, Greek ``ο``) inside a Latin word became Latin
``text.cut``           the text was longer than the cap and was cut
=====================  ======================================================

All of it is linear, and ASCII text (nearly every real completion) takes two
C-speed scans and comes back unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

MAX_CHARS = 65_536
"""Text longer than this (after whitespace runs are folded) is cut, with ``text.cut``."""

# Letters of other scripts that a reader takes for Latin ones (after Unicode's confusables.txt, the
# lower and upper case letters that render as a Latin letter in common fonts).
_CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X",
    "Ѕ": "S", "І": "I", "Ј": "J", "Ү": "Y", "ү": "y", "ɡ": "g", "ɑ": "a", "ı": "i",
    # Greek
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P",
    "Τ": "T", "Υ": "Y", "Χ": "X",
    # Armenian, Latin look-alikes outside ASCII
    "օ": "o", "ս": "u", "ց": "g", "ℓ": "l",
}
_CONFUSABLE_TABLE = str.maketrans(_CONFUSABLES)
_CONFUSABLE_CHARS = frozenset(_CONFUSABLES)
# Unicode whitespace that is not a plain space, tab or newline; and runs of spaces.
_ODD_SPACE = re.compile(r"[^\S\n\t ]")
_SPACE_RUN = re.compile(r"[ \t]{2,}")
_NEWLINE_RUN = re.compile(r"\n{3,}")
_WORD = re.compile(r"[^\W\d_]+")
# Unicode category Cf (format characters: zero-width spaces and joiners, direction marks, soft
# hyphen, word joiner, BOM, interlinear annotation, tags), as of Unicode 14: one character class, linear
_INVISIBLE = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)


@dataclass(frozen=True, slots=True)
class Canonical:
    """The canonical text and the codes of what was changed to reach it (``()`` when nothing was)."""

    text: str
    codes: tuple[str, ...] = ()
    removed: int = 0
    """How many characters were removed or replaced (invisible, replacement, combining, confusable)."""

    @property
    def changed(self) -> bool:
        return bool(self.codes)


def canonical(text: str | None, max_chars: int = MAX_CHARS) -> Canonical:
    """``text`` in the form the refuting checks read; see the module docstring for what changes."""
    if not text:
        return Canonical("")
    codes: list[str] = []
    if text.isascii():
        # ASCII: only the control characters other than tab/newline, and runs of spaces
        t = text
        # substring tests (C speed over the whole text) rather than _SPACE_RUN.search, which tries every position
        if "  " in t or " \t" in t or "\t " in t or "\t\t" in t or "\r" in t or "\x0b" in t or "\x0c" in t:
            t = _NEWLINE_RUN.sub("\n\n", _SPACE_RUN.sub(" ", t.replace("\r", "\n").replace("\x0b", " ").replace("\x0c", " ")))
            codes.append("text.whitespace")
        if len(t) > max_chars:
            t = t[:max_chars]
            codes.append("text.cut")
        return Canonical(t, tuple(codes))
    return _canonical_unicode(text, max_chars)


def _canonical_unicode(text: str, max_chars: int) -> Canonical:
    codes: list[str] = []
    removed = 0
    # 1. spaces of every class -> " ", folded; invisible characters and U+FFFD removed. All with
    # C-speed regular expressions over the whole text, so that padding cannot push a label past the cap
    if _ODD_SPACE.search(text):
        text = _ODD_SPACE.sub(" ", text)
        codes.append("text.whitespace")
    if "\ufffd" in text:
        removed += text.count("\ufffd")
        text = text.replace("\ufffd", "")
        codes.append("text.replacement")
    invisible = _INVISIBLE.subn("", text)
    if invisible[1]:
        removed += invisible[1]
        text = invisible[0]
        codes.append("text.invisible")
    folded = _NEWLINE_RUN.sub("\n\n", _SPACE_RUN.sub(" ", text))
    if len(folded) != len(text) and "text.whitespace" not in codes:
        codes.append("text.whitespace")
    text = folded
    if len(text) > max_chars:
        text = text[:max_chars]
        codes.append("text.cut")
    # 2. compatibility forms (fullwidth, ligatures, circled and mathematical letters)
    nfkc = unicodedata.normalize("NFKC", text)
    if nfkc != text:
        codes.append("text.nfkc")
        text = nfkc
    # 3. combining marks: decomposed, then dropped ("é" -> "e", "t̷" -> "t")
    if not text.isascii():
        decomposed = unicodedata.normalize("NFD", text)
        stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        marks = len(decomposed) - len(stripped)
        if marks:
            removed += marks
            codes.append("text.combining")
            text = unicodedata.normalize("NFC", stripped)
    # 4. Latin letters of other forms that have no decomposition: small capitals ("ᴛʀᴇᴇ"), letters with a
    # stroke or hook ("ŧ", "ƀ"), read by their Unicode name, so that no list of them has to be kept
    if not text.isascii():
        varied = "".join(_latin_base(ch) if ord(ch) > 127 and ch.isalpha() else ch for ch in text)
        if varied != text:
            removed += sum(1 for a, b in zip(text, varied, strict=False) if a != b)
            codes.append("text.letter_variant")
            text = varied
    # 5. look-alike letters of other scripts in words that hold a Latin letter (or are all look-alikes)
    if not text.isascii() and _CONFUSABLE_CHARS.intersection(text):
        fixed = _WORD.sub(_fix_word, text)
        if fixed != text:
            removed += sum(1 for a, b in zip(text, fixed, strict=False) if a != b)
            codes.append("text.confusable")
            text = fixed
    # the steps above can leave doubled spaces where a removed character stood between two
    text = _SPACE_RUN.sub(" ", text)
    return Canonical(text, tuple(codes), removed)


_LATIN_NAME = re.compile(r"^LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL )?([A-Z])(?: WITH .*)?$")


@lru_cache(maxsize=2048)
def _latin_base(ch: str) -> str:
    """The plain Latin letter a variant letter is named after ("ᴛ" LATIN LETTER SMALL CAPITAL T -> "t"), else itself."""
    m = _LATIN_NAME.match(unicodedata.name(ch, ""))
    if m is None:
        return ch
    return m.group(1).lower() if ("SMALL" in unicodedata.name(ch) or ch.islower()) else m.group(1)


def _fix_word(m: re.Match[str]) -> str:
    word = m.group(0)
    if word.isascii():
        return word
    mapped = word.translate(_CONFUSABLE_TABLE)
    # a word of another script that only shares a few letters with Latin stays as it is ("собака")
    return mapped if mapped.isascii() or any("a" <= ch.lower() <= "z" for ch in word) else word


SHORT_CHARS = 2048
"""Labels and queries are read up to here (after whitespace is folded and invisible characters removed)."""


def canonical_short(text: str) -> Canonical:
    """:func:`canonical` for labels and queries: cut at :data:`SHORT_CHARS`, and cached.

    Short texts repeat in a group; a long one is read by several checks of
    one answer (the label reading, label_match, the tampering checks), and
    each reading would otherwise scan all of it again (a 60 KB label four times).
    The caches hold at most 4,096 short, 1,024 medium and 32 long texts.
    """
    if len(text) <= 512:
        return _canonical_cached(text)
    if len(text) <= 4096:
        return _canonical_medium(text)
    return _canonical_long(text)


@lru_cache(maxsize=4096)
def _canonical_cached(text: str) -> Canonical:
    return canonical(text, SHORT_CHARS)


@lru_cache(maxsize=1024)
def _canonical_medium(text: str) -> Canonical:
    return canonical(text, SHORT_CHARS)


@lru_cache(maxsize=32)
def _canonical_long(text: str) -> Canonical:
    return canonical(text, SHORT_CHARS)


def readable(text: str) -> bool:
    """Whether canonical ``text`` has something a check can read: a Latin word of two letters or more."""
    return any(len(w) >= 2 and w.isascii() for w in _WORD.findall(text[:4096]))
