"""Every exploit of the catalogue (tests/hacks/catalogue.py) is paid strictly less than an honest "not found".

The default :class:`~groundscore.rewards.Rewarder` (the default chain, the
``auto`` policy) scores each case with its ground truth and without any;
the abstention cases must be paid exactly the abstain reward. The same
catalogue goes through every integration's reward function (TRL, VLM-R1,
verl, OpenRLHF's in-process file and its HTTP server, PrimeIntellect
verifiers). The group cases (``GROUP_CASES``: whole GRPO groups) go through
the default Rewarder and the ``consensus`` policy. The docs page's table must
be what ``benchmarks/hack_report.py`` gives now.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hacks.catalogue import CASES, DOG, GROUP_CASES, QUERY, SIZE, expectation, members_of, r1

from groundscore.rewards import RewardConfig, Rewarder

ROOT = Path(__file__).resolve().parents[1]
ABSTAIN = RewardConfig().abstain


def _runs() -> list[tuple[dict, bool]]:
    out = []
    for case in CASES:
        if case["ground_truth"] in ("both", "with"):
            out.append((case, True))
        if case["ground_truth"] in ("both", "without"):
            out.append((case, False))
    return out


RUNS = _runs()


@pytest.fixture(scope="module")
def rewarder() -> Rewarder:
    return Rewarder()


@pytest.fixture(scope="module")
def results(rewarder: Rewarder) -> dict[tuple[str, bool], object]:
    """All runs scored in one batch (one sample never changes another's verdict; a test below checks it)."""
    samples = [{**case["sample"], "solution": case["sample"]["solution"] if gt else None} for case, gt in RUNS]
    return {(case["id"], gt): r for (case, gt), r in zip(RUNS, rewarder.score(samples), strict=True)}


def test_catalogue_is_large_and_grouped() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)) >= 40
    families = {c["family"] for c in CASES + GROUP_CASES}
    assert families >= {"format", "geometry", "language", "consistency", "abstention", "group", "unconfirmed", "hedge"}
    group_ids = [c["id"] for c in GROUP_CASES]
    assert len(group_ids) == len(set(group_ids)) >= 8 and not set(group_ids) & set(ids)
    for c in GROUP_CASES:
        assert len(c["members"]) >= 2 and c["exploiters"] and len({m["group"] for m in c["members"]}) == 1
    for c in CASES:
        assert c["id"].startswith(c["family"] + ".") and c["description"] and c["sample"]["completion"]


@pytest.mark.parametrize(("case", "grounded"), RUNS, ids=[f"{c['id']}-{'gt' if g else 'nogt'}" for c, g in RUNS])
def test_exploit_is_paid_less_than_abstaining(case: dict, grounded: bool, results: dict) -> None:
    res = results[(case["id"], grounded)]
    assert res.reward is not None, res.reason
    assert not breaks(case, grounded, res.reward), (expectation(case, grounded), res.outcome, res.reason)


def test_batch_does_not_change_a_verdict(rewarder: Rewarder, results: dict) -> None:
    case = next(c for c in CASES if c["id"] == "format.two_answers")
    alone = rewarder.score([case["sample"]])[0]
    assert alone.reward == results[(case["id"], True)].reward


def test_honest_answers_still_pay(rewarder: Rewarder) -> None:
    """The guards are not a blanket: a plain correct answer keeps its reward, with and without ground truth."""
    honest = {"query": QUERY, "image_size": SIZE, "solution": [DOG],
              "completion": r1("The query asks for the brown dog on the left; it lies on the grass at the left.",
                               '[{"bbox_2d": [40, 200, 240, 440], "label": "brown dog on the left"}]')}
    with_gt, without = rewarder.score([honest, {**honest, "solution": None}])
    assert with_gt.reward > 0.9 and with_gt.outcome == "correct"
    # without ground truth nothing confirms the box (no image, no group): paid exactly "not found", never less
    assert without.reward == ABSTAIN and without.outcome == "unverified", without.reason


