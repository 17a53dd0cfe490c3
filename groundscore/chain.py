"""The chain: samples in, reports out, one verifier at a time over the batch.

Why a host-run chain and not pluggy's hook calling: each verifier runs inside
its own ``try``, so an exception in one (a plugin bug, a CUDA error) becomes
a None verdict that carries the error, logged once, and every other verifier
still runs. Verifiers whose optional dependency or model is missing are kept
in the chain and answer None with install instructions, so ``verify`` works on
a bare install and the report says what was not checked.
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

from pydantic import ValidationError

from groundscore.config import ChainConfig, describe_errors, load_config
from groundscore.groups import attach_groups, group_of, record_verdicts
from groundscore.model import Issue, Parsed, Report, Sample, Verdict
from groundscore.parse import ParseConfig, parse_completion, parser_table
from groundscore.parse.base import trusted
from groundscore.plugins.manager import Registry, get_registry
from groundscore.scoring import Scorer
from groundscore.verifiers.base import Context, Verifier

log = logging.getLogger("groundscore")

SampleLike = Sample | Mapping[str, Any]

_MAX_IMAGE_SIZE_CACHE = 4096


def _coerce(item: Any) -> tuple[Sample, Issue | None]:
    """Any input -> a Sample; invalid input becomes a Sample plus an issue, never an exception."""
    if isinstance(item, Sample):
        return item, None
    if isinstance(item, Mapping):
        try:
            return Sample.model_validate(dict(item)), None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "sample"
            safe = {k: item.get(k) for k in ("query", "completion", "id") if isinstance(item.get(k), str | bytes | None)}
            try:
                sample = Sample.model_validate(safe)
            except ValidationError:
                sample = Sample()
            return sample, Issue(code="sample.invalid", message=f"invalid sample field {where!r}: {first.get('msg', exc)}", severity="error")
    if isinstance(item, str | bytes):
        return Sample(completion=item), None
    return Sample(), Issue(code="sample.invalid", message=f"a sample must be a Sample or a mapping, got {type(item).__name__}", severity="error")


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
    data = dict(parsed.__dict__)
    for name in ("boxes", "points", "model_boxes", "issues"):
        data[name] = list(data[name])
    return trusted(Parsed, data)


def _batch_items(samples: Any) -> list[Any]:
    """A batch as a list: one sample alone is a batch of one.

    A generator that fails half-way becomes its exception, one bad sample
    that the chain reports, never raises.
    """
    if isinstance(samples, Sample | Mapping | str | bytes) or not isinstance(samples, Iterable):
        return [samples]
    try:
        return list(samples)
    except Exception as exc:  # noqa: BLE001 - a generator that fails half-way: report it as one bad sample
        return [exc]


def _coerce_safely(item: Any) -> tuple[Sample, Issue | None]:
    """:func:`_coerce`, with any surprise (a validator's TypeError, a broken Mapping) as an issue."""
    try:
        return _coerce(item)
    except Exception as exc:  # noqa: BLE001 - bad input becomes an issue, never an exception
        return Sample(), Issue(code="sample.invalid", message=f"the sample could not be read: {type(exc).__name__}: {exc}"[:300], severity="error")


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
        )
        self.timings_ms: dict[str, float] = {}
        self._logged: set[tuple[str, str]] = set()
        self._image_sizes: dict[str, tuple[int, int] | None] = {}

    # -- construction -------------------------------------------------------
    def _build_verifiers(self) -> list[Verifier]:
        known = self.registry.verifiers
        names = self.config.verifiers if self.config.verifiers is not None else list(known)
        unknown = [n for n in [*names, *self.config.disable, *self.config.options] if n not in known]
        if unknown:
            raise ValueError(
                f"unknown verifier name(s) {unknown}; registered: {sorted(known)}"
                + (f"; plugin load errors: {self.registry.errors}" if self.registry.errors else "")
            )
        out: list[Verifier] = []
        for name in names:
            if name in self.config.disable:
                continue
            cls = known[name]
            try:
                out.append(cls(cls.Options.model_validate(self.config.options.get(name, {}))))
            except ValidationError as exc:
                raise ValueError(f"bad options for verifier {name!r}: {describe_errors(exc, f'options.{name}')}") from exc
        return out

    def _load_calibrator(self) -> Any:
        if not self.config.calibration:
            return None
        from groundscore.calibration import load_calibrator

        return load_calibrator(self.config.calibration)

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.verifiers]

    # -- running ------------------------------------------------------------
    def verify(self, samples: SampleLike | Iterable[SampleLike]) -> list[Report]:
        """Verify a batch; one Report per sample, in order. Never raises on bad samples."""
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
        for index, item in enumerate(_batch_items(samples)):
            if type(item) is Sample:  # the common case, answered as _coerce would
                contexts.append(context(item, None, index, seen, parsers, config))
            else:
                sample, issue = _coerce_safely(item)
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
                confidence, decision = score(verdicts)
            except Exception as exc:  # noqa: BLE001 - a calibrator bug must not reach a training loop
                self._log_once("scoring", exc)
                confidence, decision = 0.0, "abstain"
            # Built without validation: every field is a value the chain made or checked.
            reports.append(trusted(Report, {
                "id": ctx.sample.id, "parsed": ctx.parsed, "verdicts": verdicts,
                "confidence": confidence, "decision": decision, "reward": None, "elapsed_ms": each,
            }))
        return reports

    def verify_one(self, sample: SampleLike) -> Report:
        """Verify one sample (a batch of one)."""
        return self.verify([sample])[0]

    def filter(self, samples: SampleLike | Iterable[SampleLike], threshold: float | None = None, mode: str = "abstain") -> list[Any]:
        """Verify a batch and filter it: one :class:`~groundscore.filtering.FilterResult` per sample, in order.

        ``threshold`` None keeps the answers the chain accepts; ``mode`` is
        ``abstain`` (replace the others by an empty answer plus reason),
        ``drop`` or ``annotate``. See :mod:`groundscore.filtering`.
        """
        from groundscore.filtering import filter_reports

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
        fields = sample.__dict__  # dict lookups: model attribute reads cost more, once per sample
        size = fields["image_size"]
        if size is None and fields["image"] is not None:
            size = self._image_size(sample)
        # A GRPO group often holds identical completions: within one batch each distinct
        # (completion, format, coords, image size) is parsed once; the others get a copy.
        key = (fields["completion"], fields["format"], fields["coords"], size) if issue is None else None
        known = seen.get(key) if key is not None else None
        if known is not None:
            return Context(sample, _copy_parsed(known), size, index)
        try:
            parsed = parse_completion(sample, parsers, size, parse_config)
        except Exception as exc:  # noqa: BLE001 - last line of defence; parsers already isolate
            parsed = Parsed(issues=[Issue(code="parser.error", message=f"{type(exc).__name__}: {exc}", severity="error")])
        if issue is not None:
            parsed.issues.insert(0, issue)
        elif key is not None:
            seen[key] = parsed
        return Context(sample, parsed, size, index)

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
            if len(self._image_sizes) >= _MAX_IMAGE_SIZE_CACHE:
                self._image_sizes.clear()
            self._image_sizes[key] = size
        return size

    def _run(self, verifier: Verifier, contexts: list[Context]) -> list[Verdict]:
        name = verifier.name
        missing = self._unavailable.get(name)
        if missing:
            return [Verdict.skip(name, "skipped.unavailable", missing) for _ in contexts]
        start = time.perf_counter()
        try:
            verdicts = list(verifier.verify_batch(contexts))
            if len(verdicts) != len(contexts):
                raise RuntimeError(f"returned {len(verdicts)} verdicts for {len(contexts)} samples")
            bad = next((v for v in verdicts if not isinstance(v, Verdict)), None)
            if bad is not None:
                raise TypeError(f"returned a {type(bad).__name__}, not a Verdict")
        except Exception as exc:  # noqa: BLE001 - isolation is the point
            self._log_once(name, exc)
            verdicts = [
                Verdict.skip(name, "error", f"verifier failed: {type(exc).__name__}: {exc}", error=type(exc).__name__)
                for _ in contexts
            ]
        elapsed = (time.perf_counter() - start) * 1000.0
        self.timings_ms[name] = self.timings_ms.get(name, 0.0) + elapsed
        each = elapsed / max(1, len(contexts))
        for v in verdicts:
            # straight into the instance dict: pydantic's __setattr__ costs more than the verifier
            fields = v.__dict__
            if fields["elapsed_ms"] == 0.0:
                fields["elapsed_ms"] = each
            if fields["verifier"] != name:
                fields["verifier"] = name
        return verdicts

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
        with Image.open(image) as im:
            return im.size
    except Exception:  # noqa: BLE001 - unreadable image: size unknown, not a crash
        return None
