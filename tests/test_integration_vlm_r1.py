"""groundscore.integrations.vlm_r1 called exactly as VLM-R1's trainer calls its reward functions.

VLM-R1 is not a package on PyPI (it is a training repository), so its
``iou_reward`` algorithm is restated from its source in ``vlm_r1_upstream.py``
(next to this file). On the REC logs our reward must equal it wherever its
regex finds the box, and equal the IoU of the box actually written where it
does not.
"""

from __future__ import annotations

import json
import re
import types
from pathlib import Path

import pytest
from shared_data import REC_LOGS as LOGS
from vlm_r1_upstream import ANSWER, upstream_iou_reward

from groundscore.integrations import vlm_r1
from groundscore.model import box_iou

FIXTURE = Path(__file__).parent / "fixtures" / "rec_reward_triples.json"

_ANY_BOX = re.compile(r"\[\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*\]")


def written_box_iou(content: str, sol: list[float]) -> float | None:
    """Independent reading: the first four-number list in the answer (or anywhere without <answer>)."""
    start = content.rfind("<answer>")
    m = (_ANY_BOX.search(content[start:]) if start >= 0 else None) or _ANY_BOX.search(content)
    return box_iou([float(v) for v in m.groups()], sol) if m else None


def _records() -> list[tuple[str, str, list[float]]]:
    """(variant, completion, ground truth) from the full logs when present, else the fixture."""
    if LOGS.is_dir():
        out = []
        for path in sorted(LOGS.glob("*_refcoco*_val.json")):
            for r in json.loads(path.read_text())["results"][::4]:
                out.append((path.name.split("_")[0], r["model_output"], r["ground_truth"]))
        return out
    doc = json.loads(FIXTURE.read_text())
    return [(k, text, r["ground_truth"]) for r in doc["records"] for k, text in r["outputs"].items()]


def _conversational(texts: list[str]) -> list[list[dict[str, str]]]:
    return [[{"role": "assistant", "content": t}] for t in texts]


@pytest.mark.slow
def test_iou_reward_matches_vlm_r1_where_its_regex_parses_and_is_right_where_it_does_not() -> None:
    records = _records()
    completions = _conversational([c for _, c, _ in records])
    solutions = [gt for _, _, gt in records]
    ours = vlm_r1.iou_reward(completions, solutions)
    assert len(ours) == len(records)
    parsed = equal = rescued = rescued_right = 0
    for (_variant, text, gt), value in zip(records, ours, strict=True):
        reference = upstream_iou_reward(text, gt)
        if reference is not None:
            parsed += 1
            equal += abs(reference - value) < 1e-9
            continue
        written = written_box_iou(text, gt)
        if written is not None:
            rescued += 1
            rescued_right += abs(written - value) < 1e-9
        else:
            assert value == 0.0, text
    assert parsed > 100 and rescued > 100, (parsed, rescued)
    assert equal == parsed, f"{parsed - equal} of {parsed} differ from VLM-R1 where its regex parses"
    # Where VLM-R1's regex fails (JSON outside <answer>, no tags), the box written is scored.
    assert rescued_right == rescued, f"{rescued - rescued_right} of {rescued} read differently"


def test_iou_reward_on_the_fixture_excerpt() -> None:
    doc = json.loads(FIXTURE.read_text())
    texts = [r["outputs"]["original"] for r in doc["records"]]
    gts = [r["ground_truth"] for r in doc["records"]]
    ours = vlm_r1.iou_reward(_conversational(texts), gts)
    for text, gt, value in zip(texts, gts, ours, strict=True):
        reference = upstream_iou_reward(text, gt)
        expected = reference if reference is not None else (written_box_iou(text, gt) or 0.0)
        assert value == pytest.approx(expected, abs=1e-9)
    # The upstream regex misses the box in most of these (it sits outside <answer>).
    assert sum(upstream_iou_reward(t, g) is None for t, g in zip(texts, gts, strict=True)) > len(texts) // 3


def test_resize_from_image_grid_thw_like_vlm_r1(tmp_path: Path) -> None:
    from PIL import Image

    image_path = tmp_path / "img.png"
    Image.new("RGB", (640, 427)).save(image_path)
    grid = [1, 30, 46]  # the processor's grid: 420 x 644 input pixels
    completion = '<think>the dog</think><answer>```json\n[{"bbox_2d": [100, 60, 400, 300], "label": "dog"}]\n```</answer>'
    solution = "<answer>[98.0, 62.5, 401.2, 301.0]</answer>"  # VLM-R1's newer solution text
    ours = vlm_r1.iou_reward(
        _conversational([completion]), [solution],
        image_path=[[str(image_path)]], image_grid_thw=[grid], problem=["the dog"],
    )
    expected = upstream_iou_reward(completion, [98.0, 62.5, 401.2, 301.0], grid, (640, 427))
    assert expected is not None and 0.5 < expected < 1.0
    assert ours[0] == pytest.approx(expected, abs=1e-9)
    # Without the resize the number is different: the mapping is really applied.
    unresized = vlm_r1.iou_reward(_conversational([completion]), [solution])
    assert abs(unresized[0] - expected) > 0.01


