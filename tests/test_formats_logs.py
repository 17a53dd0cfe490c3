"""Auto-detection on every completion of the real VLM-R1 REC logs (Qwen2.5-VL-7B).

18,000 RefCOCO/+/g completions plus 668 ScreenSpot ones, from the base model,
the instruct baseline and a GRPO checkpoint: JSON fenced or not, wrongly
closed fences, bare ``[x1,y1,x2,y2]`` answers, boxes outside ``<answer>``,
refusals. Every one must be read by a parser in Qwen2.5-VL's own space
(never mistaken for a 0-1000 or 0-1 family), and wherever the upstream
regex found a box, the same box must come out.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from shared_data import REC_LOGS as LOGS

from groundscore.model import Sample
from groundscore.parse import parse_completion
from groundscore.plugins.manager import get_registry

LOGS = LOGS.resolve()
QWEN25_FORMATS = {"qwen25_json", "qwen25_text", "r1_rec"}
_ANY_BOX = re.compile(r"-?\d+(?:\.\d+)?\s*,\s*-?\d+(?:\.\d+)?\s*,\s*-?\d+(?:\.\d+)?\s*,\s*-?\d+(?:\.\d+)?")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not LOGS.is_dir(), reason=f"REC logs not found at {LOGS}"),
]


def _records(pattern: str) -> list[dict]:
    out = []
    for path in sorted(LOGS.glob(pattern)):
        out.extend(json.loads(path.read_text(encoding="utf-8"))["results"])
    return out


@pytest.mark.parametrize(("pattern", "expected"), [("*_val.json", 18_000), ("screenspot-*.json", 668)])
def test_every_rec_log_completion_is_read_in_qwen25_space(pattern: str, expected: int) -> None:
    parsers = get_registry().parsers
    records = _records(pattern)
    assert len(records) == expected
    formats: Counter[str] = Counter()
    wrong: list[tuple[str, str]] = []
    missed: list[str] = []
    mismatched: list[tuple[list, list]] = []
    ambiguous: list[str] = []
    for record in records:
        text = record["model_output"]
        parsed = parse_completion(Sample(completion=text), parsers, (640, 480))
        formats[parsed.format] += 1
        if "format.ambiguous" in parsed.issue_codes():
            ambiguous.append(text[-200:])
        if parsed.format == "unknown":
            # only answers without any 4-number group may go undetected
            if _ANY_BOX.search(text):
                missed.append(text[-200:])
            continue
        if parsed.format not in QWEN25_FORMATS or parsed.coords != "qwen25":
            wrong.append((parsed.format, text[-200:]))
        upstream = record["extracted_answer"]
        if any(upstream) and "bbox_2d" in text:
            model = [list(b.xyxy) for b in parsed.model_boxes]
            if [float(v) for v in upstream] not in model:
                mismatched.append((upstream, model))
    assert not wrong, wrong[:5]
    assert not missed, missed[:5]
    assert not mismatched, mismatched[:5]
    # no alternative that would read another coordinate space came close
    assert not ambiguous, ambiguous[:5]
    assert formats["qwen25_json"] >= 0.95 * expected
