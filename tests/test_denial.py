"""Absence read from the dependency parse: wordings no phrase lists, and what real answers say of present objects."""

from __future__ import annotations

import itertools

import pytest

from groundscore.chain import Chain
from groundscore.nlp import denial, thinking
from groundscore.nlp.loader import spacy_unavailable

pytestmark = pytest.mark.skipif(spacy_unavailable() is not None, reason="needs spaCy and an English model")

FORMS_DOG = {"dog"}


@pytest.mark.parametrize("think", [
    # wordings the phrase list does not read (checked below), all of one shape: a negated clause of seeing or being
    "I searched the whole scene, and the dog is not within my view.",
    "Try as I might, I do not discern the dog.",
    "I did not manage to see the dog.",
    "I scanned the photo twice and never noticed a dog.",
])
def test_a_negated_clause_of_seeing_or_being_denies_the_target(think: str) -> None:
    assert denial.denied(think, FORMS_DOG, "dog") is not None


def test_these_wordings_are_beyond_the_phrase_list() -> None:
    """The cases above must be the grammar's: if the phrases read them, the test above proves nothing new."""
    beyond = ["I searched the whole scene, and the dog is not within my view.", "Try as I might, I do not discern the dog.",
              "I did not manage to see the dog."]
    for think in beyond:
        assert thinking.absence(think, FORMS_DOG, "dog") is None


@pytest.mark.parametrize(("think", "query"), [
    # what real answers say of objects that are there (from the shared REC logs, nouns adapted)
    ("In the image, there is one sheep that does not have a black face; it has a white face.", "sheep without black face"),
    ("The giraffe is partially obscured by the trees, and it's not fully visible.", "giraffe hidden behind the tree"),
    ("The dog on the left is not wearing a collar.", "dog"),
    ("The dog is not on the left; it lies on the right side of the image.", "dog"),
    ("The description does not specify which dog is meant.", "dog"),
    ("The sentence \"no dog\" is odd, but the dog is clearly visible.", "dog"),
    ("The man with no hat is standing by the door.", "man with no hat"),  # the query itself negates
    ("I can see the dog clearly in the image.", "dog"),
])
def test_what_real_answers_say_of_present_objects_is_not_a_denial(think: str, query: str) -> None:
    forms = {w for w in query.replace("\"", " ").split() if w in {"sheep", "giraffe", "dog", "man"}}
    assert denial.denied(think, forms, query) is None


def test_only_a_query_noun_is_denied() -> None:
    assert denial.denied("There is not a single cat in this picture.", FORMS_DOG, "dog") is None
    assert denial.denied("There is not a single cat in this picture.", {"cat"}, "cat") is not None


def test_work_is_capped_for_long_adversarial_thinking() -> None:
    # thousands of candidate sentences: only the first few are parsed, and a denial after them is not read
    filler = "The dog is not wearing a collar. " * 2000
    assert denial.denied(filler + "I did not manage to see the dog.", FORMS_DOG, "dog") is None
    assert denial.denied("I did not manage to see the dog. " + filler, FORMS_DOG, "dog") is not None


@pytest.mark.parametrize(("think", "query"), [
    # a pronoun standing for the target, with its own place or perception
    ("Nothing in this image is a woman in a raincoat.", "woman"),
    ("I can find nothing that corresponds to the dog.", "dog"),
    ("The zebra is not something this picture contains.", "zebra"),
    # a word that says unseen by itself, a verb that leaves the target out, a picture said to lack it
    ("The dog remains unseen even after a close look.", "dog"),
    ("The dog is invisible in this image.", "dog"),
    ("The white truck has been left out of this picture.", "truck"),
    ("The dog was cropped out of the frame.", "dog"),
    ("This picture is without a white truck.", "truck"),
    ("The scene is empty of dogs.", "dogs"),
    ("I could not make the dog out in the scene.", "dog"),
    # a restated query of several words is read as the target, whatever its own verbs and tags
    ("3 teddy bears sitting on a bed is not something this picture contains.", "3 teddy bears sitting on a bed"),
    ("I could not make closest brown donut out in the scene.", "closest brown donut"),
])
def test_absence_in_shapes_beyond_a_negated_clause(think: str, query: str) -> None:
    from groundscore.nlp.analyzer import default_analyzer
    from groundscore.verifiers.consistency import _query_forms

    assert denial.denied(think, _query_forms(default_analyzer().analyze_one(query)), query) is not None


@pytest.mark.parametrize("think", [
    # the picture named beside a negated predicate that is not about being there
    "The man is not smiling in this photo.",
    "There is nothing in the image that hides the man.",
    # a part of the target, another object, or the target set apart from others
    "The man's tail is unseen in this picture.",
    "The man's legs are cropped out of the frame.",
    "Nothing else in this image is a man.",
    "The man is not the only person in the image.",
    # the target is not what is left out, or not left out at all
    "The man left his bag out of the picture.",
    "The man is not excluded from the picture.",
    "The man on the left is partially left out of the picture.",
    "The man is sitting without shoes in the image.",
    "The man is not in the center of the image.",
])
def test_present_targets_are_not_denied_by_those_shapes(think: str) -> None:
    assert denial.denied(think, {"man"}, "man") is None


