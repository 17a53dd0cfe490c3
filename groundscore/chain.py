"""The chain: samples in, reports out, one verifier at a time over the batch.

Why a host-run chain and not pluggy's hook calling: each verifier runs inside
its own ``try``, so an exception in one (a plugin bug, a CUDA error) becomes
a None verdict that carries the error, logged once, and every other verifier
still runs. Verifiers whose optional dependency or model is missing are kept
in the chain and answer None with install instructions, so ``verify`` works on
a bare install and the report says what was not checked.

Hostile input is contained per sample, and fails closed:

- a verifier whose batch call raises is called again one sample at a time,
  so only the sample that caused the error gets an ``error`` verdict, and
  adding a sample to a batch never changes another sample's report;
- a *gate* that errored on a sample cannot pass it: the answer is at most
  abstained (``chain.gate_error``), never accepted, and not rejected either
  unless another gate refuted it (a low confidence alone is a prior, not a
  check);
- an answer that no target-checking verifier could check (their extra is
  missing, there is no query or image) abstains (``chain.unverified``),
  with the reason saying what to install or supply.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cachetools import LRUCache
from pydantic import ValidationError

from groundscore.config import ChainConfig, describe_errors, load_config
from groundscore.groups.grouping import attach_groups, group_of, record_verdicts
from groundscore.inputs.hygiene import clean_text
from groundscore.inputs.samples import coerce_samples
from groundscore.model import Issue, Parsed, Report, Sample, Verdict
from groundscore.parse import ParseConfig, parse_completion, parser_table
from groundscore.plugins.manager import Registry, get_registry
from groundscore.scoring.scorer import Scorer, missing_evidence
from groundscore.verifiers.base import Context, Verifier

log = logging.getLogger("groundscore")

SampleLike = Sample | Mapping[str, Any]

_MAX_IMAGE_SIZE_CACHE = 4096

ANSWER_SKIPS: frozenset[str] = frozenset({"skipped.no_label", "skipped.nothing_to_compare", "skipped.no_box"})
"""Verdict codes of a target check that does not apply to *this answer* (it gives no label, no
thinking, no box): the answer chose not to be checkable, which is not the user's setup to fix."""


_gc_lock = threading.Lock()
_gc_depth = 0
_gc_was_enabled = False


@contextmanager
def gc_paused(pause: bool = True) -> Iterator[None]:
    """Pause the cyclic garbage collector for the duration (re-entrant and thread-safe).

    A batch allocates a few dozen small containers per completion; in a
    process that holds many objects (a trainer, or a benchmark holding its
    inputs) each allocation burst triggers collections that walk the whole
    heap. Nothing the chain builds forms reference cycles that must be freed
    mid-batch, so collecting once afterwards is equivalent and much cheaper.
    The collector is re-enabled when the outermost pause ends, and only if it
    was enabled when that pause began.
    """
    global _gc_depth, _gc_was_enabled
    if not pause:
        yield
        return
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_was_enabled:
                gc.enable()


def _copy_parsed(parsed: Parsed) -> Parsed:
    """An independent copy of a parse (its lists are new; boxes, points and issues are frozen)."""
    return parsed.model_copy(update={
        name: list(getattr(parsed, name)) for name in ("boxes", "points", "model_boxes", "issues")
    })


