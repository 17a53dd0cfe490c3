"""Whether a word the dictionary lacks is still a word of written English.

Why: :mod:`groundscore.verifiers.label_match` refutes a label made
unreadable (a head noun no correction reaches, "a geeraffee was eting in
grass"). WordNet's lemmas, the dictionary the tagger ships, lack the words
GUI agents and everyday labels use: "screenshot", "bluetooth", "emoji",
"spotify", "ipad". wordfreq (in the ``[nlp]`` extra) counts how often a word
is written on the web, in books and in subtitles; a made-up string is
written nowhere. Its small English list is read (about 4 MB once loaded,
about 0.3 s, on the first label that needs it): words written at least about
once per million words. Rarer names ("wechat", "pycharm") read as made up
unless the query uses them. Without wordfreq the dictionary alone decides.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

WORD_ZIPF = 3.0
"""wordfreq's Zipf scale (log10 of uses per billion words): 3.0 is once per million words, the floor of its
small list. "timeout" is 3.2, "screenshot" 3.8, "ipad" 4.1; "geeraffee", "shrin", "coveirgn" are 0."""
_FLOOR = 10.0 ** (WORD_ZIPF - 9.0)  # the Zipf scale is log10 of uses per billion words
WORDLIST = "small"
"""The small list (about 4 MB in memory) rather than the large one (about 50 MB)."""


@functools.cache
def _frequencies() -> Mapping[str, float] | None:
    """wordfreq's small English list (word -> share of written words), read once; None without wordfreq.

    Read as a plain dict rather than through ``zipf_frequency``, whose own cache keeps every word it was asked
    about (100,000 entries): made-up words would fill it, about 14 MB over 100,000 adversarial samples.
    """
    try:
        from wordfreq import get_frequency_dict
    except ImportError:  # the [nlp] extra is not installed: the dictionary alone decides
        return None
    try:
        return get_frequency_dict("en", wordlist=WORDLIST)
    except Exception:  # noqa: BLE001 - a broken install reads as no wordfreq, never as a crash on the verifier path
        return None


def wordfreq_available() -> bool:
    return _frequencies() is not None


def in_use(word: str) -> bool:
    """Whether ``word`` (lower case) is written in English at least :data:`WORD_ZIPF` often (False without wordfreq)."""
    freqs = _frequencies()
    if freqs is None or not word:
        return False
    return freqs.get(word, 0.0) >= _FLOOR

