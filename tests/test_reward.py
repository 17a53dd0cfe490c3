"""Reward policies: honesty order, negative samples, matching, format credit, robustness."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groundscore import hookimpl
from groundscore.model import box_iou
from groundscore.plugins.manager import get_registry
from groundscore.rewards import (
    BUILTIN_POLICIES,
    ConfidencePolicy,
    PolicyOptions,
    RewardConfig,
    RewardContext,
    Rewarder,
    RewardPolicy,
    RewardResult,
    format_score,
    get_policy,
    hungarian,
    match_boxes,
    parse_solution,
    result,
    vlm_r1_iou,
)

FIXTURE = Path(__file__).parent / "fixtures" / "rec_reward_triples.json"
SIZE = [640, 480]


def answer(box: list[float] | None, label: str = "dog", think: str = "the dog is there") -> str:
    if box is None:
        return f"<think>{think}</think><answer>There is no such object in the image.</answer>"
    return f'<think>{think}</think><answer>```json\n[{{"bbox_2d": {box}, "label": "{label}"}}]\n```</answer>'


def sample(completion: str, solution: Any = None, query: str = "dog", **extra: Any) -> dict[str, Any]:
    out = {"query": query, "completion": completion, "image_size": SIZE, "coords": "original", **extra}
    if solution is not None:
        out["solution"] = solution
    return out


@pytest.fixture(scope="module")
def schema_rewarder() -> Rewarder:
    return Rewarder(chain_config={"verifiers": ["schema"]})


@pytest.fixture(scope="module")
def full_rewarder() -> Rewarder:
    names = get_registry().verifiers
    if "label_match" not in names or "consistency" not in names:
        pytest.skip(f"label_match/consistency verifiers are not registered (have {sorted(names)})")
    return Rewarder()


def test_builtin_policies_are_registered_through_the_plugin_hook() -> None:
    registered = get_registry().reward_policies
    for name, cls in BUILTIN_POLICIES.items():
        # each policy's own module is a plugin that registers it through the hook
        plugin = get_registry().plugins[cls.__module__.rpartition(".")[2]]
        assert name in plugin.registered["reward_policies"]
        assert registered[name] is BUILTIN_POLICIES[name]
        assert get_policy(name) is BUILTIN_POLICIES[name]
        assert issubclass(registered[name].Options, PolicyOptions)
    with pytest.raises(ValueError, match="unknown reward policy 'nope'"):
        Rewarder({"policy": "nope"}, chain_config={"verifiers": ["schema"]})


def test_config_refuses_to_reward_hallucination_above_honesty() -> None:
    with pytest.raises(ValueError, match="wrong < abstain"):
        RewardConfig(wrong=0.3, abstain=0.2)
    with pytest.raises(ValueError, match="wrong < abstain"):
        RewardConfig(abstain=0.6)
    with pytest.raises(ValueError, match="extra"):
        RewardConfig.model_validate({"abstian": 0.1})


def test_grounded_order_wrong_below_not_found_below_correct(schema_rewarder: Rewarder) -> None:
    gt = [100, 100, 200, 220]
    results = schema_rewarder.score([
        sample(answer([101, 98, 203, 221]), gt),      # correct
        sample(answer(None), gt),                     # honest "not found"
        sample(answer([100, 100, 150, 160]), gt),     # near miss, IoU ~0.25
        sample(answer([400, 300, 500, 400]), gt),     # far off
        sample("I think it is somewhere", gt),        # no answer at all
        sample(answer([100, 100, 900, 900]), gt),     # outside the image: schema gate fails
    ])
    correct, not_found, near, far, junk, outside = (r.reward for r in results)
    assert [r.outcome for r in results] == ["correct", "abstain", "wrong", "wrong", "malformed", "malformed"]
    assert far == 0.0 and junk == 0.0 and outside == 0.0
    assert far < near < not_found < correct
    assert correct == pytest.approx(box_iou([101, 98, 203, 221], gt))  # defaults: the reward is the IoU
    assert results[0].iou == pytest.approx(correct)
    assert results[2].iou == pytest.approx(box_iou([100, 100, 150, 160], gt))


@pytest.mark.slow
def test_hallucinated_label_costs_more_than_saying_not_found(full_rewarder: Rewarder) -> None:
    """The R1 drift: the box may even be right, the label names another object."""
    gt = [10, 10, 50, 200]
    think = "the metal pole stands next to the man wearing blue shirt and shorts"
    results = full_rewarder.score([
        sample(answer(gt, "man wearing blue shirt and shorts", think), gt, query="metal pole"),
        sample(answer(None, think=think), gt, query="metal pole"),
        sample(answer(gt, "metal pole", think), gt, query="metal pole"),
    ])
    drifted, honest, right = results
    assert drifted.outcome == "hallucination" and drifted.iou == pytest.approx(1.0)
    assert {"label_match", "consistency"} & set(drifted.details["gates"])
    assert drifted.reward < honest.reward < right.reward
    # Without ground truth the drift is still refuted, below "not found"; the right-looking answer passed only
    # refuting checks, which is no evidence that its box is on the pole: it is paid exactly "not found".
    no_gt = full_rewarder.score([
        sample(answer(gt, "man wearing blue shirt and shorts", think), query="metal pole"),
        sample(answer(None, think=think), query="metal pole"),
        sample(answer(gt, "metal pole", think), query="metal pole"),
    ])
    assert [r.outcome for r in no_gt] == ["hallucination", "abstain", "unverified"]
    assert no_gt[0].reward < no_gt[1].reward == no_gt[2].reward == full_rewarder.config.abstain


def test_dropping_the_label_or_the_thinking_cannot_dodge_required_checks(full_rewarder: Rewarder) -> None:
    """A policy that leaves out its label (or <think>) makes label_match (or consistency) answer None;
    with require_checked such an answer earns no more than saying "not found"."""
    gt = [10, 10, 50, 200]
    think = "the metal pole stands next to the man wearing blue shirt and shorts"
    no_label = f'<think>{think}</think><answer>[{{"bbox_2d": {gt}}}]</answer>'
    no_think = f'<answer>[{{"bbox_2d": {gt}, "label": "metal pole"}}]</answer>'
    batch = [
        sample(no_label, gt, query="metal pole"),
        sample(no_think, gt, query="metal pole"),
        sample(answer(None, think=think), gt, query="metal pole"),
        sample(answer(gt, "metal pole", think), gt, query="metal pole"),
    ]
    # Default: nothing is required; the label-less box is rewarded by its IoU alone.
    assert full_rewarder.score(batch[:1])[0].outcome == "correct"
    strict = Rewarder({"require_checked": ["label_match", "consistency"]}, chain=full_rewarder.chain)
    unlabelled, unthought, honest, right = strict.score(batch)
    assert unlabelled.outcome == "unverified" and unlabelled.details["unchecked"] == ["label_match"]
    assert unthought.outcome == "unverified" and "consistency" in unthought.details["unchecked"]
    assert unlabelled.reward <= honest.reward < right.reward
    assert unthought.reward <= honest.reward
    assert right.outcome == "correct"
    # Without ground truth too.
    no_gt = strict.score([sample(no_label, query="metal pole"), sample(answer([10, 10, 50, 200], "metal pole", think), query="metal pole")])
    assert no_gt[0].outcome == "unverified" and no_gt[0].reward <= strict.config.abstain
    assert no_gt[1].outcome == "unverified" and no_gt[1].reward == strict.config.abstain  # checked, yet nothing confirms


@pytest.mark.slow
def test_gates_can_be_ignored(full_rewarder: Rewarder) -> None:
    lenient = Rewarder({"use_gates": False}, chain=full_rewarder.chain)
    gt = [10, 10, 50, 200]
    result = lenient.score([sample(answer(gt, "man wearing blue shirt"), gt, query="metal pole")])[0]
    assert result.outcome == "correct" and result.reward == pytest.approx(1.0)


def test_negative_samples_reward_saying_none(schema_rewarder: Rewarder) -> None:
    results = schema_rewarder.score([
        sample(answer(None), []),
        sample("<answer>[]</answer>", "[]"),
        sample(answer([10, 10, 60, 60]), []),
        sample("", []),
    ])
    assert [r.outcome for r in results] == ["correct", "correct", "wrong", "malformed"]
    assert results[0].reward == results[1].reward == 1.0
    assert results[2].reward == results[3].reward == 0.0


def test_confidence_policy_without_ground_truth(schema_rewarder: Rewarder) -> None:
    results = schema_rewarder.score([
        sample(answer([10, 10, 60, 60])),
        sample(answer(None)),
        sample(answer([10, 10, 900, 60])),  # outside the image: the schema gate fails
    ])
    assert [r.policy for r in results] == ["confidence"] * 3
    ok, not_found, bad = (r.reward for r in results)
    assert bad < not_found == ok  # refuted below "not found"; unrefuted but unconfirmed: exactly "not found"
    assert [r.outcome for r in results] == ["unverified", "abstain", "malformed"]
    assert "no confirming evidence" in results[0].reason
    assert not results[0].grounded


def test_confidence_mapping_is_monotone_and_keeps_honesty_order() -> None:
    from groundscore.model import Parsed, Report, Verdict

    cfg = RewardConfig()
    policy = ConfidencePolicy()
    box = Parsed(boxes=[{"x1": 1, "y1": 1, "x2": 5, "y2": 5}])
    confirmed, refuted = [], []
    for c in [0.0, 0.1, 0.24, 0.25, 0.45, 0.9, 1.0]:
        # a confirming verifier's score (pixels, agreement) moves the reward across the whole range
        report = Report(parsed=box, verdicts=[Verdict(verifier="v", score=c)], confidence=0.0)
        confirmed.append(policy.score(report, None, RewardContext(cfg, confirming=frozenset({"v"}))).reward)
        # a refuting verifier's score can only lower it: never above "not found"
        refuted.append(policy.score(Report(parsed=box, verdicts=[Verdict(verifier="v", score=c)], confidence=1.0),
                                    None, RewardContext(cfg, confirming=frozenset())).reward)
    assert confirmed == sorted(confirmed) and refuted == sorted(refuted)
    assert all(r < cfg.abstain for r in confirmed[:3]) and all(r < cfg.abstain for r in refuted[:3])
    # from reject_below up, the reward rises with the evidence: abstain + (correct - abstain) * evidence
    assert cfg.abstain < confirmed[3] < confirmed[4] < confirmed[5] < confirmed[6] == pytest.approx(cfg.correct)
    assert confirmed[4] == pytest.approx(cfg.abstain + (cfg.correct - cfg.abstain) * 0.45)
    weak = RewardContext(cfg, confirming=frozenset({"v"}))
    banded = ConfidencePolicy({"confirm_at": 0.5})
    box_report = Report(parsed=box, verdicts=[Verdict(verifier="v", score=0.45)], confidence=0.0)
    assert banded.score(box_report, None, weak).reward == pytest.approx(cfg.abstain)  # a band too weak to pay
    assert all(r == pytest.approx(cfg.abstain) for r in refuted[3:])


def test_no_reward_reads_the_confidence() -> None:
    """Report.confidence may use priors (box size) for a filter; the reward of the same verdicts ignores it."""
    from groundscore.model import Parsed, Report, Verdict

    box = Parsed(boxes=[{"x1": 1, "y1": 1, "x2": 5, "y2": 5}])
    for name in ("auto", "confidence", "consensus"):
        policy = get_policy(name)()
        paid = {policy.score(Report(parsed=box, verdicts=[Verdict(verifier="v", score=0.8)], confidence=c), None,
                             RewardContext(RewardConfig(), confirming=frozenset({"v"}))).reward for c in (0.0, 0.3, 1.0)}
        assert len(paid) == 1, name


def test_binary_iou_and_custom_values(schema_rewarder: Rewarder) -> None:
    binary = Rewarder({"iou_mode": "binary", "iou_threshold": 0.7, "correct": 2.0, "correct_floor": 1.0,
                       "abstain": 0.0, "wrong": -1.0}, chain=schema_rewarder.chain)
    gt = [100, 100, 200, 200]
    results = binary.score([sample(answer([100, 100, 195, 195]), gt), sample(answer([100, 100, 160, 160]), gt),
                            sample(answer(None), gt)])
    assert results[0].reward == 2.0
    assert -1.0 <= results[1].reward < 0.0
    assert results[2].reward == 0.0


def test_multi_box_matching_hungarian_beats_greedy() -> None:
    # Greedy takes the single best pair (IoU 0.75) and leaves a poor one; Hungarian finds the better total.
    solution = [[0, 0, 10, 10], [0, 0, 10, 7.5]]
    predicted = [[0, 0, 10, 8.5], [0, 0, 10, 10]]
    hungarian, pairs = match_boxes(predicted, solution, "hungarian")
    greedy, _ = match_boxes(predicted, solution, "greedy")
    assert hungarian >= greedy
    assert sorted((i, j) for i, j, _ in pairs) == [(0, 1), (1, 0)]
    # Missing and extra boxes both cost: the mean is over max(#predicted, #solution).
    one, _ = match_boxes([[0, 0, 10, 10]], solution, "hungarian")
    assert one == pytest.approx(1.0 / 2)
    extra, _ = match_boxes([[0, 0, 10, 10], [50, 50, 60, 60], [70, 70, 80, 80]], [[0, 0, 10, 10]], "hungarian")
    assert extra == pytest.approx(1.0 / 3)
    first, _ = match_boxes([[50, 50, 60, 60], [0, 0, 10, 10]], [[0, 0, 10, 10]], "first")
    assert first == 0.0


def test_matching_is_the_same_without_scipy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reward does not depend on what is installed: SciPy hidden, the same assignment."""
    import builtins

    predicted, solution = [[0, 0, 10, 8.5], [0, 0, 10, 10]], [[0, 0, 10, 10], [0, 0, 10, 7.5]]
    with_scipy = match_boxes(predicted, solution, "hungarian")
    real_import = builtins.__import__

    def no_scipy(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("scipy"):
            raise ImportError("no scipy here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_scipy)
    assert match_boxes(predicted, solution, "hungarian") == with_scipy
    value, pairs = match_boxes([[0, 0, 10, 10], [20, 20, 30, 30]], [[20, 20, 30, 30], [0, 0, 10, 10]], "hungarian")
    assert value == pytest.approx(1.0) and len(pairs) == 2


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 7).flatmap(lambda r: st.integers(1, 7).flatmap(lambda c: st.lists(
    st.lists(st.floats(0, 1, allow_nan=False) | st.sampled_from([0.0, 0.5, 1.0]), min_size=c, max_size=c),
    min_size=r, max_size=r))))
