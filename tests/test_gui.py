"""GUI grounding: action formats keep their action, the click rule, point answers in eval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groundscore.model import Box, Parsed, Point, Report, Sample
from groundscore.parse import parse_completion
from groundscore.parse.base import MAX_BOXES
from groundscore.plugins.manager import get_registry
from groundscore.rewards import RewardConfig, RewardContext, Rewarder, apply_contract, get_policy
from groundscore.rewards.click import ClickPolicy, click_point, distance_to_box, near_miss_share, point_in_box
from groundscore.scoring.labelled import correctness

PARSERS = get_registry().parsers
GUI_CASES = json.loads((Path(__file__).parent / "fixtures" / "formats" / "gui.json").read_text(encoding="utf-8"))["cases"]
GUI_PARSERS = ("qwen25_computer_use", "uitars", "os_atlas", "showui", "seeclick", "aguvis", "cogagent", "gui_action_list")


def _parse(case: dict) -> Parsed:
    sample = Sample(completion=case["completion"], image_size=case["image_size"], coords=case.get("coords"))
    return parse_completion(sample, PARSERS, tuple(case["image_size"]))


def test_every_gui_parser_is_registered_and_has_a_fixture() -> None:
    assert set(GUI_PARSERS) <= set(PARSERS)
    assert set(GUI_PARSERS) <= {c["expect_format"] for c in GUI_CASES}


@pytest.mark.parametrize("case", [c for c in GUI_CASES if "actions" in c], ids=lambda c: c["id"])
def test_gui_fixtures_keep_the_action(case: dict) -> None:
    parsed = _parse(case)
    assert parsed.format == case["expect_format"]
    got = [p.action for p in parsed.points] + [b.action for b in parsed.boxes]
    assert got == case["actions"]


def test_uitars_generation_is_chosen_by_the_coords_hint() -> None:
    text = "Action: click(start_box='(500,500)')"
    v1 = parse_completion(Sample(completion=text), PARSERS, (1000, 800))
    v15 = parse_completion(Sample(completion=text, coords="original"), PARSERS, (1000, 800))
    assert (v1.points[0].x, v1.points[0].y) == pytest.approx((500, 400))
    assert (v15.points[0].x, v15.points[0].y) == pytest.approx((500, 500))


def test_prose_pairs_are_not_points() -> None:
    for text in ("The ratio (0.5, 0.3) is small, see [0.2, 0.4] in the paper.", "click somewhere"):
        parsed = parse_completion(Sample(completion=text), PARSERS, (100, 100))
        assert parsed.format not in ("showui", "seeclick")


UNITS = {
    "qwen25_computer_use": '<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [1, 2]}}</tool_call>\n',
    "uitars": "Action: click(start_box='(1,2)')\n",
    "os_atlas": "CLICK <point>[[1, 2]]</point>\n",
    "showui": "{'action': 'CLICK', 'value': None, 'position': [0.1, 0.2]}\n",
    "aguvis": "pyautogui.click(x=0.1, y=0.2)\n",
    "cogagent": "CLICK(box=[[1,2,3,4]])\n",
    "gui_action_list": "{'action': 'click', 'point': [1, 2]},",
}


@pytest.mark.parametrize("name", sorted(UNITS))
def test_gui_parsers_cap_places(name: str) -> None:
    raw = PARSERS[name].parse(UNITS[name] * (MAX_BOXES + 20))
    assert len(raw.boxes) + len(raw.points) == MAX_BOXES
    assert any(i.code in ("box.too_many", "point.too_many") for i in raw.issues)


def test_broken_tool_call_json_is_read_by_pattern_with_an_issue() -> None:
    text = '<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [10, 20]}</tool_call>'
    parsed = parse_completion(Sample(completion=text, coords="original"), PARSERS, (100, 100))
    assert parsed.format == "qwen25_computer_use"
    assert [(p.x, p.y, p.action) for p in parsed.points] == [(10, 20, "click")]
    assert "json.repaired" in parsed.issue_codes()


# -- the click rule ---------------------------------------------------------------------

def _report(points: list[tuple[float, float]] = (), boxes: list[tuple[float, ...]] = (), **kw: object) -> Report:
    parsed = Parsed(points=[Point(x=x, y=y, action="click") for x, y in points],
                    boxes=[Box(x1=b[0], y1=b[1], x2=b[2], y2=b[3]) for b in boxes], **kw)
    return Report(parsed=parsed)


TARGET = [[100.0, 100.0, 200.0, 140.0]]


def click_policy(report: Report, solution: list[list[float]] | None, config: RewardConfig):
    """The policy as the Rewarder runs it: base reward, then the host's contract (format term, caps)."""
    context = RewardContext(config=config, grounded=solution is not None)
    return apply_contract(ClickPolicy().score(report, solution, context), report, context)


def test_point_in_box_and_distance() -> None:
    assert point_in_box(100, 140, TARGET[0]) and not point_in_box(99.9, 120, TARGET[0])
    assert distance_to_box(150, 120, TARGET[0]) == 0
    assert distance_to_box(203, 144, TARGET[0]) == pytest.approx(5.0)


