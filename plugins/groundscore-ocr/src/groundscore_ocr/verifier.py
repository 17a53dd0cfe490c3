"""The ``ocr`` verifier: is the instruction's text on screen where the GUI answer points?

Most GUI grounding targets are text (a link, a menu entry, a button label),
so the pixels can be checked: read the screenshot with OCR, take the text
under the answer's box, or the text line at its click point, and compare it
with the instruction's words (:mod:`groundscore_ocr.text`).

Cost is what decides the design. A GRPO group holds several answers about
ONE screenshot, so text detection (PP-OCRv4 det) runs once per screenshot
and is kept in a cache keyed by the image's content hash; a text line is
recognised (PP-OCRv4 rec) the first time an answer touches it, all the lines
one batch needs in one batched call (``rec_batch`` lines per forward pass),
and its text is kept too. Every later answer about the same place is a
lookup and a string comparison. :meth:`OcrVerifier.read_all` recognises
every line (the cost of one screenshot's full OCR).

A box is scored by the text it covers (:func:`~groundscore_ocr.text.match_score`);
a click by the line under it, where the words must be written at the click
(:func:`~groundscore_ocr.text.match_at`).

Verdicts: the match score in [0, 1]; ``skipped.no_text`` (None) when there
is no text under the box or at the point (icons, images, empty space: OCR
cannot say anything about them, so it does not pretend); ``skipped.no_image``,
``skipped.no_place``, ``skipped.coords_unknown`` and ``skipped.no_words``
(an instruction with nothing to read) likewise. When onnxruntime or the
models are missing, :meth:`unavailable` says how to install them and the
chain runs without this verifier.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from groundscore import Verdict, hookimpl
from groundscore.verifiers.base import Context, Verifier, VerifierOptions
from groundscore_ocr.text import fold, match_at, match_score, target_words

INSTALL_HINT = "pip install rapidocr-onnxruntime (or pip install ./plugins/groundscore-ocr), which ships the PP-OCRv4 models"


@dataclass(frozen=True, slots=True)
class Line:
    """One text line on screen: its axis-aligned box in image pixels, its folded text and OCR score."""

    x1: float
    y1: float
    x2: float
    y2: float
    text: str
    score: float

    @property
    def height(self) -> float:
        return max(1.0, self.y2 - self.y1)


@dataclass(slots=True)
class Page:
    """One screenshot: its pixels, the text lines detection found, and the texts recognised so far.

    Detection runs once per screenshot; a line is recognised the first time
    an answer needs it (all the lines a batch needs in one batched call), and
    its text is kept: ``texts[i]`` is None until then.
    """

    image: Any
    quads: list[Any]
    boxes: list[tuple[float, float, float, float]]
    texts: list[str | None]
    scores: list[float]

    def line(self, i: int) -> Line:
        x1, y1, x2, y2 = self.boxes[i]
        return Line(x1, y1, x2, y2, self.texts[i] or "", self.scores[i])

    @property
    def lines(self) -> list[Line]:
        """The recognised lines with text (all of them after :meth:`OcrVerifier.read_all`)."""
        return [self.line(i) for i, t in enumerate(self.texts) if t]


def _height(box: tuple[float, float, float, float]) -> float:
    return max(1.0, box[3] - box[1])


class OcrOptions(VerifierOptions):
    threads: int = Field(default=2, ge=0, description="ONNX Runtime intra-op threads per model; 0: all cores.")
    rec_batch: int = Field(default=6, ge=1, le=256, description="Text lines recognised per batch.")
    cache_images: int = Field(default=32, ge=0, description="Screenshots whose OCR is kept (LRU, by content hash).")
    min_text_score: float = Field(default=0.5, ge=0.0, le=1.0, description="OCR lines below this confidence are dropped.")
    point_radius: float = Field(default=0.5, ge=0.0, description="A click this many line heights beside a line still reads it.")
    pass_score: float = Field(default=0.8, ge=0.0, le=1.0, description="At or above: code 'ok'; below: 'ocr.mismatch'.")


def _missing() -> str | None:
    """None when rapidocr, onnxruntime and the model files are all there; else what is missing."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "onnxruntime is not installed"
    try:
        import rapidocr_onnxruntime
    except ImportError:
        return "rapidocr-onnxruntime is not installed"
    models = Path(rapidocr_onnxruntime.__file__).parent / "models"
    found = [p.name for p in models.glob("*.onnx")] if models.is_dir() else []
    for kind in ("det", "rec"):
        if not any(f"_{kind}_" in name for name in found):
            return f"the OCR {kind} model is missing from {models}"
    return None


def _image_bytes(image: Any) -> tuple[bytes, Any]:
    """(bytes to hash, something PIL can open or an array) for every image form a Sample accepts."""
    if isinstance(image, bytes | bytearray):
        return bytes(image), io.BytesIO(image)
    if isinstance(image, str | os.PathLike):
        data = Path(image).read_bytes()
        return data, io.BytesIO(data)
    if hasattr(image, "tobytes") and hasattr(image, "size") and hasattr(image, "convert"):  # a PIL image
        rgb = image.convert("RGB")
        return rgb.tobytes() + repr(rgb.size).encode(), rgb
    raise TypeError(f"cannot read an image from {type(image).__name__}")


