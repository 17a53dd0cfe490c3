"""Absence read from the grammar of a sentence, not from a list of phrases.

:func:`groundscore.nlp.thinking.absence` reads "the target is not there" from
phrases ("there is no ...", "cannot find ..."). Measured on absence wordings
written after the phrases were (``benchmarks/bench_refutations.py`` part 3),
a phrase list reads about half of each new set: every set brings wordings
nobody listed ("{q} is not among the things in this picture", "this photo
shows no sign of {q}"). This module reads the shape those wordings share,
from spaCy's dependency parse:

- a noun of the query is in the sentence;
- the clause that governs it (its predicate, the complements that predicate
  sits in, and their own negation, auxiliaries and complements) is negated
  ("not", "n't", "never", "nothing", "no" on the noun) or says it lacks
  ("absent", "missing", "lack", "unable", "fail");
- and that clause is about seeing or being in the picture: a perception
  verb ("see", "find", "spot", "detect", "notice", "make out", ...), or the
  scene itself ("image", "photo", "frame", "view", "there", "here") through
  a predicate of being there ("is not in the image", "does not feature").

Beside that shape: a pronoun standing for the target with its own place or
perception ("nothing in this image is {q}", "{q} is not something this
picture contains"), a word that says unseen ("remains unseen"), a verb that
leaves the target out ("has been left out of this picture") and a picture
said to lack it ("this picture is without {q}", "empty of {q}"). A query of
two words or more restated in the sentence is parsed as "the target", so
that its own verbs and tags do not make a clause of their own.

What it leaves alone, because real answers say it of objects that are there
(measured on the first 300 answers of every REC log: 0 of 2,337 IoU-correct
answers are newly flagged; on all 18,000 answers of those logs, see
``docs/refutations.md``): a sentence about the query ("the description does
not specify ..."), a query that itself negates ("the man with no hat"),
possession and clothing ("does not have a black face", "not wearing a
cap"), a part of the target ("the dog's tail remains unseen"), a negated
predicate that is not about being there ("the boy is not smiling in this
photo"), a partial view ("not fully visible", "partially hidden"), another
object ("there is no other bus behind it") and a noun set against another
("a standard glass, not a branded one").

Cost is bounded: only sentences with a negation cue, a query noun and a
word of seeing or of the picture are parsed, at most :data:`MAX_SENTENCES`
of at most :data:`MAX_SENTENCE_CHARS` characters and
:data:`MAX_SENTENCE_WORDS` words each (:data:`MAX_PARSE_WORDS` in all),
under the parser's own lock; a batch's sentences are parsed in one pass
(:func:`denied_many`). The parse's strings are given back to spaCy
(``memory_zone``) before the result leaves.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

from groundscore.nlp.absence import _ABOUT_QUERY
from groundscore.nlp.analyzer import _bound_lemma_cache
from groundscore.nlp.thinking import _SENTENCE, _names, clip, unquoted

MAX_SENTENCES = 2
"""Sentences of one thinking that are parsed (each costs a parse of about 2-10 ms here)."""
MAX_SENTENCE_CHARS = 240
"""A sentence longer than this is parsed up to here (real absence sentences are far shorter)."""
MAX_SENTENCE_WORDS = 40
"""And up to this many words: a parse costs about 0.25 ms a word, and 240 characters of short words are 56.
The sentences this reading parses in the 22,185 thinkings of the shared logs have at most 38 words (99%: 35)."""
MAX_RESTATED_WORDS = 32
"""A query longer than this is not looked for restated (a sentence is parsed up to 40 words anyway)."""
MAX_PARSE_WORDS = 60
"""Words parsed for one thinking, all its sentences together (the second gets what the first left). In the
shared logs 10 thinkings have two such sentences, of 48 words at most together."""

_CUE = re.compile(
    r"\b(?:no|not|never|nothing|none|nowhere|cannot|unable|fail(?:s|ed)?|absent|missing|lacks?|lacking|"
    r"unseen|invisible|undetect\w*|unnoticed|unobserved|omit\w*|exclud\w*|(?:left|leaves|leave|cropped|cut) out|"
    r"without|impossible|(?:empty|devoid|bare) of)\b|n't\b",
    re.IGNORECASE,
)
# the clause must be about seeing or being in the picture: a sentence without any such word is not parsed
_SEEN = re.compile(
    r"\b(?:see|sees|saw|seen|seeing|find|finds|found|finding|locat\w*|identif\w*|spot\w*|detect\w*|notic\w*|"
    r"observ\w*|discern\w*|recogni[sz]\w*|pick\w*|exist\w*|depict\w*|pictured|captur\w*|photo\w*|"
    r"unseen|invisible|undetect\w*|unnoticed|unobserved|"
    r"(?:image|picture|frame|scene|shot|view|sight|screenshot)s?|there|here)\b",
    re.IGNORECASE,
)
_QUERY_NEGATES = re.compile(r"\b(?:no|not|without|never|none|nothing|missing|absent)\b|n't\b", re.IGNORECASE)
_PERCEIVE = frozenset(
    "see find locate identify spot detect notice observe discern recognize recognise pick exist depict picture "
    "capture".split()
)
_SCENE = frozenset("image picture photo photograph frame scene shot view sight screenshot there here".split())
_PARTIAL = frozenset("partially partly fully entirely completely clearly directly only also other another else".split())
_LACK = frozenset("absent missing lack unable fail impossible".split())
# "the scene is empty of {q}", "this picture is without {q}": the picture said to lack the noun
_EMPTY_OF = frozenset("empty devoid bare".split())
# words that say unseen by themselves: a lack and a perception in one ("the dog remains unseen")
_UNSEEN = frozenset("unseen invisible undetected undetectable unnoticed unobserved".split())
# the predicates of being there: a negated clause that names the picture only denies presence through one of
# these ("the dog is not in the image"); "the boy is not smiling in this photo" denies a smile, not the boy
_PRESENCE = frozenset("be exist appear remain show include contain feature figure depict capture picture visible "
                      "present available".split())
# verbs that leave the target out of the picture ("has been left out of this picture", "was cropped out")
_OMIT = frozenset("omit exclude".split())
_OMIT_WITH_OUT = frozenset("leave crop cut".split())
# a pronoun standing for the target: "nothing in this image is a dog", "I find nothing that looks like a dog",
# "the dog is not something this picture contains"
_INDEFINITE = frozenset("nothing something anything none".split())
_CONTAINS = frozenset("see find spot notice detect observe contain show include depict feature capture".split())
_NOT_PRESENCE = frozenset("have wear hold".split())
_NEGATORS = frozenset("never nowhere nothing none".split())
_OTHER = frozenset("other another more further additional".split())
# from a predicate up to the clause it completes ("able" <- "am not"; "is" <- "believe" in "don't believe X is ...")
_UP = frozenset("xcomp ccomp acomp pcomp prep pobj attr relcl".split())
# and down to what qualifies it: negation, auxiliaries, complements, "there" (not a coordinated clause)
_DOWN = frozenset("xcomp acomp aux auxpass neg advmod prep pobj attr expl dobj nsubj nsubjpass oprd npadvmod".split())

_lock = threading.Lock()
_WORD = re.compile(r"\S+")


def _candidates(think: str, forms: set[str]) -> list[str]:
    """Sentences with a negation cue and a query noun, not about the query, quotes blanked; at most a few."""
    # a lone surrogate (valid in JSON, not in UTF-8) would make spaCy raise: it becomes "?"
    text = unquoted(clip(think)).encode("utf-8", "replace").decode("utf-8")
    out: list[str] = []
    budget = MAX_PARSE_WORDS
    for m in _SENTENCE.finditer(text):
        sentence = m.group(0).strip()
        if not sentence or not _CUE.search(sentence) or not _SEEN.search(sentence) or _ABOUT_QUERY.search(sentence):
            continue
        if _names(sentence, forms):
            cut, words = _first_words(sentence[:MAX_SENTENCE_CHARS], min(MAX_SENTENCE_WORDS, budget))
            out.append(cut)
            budget -= words
            if len(out) >= MAX_SENTENCES or budget <= 0:
                break
    return out


def _first_words(sentence: str, n: int) -> tuple[str, int]:
    """The sentence up to the end of its ``n``-th word, and how many words that is (spacing kept as written)."""
    ends = [m.end() for m in itertools.islice(_WORD.finditer(sentence), n)]
    return (sentence[: ends[-1]] if ends else ""), len(ends)


def _predicate(tok: Any) -> Any:
    """The verb or adjective that governs a noun: its head, climbed until one is found (a few steps)."""
    cur = tok
    for _ in range(6):
        if cur.pos_ in ("VERB", "AUX", "ADJ") or cur.head is cur:
            return cur
        cur = cur.head
    return cur


def _clause(pred: Any) -> set[Any]:
    """The predicate, the clauses it completes, and what qualifies them (two steps down).

    A pronoun that stands for the target is read with its own phrase: a relative clause under it climbs through
    it ("I can find nothing that corresponds to a dog": "find"), and its place or perception comes with it
    ("nothing in this image", "something this picture contains").
    """
    out = {pred}
    cur = pred
    for _ in range(4):
        if cur.dep_ not in _UP or cur.head is cur:
            break
        cur = cur.head
        out.add(cur)
        if cur.lower_ in _INDEFINITE and cur.head is not cur:
            cur = cur.head  # "nothing that corresponds to a dog" <- "find"
            out.add(cur)
    frontier = list(out)
    for _ in range(2):
        step = []
        for t in frontier:
            for c in t.children:
                if c.dep_ in _DOWN and c not in out:
                    out.add(c)
                    step.append(c)
        frontier = step
    for t in [t for t in out if t.lower_ in _INDEFINITE]:
        for c in t.children:
            if c.dep_ == "prep":  # "nothing in this image"
                out.add(c)
                out.update(g for g in c.children if g.dep_ == "pobj")
            elif c.dep_ == "relcl" and c.lemma_.lower() in _CONTAINS:  # "something this picture contains"
                out.add(c)
                out.update(g for g in c.children if g.dep_ in ("nsubj", "neg", "aux"))
    return out


def _omitted(tok: Any) -> bool:
    """The noun is what a verb leaves out of the picture: "has been left out of this picture", "is omitted from
    the photo", "was cropped out of the frame" (not negated, and naming the picture)."""
    verb = tok.head
    if tok.dep_ not in ("nsubjpass", "dobj") or verb.pos_ != "VERB":
        return False
    lemma = verb.lemma_.lower()
    if not (lemma in _OMIT or (lemma in _OMIT_WITH_OUT and any(c.lower_ == "out" for c in verb.children))):
        return False
    if any(c.dep_ == "neg" or c.lower_ in _PARTIAL or c.lower_ in ("half", "mostly") for c in verb.children):
        return False  # "is not excluded from the picture", "is partially left out of the frame"
    return any(t.lower_ in _SCENE for t in verb.subtree if t.i > tok.i and t.i - verb.i <= 8)


