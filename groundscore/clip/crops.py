"""Box geometry and batched cropping with ``torchvision.ops.roi_align``.

Why roi_align: it crops and resizes every box of a batch in one call, on the
device, with sub-pixel box coordinates (``aligned=True`` treats a box as
continuous coordinates, pixel ``i`` covering ``[i, i+1)``), and with
adaptive sampling (``sampling_ratio=-1``) it averages all source pixels that
fall in an output cell, which is an antialiased downscale. The model's own
preprocessing resizes with PIL's bicubic filter; the two differ by a small
amount of sharpness, measured in the tests.

Crop shapes (what square region of the image the model sees for a box):

- ``square``: a square of side max(w, h) centred on the box, shifted to stay
  inside the image: the whole box plus some context, no distortion.
- ``squash``: the box itself, stretched to the model's square input.
- ``center``: the central square of the box (what ``PIL crop`` followed by
  the model's resize-shortest-side-and-centre-crop preprocessing gives).

Isolation modes: ``crop`` shows only the region; ``blur`` shows the region
sharp and its surroundings strongly blurred (as ReCLIP does), inside a
square of ``blur_context`` times the box side.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torchvision.ops import roi_align

from groundscore.clip.images import DecodedImage

CropShape = Literal["square", "squash", "center"]
Mode = Literal["crop", "blur"]
XYXY = tuple[float, float, float, float]


@dataclass(frozen=True)
class CropRequest:
    """One region to show the model: which image, which roi, and the box to keep sharp in blur mode."""

    image: int
    roi: XYXY
    box: XYXY | None = None  # set for blur mode only

    def key(self) -> tuple[int, XYXY, XYXY | None]:
        r = tuple(round(v, 2) for v in self.roi)
        b = tuple(round(v, 2) for v in self.box) if self.box is not None else None
        return (self.image, r, b)  # type: ignore[return-value]


def clip_box(box: Sequence[float], width: int, height: int) -> XYXY | None:
    """The part of ``box`` inside the image, or None when nothing is left (or not finite)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    if not all(v == v and abs(v) != float("inf") for v in (x1, y1, x2, y2)):
        return None
    x1, x2 = max(0.0, min(x1, x2)), min(float(width), max(x1, x2))
    y1, y2 = max(0.0, min(y1, y2)), min(float(height), max(y1, y2))
    if x2 - x1 < 1.0 or y2 - y1 < 1.0:
        return None
    return (x1, y1, x2, y2)