def test_pure_python_hungarian_equals_scipy(matrix: list[list[float]]) -> None:
    np = pytest.importorskip("numpy")
    optimize = pytest.importorskip("scipy.optimize")
    rows, cols = optimize.linear_sum_assignment(-np.asarray(matrix))
    best = float(np.asarray(matrix)[rows, cols].sum())
    pairs = hungarian(matrix)
    assert len(pairs) == min(len(matrix), len(matrix[0]))
    assert len({i for i, _ in pairs}) == len({j for _, j in pairs}) == len(pairs)
    assert sum(matrix[i][j] for i, j in pairs) == pytest.approx(best, abs=1e-9)


def test_multi_object_answer_through_the_chain(schema_rewarder: Rewarder) -> None:
    text = '<answer>[{"bbox_2d": [10, 10, 50, 50], "label": "cup"}, {"bbox_2d": [100, 100, 150, 160], "label": "cup"}]</answer>'
    both = schema_rewarder.score([sample(text, [[100, 100, 150, 160], [10, 10, 50, 50]], query="cups")])[0]
    assert both.iou == pytest.approx(1.0) and both.outcome == "correct"
    half = schema_rewarder.score([sample(text, [[100, 100, 150, 160], [10, 10, 50, 50], [300, 300, 340, 340]], query="cups")])[0]
    assert half.iou == pytest.approx(2 / 3)


