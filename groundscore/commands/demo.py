"""``groundscore demo``: the default chain on bundled real outputs, shown readably.

The bundled samples (``groundscore/data/demo/``) are real Qwen2.5-VL outputs
from the Qwen2.5-VL cookbook and VLM-R1 evaluation logs, with three small
images, plus a few hand-written cases: the label-drift hallucination, an
honest "not found", and malformed output.
"""

from __future__ import annotations

import textwrap
from importlib import resources
from pathlib import Path
from typing import Any

import click

from groundscore.commands.options import Command, config_option, json_option, namespace
from groundscore.model import Report, Sample


@click.command("demo", cls=Command, help=__doc__, short_help="run the default chain on bundled sample data")
@config_option("a TOML configuration")
@json_option("print the reports as JSONL")
def command(**options: Any) -> int:
    return run(namespace(**options))


def demo_path() -> Path:
    return Path(str(resources.files("groundscore") / "data" / "demo" / "samples.jsonl"))


def demo_samples() -> list[Sample]:
    from groundscore.inputs.samples import iter_samples

    return list(iter_samples(demo_path(), "jsonl"))


def _num(value: float) -> str:
    return f"{value:.0f}" if abs(value) < 1e7 else f"{value:.3g}"


def render(sample: Sample, report: Report) -> str:
    lines = [f"== {sample.id}  [{report.decision.upper()}  confidence {report.confidence:.2f}]"]
    query = sample.query if len(sample.query) < 110 else sample.query[:107] + "..."
    lines.append(f"   query : {query}")
    if report.parsed.boxes:
        shown = ", ".join(
            f"[{', '.join(_num(v) for v in b.xyxy)}] {b.label or ''}".rstrip() for b in report.parsed.boxes[:3]
        )
        more = f" (+{len(report.parsed.boxes) - 3} more)" if len(report.parsed.boxes) > 3 else ""
        lines.append(f"   boxes : {shown}{more}  ({report.parsed.format})")
    elif report.parsed.no_object:
        lines.append("   boxes : none (explicit 'not found')")
    for v in report.verdicts:
        score = "  -  " if v.score is None else f"{v.score:.2f}"
        gate = {True: "gate ok  ", False: "GATE FAIL", None: "         "}[v.gate]
        reason = textwrap.shorten(v.reason, 90, placeholder="...")
        lines.append(f"   {v.verifier:<12} {score}  {gate} {reason}")
    return "\n".join(lines)


def run(args: Any) -> int:
    from groundscore.chain import Chain
    from groundscore.commands.output import json_line

    chain = Chain(args.config)
    samples = demo_samples()
    reports = chain.verify(samples)
    if args.json:
        for report in reports:
            print(json_line(report.model_dump(mode="json")), end="")
        return 0
    print(f"groundscore demo: {len(samples)} samples, verifiers: {', '.join(chain.names)}\n")
    for sample, report in zip(samples, reports, strict=True):
        print(render(sample, report))
        print()
    counts = {d: sum(r.decision == d for r in reports) for d in ("accept", "abstain", "reject")}
    print("decisions: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0
