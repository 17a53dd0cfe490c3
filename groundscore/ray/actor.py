"""The Ray Data actor: one :class:`~groundscore.chain.Chain` per actor, built once.

A callable class so that Ray Data keeps it alive across batches (the spaCy
and CLIP models load once per actor, not once per batch).
"""

from __future__ import annotations

import json
import os
from typing import Any


class ChainActor:
    """Verifies a batch of serialised samples; returns one report row per sample."""

    def __init__(self, config: dict[str, Any] | None) -> None:
        from groundscore.chain import Chain

        self.chain = Chain(config)
        self.pid = os.getpid()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from groundscore.commands.verify import report_record
        from groundscore.model import Sample

        samples = [Sample.model_validate_json(s) for s in batch["sample"]]
        reports = self.chain.verify(samples)
        return {
            "id": list(batch["id"]),
            "index": list(batch["index"]),
            "decision": [r.decision for r in reports],
            "confidence": [float(r.confidence) for r in reports],
            # the record `groundscore verify` writes (report + sample fields), so filter/eval read it
            "report": [json.dumps(report_record(r, s)) for r, s in zip(reports, samples, strict=True)],
            "pid": [self.pid] * len(reports),
        }