def test_points_are_paid_only_where_accepted() -> None:
    point = {"query": QUERY, "image_size": SIZE, "solution": [DOG],
             "completion": r1("The dog is on the left.", '[{"point_2d": [140, 320], "label": "brown dog"}]')}
    default = Rewarder(chain_config={"verifiers": ["schema"]}).score([point])[0]
    assert default.reward < ABSTAIN and default.details.get("hack") == "hack.points"
    accepted = Rewarder({"options": {"accept_points": True}}, chain_config={"verifiers": ["schema"]}).score([point])[0]
    assert accepted.reward > 0.9 and accepted.outcome == "correct"
    without = Rewarder(chain_config={"verifiers": ["schema"]}).score([{**point, "solution": None}])[0]
    assert without.reward < ABSTAIN and without.details.get("hack") == "hack.points"
    # VLM-R1's IoU reward (the iou policy) pays a point nothing too, unless the task accepts points
    iou = Rewarder({"policy": "iou"}, chain_config={"verifiers": ["schema"]}).score([point])[0]
    assert iou.reward == 0.0 and iou.outcome == "malformed"
    iou_points = Rewarder({"policy": "iou", "options": {"accept_points": True}}, chain_config={"verifiers": ["schema"]})
    assert iou_points.score([point])[0].reward == 1.0


def test_guards_can_be_turned_off() -> None:
    """Each guard is an option: with it off, the duplicated answer is scored by IoU alone again."""
    case = next(c for c in CASES if c["id"] == "format.two_answers")
    off = Rewarder({"options": {"reject_issues": [], "reject_hedges": False}},
                   chain_config={"verifiers": ["schema"]}).score([case["sample"]])[0]
    assert off.reward > ABSTAIN


def test_catalogue_through_trl() -> None:
    """The same catalogue through TRL's reward function: the columns TRL passes, the same ceiling."""
    from groundscore.integrations.trl import grounding_reward

    fn = grounding_reward(query_column="query")
    honest = {"id": "honest", "sample": {"query": QUERY, "image_size": SIZE, "solution": [DOG], "completion": r1(
        "The brown dog lies on the grass at the left.", '[{"bbox_2d": [40, 200, 240, 440], "label": "brown dog"}]')}}
    runs = [(c, g) for c, g in RUNS if expectation(c, g) != "abstain"] + [(honest, True), (honest, False)]
    # One prompt per run: TRL groups the completions of one prompt (a GRPO group), and these runs are not
    # samples of one question, so agreement among them must not count (groups: test_group_* below).
    rewards = fn(
        prompts=[f"Please provide the bounding box coordinate of the region this sentence describes: {c['sample']['query']}."
                 f" (run {i})" for i, (c, _) in enumerate(runs)],
        completions=[c["sample"]["completion"] for c, _ in runs],
        query=[c["sample"]["query"] for c, _ in runs],
        solution=[c["sample"]["solution"] if g else None for c, g in runs],
        image_size=[c["sample"]["image_size"] for c, _ in runs],
    )
    assert rewards[-2] > 0.9 and rewards[-1] == ABSTAIN  # the honest answer still pays; without ground truth, exactly "not found"
    paid = {f"{c['id']}-{g}": r for (c, g), r in zip(runs[:-2], rewards, strict=False) if breaks(c, g, r)}
    assert not paid


def test_docs_table_is_current() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import hack_report

    page = (ROOT / "docs" / "reward-hacking.md").read_text(encoding="utf-8")
    start, end = hack_report.TABLE
    block = page[page.index(start) + len(start) : page.index(end)].strip()
    assert block == hack_report.catalogue_table().strip(), "run: python benchmarks/hack_report.py --skip-logs --write-docs"