def _lacked(tok: Any) -> bool:
    """The noun is what the picture is said to lack: "this picture is without {q}", "the scene is empty of {q}"."""
    prep = tok.head
    if tok.dep_ != "pobj" or prep.lower_ not in ("without", "of"):
        return False
    holder = prep.head
    if prep.lower_ == "of":
        if holder.lemma_.lower() not in _EMPTY_OF:
            return False
        holder = holder.head
    if holder.lower_ in _SCENE:
        return True
    return holder.lemma_.lower() == "be" and any(
        c.dep_ in ("nsubj", "nsubjpass") and c.lower_ in _SCENE for c in holder.children)


def _denies(doc: Any, forms: set[str]) -> bool:
    for tok in doc:
        if tok.pos_ not in ("NOUN", "PROPN") or (tok.lower_ not in forms and tok.lemma_.lower() not in forms):
            continue
        if tok.dep_ == "poss":
            continue  # "the dog's tail is not visible": a part of the target, not the target
        if any(c.lower_ in _OTHER for c in tok.children):
            continue  # "there is no other bus behind it": another object is denied, not the target
        if _omitted(tok) or _lacked(tok):
            return True
        pred = _predicate(tok)
        if pred.lemma_.lower() in _NOT_PRESENCE:
            continue  # "does not have a black face": a property, not the object's presence
        clause = _clause(pred)
        lower = {t.lower_ for t in clause}
        if lower & _PARTIAL:
            continue  # "not fully visible", "only the other one": a partial view or another object
        lemmas = {t.lemma_.lower() for t in clause}
        # a negation of the clause, not of a noun beside it ("a standard glass, not a branded one")
        negations = [t for t in clause if (t.dep_ == "neg" and t.head.pos_ in ("VERB", "AUX", "ADJ")) or t.lower_ in _NEGATORS]
        negated = bool(negations) or any(c.lower_ == "no" and c.dep_ in ("det", "neg") for c in tok.children)
        unseen = bool(lemmas & _UNSEEN)
        lacks = bool(lemmas & _LACK)
        # a verb of perception ("pictured", "captured", "make out"), not the noun "picture": that is the scene below
        perceived = unseen or any(t.pos_ not in ("NOUN", "PROPN") and (
            t.lemma_.lower() in _PERCEIVE or (t.lemma_.lower() == "make" and any(c.lower_ == "out" for c in t.subtree)))
            for t in clause)
        # the picture alone makes a presence claim only through a predicate of being there, said of the target or
        # negated ("the image does not feature ..."): "the boy is not smiling in this photo" denies a smile
        placed = bool(lower & _SCENE) and (
            pred.lemma_.lower() in _PRESENCE or lacks
            or any(t.head.lemma_.lower() in _PRESENCE for t in negations if t.dep_ == "neg"))
        if (negated or unseen or lacks) and (perceived or placed):
            return True
    return False