def test_words_parsed_are_capped_per_sentence_and_per_thinking() -> None:
    # a parse costs per word: long sentences are read up to MAX_SENTENCE_WORDS, all together up to MAX_PARSE_WORDS
    long = "The dog on the left is not " + " ".join(["very"] * 80) + " visible in the image."
    found = denial._candidates(long + "  " + long, FORMS_DOG)
    words = [len(s.split()) for s in found]
    assert words == [denial.MAX_SENTENCE_WORDS, denial.MAX_PARSE_WORDS - denial.MAX_SENTENCE_WORDS]
    # within the caps the sentence is passed as written (spacing kept), so a real sentence parses as before
    short = "I  did not   manage to see the dog."
    assert denial._candidates(short, FORMS_DOG) == [short]
    assert denial.denied(short, FORMS_DOG, "dog") is not None


def test_the_consistency_check_reports_the_grammar_reading_as_absent_but_boxed() -> None:
    chain = Chain({"verifiers": ["consistency"]})
    think = "I looked at the whole photo. Try as I might, I do not discern the dog."
    completion = f'<think>{think}</think>\n<answer>[{{"bbox_2d": [10, 10, 200, 200], "label": "dog"}}]</answer>'
    [report] = chain.verify([{"query": "dog", "completion": completion, "image_size": [640, 480]}])
    v = report.verdict("consistency")
    assert v is not None and v.code == "absent_but_boxed"
    assert "do not discern" in v.reason


@pytest.mark.parametrize(("think", "forms"), [
    # real sentences of IoU-correct answers in the shared logs that an earlier form of the rule flagged
    ("There are no other muffins to the left of it.", {"muffin", "muffins"}),
    ("There is no other girl to the right of her in the frame.", {"girl"}),
    ("In the image, there is a glass that appears to be a standard drinking glass, not a Coca-Cola branded one.",
     {"glass"}),
])
def test_another_object_or_a_noun_set_against_another_is_not_a_denial(think: str, forms: set[str]) -> None:
    assert denial.denied(think, forms, " ".join(sorted(forms))) is None


def test_text_spacy_cannot_encode_is_read_not_raised() -> None:
    assert denial.denied("I did not manage to see the dog \ud800 here.", FORMS_DOG, "dog") is not None


def test_made_up_words_do_not_grow_the_parser_vocabulary() -> None:
    """A long training run parses endless new words: the strings they add must be given back."""
    from groundscore.nlp.loader import load_spacy

    denial.denied("I did not see the dog in the image.", FORMS_DOG, "dog")
    strings = load_spacy(parser=True).vocab.strings
    before = len(strings)
    for k in range(200):
        denial.denied(f"I did not see the dog qx{k}zv wq{k}yy in the image.", FORMS_DOG, "dog")
    assert len(strings) == before


def test_the_parser_pipelines_lemmatizer_cache_is_bounded_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """spaCy's rule lemmatizer caches every (word, tag) for ever; the parser pipeline has its own and is bounded."""
    import random
    import string

    from groundscore.nlp import analyzer as analyzer_module
    from groundscore.nlp.loader import load_spacy

    monkeypatch.setattr(analyzer_module, "MAX_LEMMA_CACHE", 50)
    denial.denied("I did not see the dog in the image.", FORMS_DOG, "dog")
    cache = load_spacy(parser=True).get_pipe("lemmatizer").cache
    rng = random.Random(5)
    sizes = []
    for _ in range(150):
        q = "".join(rng.choices(string.ascii_lowercase, k=7))
        denial.denied(f"I did not see the {q}s {q}ing in the image.", {q, q + "s"}, q)
        sizes.append(len(cache))
    assert max(sizes) <= 50 + 8, sizes  # between two sentences it may pass the bound by one parse's new words
    assert any(b < a for a, b in itertools.pairwise(sizes)), sizes  # it was emptied, and filled again


def test_a_batch_is_read_as_each_answer_alone() -> None:
    """denied_many parses the sentences of a whole batch in one pass; each answer reads as it does alone, and
    an answer's reading does not change with what else is in the batch (one or two sentences, none, a query
    that negates, another query's nouns)."""
    items = [
        ("Try as I might, I do not discern the dog. The cat sits on the sofa in the picture.", {"dog"}, "dog"),
        ("The cat is on the mat.", {"dog"}, "dog"),  # no sentence to parse
        (None, {"dog"}, "dog"),
        ("The man is not wearing a hat in the photo.", {"man"}, "the man with no hat"),  # the query negates
        ("I do not see any zebra in this image. I cannot spot a giraffe here either.", {"giraffe"}, "giraffe"),
        ("There is a dog here. The dog is not hidden in the image.", {"dog"}, "the brown dog on the left"),
        ("I scanned the photo twice and never noticed a dog.", {"dog"}, "dog"),
    ]
    alone = [denial.denied(*item) for item in items]
    assert alone[0] == "Try as I might, I do not discern the dog." and alone[4] is not None and alone[6] is not None
    assert alone[1] is None and alone[2] is None and alone[3] is None
    assert denial.denied_many(items) == alone
    assert denial.denied_many(items[::-1]) == alone[::-1]
    for k in range(len(items)):
        assert denial.denied_many(items[:k] + items[k + 1:]) == alone[:k] + alone[k + 1:]
    assert denial.denied_many([]) == []
