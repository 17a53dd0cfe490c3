"""Reading samples from files: groundscore's JSONL, and VLM-R1 evaluation logs.

Every reader yields :class:`~groundscore.model.Sample` objects and never stops
on one bad line: a line that cannot be read becomes a Sample whose ``meta``
holds ``input_error`` (so an output line still exists for it; nothing is
dropped silently).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from groundscore.model import Sample
from groundscore.prompts import referring_expression

SOURCES = ("jsonl", "vlm-r1")


def detect_source(path: Path) -> str:
    """``vlm-r1`` for a JSON object with a ``results`` list, else ``jsonl``."""
    with path.open("rb") as fh:
        head = fh.read(4096).lstrip()
    if head.startswith(b"{") and b'"results"' in head[:4096] and path.suffix == ".json":
        return "vlm-r1"
    return "jsonl"


def iter_jsonl(path: Path) -> Iterator[Sample]:
    """One Sample per non-empty line; bad lines become Samples with ``meta.input_error``."""
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise ValueError(f"expected a JSON object, got {type(data).__name__}")
                data.setdefault("id", f"{path.name}:{lineno}")
                # a report written by `verify` carries the sample fields under "sample"
                if "sample" in data and isinstance(data["sample"], dict) and "completion" not in data:
                    data = {**data["sample"], "id": data.get("id")}
                yield Sample.model_validate(_resolve_image(data, path))
            except (ValueError, ValidationError) as exc:
                yield Sample(id=f"{path.name}:{lineno}", meta={"input_error": f"line {lineno}: {exc}".splitlines()[0]})


def _resolve_image(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Relative image paths are relative to the input file."""
    image = data.get("image")
    if isinstance(image, str) and image and not Path(image).is_absolute():
        candidate = path.parent / image
        if candidate.exists():
            data = {**data, "image": str(candidate)}
    return data


def vlm_r1_record_to_sample(record: dict[str, Any], sample_id: str, image_root: Path | None = None) -> Sample:
    """One VLM-R1 evaluation-log record -> Sample.

    The logs hold no image sizes (the COCO images are not shipped), so
    coordinates are taken as original pixels, which is what VLM-R1's own
    evaluation compares against ``ground_truth``; pass ``image_root`` to read
    the sizes from the images when you have them.
    """
    image = record.get("image")
    image_path = None
    if image_root is not None and isinstance(image, str):
        candidate = image_root / image
        image_path = str(candidate) if candidate.exists() else None
    gt = record.get("ground_truth")
    return Sample(
        id=sample_id,
        query=referring_expression(str(record.get("question", ""))),
        completion=record.get("model_output") or "",
        image=image_path,
        coords=None if image_path else "original",
        solution=gt if isinstance(gt, list) and gt else None,
        meta={
            "image": image,
            "question": record.get("question"),
            "upstream_correct": record.get("correct"),
            "upstream_extracted": record.get("extracted_answer"),
        },
    )


def iter_vlm_r1(path: Path, image_root: Path | None = None) -> Iterator[Sample]:
    """Samples from a VLM-R1 evaluation log (``{"results": [record, ...]}``)."""
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        data = json.load(fh)
    records = data.get("results", []) if isinstance(data, dict) else data
    for index, record in enumerate(records):
        sid = f"{path.stem}:{index}"
        if not isinstance(record, dict):
            yield Sample(id=sid, meta={"input_error": f"record {index} is not an object"})
            continue
        try:
            yield vlm_r1_record_to_sample(record, sid, image_root)
        except (ValueError, ValidationError) as exc:
            yield Sample(id=sid, meta={"input_error": str(exc).splitlines()[0]})


def iter_samples(path: str | Path, source: str | None = None, image_root: str | Path | None = None) -> Iterator[Sample]:
    """Samples from ``path``; ``source`` is ``jsonl``, ``vlm-r1`` or None to detect."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file: {p}")
    kind = source or detect_source(p)
    if kind == "vlm-r1":
        return iter_vlm_r1(p, Path(image_root) if image_root else None)
    if kind == "jsonl":
        return iter_jsonl(p)
    raise ValueError(f"unknown input source {kind!r}; choose from {', '.join(SOURCES)}")