def test_vlm_r1_iou_formula_equals_area_iou_except_sub_pixel_overlaps() -> None:
    a, b = [15, 136, 137, 469], [14.67, 133.56, 121.84, 469.68]
    assert vlm_r1_iou(a, b) == pytest.approx(box_iou(a, b), abs=1e-12)
    assert vlm_r1_iou([0, 0, 10, 10], [9.5, 0, 20, 10]) == 0.0 < box_iou([0, 0, 10, 10], [9.5, 0, 20, 10])
    assert vlm_r1_iou([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0  # VLM-R1 divides by zero here
    assert vlm_r1_iou([0, 0, float("nan"), 1], [0, 0, 1, 1]) == 0.0


@pytest.mark.parametrize(("value", "expected"), [
    ([1, 2, 3, 4], [[1.0, 2.0, 3.0, 4.0]]),
    ((1, 2, 3, 4), [[1.0, 2.0, 3.0, 4.0]]),
    ([[1, 2, 3, 4], [5, 6, 7, 8]], [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]),
    ("<answer>[10, 20, 30, 40]</answer>", [[10.0, 20.0, 30.0, 40.0]]),
    ("[10.5, 20, 30, 40]", [[10.5, 20.0, 30.0, 40.0]]),
    ('{"solution": [[1, 2, 3, 4]]}', [[1.0, 2.0, 3.0, 4.0]]),
    ({"bbox_2d": [1, 2, 3, 4]}, [[1.0, 2.0, 3.0, 4.0]]),
    ([{"bbox_2d": [1, 2, 3, 4]}, {"bbox": [5, 6, 7, 8]}], [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]),
    ("[]", []),
    ([], []),
    (None, None),
    ("", None),
    ("no box", None),
    ([1, 2, 3], None),
    ([1, 2, 3, float("inf")], None),
    ({"x": 1}, None),
])
def test_parse_solution_shapes(value: Any, expected: Any) -> None:
    assert parse_solution(value) == expected


def test_parse_solution_reads_arrays() -> None:
    np = pytest.importorskip("numpy")
    assert parse_solution(np.array([1, 2, 3, 4])) == [[1.0, 2.0, 3.0, 4.0]]
    assert parse_solution(np.array([[1, 2, 3, 4]])) == [[1.0, 2.0, 3.0, 4.0]]


def test_format_credit_is_optional_and_vlm_r1_shaped(schema_rewarder: Rewarder) -> None:
    with_format = Rewarder({"format_weight": 0.5}, chain=schema_rewarder.chain)
    gt = [100, 100, 200, 200]
    tagged = answer([100, 100, 200, 200])
    untagged = '```json\n[{"bbox_2d": [100, 100, 200, 200], "label": "dog"}]\n```'
    a, b = with_format.score([sample(tagged, gt), sample(untagged, gt)])
    assert a.format == 1.0 and b.format == 0.0
    assert a.reward == pytest.approx(1.5) and b.reward == pytest.approx(1.0)
    plain = schema_rewarder.score([sample(tagged, gt)])[0]
    assert plain.reward == pytest.approx(1.0)
    assert format_score(plain.report.parsed) == 1.0
    assert format_score(plain.report.parsed.model_copy(update={"has_think_tags": False})) == 0.0
    assert format_score(plain.report.parsed.model_copy(update={"has_think_tags": False}), require_think=False) == 1.0


def test_format_policy_and_iou_policy(schema_rewarder: Rewarder) -> None:
    fmt = Rewarder({"policy": "format"}, chain=schema_rewarder.chain)
    iou = Rewarder({"policy": "iou"}, chain=schema_rewarder.chain)
    gt = [100, 100, 200, 200]
    texts = [answer([100, 100, 150, 200]), "junk"]
    assert fmt.rewards([sample(t, gt) for t in texts]) == [1.0, 0.0]
    assert iou.rewards([sample(t, gt) for t in texts]) == [pytest.approx(0.5), 0.0]
    assert iou.rewards([sample(texts[0])]) == [None]  # no ground truth: cannot be scored


def test_boxes_in_model_space_with_ground_truth_are_unscorable(schema_rewarder: Rewarder) -> None:
    """Qwen2.5-VL pixels without the image size cannot be compared with original-pixel ground truth."""
    text = answer([100, 100, 200, 200])
    result = schema_rewarder.score([{"query": "dog", "completion": text, "solution": [100, 100, 200, 200]}])[0]
    assert result.reward is None and result.outcome == "unscorable"
    assert "image size unknown" in result.reason
    zero = Rewarder({"unscorable": 0.0}, chain=schema_rewarder.chain)
    assert zero.rewards([{"query": "dog", "completion": text, "solution": [100, 100, 200, 200]}]) == [0.0]
    # With the image size the boxes are mapped from smart_resize'd pixels and scored.
    sized = schema_rewarder.score([{"query": "dog", "completion": text, "image_size": [1000, 800],
                                    "solution": [100, 100, 200, 200]}])[0]
    assert sized.reward is not None and sized.iou is not None


def test_rec_logs_reward_separates_right_from_wrong(schema_rewarder: Rewarder) -> None:
    """Real outputs: correct boxes (IoU >= 0.5) earn more than every wrong one."""
    doc = json.loads(FIXTURE.read_text())
    samples, ious = [], []
    for r in doc["records"]:
        for text in r["outputs"].values():
            samples.append(sample(text, r["ground_truth"], query="x"))
            ious.append(None)
    results = schema_rewarder.score(samples)
    right = [r.reward for r in results if r.iou is not None and r.iou >= 0.5]
    wrong = [r.reward for r in results if r.outcome in ("wrong", "malformed", "hallucination")]
    assert len(right) > 100 and len(wrong) > 5
    assert min(right) > RewardConfig().abstain > max(wrong)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=20,
)
_completions = st.one_of(
    st.text(max_size=300),
    st.builds(lambda a, b: f"<think>{a}</think><answer>{b}</answer>", st.text(max_size=50), st.text(max_size=100)),
    st.builds(lambda v: "<answer>" + json.dumps(v) + "</answer>", _json_values),
    st.builds(lambda xs: json.dumps([{"bbox_2d": xs, "label": "x"}]),
              st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.integers(-10**12, 10**12), max_size=6)),
)
_samples = st.one_of(
    st.fixed_dictionaries({"completion": _completions}, optional={
        "query": st.text(max_size=30) | st.none(),
        "solution": _json_values,
        "image_size": _json_values,
        "coords": st.sampled_from(["original", "qwen25", "norm1000", "bogus"]) | st.text(max_size=5),
        "image": st.text(max_size=10) | st.binary(max_size=20),
    }),
    _json_values,
    st.binary(max_size=50),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=st.lists(_samples, max_size=6), policy=st.sampled_from(sorted(BUILTIN_POLICIES)))