def region(box: XYXY, width: int, height: int, shape: CropShape, context: float = 1.0) -> XYXY:
    """The roi the model sees for ``box`` (see the module docstring)."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    if shape == "squash" and context == 1.0:
        return box
    if shape == "center":
        side = min(w, h) * context
    else:
        side = max(w, h) * context
    half = side / 2
    rx1, ry1 = cx - half, cy - half
    # Shift (not shrink) the square into the image where it fits.
    if side <= width:
        rx1 = min(max(rx1, 0.0), width - side)
    if side <= height:
        ry1 = min(max(ry1, 0.0), height - side)
    return (rx1, ry1, rx1 + side, ry1 + side)


def jitters(box: XYXY, n: int, fraction: float, width: int, height: int) -> list[XYXY]:
    """``n`` deterministic perturbations of ``box``: shifts right/left/down/up, then grow/shrink.

    The same box always gets the same jitters, so scores are reproducible.
    Each jitter is clipped to the image; jitters that vanish are dropped.
    """
    x1, y1, x2, y2 = box
    dx, dy = fraction * (x2 - x1), fraction * (y2 - y1)
    moves = [(dx, 0, dx, 0), (-dx, 0, -dx, 0), (0, dy, 0, dy), (0, -dy, 0, -dy),
             (-dx, -dy, dx, dy), (dx, dy, -dx, -dy)]
    out: list[XYXY] = []
    for mx1, my1, mx2, my2 in moves[:max(0, n)]:
        clipped = clip_box((x1 + mx1, y1 + my1, x2 + mx2, y2 + my2), width, height)
        if clipped is not None:
            out.append(clipped)
    return out


def extract(
    images: Sequence[DecodedImage],
    requests: Sequence[CropRequest],
    out_hw: tuple[int, int],
    mean: Sequence[float],
    std: Sequence[float],
    dtype: torch.dtype,
) -> torch.Tensor:
    """Crop, resize and normalise every request: (N, 3, H, W) in ``dtype`` on the images' device.

    Requests are grouped by image size and pyramid level; all images of one
    size go through one roi_align call per level (in a GRPO batch of
    equal-sized images and similar boxes: one or two calls).
    """
    device = images[requests[0].image].pixels.device if requests else torch.device("cpu")
    # Sampling runs in fp32 whatever the model's dtype: box coordinates of
    # large images lose whole pixels in fp16.
    f32 = torch.float32
    out = torch.empty((len(requests), 3, *out_hw), dtype=f32, device=device)
    groups: dict[tuple[tuple[int, int], int], list[int]] = defaultdict(list)
    for i, req in enumerate(requests):
        groups[(images[req.image].size, _pyramid_level(req.roi, out_hw, images[req.image].max_level))].append(i)
    for (_, k), indices in groups.items():
        members = sorted({requests[i].image for i in indices})
        slot = {img: n for n, img in enumerate(members)}
        stacked = torch.stack([images[m].level(k, f32) for m in members]).to(f32)
        rois = torch.tensor([[slot[requests[i].image], *requests[i].roi] for i in indices], dtype=f32, device=device)
        crops = roi_align(stacked, rois, output_size=out_hw, spatial_scale=1.0 / (1 << k), sampling_ratio=-1,
                          aligned=True)
        blur_rows = [j for j, i in enumerate(indices) if requests[i].box is not None]
        if blur_rows:
            crops = _blend_blur(crops, blur_rows, [requests[indices[j]] for j in blur_rows], images, members, slot, out_hw)
        out[torch.tensor(indices, device=device)] = crops
    scale = torch.tensor([255.0 * s for s in std], dtype=f32, device=device).view(1, 3, 1, 1)
    shift = torch.tensor([255.0 * m for m in mean], dtype=f32, device=device).view(1, 3, 1, 1)
    return out.sub_(shift).div_(scale).to(dtype)


def _pyramid_level(roi: XYXY, out_hw: tuple[int, int], max_level: int) -> int:
    """The pyramid level whose pixels are at most twice as fine as the output's, for this roi."""
    ratio = min((roi[2] - roi[0]) / out_hw[1], (roi[3] - roi[1]) / out_hw[0])
    k = 0
    while k < max_level and ratio >= 2.0:
        ratio /= 2.0
        k += 1
    return k


def _blend_blur(
    crops: torch.Tensor,
    rows: list[int],
    reqs: list[CropRequest],
    images: Sequence[DecodedImage],
    members: list[int],
    slot: dict[int, int],
    out_hw: tuple[int, int],
) -> torch.Tensor:
    """Replace the pixels outside each blur request's box by the blurred copy."""
    device = crops.device
    blurred = [images[m].blurred for m in members]
    if any(b is None for b in blurred):
        raise ValueError("blur mode needs images fetched with blur=True")
    scale = images[members[0]].blur_scale
    small = torch.stack(blurred).float()  # type: ignore[arg-type]
    rois = torch.tensor([[slot[r.image], *r.roi] for r in reqs], dtype=torch.float32, device=device)
    soft = roi_align(small, rois, output_size=out_hw, spatial_scale=scale, sampling_ratio=-1, aligned=True)
    h, w = out_hw
    roi = rois[:, 1:].float()
    box = torch.tensor([r.box for r in reqs], dtype=torch.float32, device=device)
    xs = roi[:, 0:1] + (torch.arange(w, device=device, dtype=torch.float32) + 0.5) * (roi[:, 2:3] - roi[:, 0:1]) / w
    ys = roi[:, 1:2] + (torch.arange(h, device=device, dtype=torch.float32) + 0.5) * (roi[:, 3:4] - roi[:, 1:2]) / h
    inside_x = (xs >= box[:, 0:1]) & (xs <= box[:, 2:3])  # (N, w)
    inside_y = (ys >= box[:, 1:2]) & (ys <= box[:, 3:4])  # (N, h)
    mask = (inside_y[:, :, None] & inside_x[:, None, :]).unsqueeze(1)  # (N, 1, h, w)
    index = torch.tensor(rows, device=device)
    crops[index] = torch.where(mask, crops[index], soft)
    return crops