@pytest.mark.slow
def test_catalogue_through_the_server(tmp_path: Path) -> None:
    """The same catalogue through ``groundscore serve`` (OpenRLHF's request shape: prompt + completion as one query)."""
    import json

    httpx = pytest.importorskip("httpx")
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from serve_process import running_server

    prompt = ("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Please provide the bounding box coordinate "
              "of the region this sentence describes: {expr}. First output the thinking process in <think> </think> "
              "tags and then output the final answer in <answer> </answer> tags.<|im_end|>\n<|im_start|>assistant\n")
    runs = [(c, g) for c, g in RUNS if expectation(c, g) != "abstain"]
    prompts = [prompt.format(expr=c["sample"]["query"]) for c, _ in runs]
    body = {
        "query": [p + c["sample"]["completion"] for p, (c, _) in zip(prompts, runs, strict=True)],
        "prompts": prompts,
        "labels": [json.dumps({"solution": c["sample"]["solution"] if g else None, "image_size": c["sample"]["image_size"]})
                   for c, g in runs],
    }
    with running_server([], tmp_path / "server.log", env={"GROUNDSCORE_SERVE_TOKEN": "catalogue-token"}) as base:
        r = httpx.post(f"{base}/get_reward", json=body, headers={"Authorization": "Bearer catalogue-token"}, timeout=120)
    assert r.status_code == 200, r.text
    rewards = r.json()["rewards"]
    paid = {f"{c['id']}-{g}": rw for (c, g), rw in zip(runs, rewards, strict=True) if breaks(c, g, rw)}
    assert not paid


def test_catalogue_through_verl() -> None:
    """The same catalogue through verl's batch ``compute_score`` (ground truth as verl passes it, or None)."""
    from groundscore.integrations import verl as gs_verl

    honest = {"id": "honest", "sample": {"query": QUERY, "image_size": SIZE, "solution": [DOG], "completion": r1(
        "The brown dog lies on the grass at the left.", '[{"bbox_2d": [40, 200, 240, 440], "label": "brown dog"}]')}}
    runs = [(c, g) for c, g in RUNS if expectation(c, g) != "abstain"] + [(honest, True), (honest, False)]
    out = gs_verl.compute_score_batch(
        ["rec"] * len(runs),
        [c["sample"]["completion"] for c, _ in runs],
        [c["sample"]["solution"] if g else None for c, g in runs],
        [{"question": c["sample"]["query"], "image_size": c["sample"]["image_size"]} for c, _ in runs],
    )
    assert out[-2]["score"] > 0.9 and out[-1]["score"] == ABSTAIN  # the honest answer still pays; without ground truth, exactly "not found"
    paid = {f"{c['id']}-{g}": o["score"] for (c, g), o in zip(runs[:-2], out, strict=False) if breaks(c, g, o["score"])}
    assert not paid


def test_catalogue_through_vlm_r1() -> None:
    """The same catalogue through VLM-R1's reward-function form (chat completions, ``problem`` and ``solution`` columns)."""
    from groundscore.integrations import vlm_r1

    honest = {"id": "honest", "sample": {"query": QUERY, "image_size": SIZE, "solution": [DOG], "completion": r1(
        "The brown dog lies on the grass at the left.", '[{"bbox_2d": [40, 200, 240, 440], "label": "brown dog"}]')}}
    runs = [(c, g) for c, g in RUNS if expectation(c, g) != "abstain"] + [(honest, True), (honest, False)]
    rewards = vlm_r1.grounding_reward(
        [[{"role": "assistant", "content": c["sample"]["completion"]}] for c, _ in runs],
        [c["sample"]["solution"] if g else None for c, g in runs],
        problem=[c["sample"]["query"] for c, _ in runs],
        image_size=[c["sample"]["image_size"] for c, _ in runs],
    )
    assert rewards[-2] > 0.9 and rewards[-1] == ABSTAIN  # the honest answer still pays; without ground truth, exactly "not found"
    paid = {f"{c['id']}-{g}": r for (c, g), r in zip(runs[:-2], rewards, strict=False) if breaks(c, g, r)}
    assert not paid


def breaks(case: dict, grounded: bool, reward: float | None) -> bool:
    """Whether a run's reward breaks what the catalogue expects of it (:func:`expectation`)."""
    expected = expectation(case, grounded)
    if reward is None:
        return True
    if expected == "abstain":
        return reward != pytest.approx(ABSTAIN, abs=1e-12)
    return reward > ABSTAIN if expected == "at_most" else reward >= ABSTAIN


def _paid(case: dict, reward: float | None) -> bool:
    """Whether an exploiter's reward breaks the case's ceiling."""
    if reward is None:
        return True
    return reward != pytest.approx(ABSTAIN, abs=1e-12) if case["expect"] == "abstain" else reward >= ABSTAIN