class Chain:
    """A configured chain of verifiers. Build once, call :meth:`verify` per batch.

    >>> from groundscore import Chain, Sample
    >>> chain = Chain({"verifiers": ["schema"]})
    >>> report = chain.verify_one(Sample(query="water left",
    ...     completion='[{"bbox_2d": [45, 36, 137, 209], "label": "water left"}]'))
    >>> report.decision
    'accept'
    """

    def __init__(
        self,
        config: ChainConfig | dict[str, Any] | str | Path | None = None,
        *,
        verifiers: Sequence[Verifier] | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.config = load_config(config)
        self.registry = registry or get_registry()
        self.verifiers: list[Verifier] = list(verifiers) if verifiers is not None else self._build_verifiers()
        self._unavailable: dict[str, str | None] = {}
        for verifier in self.verifiers:
            try:
                self._unavailable[verifier.name] = verifier.unavailable()
            except Exception as exc:  # noqa: BLE001
                self._unavailable[verifier.name] = f"availability check failed: {type(exc).__name__}: {exc}"
        self.scorer = Scorer(
            thresholds=self.config.thresholds,
            weights=self.config.weights,
            default_weights={v.name: getattr(v, "default_weight", 1.0) for v in self.verifiers},
            calibrator=self._load_calibrator(),
            model=self._load_confidence_model(),
        )
        self._gates = frozenset(v.name for v in self.verifiers if getattr(v, "is_gate", False))
        self._targets = frozenset(v.name for v in self.verifiers if getattr(v, "checks_target", False))
        self.timings_ms: dict[str, float] = {}
        self._logged: set[tuple[str, str]] = set()
        self._image_sizes: LRUCache[str, tuple[int, int] | None] = LRUCache(maxsize=_MAX_IMAGE_SIZE_CACHE)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the plugin registry (it holds the process's plugin modules): the copy reads its own."""
        state = dict(vars(self))
        state["registry"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        if self.registry is None:
            self.registry = get_registry()

    # -- construction -------------------------------------------------------
    def _build_verifiers(self) -> list[Verifier]:
        """The configured verifiers, built with their validated options.

        Only named verifiers run: the default list
        (:data:`groundscore.config.DEFAULT_VERIFIERS`) or the configuration's
        own ``verifiers`` and ``enable``; a plugin's verifier is never added
        because it is installed.
        """
        known = self.registry.verifiers
        unknown = self.config.unknown_names(known)
        if unknown:
            raise ValueError(
                f"unknown verifier name(s) {unknown}; registered: {sorted(known)}"
                + (f"; plugin load errors: {self.registry.errors}" if self.registry.errors else "")
            )
        out: list[Verifier] = []
        for name in self.config.verifier_names(known):
            cls = known[name]
            try:
                out.append(cls(cls.Options.model_validate(self.config.options.get(name, {}))))
            except ValidationError as exc:
                raise ValueError(f"bad options for verifier {name!r}: {describe_errors(exc, f'options.{name}')}") from exc
        return out

    def _load_calibrator(self) -> Any:
        if not self.config.calibration:
            return None
        from groundscore.scoring.calibration import load_calibrator

        return load_calibrator(self.config.calibration)

    def _load_confidence_model(self) -> Any:
        """The confidence model named by ``config.confidence`` (None for 'combine')."""
        choice = self.config.confidence
        if choice == "combine":
            return None
        from groundscore.confidence.model import default_model, load_confidence_model

        return default_model() if choice == "default" else load_confidence_model(choice)

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.verifiers]

    # -- running ------------------------------------------------------------
    def verify(self, samples: SampleLike | Iterable[SampleLike]) -> list[Report]:
        """Verify a batch; one Report per sample, in order.

        Args:
            samples: One :class:`~groundscore.model.Sample` or mapping of its
                fields, or an iterable of them (completion strings allowed
                inside a batch). Read by :func:`groundscore.inputs.samples.coerce_samples`.

        Returns:
            One :class:`~groundscore.model.Report` per sample, in input order.
            An invalid sample gets a report whose parse carries a
            ``sample.invalid`` error issue: model output never raises.

        Raises:
            TypeError: ``samples`` is a bare ``str``/``bytes``, ``None`` or a
                number (the message names the accepted shapes).
        """
        with gc_paused(self.config.pause_gc):
            return self._verify(samples)

    def contexts(self, samples: SampleLike | Iterable[SampleLike]) -> list[Context]:
        """What the verifiers see of a batch: one Context per sample, in order; no verifier runs.

        Each sample is parsed and its image size resolved exactly as
        :meth:`verify` does, so that one verifier's ``verify_batch`` can be
        called (timed, debugged) on its own. Never raises on bad samples:
        one that cannot be read gets a context whose parse carries the issue.
        """
        seen: dict[tuple[Any, ...], Parsed] = {}
        contexts: list[Context] = []
        context = self._context
        parsers = parser_table(self.registry.parsers)  # the detection plan, once per batch
        config = self.config.parse
        for index, (sample, issue) in enumerate(coerce_samples(samples, strict=self.config.strict)):
            contexts.append(context(sample, issue, index, seen, parsers, config))
        attach_groups(contexts, self.config.groups)  # the group index, once per batch (nothing when ungrouped)
        return contexts

    def _verify(self, samples: SampleLike | Iterable[SampleLike]) -> list[Report]:
        start = time.perf_counter()
        return self._reports(self.contexts(samples), start)

    def _reports(self, contexts: list[Context], start: float) -> list[Report]:
        """Run every verifier over the contexts and score them: one Report each, in order."""
        if any(getattr(v, "reads_verdicts", False) for v in self.verifiers) and any(map(group_of, contexts)):
            # a verifier that reads earlier verdicts (agreement: who failed a gate) gets them, in grouped batches
            per_verifier = []
            for verifier in self.verifiers:
                verdicts = self._run(verifier, contexts)
                record_verdicts(contexts, verifier.name, verdicts)
                per_verifier.append(verdicts)
        else:
            per_verifier = [self._run(verifier, contexts) for verifier in self.verifiers]
        per_sample_verdicts: list[list[Verdict]]
        if len(per_verifier) == 1:
            per_sample_verdicts = [[verdict] for verdict in per_verifier[0]]
        elif per_verifier:
            per_sample_verdicts = [list(verdicts) for verdicts in zip(*per_verifier, strict=True)]
        else:
            per_sample_verdicts = [[] for _ in contexts]
        elapsed = (time.perf_counter() - start) * 1000.0
        each = elapsed / max(1, len(contexts))
        reports = []
        score = self.scorer.score
        for ctx, verdicts in zip(contexts, per_sample_verdicts, strict=True):
            try:
                confidence, decision = score(verdicts, ctx.sample.query, ctx.parsed)
            except Exception as exc:  # noqa: BLE001 - a calibrator bug must not reach a training loop
                self._log_once("scoring", exc)
                confidence, decision = 0.0, "abstain"
            if decision != "reject":
                capped = self._not_acceptable(ctx, verdicts)
            elif not any(v.gate is False for v in verdicts):
                # a low confidence is a prior, not a check: an answer a gate could not read abstains, unless
                # another gate refuted it
                capped = self._gate_error(verdicts)
            else:
                capped = None
            if capped is not None:
                # at most abstain: the confidence drops to the bottom of the abstain band
                confidence, decision = min(confidence, self.config.thresholds.reject), "abstain"
                ctx.parsed.issues.append(capped)
            if decision == "abstain" and capped is None:
                ctx.parsed.issues.append(self._abstention(ctx, verdicts, confidence))
            # validated, cheaply: pydantic-core passes the parse and verdict instances through
            reports.append(Report(
                id=ctx.sample.id, parsed=ctx.parsed, verdicts=verdicts,
                confidence=confidence, decision=decision, reward=None, elapsed_ms=each,
            ))
        return reports

    def _abstention(self, ctx: Context, verdicts: Sequence[Verdict], confidence: float) -> Issue:
        """Why the answer abstains: where its confidence fell, and which confirming evidence it lacked."""
        t = self.config.thresholds
        if not any(v.score is not None for v in verdicts):
            where = "no verifier gave a score"
        else:
            where = f"confidence {confidence:.2f} is between reject {t.reject:g} and accept {t.accept:g}"
        return Issue(code="decision.abstain", severity="info",
                     message=f"abstained: {where}; {missing_evidence(ctx.sample, verdicts)}"[:500])

    def _gate_error(self, verdicts: Sequence[Verdict]) -> Issue | None:
        """The issue naming the gates that raised on this answer (so nothing may accept or reject it), or None."""
        errored = [v for v in verdicts if v.code == "error" and v.verifier in self._gates] if self._gates else []
        if not errored:
            return None
        what = "; ".join(f"{v.verifier}: {v.reason}" for v in errored)
        return Issue(code="chain.gate_error", severity="warning",
                     message=f"not accepted: a gate could not check this answer ({what})"[:500])

    def _not_acceptable(self, ctx: Context, verdicts: Sequence[Verdict]) -> Issue | None:
        """Why this answer may not be accepted whatever its score (a gate errored, nothing checked it), or None."""
        errored = self._gate_error(verdicts)
        if errored is not None:
            return errored
        if not self._targets or self.config.accept_unverified:
            return None
        parsed = ctx.parsed
        if not (parsed.boxes or parsed.points) or any(v.gate is False for v in verdicts):
            return None
        targets = [v for v in verdicts if v.verifier in self._targets]
        if any(v.score is not None or v.code in ANSWER_SKIPS for v in targets):
            return None
        reasons: dict[str, list[str]] = {}
        for v in targets:
            reasons.setdefault(v.reason or v.code, []).append(v.verifier)
        why = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in reasons.items())
        return Issue(code="chain.unverified", severity="warning",
                     message=f"not accepted: no verifier could check that the answer is the query's target ({why})"[:500])

    def verify_one(self, sample: SampleLike) -> Report:
        """Verify one sample (a batch of one).

        Args:
            sample: A :class:`~groundscore.model.Sample` or a mapping of its fields.

        Returns:
            Its :class:`~groundscore.model.Report`.

        Raises:
            TypeError: ``sample`` is neither a Sample nor a mapping.
        """
        if not isinstance(sample, Sample | Mapping):
            raise TypeError(f"verify_one takes a Sample or a mapping of its fields, got {type(sample).__name__}")
        return self.verify([sample])[0]

    def filter(self, samples: SampleLike | Iterable[SampleLike], threshold: float | None = None, mode: str = "abstain") -> list[Any]:
        """Verify a batch and filter it: one :class:`~groundscore.scoring.filtering.FilterResult` per sample, in order.

        ``threshold`` None keeps the answers the chain accepts; ``mode`` is
        ``abstain`` (replace the others by an empty answer plus reason),
        ``drop`` or ``annotate``. See :mod:`groundscore.scoring.filtering`.
        """
        from groundscore.scoring.filtering import filter_reports

        with gc_paused(self.config.pause_gc):
            start = time.perf_counter()
            contexts = self.contexts(samples)  # each sample read and validated once
            reports = self._reports(contexts, start)
        return filter_reports(reports, [c.sample for c in contexts], threshold=threshold, mode=mode)  # type: ignore[arg-type]

    def _context(
        self,
        sample: Sample,
        issue: Issue | None,
        index: int,
        seen: dict[tuple[Any, ...], Parsed],
        parsers: Mapping[str, Any],
        parse_config: ParseConfig,
    ) -> Context:
        size = sample.image_size
        notes = self._notes_of(sample)
        if size is None and sample.image is not None:
            size = self._image_size(sample)
            if size is None:  # a path that is missing or no image (/etc/passwd): say so, do not pass silently
                notes.append(_unreadable_image(sample.image))
        # A GRPO group often holds identical completions: within one batch each distinct
        # (completion, format, coords, image size) is parsed once; the others get a copy.
        key = (sample.completion, sample.format, sample.coords, size) if issue is None else None
        known = seen.get(key) if key is not None else None
        if known is not None:
            parsed = _copy_parsed(known)
        else:
            try:
                parsed = parse_completion(sample, parsers, size, parse_config)
            except Exception as exc:  # noqa: BLE001 - last line of defence; parsers already isolate
                message = clean_text(f"{type(exc).__name__}: {exc}")[0]
                parsed = Parsed(issues=[Issue(code="parser.error", message=message, severity="error")])
            _clean_decoded(parsed)
            if key is not None:
                seen[key] = parsed
                parsed = _copy_parsed(parsed) if notes else parsed  # the shared parse stays without this sample's notes
        if issue is not None:
            notes.insert(0, issue)
        if notes:
            parsed.issues[:0] = notes
        return Context(sample, parsed, size, index)

    def _notes_of(self, sample: Sample) -> list[Issue]:
        """What the chain says about a sample before parsing it: how it was read, and a missing query."""
        notes = list(sample.input_issues)
        if self._targets and not sample.query.strip():
            notes.append(Issue(code="sample.no_query", severity="warning",
                               message="the sample has no query: nothing can check that the answer names the target"))
        return notes

    def _image_size(self, sample: Sample) -> tuple[int, int] | None:
        """The size of ``sample.image`` (not None), read once per path."""
        image = sample.image
        if hasattr(image, "size") and not isinstance(image, str | bytes | Path):
            try:
                w, h = image.size
                return (int(w), int(h))
            except Exception:  # noqa: BLE001
                return None
        key = str(image) if isinstance(image, str | Path) else None
        if key is not None and key in self._image_sizes:
            return self._image_sizes[key]
        size = read_image_size(image)
        if key is not None:
            self._image_sizes[key] = size
        return size

    def _run(self, verifier: Verifier, contexts: list[Context]) -> list[Verdict]:
        name = verifier.name
        missing = self._unavailable.get(name)
        if missing:
            return [Verdict.skip(name, "skipped.unavailable", missing) for _ in contexts]
        start = time.perf_counter()
        try:
            verdicts = _call(verifier, contexts)
        except Exception as exc:  # noqa: BLE001 - isolation is the point
            self._log_once(name, exc)
            verdicts = self._one_by_one(verifier, contexts) if len(contexts) > 1 else [_error(name, exc)]
        elapsed = (time.perf_counter() - start) * 1000.0
        self.timings_ms[name] = self.timings_ms.get(name, 0.0) + elapsed
        each = elapsed / max(1, len(contexts))
        for v in verdicts:
            if v.elapsed_ms == 0.0:
                v.elapsed_ms = each
            if v.verifier != name:
                v.verifier = name
        return verdicts

    def _one_by_one(self, verifier: Verifier, contexts: list[Context]) -> list[Verdict]:
        """After a failed batch call: each sample alone, so that only the one that raises gets an error verdict.

        A grouped verifier still sees the whole group (the group index is in
        each context's cache), so a sample's verdict is what the batch call
        would have given it.
        """
        out: list[Verdict] = []
        for ctx in contexts:
            try:
                out.extend(_call(verifier, [ctx]))
            except Exception as exc:  # noqa: BLE001
                self._log_once(verifier.name, exc)
                out.append(_error(verifier.name, exc))
        return out

    def _log_once(self, name: str, exc: BaseException) -> None:
        key = (name, type(exc).__name__)
        if key not in self._logged:
            self._logged.add(key)
            log.warning("%s failed: %s: %s", name, type(exc).__name__, exc, exc_info=True)

    def close(self) -> None:
        for verifier in self.verifiers:
            try:
                verifier.close()
            except Exception:
                log.debug("close failed for %s", verifier.name, exc_info=True)


def _clean_decoded(parsed: Parsed) -> None:
    """Clean what the parser decoded from escapes (a JSON label ``"banana\\ud800"``), in place, noting it.

    The completion itself was cleaned when the sample was made; a JSON string
    escape can still spell a lone surrogate or a NUL, which would make spaCy
    raise on the label and the report unwritable.
    """
    fixed = False
    for name in ("boxes", "points", "model_boxes"):
        items = getattr(parsed, name)
        for i, item in enumerate(items):
            label = item.label
            if label and ("\x00" in label or not label.isascii()):
                clean, what = clean_text(label)
                if what is not None:
                    items[i] = item.model_copy(update={"label": clean})
                    fixed = True
    if fixed:
        parsed.issues.append(Issue(code="text.replaced", severity="warning",
                                   message="a label decoded from the answer held lone surrogates or NULs; they were replaced"))


def _call(verifier: Verifier, contexts: list[Context]) -> list[Verdict]:
    """``verifier.verify_batch(contexts)``, checked: one Verdict per context, or an exception."""
    verdicts = list(verifier.verify_batch(contexts))
    if len(verdicts) != len(contexts):
        raise RuntimeError(f"returned {len(verdicts)} verdicts for {len(contexts)} samples")
    bad = next((v for v in verdicts if not isinstance(v, Verdict)), None)
    if bad is not None:
        raise TypeError(f"returned a {type(bad).__name__}, not a Verdict")
    return verdicts


def _error(name: str, exc: BaseException) -> Verdict:
    """The verdict of a verifier that raised on this sample: None, code ``error``, the exception named."""
    message = clean_text(f"verifier failed: {type(exc).__name__}: {exc}")[0][:500]
    return Verdict.skip(name, "error", message, error=type(exc).__name__)


def _unreadable_image(image: Any) -> Issue:
    """The ``image.unreadable`` warning for a sample whose image gave no size."""
    shown = clean_text(str(image) if isinstance(image, str | Path) else type(image).__name__)[0][:160]
    return Issue(code="image.unreadable", severity="warning",
                 message=f"image {shown!r} is missing or cannot be read as an image: nothing is checked against its pixels")


def read_image_size(image: Any) -> tuple[int, int] | None:
    """(width, height) from an image path or bytes, reading only the header."""
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        if isinstance(image, bytes):
            import io

            with Image.open(io.BytesIO(image)) as im:
                return im.size
        if isinstance(image, str | Path):
            from groundscore.inputs.samples import not_a_file

            if not_a_file(image) is not None:  # a FIFO would block forever, a directory or long name raise
                return None
        with Image.open(image) as im:
            return im.size
    except Exception:  # noqa: BLE001 - unreadable image: size unknown, not a crash
        return None
