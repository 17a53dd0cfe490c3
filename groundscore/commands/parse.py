"""``groundscore parse``: show what groundscore reads from one completion.

For debugging a format: which parser was chosen and how sure detection was
(with the formats it rejected), the boxes in original-image pixels next to
the numbers the model wrote, points, the ``<think>`` text, and every issue.

    groundscore parse '<ref>cat</ref><box>[[10, 20, 500, 600]]</box>' --image-size 640 480
    echo '{"bbox_2d": [45, 36, 137, 209], "label": "cup"}' | groundscore parse - --image cup.jpg
    groundscore parse --list-formats
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from groundscore.commands.options import Command, completion_options, json_option, namespace
from groundscore.model import Parsed, Sample


@click.command("parse", cls=Command, help=__doc__, short_help="show the boxes, format and issues read from one completion")
@click.argument("completion", required=False, default=None)
@completion_options
@click.option("--image", default=None, help="the image (its size converts boxes to original pixels)")
@click.option("--image-size", nargs=2, type=int, metavar="W H", default=None, help="original image width and height")
@json_option("print the Parsed object as JSON")
@click.option("--list-formats", is_flag=True, help="list the registered formats and exit")
def command(**options: Any) -> int:
    return run(namespace(**options))


def read_completion(args: Any) -> str:
    """The completion from the argument, stdin ('-') or --file."""
    if args.file:
        from groundscore.inputs.samples import not_a_file

        problem = not_a_file(args.file)
        if problem is not None:
            raise ValueError(problem)
        return Path(args.file).read_text(encoding="utf-8", errors="replace")
    if args.completion in (None, "-"):
        if args.completion is None and sys.stdin.isatty():
            raise ValueError("give a completion, '-' for stdin, or --file")
        return sys.stdin.read()
    return str(args.completion)


def image_size_of(args: Any) -> tuple[int, int] | None:
    """--image-size, else the size read from --image."""
    if args.image_size:
        return (args.image_size[0], args.image_size[1])
    if args.image:
        from groundscore.chain import read_image_size

        size = read_image_size(args.image)
        if size is None:
            raise ValueError(f"cannot read the image {args.image!r}")
        return size
    return None


def parse_one(text: str, size: tuple[int, int] | None, fmt: str | None, coords: str | None) -> Parsed:
    from groundscore.parse import parse_completion
    from groundscore.plugins.manager import get_registry

    sample = Sample(completion=text, image_size=size, format=fmt, coords=coords)
    return parse_completion(sample, get_registry().parsers, size)


def _fmt(values: tuple[float, ...]) -> str:
    return "[" + ", ".join(f"{v:.1f}" for v in values) + "]"


def render(parsed: Parsed, size: tuple[int, int] | None) -> str:
    """A human-readable summary."""
    lines = [
        f"format:     {parsed.format} (confidence {parsed.format_confidence:.2f})",
        f"coords:     {parsed.coords} -> " + ("original pixels" + (f" of a {size[0]}x{size[1]} image" if size else "")
                                               if parsed.in_original else "NOT converted (image size unknown)"),
        f"tags:       think={'yes' if parsed.has_think_tags else 'no'} answer={'yes' if parsed.has_answer_tags else 'no'}"
        + ("   no_object: yes" if parsed.no_object else ""),
    ]
    if parsed.think:
        think = " ".join(parsed.think.split())
        lines.append(f"think:      {think[:160]}{'...' if len(think) > 160 else ''}")
    lines.append(f"boxes:      {len(parsed.boxes)}")
    for i, (box, model) in enumerate(zip(parsed.boxes, parsed.model_boxes, strict=False)):
        score = f"  score {box.score:.3f}" if box.score is not None else ""
        lines.append(f"  {i:>3}  {_fmt(box.xyxy):<34} model {_fmt(model.xyxy):<30} {box.label or '-'}{score}")
    if parsed.points:
        lines.append(f"points:     {len(parsed.points)}")
        for i, point in enumerate(parsed.points):
            lines.append(f"  {i:>3}  ({point.x:.1f}, {point.y:.1f})  {point.label or '-'}")
    lines.append(f"issues:     {len(parsed.issues)}")
    for issue in parsed.issues:
        lines.append(f"  {issue.severity:<7} {issue.code:<24} {issue.message}")
    return "\n".join(lines)


def list_formats() -> str:
    from groundscore.plugins.manager import get_registry

    rows = []
    for name, parser in get_registry().parsers.items():
        rows.append(f"{name:<14} {parser.default_coords:<10} {parser.description}")
        if parser.example:
            rows.append(f"{'':<14} {'':<10} e.g. {' '.join(parser.example.split())}")
    return "\n".join(rows)


def _json(data: dict[str, Any]) -> str:
    try:
        return json.dumps(data, indent=2, ensure_ascii=False)
    except RecursionError:
        return json.dumps({"unwritable": "the parse could not be written as JSON (nested too deeply)"})


def run(args: Any) -> int:
    if args.list_formats:
        print(list_formats())
        return 0
    text = read_completion(args)
    size = image_size_of(args)
    parsed = parse_one(text, size, args.format, args.coords)
    if args.json:
        print(_json(parsed.model_dump(mode="json")))
    else:
        print(render(parsed, size))
    return 0 if (parsed.boxes or parsed.points or parsed.no_object) else 1
