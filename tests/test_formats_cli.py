"""`groundscore parse` and `groundscore draw`, run in-process on real cookbook outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shared_data import COOKBOOK

from groundscore.cli import main

needs_cookbook = pytest.mark.skipif(not COOKBOOK.is_dir(), reason="cookbook images not found")


def test_parse_shows_format_boxes_in_original_pixels_and_issues(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["parse", "<ref>cat</ref><box>[[100, 200, 500, 1000]]</box>", "--image-size", "640", "480"])
    out = capsys.readouterr().out
    assert code == 0
    assert "format:     internvl" in out
    assert "[64.0, 96.0, 320.0, 480.0]" in out and "model [100.0, 200.0, 500.0, 1000.0]" in out
    assert "format.detected" in out and "read as internvl" in out


def test_parse_json_and_explicit_format(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["parse", "a dog [0.1,0.2,0.3,0.4]", "--image-size", "100", "100", "--format", "shikra", "--json"])
    parsed = json.loads(capsys.readouterr().out)
    assert code == 0 and parsed["format"] == "shikra"
    assert [parsed["boxes"][0][k] for k in ("x1", "y1", "x2", "y2")] == pytest.approx([10, 20, 30, 40])


def test_parse_reads_stdin_and_fails_without_boxes(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("I am not sure what you mean."))
    assert main(["parse", "-"]) == 1
    assert "format.undetected" in capsys.readouterr().out


def test_parse_lists_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "--list-formats"]) == 0
    out = capsys.readouterr().out
    for name in ("qwen25_json", "qwen2_vl", "internvl", "cogvlm", "florence2", "kosmos2", "shikra", "minigptv2", "ferret", "detections"):
        assert name in out


@needs_cookbook
def test_parse_reads_the_image_size_from_the_image(capsys: pytest.CaptureFixture[str]) -> None:
    main(["parse", "43,378,996,957 cakes", "--image", str(COOKBOOK / "cakes.png")])
    out = capsys.readouterr().out
    assert "qwen25_text" in out and "1024x1024" in out
    assert f"[{43 * 1024 / 1036:.1f}," in out


@needs_cookbook
def test_draw_puts_the_box_on_the_object(tmp_path: Path) -> None:
    from PIL import Image

    out = tmp_path / "fox.png"
    completion = '```json\n[{"bbox_2d": [1098, 1304, 1576, 1900], "label": "shadow of the paper fox"}]\n```'
    assert main(["draw", str(COOKBOOK / "Origamis.jpg"), completion, "-o", str(out), "--max-width", "800"]) == 0
    image = Image.open(out).convert("RGB")
    assert image.width == 800
    scale = 800 / 4080
    # left edge of the box, half way down: drawn in the first colour (#e6194b)
    x = round(1098 * 4080 / 4088 * scale)
    y = round((1304 + 1900) / 2 * 3072 / 3080 * scale)
    r, g, b = image.getpixel((x, y))
    assert r > 180 and g < 80 and b < 120, (r, g, b)


@needs_cookbook
def test_draw_records_writes_one_image_per_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    records = json.loads((COOKBOOK / "cookbook_outputs_transcribed.json").read_text())["records"]
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(json.dumps({"id": f"r{i}", "image": str(COOKBOOK / r["image"]), "completion": r["raw_output"]}) for i, r in enumerate(records)))
    assert main(["draw", "--records", str(path), "--out-dir", str(tmp_path / "out"), "--suffix", "jpg", "--max-width", "320"]) == 0
    written = sorted((tmp_path / "out").glob("*.jpg"))
    assert len(written) == len(records)
    assert all(Image.open(p).width <= 320 for p in written)
    assert "12 boxes" in capsys.readouterr().out


def test_draw_records_skips_a_record_without_an_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The bundled demo file mixes records with and without images; the drawable ones are drawn."""
    from importlib import resources

    demo = Path(str(resources.files("groundscore") / "data" / "demo" / "samples.jsonl"))
    records = [json.loads(line) for line in demo.read_text().splitlines() if line.strip()]
    with_image = [r["id"] for r in records if r.get("image")]
    assert 0 < len(with_image) < len(records)
    assert main(["draw", "--records", str(demo), "--out-dir", str(tmp_path), "--max-width", "64"]) == 0
    assert sorted(p.stem for p in tmp_path.glob("*.png")) == sorted(with_image)
    err = capsys.readouterr().err
    assert "skipped constructed-garbage: no image" in err
