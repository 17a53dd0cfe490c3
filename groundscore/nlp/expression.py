"""What a referring expression says: head noun, attributes, positions, negations.

:func:`extract` reads tagged tokens (word, lemma, coarse POS, fine tag), the
output of spaCy's tagger and lemmatizer, and returns an :class:`Expression`:
plain frozen data, cheap to cache and to compare, with no spaCy object kept.

Why a left-to-right rule and not the dependency parse: referring expressions
are telegraphic ("left guy", "man 's hat", "peeled carrot left", "second
from left") and the small English models parse them badly ("left" becomes
a verb, "far left zebra" a verb phrase). The head of such an expression is,
almost always, the last noun of its first noun run, with four exceptions this
module handles: position and colour words are never the head ("the one on
the right", "white" tagged as a noun); a possessor gives way to the possessed
("man 's hat" -> hat); a part or quantity noun gives way to its whole
("slice of pizza", "pizza slice" -> pizza, part kept); and misspelt nouns are
corrected against the lexicon ("giraffee" -> giraffe). Skipping the parser
also makes tagging about three times faster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from groundscore.nlp.lexicon import Lexicon
from groundscore.nlp.positions import BODY_PARTS, Positions, find_positions

COLOR_FAMILIES: dict[str, str] = {
    "white": "white", "ivory": "white", "cream": "white",
    "black": "black", "dark": "",
    "red": "red", "maroon": "red", "crimson": "red", "burgundy": "red",
    "blue": "blue", "navy": "blue", "teal": "blue", "turquoise": "blue",
    "green": "green", "olive": "green", "lime": "green",
    "yellow": "yellow", "gold": "yellow", "golden": "yellow",
    "orange": "orange",
    "pink": "pink", "purple": "purple", "violet": "purple", "lavender": "purple",
    "brown": "brown", "tan": "brown", "beige": "brown", "khaki": "brown",
    "gray": "gray", "grey": "gray", "silver": "gray",
}
# colours that share a family-pair are not contradictions (tan vs khaki, gray vs silver, ...).
_COMPATIBLE_COLORS = {frozenset(p) for p in (("teal", "green"), ("orange", "red"), ("pink", "red"), ("orange", "yellow"), ("orange", "brown"), ("brown", "red"), ("gray", "white"), ("gray", "black"), ("purple", "blue"), ("purple", "pink"))}
SIZE_WORDS: dict[str, int] = {
    "big": 1, "bigger": 1, "biggest": 1, "large": 1, "larger": 1, "largest": 1, "huge": 1, "giant": 1,
    "tall": 1, "taller": 1, "tallest": 1, "adult": 1, "grown": 1,
    "small": -1, "smaller": -1, "smallest": -1, "little": -1, "tiny": -1, "mini": -1,
    "short": -1, "shorter": -1, "shortest": -1, "baby": -1, "young": -1,
}
NEGATORS = frozenset({"without", "no", "not", "non", "n't", "never", "nothing", "none", "minus"})
_NUMBERS = {"two": 2, "both": 2, "pair": 2, "three": 3, "four": 4, "five": 5, "six": 6, "several": 2, "many": 2, "all": 2, "each": 2, "every": 2, "multiple": 2}
_NOUN_POS = frozenset({"NOUN", "PROPN"})
_STOP_POS = frozenset({"ADP", "VERB", "AUX", "CCONJ", "SCONJ", "PRON", "PUNCT"})
_CLAUSE = frozenset({"who", "that", "which", "with", "without", "wearing", "holding", "in", "on", "at", "near", "by", "under", "behind", "next", "and", "or", "while", "whose", "where", "to", "for", "from", "of", "above", "below", "beside", "between", "eating", "sitting", "standing"})
_PLURAL_TAGS = frozenset({"NNS", "NNPS"})


@dataclass(frozen=True, slots=True)
class Expression:
    """The parts of one referring expression that a label check compares.

    ``head`` is the lemma of the head noun (lexicon-corrected), None when the
    expression names no object ("second from left", "blue"). ``colors`` and
    ``sizes`` map a noun lemma to the attribute words directly before it.
    ``with_nouns``/``without_nouns`` record "with X" / "without X" / "no X";
    ``negated_head`` is "not the red car". ``count`` is how many objects the
    expression asks for, when it says (None otherwise).
    """

    text: str
    words: tuple[str, ...] = ()
    lemmas: tuple[str, ...] = ()
    head: str | None = None
    head_text: str | None = None
    head_plural: bool = False
    corrected: str | None = None
    part: str | None = None
    possessor: str | None = None
    nouns: tuple[str, ...] = ()
    colors: dict[str, frozenset[str]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    with_nouns: frozenset[str] = frozenset()
    without_nouns: frozenset[str] = frozenset()
    negated_head: bool = False
    count: int | None = None
    positions: Positions = field(default_factory=Positions)

    @property
    def content(self) -> frozenset[str]:
        """Content lemmas (no stop words), for overlap measures."""
        return frozenset(w for w in self.lemmas if w.isalnum() and w not in _STOPWORDS)

    def evidence(self) -> dict:
        """A JSON-ready summary for ``Verdict.details``."""
        out: dict = {"text": self.text, "head": self.head}
        if self.part:
            out["part"] = self.part
        if self.possessor:
            out["possessor"] = self.possessor
        if self.corrected:
            out["corrected_from"] = self.corrected
        if self.colors:
            out["colors"] = {k: sorted(v) for k, v in self.colors.items()}
        if self.sizes:
            out["sizes"] = dict(self.sizes)
        if self.without_nouns:
            out["without"] = sorted(self.without_nouns)
        if self.negated_head:
            out["negated"] = True
        if not self.positions.empty:
            out["positions"] = self.positions.words()
        if self.count:
            out["count"] = self.count
        return out


_STOPWORDS = frozenset(
    "the a an of in on at to with and or is are this that it its his her their one ones from by for as who which "
    "while near next s 's".split()
)

Token = tuple[str, str, str, str]  # (lower-cased text, lemma, coarse POS, fine tag)


def extract(text: str, tokens: Sequence[Token], lexicon: Lexicon, english: frozenset[str] | set[str] = frozenset()) -> Expression:
    """Read an :class:`Expression` from tagged tokens of ``text``.

    ``english`` is a set of real English words (the spaCy lemmatizer's
    index): a word in it is never "corrected" as a typo ("part" stays
    "part", not "pant").
    """
    toks = [t for t in tokens if t[0].strip()]
    words = tuple(t[0] for t in toks)
    lemmas = tuple(_lemma(t, lexicon) for t in toks)
    # spelling correction is the costly step: the first MAX_TYPO_WORDS candidate words only (the head comes early)
    candidates = [i for i, t in enumerate(toks) if t[0] not in english and t[0].isalpha()][:MAX_TYPO_WORDS]
    typos = {i: fixed for i in candidates if (fixed := _typo(toks[i], lemmas[i], lexicon))}
    if typos:
        lemmas = tuple(typos.get(i, lem) for i, lem in enumerate(lemmas))
    positions = find_positions(list(words))

    def is_attribute(i: int) -> bool:
        w = words[i]
        return w in COLOR_FAMILIES or w in SIZE_WORDS or _is_position_word(w) or w in _NUMBERS or w.isdigit()

    def is_nominal(i: int) -> bool:
        w, _, pos, _ = toks[i]
        if i in typos:
            return True
        if is_attribute(i) and not _head_like_attribute(i, words, lexicon):
            return False
        if _participle(w) and not lexicon.knows(w):
            return False  # "person seated", "bench facing": a verb form, whatever the tagger says
        if lemmas[i] in lexicon.generic and lemmas[i] not in {"one", "ones"}:
            return pos in _NOUN_POS or lexicon.knows(w)
        if lexicon.knows(w):
            return pos not in {"ADP", "DET", "PRON", "CCONJ", "AUX", "PART"}
        if lexicon.knows(lemmas[i]):
            return pos in _NOUN_POS or pos in {"ADJ", "X", "PROPN"}
        return pos in _NOUN_POS or (pos == "X" and w.isalpha())

    # 1. the first noun run, skipping determiners, attributes and position words.
    head_i: int | None = None
    possessor: str | None = None
    part: str | None = None
    i, n = 0, len(toks)
    while i < n:
        if not is_nominal(i):
            if head_i is not None:
                break
            if i > 0 and words[i] in _CLAUSE and _seen_noun(head_i):
                break
            i += 1
            continue
        run_start = i
        while i < n and is_nominal(i) and not (i > run_start and words[i] in _CLAUSE):
            i += 1
        run = list(range(run_start, i))
        # "man 's hat" / "man ' s hat" / "mans hat": the possessor gives way.
        if i < n and words[i] in {"'s", "'", "s"} and (words[i] == "'s" or (i + 1 < n and words[i + 1] == "s") or words[i] == "s"):
            possessor = lemmas[run[-1]]
            i += 2 if (words[i] == "'" and i + 1 < n and words[i + 1] == "s") else 1
            continue
        head_i = run[-1]
        if len(run) > 1 and (lexicon.knows(f"{words[run[-2]]} {words[run[-1]]}") or lexicon.knows(f"{lemmas[run[-2]]} {lemmas[run[-1]]}")):
            break  # "lap top", "hot dog": a two-word name
        # "pizza slice": a part noun after a modifier noun names the modifier.
        if lemmas[head_i] in lexicon.parts and len(run) > 1:
            part = lemmas[head_i]
            head_i = run[-2]
        # "slice of pizza", "top of a red umbrella": follow "of".
        elif lemmas[head_i] in lexicon.parts and i + 1 < n and words[i] == "of":
            j = i + 1
            while j < n and not is_nominal(j):
                if words[j] in _CLAUSE:
                    break
                j += 1
            k = j
            while k < n and is_nominal(k) and not (k > j and words[k] in _CLAUSE):
                k += 1
            if k > j:
                part = lemmas[head_i]
                head_i = k - 1
        break

    head = lemmas[head_i] if head_i is not None else None
    # two-word names: "hot dog", "teddy bear", "lap top", "cell phone"
    if head_i is not None and head_i > 0:
        for pair in (f"{words[head_i - 1]} {words[head_i]}", f"{lemmas[head_i - 1]} {lemmas[head_i]}"):
            if lexicon.knows(pair):
                head = pair
                break
    corrected = words[head_i] if head_i is not None and head_i in typos else None
    if head is not None and not lexicon.knows(head) and head not in lexicon.generic and words[head_i] not in english and head not in english:
        fixed = lexicon.correct(head)
        if fixed:
            corrected, head = head, fixed
    if head in {"one", "ones"}:
        head = None  # "the one on the right": no category, only attributes

    # 2. attributes attached to each noun: colour/size words right before it.
    colors: dict[str, set[str]] = {}
    sizes: dict[str, int] = {}
    nouns: list[str] = []
    with_nouns: set[str] = set()
    without_nouns: set[str] = set()
    negated_head = False
    polarity_until = -1
    polarity = 0
    for j in range(n):
        w = words[j]
        if w in NEGATORS or w == "with":
            polarity = -1 if w in NEGATORS else 1
            polarity_until = j + 4
            if w == "not" and head_i is not None and j < head_i:
                negated_head = True
            continue
        if not is_nominal(j):
            continue
        lem = head if j == head_i else lemmas[j]
        if lem is None:
            lem = lemmas[j]
        nouns.append(lem)
        k = j - 1
        while k >= 0 and (words[k] in COLOR_FAMILIES or words[k] in SIZE_WORDS or words[k] in {"and", "light", "dark", "bright", "pale", "-"} or (words[k] not in english and _fuzzy_color(words[k]))):
            color = words[k] if words[k] in COLOR_FAMILIES else (_fuzzy_color(words[k]) if words[k] not in english else None)
            if color and COLOR_FAMILIES.get(color):
                colors.setdefault(lem, set()).add(color)
            if words[k] in SIZE_WORDS and not (words[k] == "baby" and lexicon.knows(lem)):
                sizes[lem] = SIZE_WORDS[words[k]]
            elif words[k] == "baby":
                sizes[lem] = -1
            k -= 1
        if j <= polarity_until and polarity:
            (without_nouns if polarity < 0 else with_nouns).add(lem)
            polarity_until = -1
            polarity = 0
    # a colour alone ("blue", "white shirt" is covered above) describes the target itself.
    if head is None:
        lone = {w for w in words if COLOR_FAMILIES.get(w)}
        if lone:
            colors.setdefault("", set()).update(lone)

    count = None
    if head_i is not None:
        for k in range(max(0, head_i - 3), head_i):
            if words[k] in _NUMBERS:
                count = _NUMBERS[words[k]]
                break
    head_plural = head_i is not None and toks[head_i][3] in _PLURAL_TAGS
    if count is not None and count >= 2 and not head_plural and words[max(0, (head_i or 0) - 1)] not in {"two", "three", "four", "five", "six", "both", "all", "several", "multiple", "many"}:
        count = None
    return Expression(
        text=text,
        words=words,
        lemmas=lemmas,
        head=head,
        head_text=words[head_i] if head_i is not None else None,
        head_plural=head_plural,
        corrected=corrected,
        part=part,
        possessor=possessor,
        nouns=tuple(nouns),
        colors={k: frozenset(v) for k, v in colors.items()},
        sizes=sizes,
        with_nouns=frozenset(with_nouns),
        without_nouns=frozenset(without_nouns),
        negated_head=negated_head,
        count=count,
        positions=positions,
    )


MAX_TYPO_WORDS = 6
"""Words of one expression, unknown to English, that spelling correction looks at (the first ones: the head comes
early); more are read as they are. A real label has one or two such words, a label of made-up text twelve."""
_TYPO_POS = frozenset({"NOUN", "PROPN", "ADJ", "X"})
_CLOSED_POS = frozenset({"DET", "ADP", "PRON", "CCONJ", "SCONJ", "AUX", "PART", "NUM", "PUNCT", "SYM", "INTJ"})


def _typo(tok: Token, lemma: str, lexicon: Lexicon) -> str | None:
    """The lexicon term a misspelt noun meant ("pesron" -> "person"), or None."""
    w, _, pos, _ = tok
    if pos in _CLOSED_POS or len(w) < (4 if pos in _TYPO_POS else 6) or not w.isalpha() or _participle(w):
        return None
    if lexicon.knows(w) or lexicon.knows(lemma) or w in lexicon.generic or w in lexicon.parts or w in COLOR_FAMILIES or w in SIZE_WORDS or _is_position_word(w):
        return None
    fixed = lexicon.correct(w)
    return fixed if fixed and lexicon.lookup(fixed) else None


def _participle(w: str) -> bool:
    return len(w) > 4 and (w.endswith("ing") or w.endswith("ed"))


def _seen_noun(head_i: int | None) -> bool:
    return head_i is not None


def _lemma(tok: Token, lexicon: Lexicon) -> str:
    w, lem, _, _ = tok
    if lexicon.knows(w):
        return w  # the lexicon's own form: "glasses", "shorts", "people" keep their meaning
    lem = (lem or w).lower()
    if lem == "-pron-":
        return w
    return lem


def _is_position_word(w: str) -> bool:
    from groundscore.nlp.positions import _ORDINALS, _WORDS

    return w in _WORDS or w in _ORDINALS or w in {"far", "side", "corner", "most"}


def _head_like_attribute(i: int, words: tuple[str, ...], lexicon: Lexicon) -> bool:
    """"orange" the fruit, "top" the shirt, "back" the body part: nouns when nothing nominal follows."""
    w = words[i]
    if w not in {"orange", "oranges", "top", "baby", "babies", "short", "shorts", "adult", "back", "front"}:
        return False
    if w in {"front", "back"}:
        return False
    nxt = words[i + 1] if i + 1 < len(words) else ""
    return not nxt or (nxt in _CLAUSE and nxt != "of")


# real words one edit away from a colour ("back" / "black"): never corrected
_NOT_COLORS = frozenset("back bread brow blur blues bleed bled pin pine pinky tank tang tin rex reed read greet grew gree greek whit while whine white wire lack slack block bluff braun brawn grace gran grant orang purpl".split())


@lru_cache(maxsize=4096)
def _fuzzy_color(w: str) -> str | None:
    if not 4 <= len(w) <= 20 or w in COLOR_FAMILIES or w in _NOT_COLORS or not w.isalpha():
        return None
    from rapidfuzz import fuzz, process

    hit = process.extractOne(w, _COLOR_LIST, scorer=fuzz.ratio, score_cutoff=85)  # difflib's ratio, in C
    return str(hit[0]) if hit else None


_COLOR_LIST = [c for c, fam in COLOR_FAMILIES.items() if fam]


def colors_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Two colour sets that cannot describe one thing: no shared or near family."""
    fa = {COLOR_FAMILIES[c] for c in a if COLOR_FAMILIES.get(c)}
    fb = {COLOR_FAMILIES[c] for c in b if COLOR_FAMILIES.get(c)}
    if not fa or not fb or fa & fb:
        return False
    return not any(frozenset((x, y)) in _COMPATIBLE_COLORS for x in fa for y in fb)


def body_part(word: str) -> bool:
    return word in BODY_PARTS
