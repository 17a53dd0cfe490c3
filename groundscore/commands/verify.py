"""``groundscore verify IN... -o OUT``: one Report per input sample, as JSONL.

Each output line is the Report's JSON plus a ``sample`` object (id, query,
solution, image, image_size, meta, group) so that later commands
(``filter``, ``calibrate``, ``eval``) can use the reports without re-running
the chain. Input lines that cannot be read still get an output line (nothing
is dropped), and the summary counts them.

Several logs answering the same questions (records matched by image and
question) are verified together: each question becomes a group with one
answer per log, so the ``agreement`` verifier compares them.

    groundscore verify samples.jsonl -o reports.jsonl
    groundscore verify A.json B.json C.json --from vlm-r1 -o reports.jsonl
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import IO, Any

import click

from groundscore.commands.options import (
    Command,
    engine_options,
    input_options,
    logs_options,
    namespace,
    output_option,
    quiet_option,
)
from groundscore.inputs.records import report_record
from groundscore.model import Report, Sample


@click.command("verify", cls=Command, help=__doc__, short_help="verify samples (JSONL or VLM-R1 logs) and write reports")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@output_option("reports")
@input_options
@logs_options
@click.option("--no-progress", is_flag=True, help="no progress bar")
@quiet_option("no summary table")
@engine_options
def command(inputs: tuple[str, ...], **options: Any) -> int:
    return run(namespace(inputs=list(inputs), input=inputs[0], **options))


def batched(items: Iterable[Sample], size: int) -> Iterator[list[Sample]]:
    """Batches of about ``size`` samples that never split a group (its members are consecutive)."""
    batch: list[Sample] = []
    for item in items:
        if len(batch) >= size and not (item.group is not None and item.group == batch[-1].group):
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch


def build_chain(args: Any) -> Any:
    from groundscore.commands.input_options import chain_from_args

    return chain_from_args(args)


class Summary:
    """Running totals for the table printed at the end."""

    def __init__(self) -> None:
        self.count = 0
        self.decisions: Counter[str] = Counter()
        self.scores: dict[str, list[float]] = {}
        self.applicable: Counter[str] = Counter()
        self.codes: Counter[str] = Counter()
        self.unreadable = 0
        self.clarify = 0  # answers asking which object is meant
        self.clarify_named = 0  # ... naming the candidates

    def add(self, report: Report) -> None:
        self.count += 1
        self.unreadable += any(i.code == "input.unreadable" for i in report.parsed.issues)
        self.decisions[report.decision] += 1
        if report.parsed.clarify is not None:
            self.clarify += 1
            self.clarify_named += bool(report.parsed.clarify.candidates)
        for v in report.verdicts:
            self.scores.setdefault(v.verifier, [])
            if v.score is not None:
                self.scores[v.verifier].append(v.score)
                self.applicable[v.verifier] += 1
            if v.code not in ("ok",) and not v.code.startswith("ok."):
                self.codes[f"{v.verifier}:{v.code}"] += 1

    def render(self, elapsed: float, out: IO[str]) -> None:
        n = max(1, self.count)
        print(f"\n{self.count} samples in {elapsed:.2f} s ({self.count / max(elapsed, 1e-9):,.0f}/s)", file=out)
        print("decisions: " + ", ".join(f"{k} {self.decisions.get(k, 0)} ({100 * self.decisions.get(k, 0) / n:.1f}%)" for k in ("accept", "abstain", "reject")), file=out)
        if self.clarify:
            print(f"clarifying questions: {self.clarify} ({100 * self.clarify / n:.1f}%), "
                  f"{self.clarify_named} naming the candidate objects", file=out)
        print(f"{'verifier':<16} {'applied':>8} {'mean score':>10}", file=out)
        for name, values in self.scores.items():
            mean = f"{sum(values) / len(values):.3f}" if values else "-"
            print(f"{name:<16} {self.applicable[name]:>8} {mean:>10}", file=out)
        if self.codes:
            print("most frequent findings:", file=out)
            for code, count in self.codes.most_common(12):
                print(f"  {count:>7}  {code}", file=out)


def run(args: Any) -> int:
    from groundscore.commands.input_options import check_inputs, input_paths, samples_from_args, unreadable_note
    from groundscore.commands.output import json_line, output_file
    from groundscore.commands.progress import progress_bar
    from groundscore.commands.tally import InputTally

    check_inputs(args)
    if getattr(args, "engine", "local") == "ray":
        from groundscore.commands.engine_options import run_verify_on_ray

        return run_verify_on_ray(args)

    chain = build_chain(args)
    samples = samples_from_args(args)
    summary = Summary()
    tally = InputTally()
    start = time.perf_counter()
    # the reports become OUT only when every line is written: an error leaves an existing OUT as it was
    with output_file(args.output) as out, progress_bar("verify", unit="sample", disable=args.no_progress) as progress:
        for batch in batched(samples, max(1, args.batch_size)):
            for sample, report in zip(batch, chain.verify(batch), strict=True):
                if "input_error" in sample.meta:
                    report.parsed.issues.insert(0, _input_issue(sample.meta["input_error"]))
                out.write(json_line(report_record(report, sample)))
                summary.add(report)
                tally.add(report)
            progress.update(len(batch))
    where = sys.stderr if args.output == "-" else sys.stdout
    if not args.quiet:
        summary.render(time.perf_counter() - start, where)
    for line in unreadable_note(summary.unreadable, summary.count, input_paths(args), args.source):
        print(line, file=sys.stderr if args.quiet else where)
    for line in tally.lines():
        print(line, file=sys.stderr)
    return 0


def _input_issue(message: str) -> Any:
    from groundscore.model import Issue

    return Issue(code="input.unreadable", message=str(message), severity="error")