GROUP_RUNS = [(c, g) for c in GROUP_CASES for g in (True, False) if c["ground_truth"] == "both" or (g and c["ground_truth"] == "with")]


@pytest.mark.parametrize(("case", "grounded"), GROUP_RUNS, ids=[f"{c['id']}-{'gt' if g else 'nogt'}" for c, g in GROUP_RUNS])
def test_group_exploit_is_paid_less_than_abstaining(case: dict, grounded: bool, rewarder: Rewarder) -> None:
    """A whole group scored in one batch by the default Rewarder: no exploiting member beats "not found"."""
    results = rewarder.score(members_of(case, grounded))
    paid = {i: (results[i].reward, results[i].reason) for i in case["exploiters"] if _paid(case, results[i].reward)}
    assert not paid


def _copies_add_nothing_params() -> list:
    out = []
    for c in GROUP_CASES:
        marks = [pytest.mark.xfail(strict=True, reason=c["copies_hole"])] if c["copies_hole"] else []
        out.append(pytest.param(c, marks=marks, id=c["id"]))
    return out


@pytest.mark.parametrize("case", _copies_add_nothing_params())
def test_group_pays_an_exploiter_no_more_than_its_answer_alone(case: dict, rewarder: Rewarder) -> None:
    """Without ground truth a copied answer is worth what it is worth alone: members cannot vouch for each other."""
    grouped = rewarder.score(members_of(case, False))
    alone = rewarder.score([{**m, "group": None} for m in members_of(case, False)])
    raised = {i: (alone[i].reward, grouped[i].reward) for i in case["exploiters"]
              if grouped[i].reward is None or alone[i].reward is None or grouped[i].reward > alone[i].reward + 1e-9}
    assert not raised


def _consensus_params() -> list:
    out = []
    for c in GROUP_CASES:
        marks = [pytest.mark.xfail(strict=True, reason=c["consensus_hole"])] if c["consensus_hole"] else []
        out.append(pytest.param(c, marks=marks, id=c["id"]))
    return out


@pytest.fixture(scope="module")
def consensus(rewarder: Rewarder) -> Rewarder:
    return Rewarder({"policy": "consensus"}, chain=rewarder.chain)


@pytest.mark.parametrize("case", _consensus_params())
def test_group_exploit_through_the_consensus_policy(case: dict, consensus: Rewarder) -> None:
    """The label-free ``consensus`` policy (ground truth ignored): the routes it still pays are strict xfails,
    with the reason, so that a fix in groundscore/rewards/consensus.py or the agreement verifier shows up here."""
    results = consensus.score(members_of(case, False))
    paid = {i: (results[i].reward, results[i].reason) for i in case["exploiters"] if _paid(case, results[i].reward)}
    assert not paid


def test_honest_group_still_pays(rewarder: Rewarder, consensus: Rewarder) -> None:
    """An honest group (independent answers on the dog, each worded its own way) keeps its reward in both policies."""
    members = [{"query": QUERY, "image_size": SIZE, "solution": None, "group": "honest", "completion": r1(
        f"Looking at the image ({k}), the brown dog lies on the grass at the left.",
        f'[{{"bbox_2d": [{40 + 2 * k}, {200 - k}, {240 + k}, {440 - k}], "label": "brown dog"}}]')} for k in range(8)]
    assert all(r.reward > 0.9 for r in consensus.score(members))
    assert all(r.reward > 0.9 for r in rewarder.score(members))
    assert all(r.outcome == "correct" and r.reward > 0.8 for r in rewarder.score([{**m, "solution": [DOG]} for m in members]))