def test_garbage_never_raises_and_gives_one_finite_reward_each(batch: list[Any], policy: str, schema_rewarder: Rewarder) -> None:
    rewarder = Rewarder({"policy": policy}, chain=schema_rewarder.chain)
    rewards = rewarder.rewards(batch)
    assert len(rewards) == len(batch)
    for r in rewards:
        assert r is None or (isinstance(r, float) and math.isfinite(r))


def test_spraying_boxes_or_covering_the_image_does_not_pay(schema_rewarder: Rewarder) -> None:
    gt = [100, 100, 200, 200]
    spray = "<answer>[" + ", ".join(
        f'{{"bbox_2d": [{x}, {y}, {x + 100}, {y + 100}], "label": "dog"}}' for x in (0, 100, 200, 300) for y in (0, 100, 200)
    ) + "]</answer>"
    results = schema_rewarder.score([
        sample(spray, gt),                          # 12 boxes, one of them exact
        sample(answer([0, 0, 640, 480]), gt),       # the whole image
        sample(answer(None), gt),                   # honest
    ])
    spray_r, whole_r, honest_r = (r.reward for r in results)
    assert results[0].iou == pytest.approx(1 / 12)
    assert spray_r < honest_r and whole_r < honest_r


def test_policy_options_are_validated_and_typos_name_the_key(schema_rewarder: Rewarder) -> None:
    strict = Rewarder({"policy": "grounded", "options": {"iou_threshold": 0.9}}, chain=schema_rewarder.chain)
    assert strict.policy.options.iou_threshold == 0.9
    gt = [100, 100, 200, 200]
    near = [sample(answer([100, 100, 180, 200]), gt)]  # IoU 0.8
    assert strict.score(near)[0].outcome == "wrong" and schema_rewarder.score(near)[0].outcome == "correct"
    with pytest.raises(ValueError, match=r"reward\.options\.iou_treshold"):
        Rewarder({"options": {"iou_treshold": 0.7}}, chain=schema_rewarder.chain)
    with pytest.raises(ValueError, match=r"reward\.options\.iou_threshold"):
        Rewarder({"options": {"iou_threshold": 2}}, chain=schema_rewarder.chain)
    # an option of another policy is a mistake too
    with pytest.raises(ValueError, match="use_gates"):
        Rewarder({"policy": "iou", "options": {"use_gates": False}}, chain=schema_rewarder.chain)
    # the old top-level spelling still works, and is ignored by a policy that has no use for it
    legacy = RewardConfig.model_validate({"iou_threshold": 0.7, "policy": "format"})
    assert legacy.options == {"iou_threshold": 0.7}
    assert Rewarder(legacy, chain=schema_rewarder.chain).policy.options == PolicyOptions()
    assert Rewarder({"iou_threshold": 0.7}, chain=schema_rewarder.chain).policy.options.iou_threshold == 0.7


