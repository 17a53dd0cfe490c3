"""Short texts -> :class:`Expression`, each unique text tagged once.

Queries repeat across a GRPO group (8-16 completions of one prompt) and
labels usually copy the query, so :class:`ExpressionAnalyzer` keeps an LRU
cache keyed by the normalised text across batches, and sends only the
unique, uncached texts of a batch through one ``nlp.pipe`` call. The cache
holds plain frozen :class:`Expression` objects, never spaCy ``Doc``\\ s, so it
stays small (a few KB an entry; 20,000 entries by default).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from groundscore.nlp.expression import Expression, extract
from groundscore.nlp.lexicon import Lexicon, default_lexicon
from groundscore.nlp.loader import load_spacy

MAX_CHARS = 400  # a label or a span; longer text is cut (bounded work)
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
    """The form texts are cached and compared in: lower case, one space, "man ' s" -> "man's", no end dot."""
    t = (text or "")[:MAX_CHARS].replace("’", "'").replace("`", "'").lower()
    t = _POSSESSIVE.sub("'s", t)
    t = t.replace('"', " ")
    t = _SPACE.sub(" ", t).strip(" .,;:!?-'")
    return t


class ExpressionAnalyzer:
    """Tag and read referring expressions, batched and cached.

    ``nlp`` is a spaCy pipeline (default: :func:`load_spacy`, loaded on first
    use). ``cache_size`` bounds the LRU cache (entries).
    """

    def __init__(self, nlp: Any = None, lexicon: Lexicon | None = None, cache_size: int = 20_000, batch_size: int = 256) -> None:
        self._nlp = nlp
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
                    self._cache[k] = expr
                    self._cache.move_to_end(k)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return [found[k] for k in keys]

    def analyze_one(self, text: str) -> Expression:
        return self.analyze([text])[0]

    def _parse(self, texts: list[str]) -> list[Expression]:
        out: list[Expression] = []
        nonempty = [t for t in texts if t]
        docs = iter(self.nlp.pipe(nonempty, batch_size=self.batch_size)) if nonempty else iter(())
        for t in texts:
            if not t:
                out.append(Expression(text=""))
                continue
            doc = next(docs)
            tokens = [(tok.text.lower(), tok.lemma_.lower(), tok.pos_, tok.tag_) for tok in doc]
            out.append(extract(t, tokens, self.lexicon, self.english))
        return out

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self.hits = self.misses = 0


_default: ExpressionAnalyzer | None = None
_default_lock = threading.Lock()


def default_analyzer() -> ExpressionAnalyzer:
    """The process-wide analyzer shared by the language verifiers (one cache, one model)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ExpressionAnalyzer()
        return _default