def denied(think: str | None, forms: set[str] | None, query: str = "") -> str | None:
    """The sentence of ``think`` whose grammar denies that a query noun is in the picture, or None.

    ``forms`` are the query's nouns (and their singulars). None when the
    query itself negates (a restated "the man with no hat" denies nothing),
    when there is no query noun to look for, or when spaCy or its parser is
    not installed (the phrase list still reads absence then).
    """
    return denied_many([(think, forms, query)])[0]


def denied_many(items: Sequence[tuple[str | None, set[str] | None, str]]) -> list[str | None]:
    """:func:`denied` of each ``(think, forms, query)``, in order, the sentences of all of them parsed in one pass.

    One pass because a parse of a few sentences costs mostly the pipeline's own overhead per call: a batch
    whose answers each hold two sentences to parse costs about a third less this way. Each sentence is still
    read alone (the parse of one does not see another's words), so an answer's reading does not depend on the
    batch it came in (``tests/test_denial.py`` compares the two).
    """
    plans = [_plan(think, forms, query) for think, forms, query in items]
    texts = [text for plan in plans if plan is not None for text in plan[1]]
    names = [plan[2] for plan in plans if plan is not None for _ in plan[1]]
    nlp = _parser() if texts else None
    if nlp is None:
        return [None] * len(items)
    zone = getattr(nlp, "memory_zone", None)  # spaCy >= 3.8: the parse's new strings are given back on the way out
    with _lock:
        with zone() if zone is not None else nullcontext():
            hits = [_denies(doc, look_for) for doc, look_for in zip(nlp.pipe(texts), names, strict=True)]
        _bound_lemma_cache(nlp)  # the lemmatizer caches every new (word, tag): bounded as the tagger's is
    out: list[str | None] = []
    at = 0
    for plan in plans:
        if plan is None:
            out.append(None)
            continue
        sentences = plan[0]
        out.append(next((s for s, hit in zip(sentences, hits[at : at + len(sentences)], strict=True) if hit), None))
        at += len(sentences)
    return out