def test_reward_config_reads_policy_options_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "groundscore.toml"
    path.write_text('[reward]\npolicy = "iou"\nformat_weight = 0.5\n[reward.options]\nmatching = "first"\n')
    config = RewardConfig.from_file(path)
    assert config.policy == "iou" and config.options == {"matching": "first"} and config.format_weight == 0.5


class _HalfPolicy(RewardPolicy):
    """A plugin's policy: a fixed reward for any box, to check what the host adds."""

    name = "test_half"

    class Options(PolicyOptions):
        value: float = 0.5

    def score(self, report: Any, solution: Any, context: RewardContext) -> RewardResult:
        return result(self.options.value, "correct", "fixed", report, self.name)


def test_the_host_applies_format_weight_and_require_checked_to_every_policy(schema_rewarder: Rewarder) -> None:
    from groundscore.plugins import manager

    class Plugin:
        @hookimpl
        def register_reward_policies(self, register: Any) -> None:
            register(_HalfPolicy)

    try:
        info = manager.register_module(Plugin(), name="test_half_plugin")
        assert info.error is None and info.registered == {"reward_policies": ["test_half"]}
        tagged, gt = answer([100, 100, 200, 200]), [100, 100, 200, 200]
        plain = Rewarder({"policy": "test_half", "options": {"value": 0.75}}, chain=schema_rewarder.chain)
        assert plain.rewards([sample(tagged, gt)]) == [0.75]
        # without ground truth nothing confirms the box: the host caps any policy at "not found"
        unconfirmed = plain.score([sample(tagged)])[0]
        assert unconfirmed.reward == 0.25 and unconfirmed.outcome == "unverified" and unconfirmed.details["evidence"] == "none"
        fmt = Rewarder({"policy": "test_half", "format_weight": 0.5}, chain=schema_rewarder.chain)
        assert fmt.rewards([sample(tagged, gt), sample('[{"bbox_2d": [1, 1, 9, 9]}]', gt)]) == [1.0, 0.5]
        capped = Rewarder({"policy": "test_half", "options": {"value": 0.9}, "require_checked": ["label_match"]},
                          chain=schema_rewarder.chain).score([sample(tagged, gt)])[0]
        assert capped.outcome == "unverified" and capped.reward == 0.25 and capped.details["unchecked"] == ["label_match"]
        with pytest.raises(ValueError, match="valeu"):
            Rewarder({"policy": "test_half", "options": {"valeu": 1}}, chain=schema_rewarder.chain)
    finally:
        manager.load_plugins(reload=True)


