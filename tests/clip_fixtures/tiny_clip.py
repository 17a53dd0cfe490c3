"""A tiny CLIP trained in seconds on synthetic scenes, for tests and the CPU benchmark.

Real CLIP weights cannot be downloaded where the tests run, yet the ``clip``
verifier must be checked for real semantics, through the same open_clip code
path that loads real weights. So this module trains a small open_clip
``CLIP`` (a 2-layer ViT on 32x32 inputs, a 2-layer text transformer with
open_clip's own BPE tokenizer) to tell coloured shapes apart ("red circle",
"blue cross", ...) and empty background, then saves it as an open_clip
``local-dir:`` folder (``open_clip_config.json`` + ``open_clip_model.safetensors``),
exactly the layout of a model downloaded from the Hugging Face hub.

Scenes (for tests) are drawn with the same renderer, at any size.

Regenerate by hand::

    python tests/clip_fixtures/tiny_clip.py /tmp/tiny-clip     # about 20-40 s on 2 CPU cores
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from groundscore.clip.distractors import GENERIC_CAPTIONS

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 40, 40), "green": (40, 170, 60), "blue": (45, 75, 215), "yellow": (230, 205, 40),
}
SHAPES = ("circle", "cross", "triangle")
CLASSES = [f"{c} {s}" for c in COLOURS for s in SHAPES]
BACKGROUND_CAPTIONS = GENERIC_CAPTIONS  # what the verifier uses by default
TEMPLATE = "a photo of {}."

MODEL_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
PREPROCESS_CFG = {
    "mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711],
    "interpolation": "bicubic", "resize_mode": "shortest",
}


@dataclass(frozen=True)
class Shape:
    """One object of a scene: its name ("red circle"), centre and radius, in pixels."""

    name: str
    cx: float
    cy: float
    r: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.cx - self.r, self.cy - self.r, self.cx + self.r, self.cy + self.r)


def _masks(kind: str, xs: torch.Tensor, ys: torch.Tensor, cx: float, cy: float, r: float) -> torch.Tensor:
    dx, dy = xs - cx, ys - cy
    if kind == "circle":
        return dx * dx + dy * dy <= r * r
    if kind == "cross":
        return ((dx.abs() <= r) & (dy.abs() <= 0.3 * r)) | ((dy.abs() <= r) & (dx.abs() <= 0.3 * r))
    return (dy >= -r) & (dy <= r) & (dx.abs() <= (dy + r) / 2)  # triangle, apex up


def render(width: int, height: int, shapes: list[Shape], background: float = 128.0,
           noise: float = 6.0, seed: int = 0) -> torch.Tensor:
    """A uint8 (3, H, W) scene: noisy grey background, solid shapes drawn in order."""
    g = torch.Generator().manual_seed(seed)
    img = torch.full((3, height, width), background) + noise * torch.randn(3, height, width, generator=g)
    ys = torch.arange(height, dtype=torch.float32).view(-1, 1) + 0.5
    xs = torch.arange(width, dtype=torch.float32).view(1, -1) + 0.5
    for s in shapes:
        colour, kind = s.name.split()
        mask = _masks(kind, xs, ys, s.cx, s.cy, s.r)
        for ch, v in enumerate(COLOURS[colour]):
            img[ch][mask] = float(v)
    return img.clamp(0, 255).to(torch.uint8)


def save_scene(path: Path, width: int, height: int, shapes: list[Shape], seed: int = 0) -> Path:
    """Render and write a scene (PNG or JPEG by suffix)."""
    from PIL import Image

    array = render(width, height, shapes, seed=seed).permute(1, 2, 0).numpy()
    Image.fromarray(array).save(path, quality=95) if path.suffix.lower() in (".jpg", ".jpeg") else Image.fromarray(array).save(path)
    return path


def _training_batch(n: int, g: torch.Generator, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Crops like the verifier makes them, drawn all at once: an object filling most of the view,
    sometimes off-centre, sometimes with a neighbour at the edge or blurred surroundings; or empty
    background (label ``len(CLASSES)``), sometimes with a sliver of an object at the border."""
    def u(a: float, b: float, shape: tuple[int, ...] = (n,)) -> torch.Tensor:
        return a + (b - a) * torch.rand(shape, generator=g)

    k = len(CLASSES)
    labels = torch.randint(k, (n,), generator=g)
    is_bg = torch.rand(n, generator=g) < 0.18
    labels[is_bg] = k
    bg = u(70, 190).view(n, 1, 1, 1)
    x = bg + u(2, 10).view(n, 1, 1, 1) * torch.randn(n, 3, size, size, generator=g)
    ys = (torch.arange(size, dtype=torch.float32) + 0.5).view(1, -1, 1)
    xs = (torch.arange(size, dtype=torch.float32) + 0.5).view(1, 1, -1)
    colours = torch.tensor([COLOURS[c.split()[0]] for c in CLASSES], dtype=torch.float32)
    kinds = [SHAPES.index(c.split()[1]) for c in CLASSES]

    def draw(cls: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor, r: torch.Tensor, present: torch.Tensor) -> None:
        cx, cy, r = cx.view(-1, 1, 1), cy.view(-1, 1, 1), r.view(-1, 1, 1)
        dx, dy = xs - cx, ys - cy
        circle = dx * dx + dy * dy <= r * r
        cross = ((dx.abs() <= r) & (dy.abs() <= 0.3 * r)) | ((dy.abs() <= r) & (dx.abs() <= 0.3 * r))
        triangle = (dy >= -r) & (dy <= r) & (dx.abs() <= (dy + r) / 2)
        kind = torch.tensor([kinds[int(c)] for c in cls]).view(-1, 1, 1)
        mask = torch.where(kind == 0, circle, torch.where(kind == 1, cross, triangle)) & present.view(-1, 1, 1)
        colour = colours[cls].view(-1, 3, 1, 1)
        x.copy_(torch.where(mask.unsqueeze(1), colour, x))

    # a neighbour at the left or right edge (objects) or a sliver at the left edge (background)
    other = torch.randint(k, (n,), generator=g)
    left = torch.rand(n, generator=g) < 0.5
    ncx = torch.where(is_bg, u(-0.25, 0.0), torch.where(left, u(-0.1, 0.05), u(0.95, 1.1))) * size
    nr = torch.where(is_bg, u(0.15, 0.3), u(0.1, 0.25)) * size
    draw(other, ncx, u(0, 1) * size, nr, torch.rand(n, generator=g) < 0.3)
    off = 0.15 * size
    cx, cy, r = size / 2 + u(-off, off), size / 2 + u(-off, off), u(0.2, 0.5) * size
    draw(labels.clamp(max=k - 1), cx, cy, r, ~is_bg)
    x = x.clamp(0, 255)
    # blurred surroundings, as in the blur isolation mode
    soft = F.interpolate(F.avg_pool2d(x, 8), size=(size, size), mode="bilinear", align_corners=False)
    cxv, cyv, rv = cx.view(-1, 1, 1), cy.view(-1, 1, 1), r.view(-1, 1, 1)
    inside = ((xs - cxv).abs() <= rv) & ((ys - cyv).abs() <= rv)
    blur = (~is_bg & (torch.rand(n, generator=g) < 0.3)).view(-1, 1, 1) & ~inside
    x = torch.where(blur.unsqueeze(1), soft, x)
    mean = torch.tensor(PREPROCESS_CFG["mean"]).view(1, 3, 1, 1) * 255
    std = torch.tensor(PREPROCESS_CFG["std"]).view(1, 3, 1, 1) * 255
    return (x - mean) / std, labels


