"""Short texts -> :class:`Expression`, each unique text tagged once.

Queries repeat across a GRPO group (8-16 completions of one prompt) and
labels usually copy the query, so :class:`ExpressionAnalyzer` keeps an LRU
cache keyed by the normalised text across batches, and sends only the
unique, uncached texts of a batch through one ``nlp.pipe`` call. The cache
holds plain frozen :class:`Expression` objects, never spaCy ``Doc``\\ s, so it
stays small (a few KB an entry; 4,096 entries by default, and texts over
``MAX_CACHED_CHARS`` are not kept).

Memory stays flat in a long-running process (a trainer, ``groundscore
serve``): spaCy adds every new word it sees to the vocabulary's string store,
and its rule lemmatizer caches every (word, tag) pair, both for ever. Model
text is full of words never seen before, so each ``pipe`` runs inside
``nlp.memory_zone()`` (spaCy 3.8+), which frees what the batch added, and the
lemmatizer's cache is emptied when it passes :data:`MAX_LEMMA_CACHE` entries.
On an older spaCy without memory zones, the pipeline is reloaded once the
string store has grown by :data:`MAX_NEW_STRINGS` (``benchmarks/bench_memory.py``
measures the result).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from groundscore.nlp.canonical import canonical_short
from groundscore.nlp.expression import Expression, extract
from groundscore.nlp.lexicon import Lexicon, default_lexicon
from groundscore.nlp.loader import load_spacy

MAX_CHARS = 240
"""A label, query or span is read up to here; longer text is cut (bounded work). The longest query of the
shared VLM-R1 logs has about 200 characters; a label this long is ``label_too_long`` anyway."""
MAX_LEMMA_CACHE = 10_000
"""Entries of spaCy's rule-lemmatizer cache above which it is emptied (it has no bound of its own).

A stream of novel words adds an entry every three samples or so, and the
cache never shrinks on its own. At the former bound of 50,000, which that
stream reaches only after about 150,000 samples, it was most of
``benchmarks/bench_memory.py``'s slow growth (23.2 MB over 100,000 samples
after warm-up, 13.5 MB with this bound). 10,000 is ten times what real
referring expressions need (the benchmark prints it: the 10,036 distinct
queries and labels of the shared VLM-R1 logs fill 913 entries), and a miss
only costs one rule lookup, behind the analyzer's own cache of whole texts."""
MAX_NEW_STRINGS = 200_000
"""Without memory zones (spaCy < 3.8): strings the store may gain before the pipeline is reloaded."""
_SPACE = re.compile(r"\s+")
# Matches start only where a run of spaces starts (the lookbehind): from every space of a
# long run, ``\s*'`` rescanned the rest of the run (quadratic).
_POSSESSIVE = re.compile(r"(?<!\s)\s*'\s*s\b")


def english_words(nlp: Any) -> frozenset[str]:
    """Every word of the lemmatizer's index tables (about 90k WordNet lemmas); empty when absent."""
    try:
        table = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_index")
        return frozenset(w for words in table.values() for w in words)
    except Exception:  # noqa: BLE001 - a model without the table: corrections fall back to POS rules
        return frozenset()


def normalize(text: str) -> str:
    """The form texts are cached and compared in: canonical (:mod:`groundscore.nlp.canonical`), lower case,
    one space, "man ' s" -> "man's", underscores as spaces, no end dot.

    Canonical first, then cut: fullwidth letters, look-alike letters of other scripts, combining marks,
    invisible characters and padding of any whitespace class cannot make a label compare as another text.
    """
    t = canonical_short(text or "").text[:MAX_CHARS].replace("’", "'").replace("`", "'").lower()
    t = _POSSESSIVE.sub("'s", t)
    t = t.replace('"', " ").replace("_", " ")  # "sitting_person": identifiers name what words name
    t = _SPACE.sub(" ", t).strip(" .,;:!?-'")
    return t