def test_malformed_is_a_property_of_the_verifier_not_its_name(schema_rewarder: Rewarder) -> None:
    from groundscore.model import Parsed, Report, Verdict

    report = Report(parsed=Parsed(answer="x", boxes=[{"x1": 1, "y1": 1, "x2": 5, "y2": 5}]),
                    verdicts=[Verdict(verifier="strict_json", score=0.0, gate=False)])
    policy = ConfidencePolicy()
    assert policy.score(report, None, RewardContext(RewardConfig(), frozenset())).outcome == "hallucination"
    assert policy.score(report, None, RewardContext(RewardConfig(), frozenset({"strict_json"}))).outcome == "malformed"
    assert schema_rewarder.context.malformed_gates == frozenset({"schema"})


def test_rewarders_pickle(schema_rewarder: Rewarder) -> None:
    import pickle

    copy = pickle.loads(pickle.dumps(schema_rewarder))
    gt = [100, 100, 200, 200]
    batch = [sample(answer([100, 100, 190, 200]), gt), sample(answer(None), gt)]
    assert copy.rewards(batch) == schema_rewarder.rewards(batch)


def test_a_function_policy_registered_the_old_way_still_works(schema_rewarder: Rewarder) -> None:
    """``register(name, fn)`` with ``fn(report, solution, config)``: read as a policy without options."""
    from groundscore.plugins import manager

    def always_one(report: Any, solution: Any, config: RewardConfig) -> RewardResult:
        return result(config.correct, "correct", "always", report, "test_old_style")

    class OldPlugin:
        @hookimpl
        def register_reward_policies(self, register: Any) -> None:
            register("test_old_style", always_one)

    try:
        assert manager.register_module(OldPlugin(), name="old_style").error is None
        rewarder = Rewarder({"policy": "test_old_style", "format_weight": 1.0}, chain=schema_rewarder.chain)
        gt = [1, 1, 9, 9]
        # the host refutes what a gate failed, whatever the policy says: "junk" fails the schema gate
        assert rewarder.rewards([sample(answer(gt), gt), sample("junk", gt)]) == [2.0, 0.0]
        with pytest.raises(ValueError, match=r"reward\.options\.anything"):
            Rewarder({"policy": "test_old_style", "options": {"anything": 1}}, chain=schema_rewarder.chain)
    finally:
        manager.load_plugins(reload=True)