def train(out_dir: str | Path, steps: int = 300, batch: int = 96, seed: int = 0, log: bool = False) -> Path:
    """Train the tiny CLIP and save it as an open_clip ``local-dir:`` folder. Deterministic for a seed."""
    import open_clip
    from safetensors.torch import save_file

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # deterministic, and polite on a shared machine
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = open_clip.CLIP(**MODEL_CFG)
    # The 49408-row token table stays at its random init: training it would cost more than the rest.
    model.token_embedding.requires_grad_(False)
    tokenizer = open_clip.SimpleTokenizer(context_length=MODEL_CFG["text_cfg"]["context_length"])
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.1)
    start = time.perf_counter()
    for step in range(steps):
        images, labels = _training_batch(batch, g)
        bg_caption = BACKGROUND_CAPTIONS[step % len(BACKGROUND_CAPTIONS)]
        texts = [TEMPLATE.format(c) for c in [*CLASSES, bg_caption]]
        img = model.encode_image(images, normalize=True)
        txt = model.encode_text(tokenizer(texts), normalize=True)
        logits = model.logit_scale.exp() * img @ txt.T
        loss = F.cross_entropy(logits, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if log and step % 50 == 0:
            acc = float((logits.argmax(1) == labels).float().mean())
            loss = loss.detach()
            print(f"step {step} loss {float(loss):.3f} acc {acc:.2f} {time.perf_counter() - start:.1f}s", file=sys.stderr)
    torch.set_num_threads(threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "open_clip_config.json").write_text(json.dumps({"model_cfg": MODEL_CFG, "preprocess_cfg": PREPROCESS_CFG}, indent=2))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "open_clip_model.safetensors"))
    return out


def random_model_dir(out_dir: str | Path, image_size: int = 32, seed: int = 0) -> Path:
    """An untrained model folder (same layout), for shape/dtype/device checks."""
    import open_clip
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    cfg = json.loads(json.dumps(MODEL_CFG))
    cfg["vision_cfg"]["image_size"] = image_size
    model = open_clip.CLIP(**cfg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg, "preprocess_cfg": PREPROCESS_CFG}))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "open_clip_model.safetensors"))
    return out


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "tiny-clip"
    t0 = time.perf_counter()
    train(target, log=True)
    print(f"saved {target} in {time.perf_counter() - t0:.1f}s")