@pytest.mark.slow  # imports torch and OpenRLHF
def test_catalogue_through_openrlhf_in_process() -> None:
    """The catalogue through OpenRLHF's in-process reward file, as OpenRLHF's executor calls it (one query at a
    time, the VLM query with the image pad expanded), with the environment's default configuration."""
    import asyncio
    import json

    import groundscore.integrations.openrlhf as gs_openrlhf
    import groundscore.integrations.openrlhf_reward_func as reward_file

    agent = pytest.importorskip("openrlhf.utils.agent", reason="openrlhf is not importable here")
    mp = pytest.MonkeyPatch()
    for key in ("GROUNDSCORE_CONFIG", "GROUNDSCORE_REWARD_CONFIG", "GROUNDSCORE_QUERY_TEMPLATE"):
        mp.delenv(key, raising=False)
    mp.setattr(gs_openrlhf, "_default", None)
    try:
        executor = agent.SingleTurnAgentExecutor(remote_rm_url=reward_file.__file__)
        prompt = ("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Please provide the bounding box coordinate "
                  "of the region this sentence describes: {expr}. First output the thinking process in <think> </think> "
                  "tags and then output the final answer in <answer> </answer> tags.<|im_end|>\n<|im_start|>assistant\n")
        honest = {"id": "honest", "sample": {"query": QUERY, "image_size": SIZE, "solution": [DOG], "completion": r1(
            "The brown dog lies on the grass at the left.", '[{"bbox_2d": [40, 200, 240, 440], "label": "brown dog"}]')}}
        runs = [(c, g) for c, g in RUNS if expectation(c, g) != "abstain"] + [(honest, True), (honest, False)]

        async def fetch_all() -> list[float]:
            out = []
            for c, g in runs:
                p = prompt.format(expr=c["sample"]["query"])
                query = p.replace("<|image_pad|>", "<|image_pad|>" * 16) + c["sample"]["completion"] + "<|im_end|>"
                label = json.dumps({"solution": c["sample"]["solution"] if g else None, "image_size": c["sample"]["image_size"]})
                info = (await executor._fetch_rewards_via_func([query], [p], [label]))[0]
                out.append(float(info["rewards"][0]))
            return out

        rewards = asyncio.run(fetch_all())
    finally:
        mp.undo()
    assert rewards[-2] > 0.9 and rewards[-1] == ABSTAIN  # the honest answer still pays; without ground truth, exactly "not found"
    paid = {f"{c['id']}-{g}": r for (c, g), r in zip(runs[:-2], rewards, strict=False) if breaks(c, g, r)}
    assert not paid


@pytest.mark.slow  # imports verifiers; one trace per run
def test_catalogue_through_verifiers() -> None:
    """The catalogue through the PrimeIntellect verifiers task: verifiers' own trace and ``Task.score``."""
    import asyncio

    vf = pytest.importorskip("verifiers.v1")
    from verifiers.v1.graph import prepare_turn
    from verifiers.v1.state import state_cls
    from verifiers.v1.trace import AgentInfo, Trace, TraceTask

    from groundscore.integrations.verifiers_env import GroundingData, GroundingTask, GroundingTaskConfig

    honest = {"id": "honest", "sample": {"query": QUERY, "image_size": SIZE, "solution": [DOG], "completion": r1(
        "The brown dog lies on the grass at the left.", '[{"bbox_2d": [40, 200, 240, 440], "label": "brown dog"}]')}}
    runs = [(c, g) for c, g in RUNS if expectation(c, g) != "abstain"] + [(honest, True), (honest, False)]
    config = GroundingTaskConfig()

    async def score_all() -> list[float]:
        out = []
        for c, g in runs:
            s = c["sample"]
            prompt = [vf.UserMessage(content=f"Please provide the bounding box coordinate of the region this sentence "
                                             f"describes: {s['query']}.")]
            task = GroundingTask(GroundingData(prompt=prompt, query=s["query"], image_size=tuple(s["image_size"]),
                                               solution=s["solution"] if g else None), config)
            trace = Trace(task=TraceTask(type="GroundingTask", data=task.data, key=task.key, hash=task.hash),
                          state=state_cls(GroundingTask)(), agent=AgentInfo(config=vf.AgentConfig()))
            reply = vf.AssistantMessage(content=s["completion"])
            prepare_turn(trace, prompt).commit(vf.Response(id="r", created=0, model="p", message=reply, finish_reason="stop"))
            await task.score(trace)
            out.append(trace.reward)
        return out

    rewards = asyncio.run(score_all())
    assert rewards[-2] > 0.9 and rewards[-1] == ABSTAIN  # the honest answer still pays; without ground truth, exactly "not found"
    paid = {f"{c['id']}-{g}": r for (c, g), r in zip(runs[:-2], rewards, strict=False) if breaks(c, g, r)}
    assert not paid