def test_fallback_to_confidence_keeps_the_policy_s_shared_options() -> None:
    """Samples without ground truth are scored by a confidence policy with the same guards and shaping."""
    from groundscore.rewards import GroundedPolicy
    from groundscore.rewards.click import ClickPolicy

    grounded = GroundedPolicy({"accept_points": True, "reject_below": 0.4})
    assert grounded.without_ground_truth.options.accept_points is True
    assert grounded.without_ground_truth.options.reject_below == 0.4
    click = ClickPolicy({"wrong_shaping": 0.3})
    assert click.without_ground_truth.options.wrong_shaping == 0.3


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60), st.integers(1, 30), st.integers(1, 30)), min_size=1, max_size=12),
       st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60), st.integers(1, 30), st.integers(1, 30)), min_size=1, max_size=12))
def test_matching_by_overlapping_groups_equals_one_whole_assignment(a: list, b: list) -> None:
    """Solving each group of mutually overlapping boxes apart gives the whole problem's optimum and pair count."""
    from groundscore.model import box_iou
    from groundscore.rewards.matching import _hungarian_by_component

    predicted = [[x, y, x + w, y + h] for x, y, w, h in a]
    solution = [[x, y, x + w, y + h] for x, y, w, h in b]
    matrix = [[box_iou(p, s) for s in solution] for p in predicted]
    whole, split = hungarian(matrix), _hungarian_by_component(matrix)
    assert len(split) == len(whole) == min(len(predicted), len(solution))
    assert len({i for i, _ in split}) == len({j for _, j in split}) == len(split)
    assert sum(matrix[i][j] for i, j in split) == pytest.approx(sum(matrix[i][j] for i, j in whole), abs=1e-9)