def _plan(think: str | None, forms: set[str] | None, query: str) -> tuple[list[str], list[str], set[str]] | None:
    """What :func:`denied` parses for one thinking: its candidate sentences, the text parsed for each (the
    restated query as "the target"), and the words that name the target; None when nothing is to be parsed."""
    if not think or not forms or _QUERY_NEGATES.search(query):
        return None
    sentences = _candidates(think, forms)
    if not sentences:
        return None
    restated = _restated(query)
    read = [restated.sub(" the target ", s) if restated is not None else s for s in sentences]
    return sentences, read, (forms | {"target"} if restated is not None else forms)


@functools.lru_cache(maxsize=256)
def _restated(query: str) -> re.Pattern[str] | None:
    """The query of two words or more as a sentence restates it (any case and spacing, with or without a leading
    article), or None.

    The sentence is parsed with "the target" in its place: a restated query is the target, however it is
    written, and its own words ("3 teddy bears sitting on a bed", "closest brown donut") otherwise parse as a
    clause of their own or as the wrong part of speech, so that "{query} is not something this picture contains"
    would deny the bed's sitting rather than the bears' presence.
    """
    words = re.findall(r"[\w'-]+", query.lower())
    if not 2 <= len(words) <= MAX_RESTATED_WORDS:
        return None
    if words[0] in ("the", "a", "an"):
        words = words[1:]
    return re.compile(r"(?<![\w'-])(?:(?:the|a|an)\s+)?" + r"\W+".join(map(re.escape, words)) + r"(?![\w'-])",
                      re.IGNORECASE)


@functools.cache
def _parser() -> Any:
    """The parser pipeline, or None; looked up once per process (this sits on the verifier's path)."""
    from groundscore.nlp.loader import load_spacy, spacy_unavailable

    if spacy_unavailable() is not None:
        return None
    try:
        nlp = load_spacy(parser=True)
    except (OSError, RuntimeError, ValueError):
        return None
    return nlp if "parser" in nlp.pipe_names else None
