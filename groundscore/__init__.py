"""groundscore: verify the grounding output of vision-language models.

A chain of verifiers turns each completion (boxes, labels, ``<think>``
reasoning) into one confidence score, usable as an RL reward or an
inference-time filter::

    import groundscore
    report = groundscore.verify({"query": "water left",
                                 "completion": '[{"bbox_2d": [45, 36, 137, 209], "label": "water left"}]',
                                 "image_size": [640, 480]})
    report.confidence, report.decision

Importing this package loads neither torch nor spaCy nor transformers; the
verifiers that need them import them on first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, overload

from groundscore import _compat
from groundscore.config import ChainConfig, Thresholds
from groundscore.model import Box, Clarification, Issue, Parsed, Point, Report, Sample, Verdict
from groundscore.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from groundscore.chain import Chain

__version__ = "0.1.0"

_compat.install()  # old paths of moved modules (groundscore.calibration, ...) for one release

__all__ = [
    "Box",
    "Chain",
    "ChainConfig",
    "Clarification",
    "Issue",
    "Parsed",
    "Point",
    "Report",
    "Sample",
    "Thresholds",
    "Verdict",
    "__version__",
    "hookimpl",
    "verify",
]

_default_chain: Any = None


def __getattr__(name: str) -> Any:
    # Chain pulls in the plugin manager and parsers; keep `import groundscore` light.
    if name == "Chain":
        from groundscore.chain import Chain

        return Chain
    raise AttributeError(f"module 'groundscore' has no attribute {name!r}")


@overload
def verify(samples: Sample | Mapping[str, Any], config: Any = None) -> Report: ...
@overload
def verify(samples: Iterable[Sample | Mapping[str, Any]], config: Any = None) -> list[Report]: ...


def verify(samples: Any, config: Any = None) -> Report | list[Report]:
    """Verify one sample (returns a Report) or many (returns a list).

    Args:
        samples: One :class:`Sample` or mapping of its fields (e.g.
            ``{"query": ..., "completion": ..., "image_size": [w, h]}``), or an
            iterable of them. Inputs are read by
            :func:`groundscore.inputs.samples.coerce_samples`, as everywhere else.
        config: Anything :class:`ChainConfig` accepts (a dict, a TOML path, a
            ChainConfig). None builds one default chain and reuses it.

    Returns:
        A :class:`Report` for one sample, a list of them (in order) for many.
        A sample whose fields do not validate gets a report with a
        ``sample.invalid`` error issue; model output never raises.

    Raises:
        TypeError: ``samples`` is a bare ``str``/``bytes``, ``None``, a number
            or another non-iterable; the message names the accepted shapes.
    """
    from groundscore.chain import Chain
    from groundscore.inputs.samples import check_batch_type

    check_batch_type(samples)
    if config is None:
        global _default_chain
        if _default_chain is None:
            _default_chain = Chain()
        chain = _default_chain
    else:
        chain = Chain(config)
    if isinstance(samples, Sample | Mapping):
        return chain.verify_one(samples)
    return chain.verify(samples)
