"""End-to-end semantics of the ``clip`` verifier with a really trained (tiny) CLIP.

The model is trained on synthetic scenes of coloured shapes
(tests/clip_fixtures/tiny_clip.py) and loaded through open_clip's own
``local-dir:`` path, the same code path as downloaded weights. These tests
check what the verifier is for: the named object beats a wrong object, a box
in the wrong coordinate space scores low, crop and blur modes agree on easy
cases, and a GRPO group decodes its image once.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "clip_fixtures"))
from loader import tiny_clip, trained_model_dir

from groundscore.chain import Chain

pytestmark = pytest.mark.slow

T = tiny_clip()
W, H = 1280, 960
SHAPES = [
    T.Shape("red circle", 250, 250, 120),
    T.Shape("blue cross", 1000, 700, 120),
    T.Shape("yellow triangle", 1050, 220, 110),
    T.Shape("green circle", 300, 730, 110),
]
THINK = ("The image shows a red circle at the top left, a blue cross at the bottom right, "
         "a yellow triangle at the top right and a green circle at the bottom left.")


@pytest.fixture(scope="session")
def model_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # pytest's cache keeps the trained model across runs; without the cache
    # plugin (-p no:cacheprovider) it is trained into a temporary folder.
    cache = getattr(request.config, "cache", None)
    root = Path(cache.mkdir("groundscore-clip")) if cache is not None else tmp_path_factory.mktemp("groundscore-clip")
    return trained_model_dir(root)


@pytest.fixture(scope="session")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return T.save_scene(tmp_path_factory.mktemp("clip") / "scene.jpg", W, H, SHAPES)


def make_chain(model_dir: Path, **options: object) -> Chain:
    chain = Chain({"verifiers": ["clip"], "options": {"clip": {"model": f"local-dir:{model_dir}", **options}}})
    assert chain._unavailable["clip"] is None
    return chain


def completion(box: list[float], label: str, think: str = THINK) -> str:
    return f'<think>{think}</think><answer>[{{"bbox_2d": {[round(v) for v in box]}, "label": "{label}"}}]</answer>'


def sample(scene: Path, query: str, box: list[float], label: str, coords: str = "original") -> dict:
    return {"query": query, "completion": completion(box, label), "image": str(scene),
            "image_size": [W, H], "coords": coords}


def box_of(name: str) -> list[float]:
    return list(next(s for s in SHAPES if s.name == name).box)


def scores(chain: Chain, samples: list[dict]) -> list[float | None]:
    return [r.verdict("clip").score for r in chain.verify(samples)]  # type: ignore[union-attr]


def test_the_named_object_scores_above_a_wrong_object(model_dir: Path, scene: Path) -> None:
    chain = make_chain(model_dir)
    samples = []
    for query in ("red circle", "blue cross", "yellow triangle", "green circle"):
        samples.append(sample(scene, query, box_of(query), query))
        # the drift: the answer's label and box moved to another object named in the thinking
        other = next(s.name for s in SHAPES if s.name.split()[0] != query.split()[0] and s.name != query)
        samples.append(sample(scene, query, box_of(other), other))
    reports = chain.verify(samples)
    for right, wrong in zip(reports[0::2], reports[1::2], strict=True):
        r, w = right.verdict("clip"), wrong.verdict("clip")
        assert r is not None and w is not None and r.score is not None and w.score is not None
        assert r.score > 0.5 > w.score, (r.reason, w.reason)
        assert r.score - w.score > 0.5
        assert r.code == "ok" and w.code == "clip.mismatch"
        # the raw numbers are there, and the wrong box lost to the object it really shows
        d = w.details["boxes"][0]
        assert d["texts"][0] == f"a photo of {right.parsed.boxes[0].label}."
        assert f"a photo of {wrong.parsed.boxes[0].label}." in d["texts"]
        assert d["modes"]["crop"]["p_box"] < 0.5 and len(d["modes"]["crop"]["cos_texts"]) == len(d["texts"])
        assert "strongest alternative: 'a photo of " + wrong.parsed.boxes[0].label in w.reason


def test_a_box_in_the_wrong_coordinate_space_scores_low(model_dir: Path, scene: Path) -> None:
    chain = make_chain(model_dir)
    x1, y1, x2, y2 = box_of("blue cross")
    norm = [x1 / W * 1000, y1 / H * 1000, x2 / W * 1000, y2 / H * 1000]
    right = sample(scene, "blue cross", norm, "blue cross", coords="norm1000")
    wrong = sample(scene, "blue cross", norm, "blue cross", coords="original")  # 0-1000 numbers read as pixels
    r, w = chain.verify([right, wrong])
    assert r.parsed.boxes[0].iou(box_of("blue cross")) > 0.95
    assert r.parsed.boxes[0].iou(w.parsed.boxes[0]) == 0.0
    rs, ws = r.verdict("clip").score, w.verdict("clip").score  # type: ignore[union-attr]
    assert rs is not None and ws is not None
    assert rs > 0.5 and ws < 0.2, (rs, ws)


def test_crop_and_blur_modes_agree_on_easy_cases(model_dir: Path, scene: Path) -> None:
    samples = [
        sample(scene, "red circle", box_of("red circle"), "red circle"),
        sample(scene, "red circle", box_of("blue cross"), "blue cross"),
        sample(scene, "yellow triangle", box_of("yellow triangle"), "yellow triangle"),
        sample(scene, "yellow triangle", box_of("green circle"), "green circle"),
        sample(scene, "green circle", [600, 380, 760, 540], "green circle"),  # empty background
    ]
    crop = scores(make_chain(model_dir, modes=["crop"]), samples)
    blur = scores(make_chain(model_dir, modes=["blur"]), samples)
    both = make_chain(model_dir, modes=["crop", "blur"]).verify(samples)
    for c, b, report in zip(crop, blur, both, strict=True):
        assert c is not None and b is not None
        assert (c > 0.5) == (b > 0.5), (crop, blur)
        modes = report.verdict("clip").details["boxes"][0]["modes"]  # type: ignore[union-attr]
        assert set(modes) == {"crop", "blur"}
    assert [c > 0.5 for c in crop] == [True, False, True, False, False]


def test_scores_are_deterministic_and_a_group_decodes_its_image_once(model_dir: Path, scene: Path) -> None:
    chain = make_chain(model_dir)
    group = [sample(scene, "red circle", [b + d for b in box_of("red circle")], "red circle") for d in range(8)]
    first = scores(chain, group)
    engine = chain.verifiers[0]._engine  # type: ignore[attr-defined]
    assert engine.images.misses == 1 and len(engine.images) == 1
    second = scores(chain, group)
    assert first == second
    assert engine.images.misses == 1 and engine.images.hits >= 1
    assert all(s is not None and s > 0.5 for s in first)


def test_bytes_and_pil_images_score_like_a_path(model_dir: Path, scene: Path) -> None:
    from PIL import Image

    chain = make_chain(model_dir)
    base = sample(scene, "red circle", box_of("red circle"), "red circle")
    with Image.open(scene) as im:
        pil = im.convert("RGB")
    variants = [base, {**base, "image": scene.read_bytes()}, {**base, "image": pil}]
    got = scores(chain, variants)
    assert got[0] is not None
    assert got[1] == pytest.approx(got[0], abs=1e-6)
    assert got[2] == pytest.approx(got[0], abs=1e-3)  # PIL's and torchvision's JPEG decoders differ slightly
