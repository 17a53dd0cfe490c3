"""The Ray Data actor: one :class:`~groundscore.chain.Chain` per actor, built once.

A callable class so that Ray Data keeps it alive across batches (the spaCy
and CLIP models load once per actor, not once per batch).
"""

from __future__ import annotations

import json
import os
from typing import Any


class ChainActor:
    """Verifies a batch of serialised samples; returns one report row per sample.

    A batch is either rows ``{id, index, sample}`` or rows ``{chunk, ids,
    indices}``, each chunk a whole batch packed on the driver so that no group
    is split (:func:`groundscore.ray.dataset.pack_batches`); all chunks of a
    batch are verified in one chain call.
    """

    def __init__(self, config: dict[str, Any] | None) -> None:
        from groundscore.chain import Chain

        self.chain = Chain(config)
        self.pid = os.getpid()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from groundscore.inputs.records import report_record
        from groundscore.model import Sample

        if "chunk" in batch:
            texts = [s for chunk in batch["chunk"] for s in json.loads(chunk)]
            ids = [i for chunk in batch["ids"] for i in json.loads(chunk)]
            indices = [x for chunk in batch["indices"] for x in json.loads(chunk)]
        else:
            texts, ids, indices = list(batch["sample"]), [str(i) for i in batch["id"]], [int(x) for x in batch["index"]]
        samples = [Sample.model_validate_json(s) for s in texts]
        reports = self.chain.verify(samples)
        return {
            "id": ids,
            "index": indices,
            "decision": [r.decision for r in reports],
            "confidence": [float(r.confidence) for r in reports],
            # the record `groundscore verify` writes (report + sample fields), so filter/eval read it
            "report": [json.dumps(report_record(r, s)) for r, s in zip(reports, samples, strict=True)],
            "pid": [self.pid] * len(reports),
        }
