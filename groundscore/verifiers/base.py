"""What a verifier is, for built-ins and third-party plugins alike.

A verifier is batch-first: :meth:`Verifier.verify_batch` gets every sample of a
batch at once, so that spaCy can ``pipe`` and CLIP can run one forward pass.
It reads :class:`~groundscore.model.Parsed` and never re-parses the completion.

A verifier never has to guard against its own exceptions: the chain isolates
each one, retries a failed batch one sample at a time, and turns an
exception into a None verdict (code ``error``) for the sample that caused it.
It *should* return ``Verdict.skip(...)`` (score None) for samples it does not
apply to, and from :meth:`Verifier.unavailable` a sentence saying how to
install what it lacks, so that a bare install still runs the chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from groundscore.inputs.prompts import referring_expression
from groundscore.model import Parsed, Sample, Verdict

QUERY_TEXT_KEY = "nlp.query_text"
"""Where :attr:`Context.referring_expression` keeps its result in ``Context.cache``."""


class Context:
    """One sample as a verifier sees it: the sample, its parse, the image size.

    ``image_size`` is the ORIGINAL image's (width, height), resolved once by
    the chain (from ``Sample.image_size`` or the image header), or None.
    ``cache`` is shared by all verifiers for this sample within one chain call
    (for example the referring expression extracted from the query); it is
    made on first use, since most chains (a schema-only reward) never touch it.
    """

    __slots__ = ("_cache", "image_size", "index", "parsed", "sample")

    def __init__(
        self,
        sample: Sample,
        parsed: Parsed,
        image_size: tuple[int, int] | None = None,
        index: int = 0,
        cache: dict[str, Any] | None = None,
    ) -> None:
        self.sample = sample
        self.parsed = parsed
        self.image_size = image_size
        self.index = index
        self._cache = cache

    @property
    def cache(self) -> dict[str, Any]:
        cache = self._cache
        if cache is None:
            cache = self._cache = {}
        return cache

    @cache.setter
    def cache(self, value: dict[str, Any]) -> None:
        self._cache = value

    def __repr__(self) -> str:
        return f"Context(index={self.index}, image_size={self.image_size}, sample={self.sample!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Context):
            return NotImplemented
        return (self.sample, self.parsed, self.image_size, self.index, self.cache) == (
            other.sample, other.parsed, other.image_size, other.index, other.cache
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass it replaces

    @property
    def query(self) -> str:
        return self.sample.query

    @property
    def referring_expression(self) -> str:
        """The object the query asks for, without the prompt around it.

        Worked out once per sample (:func:`groundscore.inputs.prompts.referring_expression`)
        and kept in ``cache``, so that every verifier reads the same text.
        """
        text = self.cache.get(QUERY_TEXT_KEY)
        if not isinstance(text, str):
            text = self.cache[QUERY_TEXT_KEY] = referring_expression(self.sample.query or "")
        return text


class VerifierOptions(BaseModel):
    """Options every verifier accepts; subclasses add their own fields.

    ``extra="forbid"`` makes a typo in a config file an error that names the
    bad key, instead of a silently ignored option.
    """

    model_config = ConfigDict(extra="forbid")


Evidence = Literal["confirming", "refuting"]
"""What a verifier's score can show about an answer's box (:attr:`Verifier.evidence`)."""


class Verifier:
    """Base class for verifiers. Subclass, set ``name``, implement ``verify_batch``.

    ``Options`` is a pydantic model of the verifier's settings; the chain
    validates the ``[verifiers.<name>]`` table of the configuration against
    it and passes the result as ``self.options``.

    ``is_gate`` tells users (and ``groundscore plugins``) whether the verifier
    can force a rejection. ``malformed_gate`` says what its failed gate
    means to a reward: True when the answer is *malformed* (unreadable, no
    valid box: the ``schema`` verifier), False when a readable answer is
    wrong (a *hallucination*: label_match, consistency). ``default_weight``
    is its weight in the geometric mean unless the configuration says
    otherwise.

    ``evidence`` says what the verifier's score can show. ``"refuting"``
    (the default): it can only show that the answer is wrong (the schema
    fails, the label names another object, the thinking contradicts the
    box, a spatial word is violated); passing it says nothing about whether
    the box is on the target, because a policy can copy the query into the
    label. ``"confirming"``: a high score is evidence that the answer is on
    its target, from the pixels (``clip``, the OCR plugin) or from
    independently sampled answers that agree (``agreement``); a low score
    refutes. Rewards pay above ``abstain`` only on confirming evidence (or
    ground truth): see :mod:`groundscore.rewards.evidence`.

    ``checks_target`` marks a verifier that checks the answer *is* the
    query's target (label_match, consistency, clip), not only that it is
    well formed. When every such verifier of a chain answers None for a
    reason the user can fix (its extra is missing, the sample has no query
    or image, it failed), nothing vouches for the answer and the chain does
    not accept it (``ChainConfig.accept_unverified``).

    A verifier need not guard against its own exceptions: when
    ``verify_batch`` raises, the chain calls it again one sample at a time,
    so that only the sample that caused the error gets an ``error`` verdict;
    a gate's error (``is_gate``) never lets that answer be accepted.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Options: ClassVar[type[VerifierOptions]] = VerifierOptions
    is_gate: ClassVar[bool] = False
    malformed_gate: ClassVar[bool] = False
    checks_target: ClassVar[bool] = False
    evidence: ClassVar[Evidence] = "refuting"
    default_weight: ClassVar[float] = 1.0

    def __init__(self, options: VerifierOptions | dict[str, Any] | None = None) -> None:
        if options is None:
            options = self.Options()
        elif isinstance(options, dict):
            options = self.Options.model_validate(options)
        self.options = options

    def unavailable(self) -> str | None:
        """None when the verifier can run; else why not and how to fix it.

        Called once per chain before the first batch. Must be cheap and must
        not download anything.
        """
        return None

    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        """Return exactly one verdict per context, in order."""
        raise NotImplementedError

    def verify(self, context: Context) -> Verdict:
        """Convenience for one sample: a batch of one."""
        return self.verify_batch([context])[0]

    def close(self) -> None:
        """Release models or caches. Optional."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"
