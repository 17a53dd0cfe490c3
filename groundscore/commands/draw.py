"""``groundscore draw``: draw the boxes groundscore reads from a completion on its image.

The eye test for a format: if the boxes do not land on the objects, the
coordinate space is wrong. Writes a PNG (or JPEG, by the output's suffix),
scaled down to ``--max-width``.

    groundscore draw cakes.png '43,378,996,957 cakes' -o cakes-boxes.png
    groundscore draw --records outputs.json --out-dir drawn/   # many at once

``--records`` takes JSONL or a JSON list (or an object with a ``records``
list); each record has ``image`` (relative to the file), a completion under
``completion``, ``raw_output`` or ``model_output``, and optionally
``image_size``, ``format``, ``coords``, ``id``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from groundscore.commands.options import Command, completion_options, namespace
from groundscore.commands.parse import parse_one, read_completion
from groundscore.model import Parsed

COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#fabed4", "#469990")


@click.command("draw", cls=Command, help=__doc__, short_help="draw parsed boxes on the image (PNG/JPEG)")
@click.argument("image", required=False, default=None)
@click.argument("completion", required=False, default=None)
@completion_options
@click.option("-o", "--output", default=None, help="output image (default: IMAGE-boxes.png)")
@click.option("--records", default=None, help="draw every record of this JSON/JSONL file")
@click.option("--out-dir", default=".", help="where --records drawings go (default: .)")
@click.option("--suffix", type=click.Choice(["png", "jpg"]), default="png", help="file type of --records drawings (default png)")
@click.option("--max-width", type=int, default=800, help="scale the drawing down to this width (default 800)")
@click.option("--quality", type=int, default=85, help="JPEG quality when the output ends in .jpg (default 85)")
def command(**options: Any) -> int:
    return run(namespace(**options))


def draw(image_path: str | Path, parsed: Parsed, output: str | Path, max_width: int = 800, quality: int = 85) -> Path:
    """Draw ``parsed``'s boxes and points (original pixels) on the image; returns the output path."""
    from PIL import Image, ImageDraw, ImageFont

    from groundscore.inputs.samples import not_a_file

    problem = not_a_file(image_path)
    if problem is not None:
        raise ValueError(problem)
    with Image.open(image_path) as opened:
        image = opened.convert("RGB")
    scale = min(1.0, max_width / image.width)
    if scale < 1.0:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS)
    canvas = ImageDraw.Draw(image)
    line = max(2, round(image.width / 250))
    try:
        font = ImageFont.load_default(size=max(12, round(image.width / 45)))
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    for i, box in enumerate(parsed.boxes):
        colour = COLOURS[i % len(COLOURS)]
        x1, y1, x2, y2 = (v * scale for v in box.xyxy)
        if not all(map(_finite, (x1, y1, x2, y2))):
            continue
        canvas.rectangle((min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)), outline=colour, width=line)
        if box.label:
            text = box.label[:40]
            left, top, right, bottom = canvas.textbbox((x1, y1), text, font=font)
            ty = y1 - (bottom - top) - 2 * line if y1 - (bottom - top) - 2 * line > 0 else y1
            canvas.rectangle((x1, ty, x1 + (right - left) + 2 * line, ty + (bottom - top) + 2 * line), fill=colour)
            canvas.text((x1 + line, ty + line - (top - y1)), text, fill="white", font=font)
    for i, point in enumerate(parsed.points):
        colour = COLOURS[i % len(COLOURS)]
        x, y, r = point.x * scale, point.y * scale, 3 * line
        if _finite(x) and _finite(y):
            canvas.ellipse((x - r, y - r, x + r, y + r), fill=colour, outline="white", width=max(1, line // 2))
    from groundscore.commands.output import output_file

    out = Path(output)
    fmt = Image.registered_extensions().get(out.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot write a {out.suffix or 'suffix-less'} image: name the output .png or .jpg")
    out.parent.mkdir(parents=True, exist_ok=True)
    with output_file(out, binary=True) as stream:  # the picture replaces OUT only once it is whole
        if fmt == "JPEG":
            image.save(stream, format=fmt, quality=quality, optimize=True)
        else:
            image.save(stream, format=fmt, optimize=True)
    return out


def _finite(v: float) -> bool:
    return v == v and abs(v) != float("inf")


def _records(path: Path) -> list[dict[str, Any]]:
    from groundscore.inputs.samples import not_a_file

    problem = not_a_file(path)
    if problem is not None:
        raise ValueError(problem)
    text = path.read_text(encoding="utf-8", errors="replace")
    stripped = text.lstrip()
    if stripped.startswith("[") or (stripped.startswith("{") and '"records"' in text[:200_000]):
        value = json.loads(text)
        return list(value["records"] if isinstance(value, dict) else value)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run(args: Any) -> int:
    from groundscore.chain import read_image_size

    if args.records:
        path = Path(args.records)
        out_dir = Path(args.out_dir)
        for i, record in enumerate(_records(path)):
            if not record.get("image"):
                # A log mixes records with and without images; one that cannot be drawn must not stop the rest.
                print(f"skipped {record.get('id') or i}: no image", file=sys.stderr)
                continue
            image = Path(record["image"])
            if not image.is_absolute():
                image = path.parent / image
            text = record.get("completion") or record.get("raw_output") or record.get("model_output") or ""
            try:
                size = tuple(record["image_size"]) if record.get("image_size") else read_image_size(image)
                parsed = parse_one(text, size, record.get("format") or args.format, record.get("coords") or args.coords)
                name = str(record.get("id") or f"{image.stem}-{i}")
                out = draw(image, parsed, out_dir / f"{name}.{args.suffix}", args.max_width, args.quality)
            except (ValueError, OSError, TypeError) as exc:  # one record that cannot be drawn must not stop the rest
                print(f"skipped {record.get('id') or i}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                      file=sys.stderr)
                continue
            print(f"{out}  {parsed.format}  {len(parsed.boxes)} boxes  {len(parsed.points)} points")
        return 0
    if not args.image:
        raise ValueError("give an IMAGE and a completion, or --records FILE")
    size = read_image_size(args.image)
    if size is None:
        raise ValueError(f"cannot read the image {args.image!r}")
    parsed = parse_one(read_completion(args), size, args.format, args.coords)
    out = draw(args.image, parsed, args.output or f"{Path(args.image).stem}-boxes.png", args.max_width, args.quality)
    print(f"{out}  {parsed.format}  {len(parsed.boxes)} boxes  {len(parsed.points)} points")
    return 0 if (parsed.boxes or parsed.points) else 1