class OcrVerifier(Verifier):
    name = "ocr"
    description = "the text on screen under the box (or at the click) matches the instruction (RapidOCR PP-OCRv4)"
    Options = OcrOptions
    options: OcrOptions
    default_weight = 1.0
    evidence = "confirming"  # the pixels: the text on screen under the box

    def __init__(self, options: OcrOptions | dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._engine: Any = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Page] = OrderedDict()
        self.ocr_runs = 0  # screenshots detected, for tests and benchmarks

    def unavailable(self) -> str | None:
        missing = _missing()
        return None if missing is None else f"{missing}: {INSTALL_HINT}"

    # -- OCR: detection once per screenshot, recognition once per line ----------------------
    def _get_engine(self) -> Any:
        if self._engine is None:
            from rapidocr_onnxruntime import RapidOCR

            threads = self.options.threads or -1
            self._engine = RapidOCR(
                intra_op_num_threads=threads, inter_op_num_threads=1, use_cls=False,
                rec_batch_num=self.options.rec_batch, text_score=self.options.min_text_score,
            )
        return self._engine

    def page(self, image: Any) -> Page:
        """The screenshot's detected lines, from the cache when this image (by content) was seen before."""
        data, source = _image_bytes(image)
        key = hashlib.blake2b(data, digest_size=16).hexdigest()
        with self._lock:
            page = self._cache.get(key)
            if page is not None:
                self._cache.move_to_end(key)
                return page
            page = self._detect(source)
            self.ocr_runs += 1
            if self.options.cache_images:
                self._cache[key] = page
                while len(self._cache) > self.options.cache_images:
                    self._cache.popitem(last=False)
            return page

    def _detect(self, source: Any) -> Page:
        import numpy as np
        from PIL import Image

        img = source if isinstance(source, Image.Image) else Image.open(source)
        bgr = np.ascontiguousarray(np.asarray(img.convert("RGB"))[:, :, ::-1])
        quads, _ = self._get_engine()(bgr, use_cls=False, use_rec=False)
        quads = [np.asarray(q, dtype=np.float32) for q in quads or []]
        boxes = [(float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())) for q in quads]
        return Page(bgr, quads, boxes, [None] * len(quads), [0.0] * len(quads))

    def recognise(self, page: Page, indices: Sequence[int]) -> None:
        """Recognise the lines ``indices`` not read yet, in one batched call (``rec_batch`` per forward pass)."""
        todo = sorted({i for i in indices if page.texts[i] is None})
        if not todo:
            return
        with self._lock:
            engine = self._get_engine()
            crops = engine.get_crop_img_list(page.image, [page.quads[i] for i in todo])
            results, _ = engine.text_rec(crops)
        for i, res in zip(todo, results, strict=False):
            text, score = str(res[0]), float(res[1])
            page.scores[i] = score
            page.texts[i] = fold(text) if score >= self.options.min_text_score else ""

    def read_all(self, image: Any) -> list[Line]:
        """The whole screenshot's OCR (every line recognised): the cost ``bench_ocr.py`` reports."""
        page = self.page(image)
        self.recognise(page, range(len(page.boxes)))
        return page.lines

    @staticmethod
    def lines_for_box(page: Page, box: tuple[float, float, float, float]) -> list[int]:
        """Lines the box spans at least half the height of, and overlaps horizontally."""
        x1, y1, x2, y2 = box
        out = []
        for i, (a1, b1, a2, b2) in enumerate(page.boxes):
            if min(y2, b2) - max(y1, b1) >= 0.5 * max(1.0, b2 - b1) and min(x2, a2) > max(x1, a1):
                out.append(i)
        return out

    def lines_for_point(self, page: Page, x: float, y: float) -> list[int]:
        """Lines within ``point_radius`` line heights of the point."""
        out = []
        for i, box in enumerate(page.boxes):
            r = self.options.point_radius * _height(box)
            if max(box[0] - x, 0.0, x - box[2]) <= r and max(box[1] - y, 0.0, y - box[3]) <= r:
                out.append(i)
        return out

    # -- what is under the answer ---------------------------------------------------------
    @staticmethod
    def text_in_box(lines: Sequence[Line], box: tuple[float, float, float, float]) -> str:
        """The text of the lines the box covers, in reading order; a line cut by the box gives its covered part.

        A line counts when the box spans at least half its height; its text
        is sliced in proportion to the horizontal overlap (OCR often merges
        neighbouring links into one line), keeping whole characters.
        """
        x1, y1, x2, y2 = box
        parts = []
        for line in sorted(lines, key=lambda ln: (round(ln.y1 / ln.height), ln.x1)):
            overlap_y = min(y2, line.y2) - max(y1, line.y1)
            if overlap_y < 0.5 * line.height:
                continue
            left, right = max(x1, line.x1), min(x2, line.x2)
            width = line.x2 - line.x1
            if right <= left or width <= 0:
                continue
            n = len(line.text)
            a = max(0, int(((left - line.x1) / width) * n) - 1)  # one character of slack each side
            b = round(((right - line.x1) / width) * n) + 1
            piece = line.text[a:b] if (right - left) < width * 0.95 else line.text
            if piece.strip():
                parts.append(piece.strip())
        return " ".join(parts)

    def near_point(self, lines: Sequence[Line], x: float, y: float) -> list[Line]:
        """The lines under the click; else the nearest one within ``point_radius`` line heights."""
        under = [ln for ln in lines if ln.x1 <= x <= ln.x2 and ln.y1 <= y <= ln.y2]
        if under:
            return under
        best: tuple[float, Line] | None = None
        for line in lines:
            r = self.options.point_radius * line.height
            dx = max(line.x1 - x, 0.0, x - line.x2)
            dy = max(line.y1 - y, 0.0, y - line.y2)
            if dx <= r and dy <= r:
                d = (dx * dx + dy * dy) ** 0.5
                if best is None or d < best[0]:
                    best = (d, line)
        return [best[1]] if best else []

    # -- verdicts -------------------------------------------------------------------------
    def verify_batch(self, contexts: Sequence[Context]) -> list[Verdict]:
        pages: dict[int, Page | Exception] = {}  # per image object within the batch: detected (or failed) once
        plans: list[Verdict | tuple[str, Page, str, list[int], Any]] = []
        for ctx in contexts:
            plans.append(self._plan(ctx, pages))
        wanted: dict[int, tuple[Page, set[int]]] = {}
        for plan in plans:
            if isinstance(plan, tuple):
                entry = wanted.setdefault(id(plan[1]), (plan[1], set()))
                entry[1].update(plan[3])
        for page, indices in wanted.values():
            self.recognise(page, sorted(indices))  # one batched recognition per screenshot
        return [plan if isinstance(plan, Verdict) else self._verdict(*plan) for plan in plans]

    def _plan(self, ctx: Context, pages: dict[int, Page | Exception]) -> Verdict | tuple[str, Page, str, list[int], Any]:
        parsed, image = ctx.parsed, ctx.sample.image
        if image is None:
            return Verdict.skip(self.name, "skipped.no_image", "no screenshot was given, so the text cannot be read")
        if not (parsed.boxes or parsed.points):
            return Verdict.skip(self.name, "skipped.no_place", "the answer has no box or point")
        if not parsed.in_original:
            return Verdict.skip(self.name, "skipped.coords_unknown", "the answer is not in image pixels (image size unknown)")
        words = target_words(ctx.referring_expression or ctx.sample.query or "")
        if not words:
            return Verdict.skip(self.name, "skipped.no_words", "the instruction has no words to look for on screen")
        page = pages.get(id(image))
        if page is None:
            try:
                page = pages[id(image)] = self.page(image)
            except Exception as exc:  # noqa: BLE001 - an unreadable image is this sample's problem only
                page = pages[id(image)] = exc
        if isinstance(page, Exception):
            return Verdict.skip(self.name, "skipped.bad_image", f"the screenshot could not be read: {page}")
        if parsed.boxes:
            b = parsed.boxes[0]
            place: Any = (b.x1, b.y1, b.x2, b.y2)
            return (words, page, "under the box", self.lines_for_box(page, place), place)
        p = next((q for q in parsed.points if q.action not in ("drag_end", "scroll")), parsed.points[0])
        return (words, page, "at the click", self.lines_for_point(page, p.x, p.y), (p.x, p.y))

    def _verdict(self, words: str, page: Page, where: str, indices: list[int], place: Any) -> Verdict:
        lines = [page.line(i) for i in indices if page.texts[i]]
        if len(place) == 4:
            text = self.text_in_box(lines, place)
            score = match_score(words, text) if text else 0.0
        else:
            x, y = place
            near = self.near_point(lines, x, y)
            best = [(match_at(words, ln.text, (x - ln.x1) / max(1.0, ln.x2 - ln.x1)), ln.text) for ln in near]
            score, text = max(best) if best else (0.0, "")
        if not text:
            return Verdict.skip(self.name, "skipped.no_text",
                                f"no text {where} (an icon, an image or empty space): OCR cannot check it")
        ok = score >= self.options.pass_score
        return Verdict(
            verifier=self.name, score=score, code="ok" if ok else "ocr.mismatch",
            reason=f"text {where} {'matches' if ok else 'does not match'} the instruction: {text[:60]!r} vs {words[:60]!r}",
            details={"text": text[:200], "words": words[:200], "where": where},
        )

    def close(self) -> None:
        self._cache.clear()
        self._engine = None


@hookimpl
def register_verifiers(register: Any) -> None:
    register(OcrVerifier)