def test_agreement_pays_the_share_of_the_group_that_gives_the_answer() -> None:
    """In a group, a box is paid abstain + (correct - abstain) * the share of the group's voters that give it
    (itself included); one that under a quarter of the group gives is refuted below "not found", which votes
    against every box and is paid exactly abstain."""
    rewarder = Rewarder(chain_config={"verifiers": ["schema", "agreement"]})
    a, b = [10, 10, 60, 60], [300, 300, 400, 400]
    config = rewarder.config

    def group(completions: list[str]) -> list[Any]:
        return rewarder.score([sample(c, group="q") for c in completions])

    majority = group([answer(a)] * 5 + [answer(b)] + [answer(None)] * 2)
    assert all(r.outcome == "correct" for r in majority[:5])
    assert majority[0].reward == pytest.approx(config.abstain + (config.correct - config.abstain) * 5 / 8)
    assert majority[5].reward < config.abstain and majority[6].reward == majority[7].reward == config.abstain
    split_group = [answer(a)] * 3 + [answer(b)] * 2 + [answer(None)] * 3
    plain = Rewarder({"ambiguous_box": "correct"}, chain_config={"verifiers": ["schema", "agreement"]})
    split = plain.score([sample(c, group="q") for c in split_group])
    assert split[0].reward == pytest.approx(config.abstain + (config.correct - config.abstain) * 3 / 8)
    assert split[0].reward > split[3].reward > config.abstain
    # 3 and 2 of 8 on two objects: the group is ambiguous, and by default each box is a guess, below asking,
    # the better supported still the better guess
    guesses = group(split_group)
    assert guesses[0].details["guess"]["targets"] == 2
    assert config.clarify_ambiguous_reward > guesses[0].reward > guesses[3].reward > config.abstain
    near = group([answer([10 + k, 10, 60 + k, 60]) for k in range(4)] + [answer(None)] * 4)
    exact = group([answer(a)] * 4 + [answer(None)] * 4)
    # one rule for copies: exact copies and copies a few pixels apart are paid alike
    assert [r.reward for r in near[:4]] == pytest.approx([r.reward for r in exact[:4]])


def test_the_guards_and_the_voters_read_one_list() -> None:
    """The reward's guards and the agreement verifier's voters: an answer the reward rejects does not vote."""
    from groundscore.issues import GUARD_DUPLICATE_IOU, GUARD_FINDINGS, GUARD_ISSUES
    from groundscore.rewards import GuardOptions

    options = GuardOptions()
    assert tuple(options.reject_issues) == GUARD_ISSUES and tuple(options.reject_findings) == GUARD_FINDINGS
    assert options.duplicate_iou == GUARD_DUPLICATE_IOU


def test_thinking_that_says_the_target_is_something_else_is_refuted(full_rewarder: Rewarder) -> None:
    gt = [10, 10, 50, 200]
    completion = answer(gt, "dog", think="I look at the animal on the left. The dog is actually a cat.")
    with_gt, without = full_rewarder.score([sample(completion, gt), sample(completion)])
    assert with_gt.reward < full_rewarder.config.abstain and without.reward < full_rewarder.config.abstain
