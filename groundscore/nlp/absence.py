"""Whether a thinking's "X is absent" denies the object, or only a description of it.

The ``consistency`` verifier's ``absent_but_boxed`` finding is the sentence
where the thinking says the target is not there, while the answer gives a
box. Real reasoning says that in two ways:

- a *flat* absence: the thinking denies the object and says nothing else
  about it ("there is no umpire visible in the image"; "no dog is present");
  a box after that contradicts the thinking, and paying it teaches the
  contradiction;
- a *qualified* absence: the thinking denies a description while it says
  elsewhere that such an object is there ("there is no bus in the background
  on the right" after "there is only one bus visible, the double-decker in
  the foreground"; "no motorcycle is entirely black. However, the closest
  motorcycle ..."). The model found an object and doubts the wording of the
  query; with ground truth the IoU judges its box.

:func:`qualified` tells them apart by structure, not by wording: another
sentence of the thinking, one that neither denies anything nor restates the
query, names an object word of the absence sentence, and the absence sentence
qualifies that object in a way the affirmation does not. Linear in the capped text.
"""

from __future__ import annotations

import re

MAX_CHARS = 8000
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_QUOTED = re.compile(r"\"[^\"\n]{0,200}\"|“[^”\n]{0,200}”")
# A sentence that denies or doubts (it cannot be the affirmation).
_NEGATION = re.compile(
    r"\b(?:no|not|none|nothing|nobody|neither|nor|never|without|cannot|can't|isn't|aren't|doesn't|don't|didn't|"
    r"wasn't|weren't|couldn't|absent|missing|unable)\b|n't\b",
    re.IGNORECASE,
)
# A sentence about the query rather than the image (the request restated).
_ABOUT_QUERY = re.compile(
    r"\b(?:asks?|asking|asked|instruction|question|query|task|sentence|phrase|description|describes?|described|"
    r"request(?:ed|s)?|refers?|referring|mentions?|mentioned|prompt|expression|wants?|looking for|look for|"
    r"search(?:ing)? for|need to|needs to|trying to)\b",
    re.IGNORECASE,
)
# Words that name no object: where, how it looks, how it is seen.
_GENERIC = frozenset(
    "a an the of in on at to is are was were be been being this that these those it its there here and or with for "
    "from by as which who whom whose what where when how any some such one ones other another only just also very "
    "image picture photo frame scene view visible present seen shown found appears appear appearing seems seem "
    "clear clearly distinct specific particular actual area region part side left right top bottom middle center "
    "centre front back background foreground corner edge far near next behind above below under over between "
    "close closer closest upper lower i we can could would should will see find locate identify spot detect "
    "object objects item items thing things target described specified requested referred mentioned entire "
    "entirely completely fully partially exactly indeed really like similar matches match resembles".split()
)


# Words that qualify nothing: the grammar of "X is not in the image".
_SCAFFOLD = frozenset(
    "a an the of in on at to is are was were be been being this that these those it its there here and or with for "
    "from by as any some all at anywhere actually really indeed truly simply just only also even still "
    "image picture photo frame scene view visible present seen shown found appears appear appearing seems seem "
    "clear clearly distinct can could would i we see find locate identify spot detect no not none nothing cannot "
    "isn't aren't doesn't don't didn't wasn't weren't couldn't absent missing exist exists "
    # discourse: how the thinking got there, not what it denies
    "again look looking looked closer close inspection inspecting examining upon after however but so then thus "
    "therefore further careful carefully now instead wait hmm well".split()
)


def _forms(word: str) -> set[str]:
    """The word and its candidate singulars (cars -> car, horses -> horse, boxes -> box, ponies -> pony)."""
    w = word.lower()
    out = {w}
    if w.endswith("s") and not w.endswith("ss"):
        out.add(w[:-1])
        if w.endswith("es"):
            out.add(w[:-2])
        if w.endswith("ies"):
            out.add(w[:-3] + "y")
    return {f for f in out if len(f) > 2}


def _object_words(sentence: str) -> set[str]:
    return {f for w in _WORD.findall(sentence) for f in _forms(w) if f not in _GENERIC}


def qualified(think: str | None, absence_sentence: str | None) -> str | None:
    """The sentence that affirms an object the absence sentence names, or None (a flat absence).

    ``absence_sentence`` is the finding's span (the sentence that says the
    target is absent). The affirming sentence is another sentence of the
    thinking that has no negation, is not about the query (no "the
    instruction asks ...", quotes blanked out) and shares an object word
    (plurals folded) with the absence sentence, while the absence sentence
    says something of it the affirmation does not (a place, a colour, a
    part): "there is no dog at all" after "I can see a brown dog" denies
    the object itself, which is a flat absence.
    """
    if not think or not absence_sentence:
        return None
    from groundscore.nlp.canonical import canonical

    text = canonical(think[: 2 * MAX_CHARS], 2 * MAX_CHARS).text[:MAX_CHARS]  # the form the span was found in
    words = _object_words(_QUOTED.sub(" ", absence_sentence))
    if not words:
        return None
    # what the absence says of the object; a lead-in before the first comma ("Looking again, ...") is not that
    head, comma, rest = _QUOTED.sub(" ", absence_sentence).partition(",")
    claim = rest if comma and not _NEGATION.search(head) else head + rest
    qualifiers = {f for w in _WORD.findall(claim) for f in _forms(w) if f not in _SCAFFOLD}
    denied = absence_sentence.strip().strip('"“” ')
    for m in _SENTENCE.finditer(text):
        sentence = m.group(0).strip().strip('"“” ')
        if not sentence or sentence == denied or denied in sentence:
            continue
        unquoted = _QUOTED.sub(" ", sentence)
        if _NEGATION.search(unquoted) or _ABOUT_QUERY.search(unquoted):
            continue
        own = _object_words(unquoted)
        # the absence must deny more than the object the sentence affirms: a qualifier the affirmation lacks
        said = {f for w in _WORD.findall(unquoted) for f in _forms(w)}
        if words & own and qualifiers - said - (words & own):
            return sentence
    return None