class ExpressionAnalyzer:
    """Tag and read referring expressions, batched and cached.

    ``nlp`` is a spaCy pipeline (default: :func:`load_spacy`, loaded on first
    use). ``cache_size`` bounds the LRU cache (entries); texts longer than
    ``MAX_CACHED_CHARS`` are analysed but not kept, so the cache's memory is
    bounded too (labels and queries are short; a long one is rare and would
    cost memory in proportion to its length).
    """

    MAX_CACHED_CHARS = 512

    def __init__(self, nlp: Any = None, lexicon: Lexicon | None = None, cache_size: int = 4096, batch_size: int = 256) -> None:
        self._nlp = nlp
        self._owns_nlp = nlp is None  # only a pipeline loaded here is replaced when its vocabulary has grown
        self._strings_at_load: int | None = None
        self._english: frozenset[str] | None = None
        self.lexicon = lexicon or default_lexicon()
        self.cache_size = cache_size
        self.batch_size = batch_size
        self._cache: OrderedDict[str, Expression] = OrderedDict()
        self._lock = threading.Lock()
        self._nlp_lock = threading.Lock()  # one pipe at a time: a spaCy pipeline is not meant to be shared across threads
        self.hits = 0
        self.misses = 0

    @property
    def nlp(self) -> Any:
        if self._nlp is None:
            self._nlp = load_spacy()
        return self._nlp

    @property
    def english(self) -> frozenset[str]:
        """Known English words (the rule lemmatizer's index), so real words are not 'corrected'."""
        if self._english is None:
            self._english = english_words(self.nlp)
        return self._english

    def analyze(self, texts: Sequence[str]) -> list[Expression]:
        """One :class:`Expression` per text, in order."""
        keys = [normalize(t) for t in texts]
        found: dict[str, Expression] = {}
        todo: list[str] = []
        with self._lock:
            for k in keys:
                if k in found:
                    continue
                hit = self._cache.get(k)
                if hit is not None:
                    self._cache.move_to_end(k)
                    found[k] = hit
                    self.hits += 1
                else:
                    found[k] = None  # type: ignore[assignment]
                    todo.append(k)
                    self.misses += 1
        if todo:
            with self._nlp_lock:
                parsed = self._parse(todo)
            with self._lock:
                for k, expr in zip(todo, parsed, strict=True):
                    found[k] = expr
                    if len(k) <= self.MAX_CACHED_CHARS:
                        self._cache[k] = expr
                        self._cache.move_to_end(k)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return [found[k] for k in keys]

    def analyze_one(self, text: str) -> Expression:
        return self.analyze([text])[0]

    def _parse(self, texts: list[str]) -> list[Expression]:
        nonempty = [t for t in texts if t]
        tagged = iter(self._tag(nonempty) if nonempty else ())
        english = self.english
        out: list[Expression] = []
        for t in texts:
            if not t:
                out.append(Expression(text=""))
                continue
            out.append(extract(t, next(tagged), self.lexicon, english))
        return out

    def _tag(self, texts: list[str]) -> list[list[tuple[str, str, str, str]]]:
        """(text, lemma, POS, tag) of every token, as plain strings, with spaCy's memory given back."""
        nlp = self.nlp
        zone = getattr(nlp, "memory_zone", None)
        if zone is not None:
            with zone():  # what the batch adds to the vocabulary is freed on the way out: copy strings inside
                tagged = [_tokens(doc) for doc in nlp.pipe(texts, batch_size=self.batch_size)]
        else:
            tagged = [_tokens(doc) for doc in nlp.pipe(texts, batch_size=self.batch_size)]
            self._reload_if_grown(nlp)
        _bound_lemma_cache(nlp)
        return tagged

    def _reload_if_grown(self, nlp: Any) -> None:
        """spaCy < 3.8: a fresh pipeline once the string store has grown by :data:`MAX_NEW_STRINGS`."""
        size = len(nlp.vocab.strings)
        if self._strings_at_load is None:
            self._strings_at_load = size
        elif size - self._strings_at_load > MAX_NEW_STRINGS and self._owns_nlp:
            from groundscore.nlp.loader import reload_spacy

            self._nlp = reload_spacy()
            self._strings_at_load = None

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self.hits = self.misses = 0


def _tokens(doc: Any) -> list[tuple[str, str, str, str]]:
    return [(tok.text.lower(), tok.lemma_.lower(), tok.pos_, tok.tag_) for tok in doc]


def _bound_lemma_cache(nlp: Any) -> None:
    """Empty the rule lemmatizer's cache once it passes :data:`MAX_LEMMA_CACHE` entries (it never shrinks)."""
    try:
        cache = nlp.get_pipe("lemmatizer").cache
    except Exception:  # noqa: BLE001 - no lemmatizer, or one without a cache: nothing grows
        return
    if isinstance(cache, dict) and len(cache) > MAX_LEMMA_CACHE:
        cache.clear()


_default: ExpressionAnalyzer | None = None
_default_lock = threading.Lock()


def default_analyzer() -> ExpressionAnalyzer:
    """The process-wide analyzer shared by the language verifiers (one cache, one model)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ExpressionAnalyzer()
        return _default