def test_image_grid_thw_as_a_tensor_row(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from PIL import Image

    image_path = tmp_path / "img.jpg"
    Image.new("RGB", (500, 375)).save(image_path)
    grid = torch.tensor([[1, 26, 36], [1, 26, 36]])
    completion = '<answer>[{"bbox_2d": [50, 40, 250, 300], "label": "cat"}]</answer>'
    ours = vlm_r1.iou_reward(_conversational([completion, completion]), [[50, 40, 250, 300]] * 2,
                             image_path=[[str(image_path)]] * 2, image_grid_thw=grid)
    expected = upstream_iou_reward(completion, [50, 40, 250, 300], [1, 26, 36], (500, 375))
    assert ours == pytest.approx([expected, expected], abs=1e-9)


def test_format_reward_credits_everything_vlm_r1_credits() -> None:
    """Same as VLM-R1's format regex, plus three documented extras it refuses: an
    explicit "not found" answer, a bare ``[x1, y1, x2, y2]`` list (no JSON
    object), and text between ``</think>`` and ``<answer>``. 3 of 189 here."""
    upstream = re.compile(r"<think>.*?</think>\s*<answer>.*?\{.*\[\d+,\s*\d+,\s*\d+,\s*\d+\].*\}.*?</answer>", re.DOTALL)
    doc = json.loads(FIXTURE.read_text())
    texts = [t for r in doc["records"] for t in r["outputs"].values()]
    ours = vlm_r1.format_reward(_conversational(texts))
    assert set(ours) == {0.0, 1.0}
    extras = 0
    for text, value in zip(texts, ours, strict=True):
        if upstream.search(text):
            assert value == 1.0, text[-200:]
        elif value == 1.0:
            extras += 1
            assert "<think>" in text and ANSWER.search(text), text[-200:]
    assert extras <= 5


def test_grounding_reward_orders_hallucination_below_not_found_below_correct() -> None:
    gt = [[100, 100, 200, 200]]
    texts = [
        '<think>a dog</think><answer>[{"bbox_2d": [102, 98, 201, 203], "label": "dog"}]</answer>',
        "<think>no dog here</think><answer>There is no such object in the image.</answer>",
        '<think>a dog</think><answer>[{"bbox_2d": [400, 300, 500, 420], "label": "dog"}]</answer>',
        "",
    ]
    rewards = vlm_r1.grounding_reward(_conversational(texts), gt * 4, problem=["dog"] * 4,
                                      chain_config={"verifiers": ["schema"]})
    correct, not_found, wrong, empty = rewards
    assert wrong < not_found < correct
    assert empty < not_found
    assert all(isinstance(r, float) for r in rewards)


def test_garbage_never_raises_and_gives_zero() -> None:
    garbage = [None, 5, [{"content": None}], [{}], "", [[{"content": "x"}]], {"content": "<answer>[1,2,3]"}]
    out = vlm_r1.iou_reward(garbage, [[1, 2, 3, 4], None, "junk", [], "[]", [float("nan")] * 4, {"x": 1}])
    assert out == [0.0] * len(garbage)


def test_make_grounding_reward_is_a_named_function_for_vlm_r1_logs() -> None:
    fn = vlm_r1.make_grounding_reward(reward_config={"abstain": 0.1}, chain_config={"verifiers": ["schema"]})
    assert fn.__name__ == "groundscore"
    texts = ["<think>x</think><answer>There is no such object in the image.</answer>"]
    assert fn(_conversational(texts), [[1, 2, 30, 40]], problem=["dog"]) == [0.1]


# -- its scripts as shipped: the module hook; and the vlm_r1 compatibility mode -------------------

def _upstream() -> types.ModuleType:
    import vlm_r1_upstream

    return vlm_r1_upstream


def test_patch_vlm_module_routes_the_hook_its_scripts_use() -> None:
    up = _upstream()

    class Module(up.Qwen2VLModule):
        pass

    vlm_r1.patch_vlm_module(Module, {"groundscore": vlm_r1.make_grounding_reward(chain_config={"verifiers": ["schema"]})})
    vlm_r1.patch_vlm_module(Module)  # idempotent: the module's own hook stays the fallback
    assert Module.select_reward_func("accuracy", "rec") is vlm_r1.iou_reward
    assert Module.select_reward_func("format", "rec") is vlm_r1.format_reward
    assert Module.select_reward_func("accuracy", "rec") is not up.Qwen2VLModule.iou_reward
    with pytest.raises(ValueError):
        Module.select_reward_func("accuracy", "vqa")  # other tasks: the module's own answer
    compat = vlm_r1.patch_vlm_module(type("M2", (up.Qwen2VLModule,), {}), mode="vlm_r1")
    assert compat.select_reward_func("accuracy", "rec") is vlm_r1.iou_reward_vlm_r1
    # The trainer's own call shape reaches our function and gives upstream's number on a plain answer.
    inputs = [{"prompt": [{"role": "user", "content": "x"}], "problem": "dog", "solution": [100, 100, 200, 200],
               "image_path": [None], "accu_reward_method": "default"}]
    completion = [[{"role": "assistant", "content": "<think>t</think><answer>[100, 100, 200, 200]</answer>"}]]
    ours = up.trainer_reward_call(Module.select_reward_func("accuracy", "rec"), inputs, ["x"], completion)
    theirs = up.trainer_reward_call(up.Qwen2VLModule.select_reward_func("accuracy", "rec"), inputs, ["x"], completion)
    assert ours == pytest.approx(theirs) == [1.0]


def test_vlm_r1_mode_reads_the_first_answer_as_upstream_does() -> None:
    up = _upstream()
    sol = [100, 100, 200, 200]
    cases = [
        # two answer blocks: upstream reads the first (wrong), groundscore the last (right)
        "<think>t</think><answer>[400, 300, 500, 400]</answer> sorry: <answer>[100, 100, 200, 200]</answer>",
        # an answer inside the thinking
        "<think>maybe <answer>[0, 0, 10, 10]</answer>?</think><answer>[100, 100, 200, 200]</answer>",
        "<think>t</think><answer>[100, 100, 200, 200]</answer>",
        "<think>t</think><answer>[100.5, 100, 200, 200]</answer>",  # floats: upstream reads nothing
        "no tags [100, 100, 200, 200]",
    ]
    completions = [[{"role": "assistant", "content": c}] for c in cases]
    upstream = up.upstream_iou_rewards(completions, [sol] * len(cases))
    compat = vlm_r1.iou_reward_vlm_r1(completions, [sol] * len(cases))
    assert compat == pytest.approx(upstream)
    ours = vlm_r1.iou_reward(completions, [sol] * len(cases))
    assert ours[0] != pytest.approx(upstream[0]) and ours[1] != pytest.approx(upstream[1])  # where the claim fails
    assert ours[2] == pytest.approx(upstream[2]) == 1.0
    assert vlm_r1.iou_reward_vlm_r1.__name__ == "iou_reward"


def test_the_documented_recipe_runs_against_the_hook() -> None:
    import sys

    from doc_snippets import code_blocks

    up = _upstream()
    block = next(b for b in code_blocks("vlm-r1.md", "python") if "patch_vlm_module" in b)

    class Qwen2VLModule(up.Qwen2VLModule):
        pass

    fake = types.ModuleType("open_r1.vlm_modules.qwen_module")
    fake.Qwen2VLModule = Qwen2VLModule  # type: ignore[attr-defined]
    saved = {k: sys.modules.get(k) for k in ("open_r1", "open_r1.vlm_modules", "open_r1.vlm_modules.qwen_module")}
    sys.modules.update({"open_r1": types.ModuleType("open_r1"), "open_r1.vlm_modules": types.ModuleType("open_r1.vlm_modules"),
                        "open_r1.vlm_modules.qwen_module": fake})
    try:
        exec(block, {})
    finally:
        for key, value in saved.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value
    assert Qwen2VLModule.select_reward_func("accuracy", "rec") is vlm_r1.iou_reward
    fn = Qwen2VLModule.select_reward_func("groundscore", "rec")
    assert fn.__name__ == "groundscore"
    inputs = [{"prompt": [], "problem": "dog", "solution": [100, 100, 200, 200], "image_path": [None]}]
    good = [[{"role": "assistant", "content": '<think>t</think><answer>[{"bbox_2d": [100, 100, 200, 200], "label": "dog"}]</answer>'}]]
    out = up.trainer_reward_call(fn, inputs, [""], good)
    assert len(out) == 1 and out[0] == pytest.approx(1.0)
