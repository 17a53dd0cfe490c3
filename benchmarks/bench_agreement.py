"""How long the ``agreement`` verifier takes on a GRPO-sized batch: 512 completions, 64 groups of 8.

Run::

    .venv/bin/python benchmarks/bench_agreement.py

The batch is built from real outputs: 64 questions of the shared REC logs,
each answered by the three logged models, filled up to 8 members per group
with copies whose boxes are shifted by a few pixels (and one "[]" answer
and one malformed answer in every other group), so that groups hold
agreeing, disagreeing, absent and non-voting members. The contexts are
prepared once (parse and the schema gate, as the chain does); the time is
``verify_batch`` alone, median of ``--repeat`` runs, with the ratio to the
20 ms target and to the schema verifier on the same batch (measured in the
same run).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from shared_data import REC_LOGS  # noqa: E402

TARGET_MS = 20.0
MODELS = ("grpo-ckpt1000", "instruct-baseline", "original-model")


def batch(groups: int = 64, size: int = 8, seed: int = 0) -> list[object]:
    from groundscore.model import Sample

    rng = random.Random(seed)
    logs = [json.loads((REC_LOGS / f"{m}_refcoco_val.json").read_text())["results"] for m in MODELS]
    samples = []
    for g in range(groups):
        answers = [log[g]["model_output"] for log in logs]
        boxes = [log[g]["extracted_answer"] for log in logs]
        query = logs[0][g]["question"]
        members = list(answers)
        while len(members) < size:
            b = boxes[rng.randrange(len(boxes))]
            shifted = [round(v + rng.uniform(-6, 6)) for v in b]
            members.append(f'```json\n[{{"bbox_2d": {shifted}, "label": "target"}}]\n```')
        if g % 2:
            members[-1] = "[]"
            members[-2] = '{"bbox_2d": [1, 2'
        samples += [Sample(query=query, completion=c, coords="original", image_size=(1000, 1000), group=f"q{g}") for c in members]
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)

    from groundscore.chain import Chain
    from groundscore.groups import record_verdicts
    from groundscore.verifiers.agreement import AgreementVerifier

    chain = Chain({"verifiers": ["schema", "agreement"]})
    samples = batch()
    contexts = chain.contexts(samples)
    schema = chain.verifiers[0]
    record_verdicts(contexts, "schema", schema.verify_batch(contexts))
    agreement = AgreementVerifier()
    verdicts = agreement.verify_batch(contexts)  # warm-up, and a check that it did the work
    applied = sum(v.score is not None for v in verdicts)
    times, schema_times = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        agreement.verify_batch(contexts)
        times.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        schema.verify_batch(contexts)
        schema_times.append((time.perf_counter() - t) * 1000)
    med, best, med_schema = statistics.median(times), min(times), statistics.median(schema_times)
    print(f"agreement on {len(samples)} completions in 64 groups of 8 ({applied} verdicts with a score): "
          f"median {med:.2f} ms, best {best:.2f} ms over {args.repeat} runs")
    print(f"ratio to the {TARGET_MS:.0f} ms target: {med / TARGET_MS:.2f} ({'PASS' if med < TARGET_MS else 'FAIL'})")
    print(f"schema verifier on the same batch: median {med_schema:.2f} ms (agreement / schema = {med / med_schema:.2f})")
    return 0 if med < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
