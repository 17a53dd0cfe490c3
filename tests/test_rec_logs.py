"""On every VLM-R1 REC log, the parser finds the box in >= 99.5% of the completions that contain one.

"Contains one" is decided independently of the parser: four comma-separated
numbers ``a, b, c, d`` with ``a < c`` and ``b < d`` anywhere in the text. The
misses that remain are real non-boxes (``[0,32,118,154,156]``: five numbers).
``benchmarks/bench_rec_extraction.py`` prints the same numbers with accuracy.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from shared_data import REC_LOGS as DATA

from groundscore.chain import Chain
from groundscore.inputs import iter_samples

LOGS = sorted(DATA.glob("*.json"))
_N = r"(-?\d+(?:\.\d+)?)"
ANY_BOX = re.compile(r"\s*,\s*".join([_N] * 4))


def has_box(text: str) -> bool:
    return any(float(a) < float(c) and float(b) < float(d) for a, b, c, d in ANY_BOX.findall(text))


@pytest.mark.slow
@pytest.mark.skipif(not LOGS, reason="the VLM-R1 logs are not available")
@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.stem)
def test_box_found_in_at_least_99_5_percent(path: Path) -> None:
    samples = list(iter_samples(path, "vlm-r1"))
    assert all(s.coords == "original" for s in samples)  # the logs have no image sizes
    reports = Chain({"verifiers": ["schema"]}).verify(samples)
    with_box = [(s, r) for s, r in zip(samples, reports, strict=True) if has_box(s.completion)]
    missed = [(s.id, r.parsed.issue_codes()) for s, r in with_box if not r.parsed.boxes]
    rate = 1 - len(missed) / len(with_box)
    assert rate >= 0.995, missed[:20]
    # and every miss is something that is not a 4-number box
    for _sample, r in with_box:
        if not r.parsed.boxes:
            assert r.verdicts[0].gate is False


def test_the_box_definition_is_independent_and_strict() -> None:
    assert has_box("<answer>[398,314,644,470]</answer>")
    assert has_box('"bbox_2d": [1.5, 2, 3.25, 4]')
    assert not has_box("[644,470,398,314]")
    assert not has_box("[1, 2, 3]")
