"""Position words in a referring expression, read without spaCy.

Why a word list and not the parser: position words are a closed class
("left", "upper right", "far left", "second from left", "in the middle"), the
small spaCy models tag them unreliably in the telegraphic style of referring
expressions ("left guy" parses "left" as a verb), and the ``spatial``
verifier must run on a bare install.

A term is *absolute* ("the man on the left", "top right cake") when it places
the target in the image, and *relative* ("the cup left of the plate", "man
behind the car") when it needs another object; only absolute terms can be
checked against the image frame. Terms on a body part ("his left hand") say
nothing about the target's position and are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# word -> (axis, value). Axis "x": 0 left .. 1 right; "y": 0 top .. 1 bottom;
# "z": 0 front .. 1 back (depth, not checkable from a box); "c": centre.
_WORDS: dict[str, tuple[str, float]] = {
    "left": ("x", 0.0), "leftmost": ("x", 0.0), "lefthand": ("x", 0.0), "lft": ("x", 0.0),
    "right": ("x", 1.0), "rightmost": ("x", 1.0), "righthand": ("x", 1.0), "rght": ("x", 1.0),
    "top": ("y", 0.0), "upper": ("y", 0.0), "uppermost": ("y", 0.0), "topmost": ("y", 0.0), "highest": ("y", 0.0),
    "bottom": ("y", 1.0), "lower": ("y", 1.0), "lowest": ("y", 1.0), "bottommost": ("y", 1.0),
    "front": ("z", 0.0), "foreground": ("z", 0.0), "closest": ("z", 0.0), "nearest": ("z", 0.0), "closer": ("z", 0.0), "nearer": ("z", 0.0),
    "back": ("z", 1.0), "background": ("z", 1.0), "farthest": ("z", 1.0), "furthest": ("z", 1.0), "rear": ("z", 1.0),
    "behind": ("z", 1.0), "distant": ("z", 1.0),
    "middle": ("c", 0.5), "center": ("c", 0.5), "centre": ("c", 0.5), "central": ("c", 0.5), "centered": ("c", 0.5),
}
_EXTREME = {"far", "very", "extreme", "leftmost", "rightmost", "topmost", "bottommost", "uppermost", "lowest", "highest", "furthest", "farthest", "most", "all"}
_ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "last": -1,
}
# Nouns after which a side word describes a part, not where the target is.
BODY_PARTS = frozenset(
    "hand hands arm arms leg legs foot feet ear ears eye eyes shoulder shoulders knee knees wrist elbow "
    "cheek side_of_face wing wings paw paws hoof hooves glove boot shoe sock sleeve lane turn".split()
)
# Words after "of"/"to"/"from" that still mean the image frame ("left of the picture").
_FRAME = frozenset("image picture photo photograph pic frame screen view shot scene window page display".split())
_RELATIONAL_AFTER = frozenset({"of", "to", "from"})
_DEPTH_RELATIONAL = frozenset({"behind"})
_ORIENTATION = frozenset("facing faces face looking looks look pointing points point turned turning turns headed heading glancing staring leaning".split())
_TOP_GARMENT = frozenset("tank crop halter tube bikini sleeveless striped strapless".split())
_COLORS = frozenset("white black red blue green yellow orange pink purple brown gray grey tan beige silver gold navy maroon teal".split())
_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Starts only where a run of spaces starts: linear (``\s+'`` alone rescans a long run from each space).
_POSSESSIVE = re.compile(r"(?<!\s)\s+'\s*s\b")
_SKIP = frozenset("the a an of to from side corner part half end edge most very far extreme".split())


@dataclass(frozen=True, slots=True)
class PositionTerm:
    """One absolute position word: its axis, value, the words that said it, and whether it is extreme."""

    axis: str
    value: float
    text: str
    extreme: bool = False


@dataclass(frozen=True, slots=True)
class Positions:
    """Absolute position terms, ordinal ("second from left"), and relative terms seen (for evidence)."""

    terms: tuple[PositionTerm, ...] = ()
    ordinal: tuple[int, str] | None = None
    relative: tuple[str, ...] = ()
    anchored: tuple[tuple[str, float, str], ...] = ()  # (axis, value, reference word): "left side of pizza"

    def on(self, axis: str) -> set[float]:
        return {t.value for t in self.terms if t.axis == axis}

    @property
    def empty(self) -> bool:
        return not self.terms and self.ordinal is None

    def words(self) -> list[str]:
        out = [t.text for t in self.terms]
        if self.ordinal is not None:
            n, side = self.ordinal
            out.append(f"{'last' if n == -1 else n} from {side}" if side else ("last" if n == -1 else f"#{n}"))
        return out


def words(text: str) -> list[str]:
    """Lower-cased word tokens; joins the tokenised possessive "man ' s" back to "man's"."""
    text = (text or "").lower().replace("’", "'")
    text = _POSSESSIVE.sub("'s", text)
    return _WORD_RE.findall(text)


def find_positions(text: str | list[str]) -> Positions:
    """Absolute position terms of ``text`` (a string or its :func:`words`)."""
    toks = words(text) if isinstance(text, str) else text
    terms: list[PositionTerm] = []
    relative: list[str] = []
    anchored: list[tuple[str, float, str]] = []
    ordinal: tuple[int, str] | None = None
    n = len(toks)
    for i, tok in enumerate(toks):
        if tok in _ORDINALS:
            side = ""
            for j in range(i + 1, min(n, i + 5)):
                if toks[j] in _WORDS and _WORDS[toks[j]][0] in "xy":
                    side = toks[j]
                    break
            if side or tok == "last" or (i + 1 < n and toks[i + 1] not in _FRAME):
                ordinal = (_ORDINALS[tok], side)
            continue
        hit = _WORDS.get(tok)
        if hit is None:
            continue
        axis, value = hit
        prev = toks[i - 1] if i else ""
        nxt = toks[i + 1] if i + 1 < n else ""
        nxt2 = toks[i + 2] if i + 2 < n else ""
        if tok == "left" and prev in {"is", "was", "has", "have", "had", "been", "were", "are"}:
            continue  # the verb "leave"
        if prev in _ORIENTATION or (i >= 2 and toks[i - 2] in _ORIENTATION and prev in {"to", "the", "towards"}):
            continue  # "facing left", "looking to the right": where it turns, not where it is
        if tok == "top" and (prev in _TOP_GARMENT or (prev in _COLORS and not nxt)):
            continue  # "tank top", "red top": a garment
        if nxt in BODY_PARTS or (nxt in {"side", "hand"} and nxt2 == "of" and i + 3 < n and toks[i + 3] in {"his", "her", "its", "their"}):
            continue
        # "in front of the car", "behind the man", "left of the plate": relative.
        after = [t for t in toks[i + 1 : i + 5] if t not in _SKIP]
        if tok in _DEPTH_RELATIONAL and after and after[0] not in _FRAME:
            relative.append(" ".join(toks[i : i + 3]))
            continue
        if (nxt in _RELATIONAL_AFTER or (nxt in {"side", "hand"} and nxt2 == "of")) and after and after[0] not in _FRAME:
            if not (ordinal is not None and prev in {"from", "the"}):
                relative.append(" ".join(toks[max(0, i - 1) : i + 4]))
                anchored.append((axis, value, after[0]))
                continue
        if prev == "in" and tok == "front" and nxt == "of":
            relative.append(" ".join(toks[i - 1 : i + 4]))
            continue
        if ordinal is not None and prev in {"from", "the"} and any(toks[k] in _ORDINALS for k in range(max(0, i - 4), i)):
            continue  # the side of "second from left" is in the ordinal
        extreme = tok in _EXTREME or prev in _EXTREME
        text_span = f"{prev} {tok}" if prev in _EXTREME else tok
        terms.append(PositionTerm(axis, value, text_span, extreme))
    return Positions(tuple(terms), ordinal, tuple(relative), tuple(anchored))


def conflicting(a: Positions, b: Positions) -> list[tuple[str, str]]:
    """Pairs of terms that cannot both describe one target ("left" vs "right", "top" vs "bottom")."""
    out: list[tuple[str, str]] = []
    # "middle" vs "left"/"right" when neither side also names the other axis ("middle left")
    ca, cb = a.on("c"), b.on("c")
    xa, xb = a.on("x"), b.on("x")
    if ca and not xa and len(xb) == 1 and not cb:
        out.append(("middle", next(t.text for t in b.terms if t.axis == "x")))
    elif cb and not xb and len(xa) == 1 and not ca:
        out.append((next(t.text for t in a.terms if t.axis == "x"), "middle"))
    for axis in ("x", "y", "z"):
        va = {t.value: t.text for t in a.terms if t.axis == axis}
        vb = {t.value: t.text for t in b.terms if t.axis == axis}
        if len(va) == 1 and len(vb) == 1:
            (x, tx), (y, ty) = next(iter(va.items())), next(iter(vb.items()))
            if abs(x - y) >= 1.0:
                out.append((tx, ty))
    # "right side of pizza" vs "left side of pizza": same reference, opposite sides
    for axis, va, ref in a.anchored:
        for axis_b, vb, ref_b in b.anchored:
            if axis == axis_b and ref == ref_b and abs(va - vb) >= 1.0:
                out.append((_name(axis, va) + f" of {ref}", _name(axis, vb) + f" of {ref}"))
    if a.ordinal and b.ordinal and a.ordinal != b.ordinal:
        (na, sa), (nb, sb) = a.ordinal, b.ordinal
        if na != nb and (sa == sb or not sa or not sb):
            out.append((f"{na} from {sa}".strip(), f"{nb} from {sb}".strip()))
        elif na == nb and sa and sb and _WORDS.get(sa, ("", 0))[0] == _WORDS.get(sb, ("", 0))[0] and _WORDS[sa][1] != _WORDS[sb][1]:
            out.append((f"{na} from {sa}", f"{nb} from {sb}"))
    return out


def _name(axis: str, value: float) -> str:
    return {("x", 0.0): "left", ("x", 1.0): "right", ("y", 0.0): "top", ("y", 1.0): "bottom", ("z", 0.0): "front", ("z", 1.0): "back"}.get((axis, value), axis)