def test_click_policy_is_registered_and_orders_hit_near_far_abstain() -> None:
    assert get_policy("click") is ClickPolicy
    config = RewardConfig()
    hit = click_policy(_report([(150, 120)]), TARGET, config)
    near = click_policy(_report([(205, 120)]), TARGET, config)
    far = click_policy(_report([(900, 700)]), TARGET, config)
    abstain = click_policy(Report(parsed=Parsed(no_object=True, answer="not found")), TARGET, config)
    assert hit.outcome == "correct" and hit.reward == config.correct
    assert near.outcome == far.outcome == "wrong"
    assert config.wrong < far.reward < near.reward < abstain.reward == config.abstain
    # even touching the box edge from outside stays below honesty
    assert near_miss_share(200.001, 120, TARGET) < 1.0
    edge = click_policy(_report([(200.001, 120)]), TARGET, config)
    assert edge.reward < config.abstain


def test_click_policy_uses_the_box_centre_and_handles_negatives() -> None:
    config = RewardConfig()
    assert click_policy(_report(boxes=[(120, 110, 180, 130)]), TARGET, config).outcome == "correct"
    assert click_policy(_report([(150, 120)]), [], config).reward == config.wrong
    assert click_policy(Report(parsed=Parsed(no_object=True)), [], config).reward == config.correct
    assert click_policy(_report(), TARGET, config).outcome == "malformed"
    unsized = click_policy(_report([(150, 120)], in_original=False), TARGET, config)
    assert unsized.outcome == "unscorable"


def test_drag_end_is_not_the_click() -> None:
    parsed = Parsed(points=[Point(x=5, y=5, action="drag_end"), Point(x=150, y=120, action="drag")])
    assert click_point(parsed) == (150, 120)


def test_eval_scores_point_answers_by_point_in_box() -> None:
    sample = Sample(completion="x", solution=TARGET)
    hit, how = correctness(sample, Parsed(points=[Point(x=150, y=120)]))
    miss, _ = correctness(sample, Parsed(points=[Point(x=50, y=120)]))
    assert hit is True and miss is False and how == "point in box"
    unknown, _ = correctness(sample, Parsed(points=[Point(x=150, y=120)], in_original=False))
    assert unknown is None


def test_click_reward_end_to_end_from_a_completion() -> None:
    from groundscore import Chain

    text = "<tool_call>{\"name\": \"computer_use\", \"arguments\": {\"action\": \"left_click\", \"coordinate\": [150, 120]}}</tool_call>"
    sample = Sample(query="the button", completion=text, image_size=(1288, 728), solution=TARGET)
    report = Chain().verify([sample])[0]
    assert report.parsed.points[0].action == "click"
    scored = Rewarder({"policy": "click"}).score([sample])[0]
    assert scored.outcome == "correct" and scored.reward == RewardConfig().correct + RewardConfig().format_weight * scored.format


def test_os_atlas_internvl_box_inside_box_tokens_is_read() -> None:
    """OS-Atlas-Base-7B at times writes [[x1, y1, x2, y2]] inside Qwen2-VL's box tokens (OS-Copilot/OS-Atlas issue #25)."""
    text = "<|object_ref_start|>input volume's slider<|object_ref_end|><|box_start|>[[738, 766, 904, 792]]<|box_end|><|im_end|>"
    parsed = parse_completion(Sample(completion=text), PARSERS, (1920, 1080))
    assert parsed.format == "qwen2_vl"
    assert [b.xyxy for b in parsed.boxes] == [pytest.approx((738 * 1.92, 766 * 1.08, 904 * 1.92, 792 * 1.08))]
    assert parsed.boxes[0].label == "input volume's slider"
    # The usual pair form still wins when present, and is not read twice.
    both = parse_completion(Sample(completion="<|box_start|>(1,2),(3,4)<|box_end|>"), PARSERS, (1000, 1000))
    assert [b.xyxy for b in both.boxes] == [pytest.approx((1, 2, 3, 4))]


def test_unclosed_tool_call_is_read_as_json() -> None:
    """ScreenSpot-Pro's Qwen2.5-VL runner keeps a response up to its last '}', so '</tool_call>' is gone: still valid JSON."""
    text = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [1240, 783]}}<|im_end|>'
    parsed = parse_completion(Sample(completion=text, coords="original"), PARSERS, (1920, 1080))
    assert parsed.format == "qwen25_computer_use"
    assert [(p.x, p.y, p.action) for p in parsed.points] == [(1240, 783, "click")]
    assert "json.repaired" not in parsed.issue_codes()


@pytest.mark.parametrize("text", [
    "thoughts:\nOpen Safeway app.",  # OS-Atlas-Pro-7B, OS-Copilot/OS-Atlas issue #44
    "thoughts:\nClick on \"What the fossil fuel industry doesn&apos;t want you to know\" View.\n"
    "actions:\nClick on \"What the fossil fuel industry doesn&apos;t want you to know\" View.",  # same issue
    "Action: click(start_box='=')",  # ui-tars-7b-dpo, bytedance/UI-TARS issue #78
    "Action: Input 'BCD Studio' in the search bar to find the desired romantic reggae musics.\n\nassistantall\n"
    "Thought: To find the specific romantic reggae musics from BCD Studio, I should use the search function with the given "
    "keyword, 'BCD Studio', to narrow down the options.\nAction: Type 'BCD Studio' in the search bar to find the specific "
    "romantic reggae musics.\n\nassistantos\npyautogui.write(message='BCD Studio')",  # Aguvis, xlang-ai/aguvis issue #19
])
def test_real_answers_without_a_place_give_no_click(text: str) -> None:
    parsed = parse_completion(Sample(completion=text), PARSERS, (1920, 1080))
    assert not parsed.points and not parsed.boxes
    assert any(i.severity == "error" for i in parsed.issues) or "format.undetected" in parsed.issue_codes()
