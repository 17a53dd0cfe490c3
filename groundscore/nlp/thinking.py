"""What a ``<think>`` text says, read with bounded regular expressions (no spaCy).

Tagging a whole reasoning text costs ten times more than tagging a label, and
the ``consistency`` verifier needs only a few facts from it:

- the spans where the thinking *designates* the target ("refers to the
  person standing behind the couch", "the target is ..."); the last one is
  the object it settled on, and only these short spans are tagged;
- whether it says the object is absent ("there is no metal pole", "I cannot
  find ...");
- coordinates it wrote ("[368, 1, 475, 330]");
- the sentences that mention a given word (evidence for "the label names an
  object the thinking mentioned as context").

Every pattern is linear (no nested quantifiers) and the text is capped, so
adversarial thinking cannot make this slow.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from dataclasses import dataclass

from groundscore.nlp.caseless import caseless

MAX_THINK_CHARS = 8000
MAX_DESIGNATIONS = 64
"""Designating phrases read from one thinking (a real one has a few); the last ones read are the settled target."""

_DESIGNATE = caseless(
    r"\b(?:refers? to|referring to|is referring to|corresponds? to|points? to|is describing|describes|"
    r"the target(?: object)? is|the (?:correct|intended|described|referred|specified) (?:object|one|region|item|person|element) is|"
    r"the object (?:in question|being described|described) is|the answer is|"
    r"(?:i|we) (?:will|'ll|should) (?:locate|select|choose|pick|mark|box|focus on)|"
    r"identified as)\s+(?P<span>(?:the|a|an|one|this|that|these|those|two|both|all|his|her|their)\b[^.;:\n?!]{2,200})",
)
_SPAN_CUT = caseless(r",|\s(?:which|who|that|as|because|since|while|so|where|and is|and it|located|positioned|situated|appears?|seems?|is|are|in the (?:image|picture|photo|frame|scene))\b")
_GENERIC_SPAN = caseless(r"^(?:the |a |an )?(?:image|picture|photo|sentence|phrase|description|instruction|task|question|expression|bounding box|box|coordinates?)\b")
_ABSENT = caseless(
    r"\b(?:there(?: is|'s| are|was|were| was| were) no(?!t)\b(?! other| more| need| doubt| ambiguity| explicit| mention| overlap| indication that| clear indication that| way)|"
    r"(?:can ?not|can't|could not|couldn't|unable to|(?:was|am|is|were|are) not able to|fail(?:s|ed)? to|do not|don't|did not|didn't|does not|doesn't|cannot) "
    r"(?:find|see|locate|identify|spot|detect|be found|be located|be seen|be spotted|be identified|exist|appear to (?:be|exist|contain|have|show|include))\b|"
    r"(?:is|are|was|were) not (?:visible|present|shown|found|seen|depicted|there|anywhere|in the (?:image|picture|photo|scene))\b|"
    r"(?:not|no|none) (?:visible|present) in the (?:image|picture|photo|scene)|"
    r"no such (?:object|item|thing|person|element)|does not contain|doesn't contain|(?:is|are) absent|(?:is|are) missing from|"
    r"(?:image|picture|photo|scene) (?:does not|doesn't) (?:show|contain|include|have|depict)|"
    r"there (?:isn't|aren't|is not|are not) (?:a|an|any)\b|"
    r"(?:does not|doesn't|do not|don't) appear (?:in|anywhere|to be (?:in|there|present))\b|"
    r"(?:does not|doesn't|do not|don't) appear\b(?= *[.,;!]| *$)|"
    r"nowhere to be (?:seen|found)|(?:is|are) nowhere\b|no (?:sign|trace|evidence) of\b|does(?: not|n't) exist\b|"
    r"\bno [a-z]+(?: [a-z]+){0,3} (?:is|are|was|were|can be) (?:present|visible|shown|seen|found|there|in the (?:image|picture|photo))\b)",
)
# Absence said in other words: a negation right before a verb of seeing, finding or being there ("I'm not
# seeing", "could not be detected", "have not found", "can't make out", "doesn't seem to be"), with only
# auxiliary words between them: "not fully visible", "not clearly shown", "not possible to identify" qualify
# what is seen, and fired on correct answers of the REC logs. And a few shapes whose negation is a word of
# its own ("nothing resembling", "came up empty", "the image lacks"). Every repeat consumes a space and a
# word of a fixed list (no nested ambiguity): linear.
_NEG = r"(?:not|never|cannot|can't|couldn't|isn't|aren't|wasn't|weren't|doesn't|don't|didn't|haven't|hasn't|unable|fail(?:s|ed)?)"
_PERCEIVE = (r"(?:see|seeing|seen|find|finding|found|locate|located|locating|spot|spotted|spotting|detect|detected|identify|"
             r"identified|notice|noticed|noticing|observe|observed|visible|present|exist|exists|existing|make out|"
             r"seem to be|seems to be|appear to be|appears to be|depicted|shown|there|anywhere|show up|shows up|turn up|"
             r"turns up|included|featured|captured|pictured|"
             r"(?:in|part of) (?:the|this) (?:image|picture|photo|scene|frame|shot|view|screenshot))")
_ABSENT_MORE = caseless(
    rf"\b{_NEG}(?:\s+(?:be|been|being|able|to|seem|seems|appear|appears|actually|really|even|yet|currently))*\s+{_PERCEIVE}\b|"
    r"\bnothing (?:resembling|like|matching|similar to|that (?:looks|resembles|matches))\b|"
    r"\b(?:appears?|seems?) (?:to be|there is|there are) no\b|\b(?:appears?|seems?|looks?) (?:to be )?(?:missing|absent|nowhere)\b|"
    r"\bno (?:part|region|area|portion|section|corner) of (?:the|this) (?:image|picture|photo|scene|frame|screenshot) "
    r"(?:shows|contains|has|depicts|includes|features)\b|"
    r"\b(?:is|are) missing from (?:the|this) (?:image|picture|photo|scene|frame)\b|\bcame up (?:empty|short|with nothing)\b|\bfound nothing\b|"
    r"\b(?:image|picture|photo|scene|frame|view) lacks\b|"
    r"\b(?:do not|don't|did not|didn't) (?:think|believe) (?:that )?there (?:is|are|was|were|'s)\b|\bdoubt (?:that )?there (?:is|are|was|were|'s)\b|"
    r"\b(?:do not|don't|did not|didn't) (?:think|believe)\b[^.!?;\n]{1,120}?\b(?:is|are|was|were) (?:present|there|here|visible|shown|"
    r"anywhere|in (?:the|this) (?:image|picture|photo|scene|frame))\b|"
    r"\b(?:looked|searched|scanned|checked|hunted) (?:for|through|the|every)\b[^.!?;\n]{0,150}?"
    r"\b(?:without success|to no avail|in vain|unsuccessfully|(?:came|turned) up (?:empty|nothing|short))\b|"
    r"\bnowhere (?:in|on) (?:the|this) (?:image|picture|photo|scene|frame|screen) (?:is there|are there|can|could|do|does|did)\b|"
    r"\bnothing (?:in (?:the|this) (?:image|picture|photo|scene|frame)|here|there) (?:matches|fits|corresponds to)\b|"
    r"\bno\b(?! other| more| further)[^.!?\n]{1,150}?\b(?:can|could) be (?:located|found|seen|spotted|identified|detected|made out)\b",
)
# "{q} is out of frame", "{q} has no presence here": a predicate that denies its subject, whose noun the negated
# clause does not govern (read after the fifth and sixth sets' first runs). The subject is what is denied, so it
# must name the target itself, not a part of it ("only its tail is out of frame", "the dog's head is not in view").
_ABSENT_SUBJECT = caseless(
    r"\b(?:is|are) (?:entirely |completely |wholly )?out of (?:the )?(?:frame|view|shot|picture)\b|"
    r"\b(?:is|are) not in (?:view|sight|frame|the (?:frame|shot|view))\b|"
    r"\b(?:has|have) no presence\b|\b(?:is|are) not (?:something|anything|one of the things) (?:i|we) (?:can|could) see\b|"
    r"\b(?:is|are) not among the (?:things|objects|items|elements)\b|"
    r"\b(?:does not|doesn't|do not|don't) feature (?:in|anywhere)\b",
)
_NONE_OF = caseless(r"\bnone of the (?:objects|things|items|elements|people)(?: [a-z]+){0,3} (?:is|are)\b")
_PART_SUBJECT = caseless(
    r"\b(?:its|his|her|their|part|parts|portion|half|rest|edge|edges|side|tail|head|leg|legs|top|bottom|end|corner|"
    r"front|back|face|arm|arms|wheel|wheels)\b|'s\b")
_CLAUSE_MARKS = ".;:,!?\n"
# "the target is actually a cat", "it turns out to be the woman": the thinking names another object as what it is
_OTHER = caseless(
    r"\b(?:(?:is|are) (?:actually|in fact|really|instead|rather)|turns? out to be|(?:is|are) not (?:a|an|the) [a-z]+(?: [a-z]+)?,? but)"
    r" (?P<span>(?:a|an|the|just a|just an|only a|only an|some)\b[^.;:\n?!,]{2,80})",
)
_NUMBER = r"-?\d+(?:\.\d+)?"
_COORDS = re.compile(rf"[\[(]\s*({_NUMBER})\s*,\s*({_NUMBER})\s*,\s*({_NUMBER})\s*,\s*({_NUMBER})\s*[\])]")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_QUOTED = re.compile(r"\"[^\"\n]{0,200}\"|“[^”\n]{0,200}”")


@dataclass(frozen=True, slots=True)
class Designation:
    """A span where the thinking names its target; ``head_span`` is its first phrase (tagged), ``span`` the rest."""

    span: str
    head_span: str
    start: int


def clip(think: str | None) -> str:
    return (think or "")[:MAX_THINK_CHARS]


def designations(think: str | None) -> list[Designation]:
    """Spans that designate the target, in order of appearance (the last is the settled one)."""
    text = clip(think)
    out: list[Designation] = []
    for m in itertools.islice(_DESIGNATE.finditer(text), MAX_DESIGNATIONS):
        span = text[m.start("span") : m.end("span")].strip().strip('"“”\'')  # the original case: it is tagged
        if not span or _GENERIC_SPAN.match(span):
            continue
        cut = _SPAN_CUT.search(span)
        head_span = span[: cut.start()].strip() if cut and cut.start() > 0 else span
        head_span = head_span.strip('"“”\' ')
        if head_span:
            out.append(Designation(span=span, head_span=head_span[:120], start=m.start("span")))
    return out


_TARGET_WORDS = caseless(r"\b(?:target|described|specified|mentioned|such|requested|referred|object|element|item|it|one)\b")


_AFFIRM = caseless(r"\bthere (?:is|are) (?:a|an|one|two|three|some|several)\b")
# an absence whose own words are the existential ("there is no ...", "I doubt there is a ..."): the "there is a"
# it contains is what it denies, not a present object whose part is hidden
_DENIES_THERE = caseless(r"^there\b|\bthere (?:is|are|was|were|'s)\b")


_NEGATING_QUERY = re.compile(r"\b(?:no|not|without|none|nothing|never)\b|n't\b")


# what "no" denies when it is not the target: another one, more of it, a doubt, or what the text says of it
_NOT_AFTER_NO = "(?:other|more|further|doubt|mention|indication|information|reference|description)"


def _no_noun(forms: set[str] | None, query: str) -> tuple[str, ...] | None:
    """The query's nouns that "no" may deny, for :func:`_no_noun_starts`, or None.

    "no" (or "not a single", "not any") within four words before one of the query's nouns: "I find no
    dog", "the scene contains no red bus", "I searched but could find no dog". Not where the query itself
    negates ("the man with no hat" restated says nothing is absent), nor "no other" / "no more", nor where
    the text is said to leave it unsaid ("there is no mention of any hot dogs in the provided information":
    94 of the 22,593 thinkings of the shared logs say so, 40 of them on IoU-correct answers)."""
    # (a query that names no object is named by itself, restated whole: "right one", so spaces are allowed)
    words = sorted({f.lower() for f in forms or ()
                    if len(f) >= 3 and f.isascii() and f.replace("-", "").replace(" ", "").isalpha()})
    if not words or _NEGATING_QUERY.search(query.lower()):
        return None
    return tuple(words[:12])


_NO_BEFORE = re.compile(rf"\b(?:no|not a single|not one|not any)\s+(?!{_NOT_AFTER_NO}\b)", re.IGNORECASE)
_FREE_WORD = re.compile(r"[a-z'-]+\s+", re.IGNORECASE)
_WORD_CHAR = re.compile(r"\w")
_NOT_AFTER = re.compile(rf"{_NOT_AFTER_NO}\b", re.IGNORECASE)


def _no_noun_starts(text: str, words: tuple[str, ...], limit: int) -> list[int]:
    r"""Where "no" is followed, at most four words on, by one of ``words`` (each then ending a word).

    The starts that ``no\s+(?:[a-z'-]+\s+){0,4}?(?:word|...)\b`` finds (case ignored; no free word one of
    :data:`_NOT_AFTER_NO`), read with one pattern compiled once: a pattern per query cost about 0.7 ms to
    compile, a quarter of a typical answer's whole cost where each answer has its own query (a filter at
    inference)."""
    starts: list[int] = []
    pos = 0
    while len(starts) < limit:
        m = _NO_BEFORE.search(text, pos)
        if m is None:
            break
        end = _noun_within(text, m.end(), words)
        if end is None:
            pos = m.start() + 1
        else:
            starts.append(m.start())
            pos = end
    return starts


def _noun_within(text: str, at: int, words: tuple[str, ...]) -> int | None:
    """The end of the first of ``words`` at ``at`` or after up to four free words, or None.

    A free word that says "no" denies something else ("no clear indication of which table", "no visible
    other bus") ends the search: the words after it are what that something is about."""
    for _ in range(5):
        for w in words:
            end = at + len(w)
            seg = text[at:end]
            if (seg.lower() == w or seg.casefold() == w) and (end == len(text) or not _WORD_CHAR.match(text, end)):
                return end
        free = _FREE_WORD.match(text, at)
        if free is None or _NOT_AFTER.match(text, at):
            return None
        at = free.end()
    return None


def absence(think: str | None, forms: set[str] | None = None, query: str = "") -> str | None:
    """The sentence in which the thinking says the target is absent, or None.

    With ``forms`` (the query's nouns), the sentence must also name the
    target, by one of those words or by "the target", "such object", "it",
    so that "there are no black spots" does not count when the target is the
    broccoli. A query restated in the sentence is read without its own words
    ("the zebra whose head is not in the picture" denies nothing), whatever
    the query's length: "there is no man in a red shirt in this image"
    still says the man is absent.
    """
    text = clip(think)
    unquoted, bounds = _read(text)
    low_query = " ".join(query.lower().split())
    matches = [*itertools.islice(_ABSENT.finditer(unquoted), _MAX_MATCHES),
               *itertools.islice(_ABSENT_MORE.finditer(unquoted), _MAX_MATCHES)]
    no_noun = _no_noun(forms, query)
    # (start, the phrase a denial was read from, or "" where it names a query noun)
    found = [(m.start(), m.group(0)) for m in matches]
    found += [(start, "") for start in (_no_noun_starts(unquoted, no_noun, _MAX_MATCHES) if no_noun else ())]
    if forms:
        found += [(m.start(), "") for m in itertools.islice(_ABSENT_SUBJECT.finditer(unquoted), _MAX_MATCHES)
                  if _subject_names(unquoted[max(0, m.start() - 150) : m.start()], forms, low_query)]
        found += [(m.start(), "") for m in itertools.islice(_NONE_OF.finditer(unquoted), _MAX_MATCHES)
                  if _subject_names(unquoted[m.end() : m.end() + 150], forms, low_query, after=True)]
    found.sort(key=lambda t: (t[0], t[1] == ""))
    for start, phrase in found:
        sentence = _sentence_in(text, bounds, start)
        if low_query and len(low_query) > 3 and (_ABSENT.search(low_query) or _ABSENT_MORE.search(low_query)):
            low = " ".join(sentence.lower().split())
            rest = low.replace(low_query, " the target ")
            if low_query in low and not (_ABSENT.search(rest) or _ABSENT_MORE.search(rest)):
                continue  # the query restated: its own negation is no absence
        if phrase and _AFFIRM.search(sentence) and not _DENIES_THERE.search(phrase):
            continue  # a part of a present object is hidden ("there is a zebra ..., but the mouth is not visible")
        if forms is None or _TARGET_WORDS.search(sentence) or _names(sentence, forms):
            return sentence
    return None


def other_target(think: str | None, forms: set[str] | None = None) -> list[tuple[str, str]]:
    """``(sentence, span)`` where the thinking says the target is actually something else, in order.

    "The dog is actually a cat", "the object turns out to be a fire hydrant",
    "it is not a dog but a wolf". The sentence must name the target (one of
    ``forms``, "the target", "it", ...); the caller decides whether the span
    names another kind of thing than the query (a lexicon question).
    """
    text = clip(think)
    unquoted, bounds = _read(text)
    out: list[tuple[str, str]] = []
    for k, m in enumerate(_OTHER.finditer(unquoted)):
        if k >= _MAX_MATCHES or len(out) >= 4:
            break
        sentence = _sentence_in(text, bounds, m.start())
        subject = unquoted[max(0, m.start() - 120) : m.start()]
        subject = subject[subject.rfind(".") + 1 :] if "." in subject else subject
        if forms is None or _TARGET_WORDS.search(subject) or _names(subject, forms):
            out.append((sentence, unquoted[m.start("span") : m.end("span")].strip()))
    return out


def _subject_names(span: str, forms: set[str], query: str = "", after: bool = False) -> bool:
    """Whether the clause next to a denying predicate names the target itself (not a part of it, not another
    clause's noun): the words since the last clause boundary before it, or, ``after``, up to the next one. The
    query restated is the target, whatever its own words ("a boy licking his fingers")."""
    if after:
        clause = span[: min((i for c in _CLAUSE_MARKS if (i := span.find(c)) >= 0), default=len(span))]
    else:
        clause = span[max(span.rfind(c) for c in _CLAUSE_MARKS) + 1 :]  # rfind is -1 where a mark is absent
    low = " ".join(clause.lower().split())
    if query and query in low:
        low = low.replace(query, " the target ")
    return _names(clause, forms) and not _PART_SUBJECT.search(low)


def _names(sentence: str, forms: set[str]) -> bool:
    low = sentence.lower()
    return any(re.search(r"\b" + re.escape(f) + r"\b", low) for f in forms if f)


def coordinates(think: str | None) -> list[tuple[float, float, float, float]]:
    """Every ``[x1, y1, x2, y2]`` or ``(x1, y1, x2, y2)`` written in the thinking (the model's own space)."""
    out = []
    for m in _COORDS.finditer(clip(think)):
        try:
            out.append(tuple(float(g) for g in m.groups()))
        except ValueError:
            continue
        if len(out) >= 32:
            break
    return out  # type: ignore[return-value]


_MAX_MATCHES = 32


def _sentences(text: str) -> tuple[tuple[int, int], ...]:
    return tuple((m.start(), m.end()) for m in _SENTENCE.finditer(text))


def unquoted(text: str) -> str:
    """``text`` with its quotes (of the query, mostly) blanked, same length, so indices still point into ``text``."""
    return _read(text)[0]


@functools.lru_cache(maxsize=8)
def _read(text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The thinking with its quotes blanked, and its sentence bounds.

    Read once per thinking: the absence, other-target, mention and grammar
    readings each need both, and on 8,000 characters each reading costs
    about a millisecond (``benchmarks/bench_cost.py``). A few thinkings are
    kept (the verifiers of one answer ask in turn), so memory stays bounded.
    """
    return _QUOTED.sub(lambda m: " " * len(m.group(0)), text), _sentences(text)


def _sentence_in(text: str, bounds: tuple[tuple[int, int], ...], index: int) -> str:
    i = bisect.bisect_right(bounds, (index, len(text) + 1)) - 1
    if 0 <= i < len(bounds) and bounds[i][0] <= index < bounds[i][1]:
        return text[bounds[i][0] : bounds[i][1]].strip()
    return text[max(0, index - 80) : index + 80].strip()


def mentions(think: str | None, forms: set[str]) -> list[str]:
    """Sentences of the thinking (outside quotes of the query) that contain one of ``forms`` as a word."""
    text = clip(think)
    if not forms or not text:
        return []
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)) + r")\b", re.IGNORECASE)
    unquoted, bounds = _read(text)
    out: list[str] = []
    for k, m in enumerate(pattern.finditer(unquoted)):
        if k >= _MAX_MATCHES:
            break
        s = _sentence_in(text, bounds, m.start())
        if s not in out:
            out.append(s)
        if len(out) >= 3:
            break
    return out
