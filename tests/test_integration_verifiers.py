"""PrimeIntellect verifiers 0.4: the docs page's taskset and plugged reward, run through verifiers' own code.

Each rollout is built as verifiers builds it: a ``vf.Trace`` for the task
(as ``Rollout`` makes one), the model's reply committed with verifiers'
``prepare_turn(trace, prompt).commit(Response)``, then verifiers'
``Task.score(trace)`` calls the ``@vf.reward`` methods and records
``trace.rewards``. The snippets are read from docs/rewards/verifiers.md.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import types
from pathlib import Path

import pytest

vf = pytest.importorskip("verifiers.v1")

from doc_snippets import code_blocks, command_lines  # noqa: E402
from PIL import Image  # noqa: E402
from verifiers.v1.graph import prepare_turn  # noqa: E402
from verifiers.v1.state import state_cls  # noqa: E402
from verifiers.v1.task import Task, WireTaskData  # noqa: E402
from verifiers.v1.trace import AgentInfo, Trace, TraceTask  # noqa: E402

from groundscore.rewards import RewardConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ABSTAIN = RewardConfig().abstain
DOG = [40, 200, 240, 440]
CAT = [400, 100, 600, 300]
THINK = "The query asks for the brown dog on the left; it lies on the grass at the left of the image."


def answer(box: list[int] | None, label: str = "brown dog on the left") -> str:
    body = "[]" if box is None else json.dumps([{"bbox_2d": box, "label": label}])
    return f"<answer>{body}</answer>"


def new_trace(task: Task) -> Trace:
    """A trace as verifiers' ``Rollout`` creates one for a task."""
    return Trace(task=TraceTask(type=type(task).__name__, data=task.data, key=task.key, hash=task.hash),
                 state=state_cls(type(task))(), agent=AgentInfo(config=vf.AgentConfig()))


def rollout(task: Task, content: str, reasoning: str | None = None) -> Trace:
    """The task's prompt and one model reply, committed into the trace by verifiers' graph code."""
    trace = new_trace(task)
    prompt = list(task.data.prompt) if not isinstance(task.data.prompt, str) else [vf.UserMessage(content=task.data.prompt)]
    reply = vf.AssistantMessage(content=content, reasoning_content=reasoning)
    prepare_turn(trace, prompt).commit(vf.Response(id="r", created=0, model="policy", message=reply, finish_reason="stop"))
    return trace


def score(task: Task, trace: Trace) -> Trace:
    asyncio.run(task.score(trace))
    return trace


@pytest.fixture(scope="module")
def page_taskset(tmp_path_factory: pytest.TempPathFactory) -> types.ModuleType:
    """The page's taskset module, run as the file it says it is."""
    block = next(b for b in code_blocks("verifiers.md", "python") if b.startswith("# my_grounding/taskset.py"))
    module = types.ModuleType("my_grounding_taskset")
    sys.modules[module.__name__] = module  # as an import would: pydantic resolves the annotations there
    exec(compile(block, "docs/rewards/verifiers.md", "exec"), module.__dict__)
    return module


@pytest.fixture(scope="module")
def tasks(page_taskset: types.ModuleType, tmp_path_factory: pytest.TempPathFactory) -> list[Task]:
    tmp = tmp_path_factory.mktemp("verifiers")
    image = tmp / "dog.png"
    Image.new("RGB", (640, 480), (120, 90, 60)).save(image)
    rows = tmp / "rows.jsonl"
    rows.write_text("\n".join(json.dumps(r) for r in [
        {"image": str(image), "query": "the brown dog on the left", "solution": DOG},
        {"image": str(image), "query": "the unicorn", "solution": []},
    ]) + "\n")
    config = page_taskset.GroundingTasksetConfig(rows=str(rows), task={"coords": "original"})
    return list(page_taskset.GroundingTaskset(config))  # verifiers' iteration: idx set, views applied


def test_verifiers_loader_finds_the_page_package_through_its_all(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's two files as an installed package: verifiers' own loader takes the taskset from ``__all__``."""
    from verifiers.v1.utils import loaders

    package = tmp_path / "my_grounding"
    package.mkdir()
    for block in code_blocks("verifiers.md", "python"):
        first = block.splitlines()[0]
        if first.startswith("# my_grounding/"):
            (tmp_path / first.removeprefix("# ")).write_text(block, encoding="utf-8")
    assert (package / "__init__.py").exists() and (package / "taskset.py").exists()
    monkeypatch.syspath_prepend(str(tmp_path))
    module = loaders.import_taskset("my-grounding")
    assert loaders._plugin_class(module, vf.Taskset, "taskset").__name__ == "GroundingTaskset"
    (package / "__init__.py").write_text("from my_grounding.taskset import GroundingTaskset\n")
    bare = types.ModuleType("my_grounding_without_all")
    exec((package / "__init__.py").read_text(), bare.__dict__)
    with pytest.raises(AttributeError, match="__all__"):  # what the page warns about
        loaders._plugin_class(bare, vf.Taskset, "taskset")


def test_page_pins_the_tested_version() -> None:
    pins = dict(re.findall(r"^(verifiers)==(\S+)$", (ROOT / "constraints" / "trainers.txt").read_text(), re.MULTILINE))
    line = " ".join(command_lines("verifiers.md", "pip")[0])
    assert f"verifiers=={pins['verifiers']}" in line
    import verifiers

    assert verifiers.__version__ == pins["verifiers"]


def test_taskset_rows_are_grounding_tasks(tasks: list[Task]) -> None:
    assert [t.data.idx for t in tasks] == [0, 1]
    assert [fn.__name__ for fn in tasks[0].hooks("reward")] == ["groundscore"]
    parts = tasks[0].data.prompt[0].content
    assert parts[0].type == "image_url" and parts[0].image_url.url.startswith("data:image/png;base64,")


def test_honesty_order_through_task_score(tasks: list[Task]) -> None:
    task = tasks[0]
    good = score(task, rollout(task, answer(DOG), THINK))
    abstain = score(task, rollout(task, answer(None), "I cannot see a brown dog here."))
    wrong = score(task, rollout(task, answer(CAT), THINK))
    assert good.rewards["groundscore"].score > 0.9 and good.reward == good.rewards["groundscore"].value
    assert abstain.reward == pytest.approx(ABSTAIN)
    assert wrong.reward < ABSTAIN
    assert good.info["groundscore"]["outcome"] == "correct" and good.metrics["groundscore/iou"] > 0.9
    assert good.metrics["groundscore/format"] == 1.0  # reasoning_content came back as <think>


def test_reasoning_content_that_contradicts_lowers_the_reward(tasks: list[Task]) -> None:
    task = tasks[0]
    honest = score(task, rollout(task, answer(DOG), THINK))
    absent = score(task, rollout(task, answer(DOG), "I look for a brown dog, but there is no dog in this image at all."))
    assert absent.reward < ABSTAIN < honest.reward
    assert "absent_but_boxed" in absent.info["groundscore"]["reason"]


def test_negative_row(tasks: list[Task]) -> None:
    task = tasks[1]
    assert score(task, rollout(task, answer(None), "There is no unicorn.")).reward == pytest.approx(RewardConfig().correct)
    assert score(task, rollout(task, answer(CAT, "unicorn"), THINK)).reward < ABSTAIN


def test_data_url_pixels_reach_the_chain(tasks: list[Task]) -> None:
    """No image_size on the row: the size comes from the pixels decoded from the prompt's data: URL."""
    from groundscore.integrations.verifiers_env import trace_sample

    task = tasks[0]
    sample = trace_sample(task.data, rollout(task, answer(DOG), THINK))
    assert isinstance(sample["image"], Image.Image) and sample["image_size"] == (640, 480)
    assert sample["query"] == "the brown dog on the left" and sample["solution"] == [DOG]
    assert sample["completion"].startswith("<think>") and sample["completion"].endswith(answer(DOG))


def test_tool_turns_read_the_last_answer(tasks: list[Task]) -> None:
    """A tool loop: assistant -> tool -> assistant; the answer is the last assistant text, the thinking of every turn."""
    task = tasks[0]
    trace = new_trace(task)
    prompt = list(task.data.prompt)
    call = vf.AssistantMessage(content="", reasoning_content="Let me zoom in.",
                               tool_calls=[vf.ToolCall(id="c1", name="zoom", arguments="{}")])
    prepare_turn(trace, prompt).commit(vf.Response(id="a", created=0, model="p", message=call, finish_reason="tool_calls"))
    second = [*prompt, call, vf.ToolMessage(tool_call_id="c1", content="zoomed")]
    final = vf.AssistantMessage(content=answer(DOG), reasoning_content=THINK)
    prepare_turn(trace, second).commit(vf.Response(id="b", created=1, model="p", message=final, finish_reason="stop"))
    assert score(task, trace).reward > 0.9


def test_unscorable_rollout_leaves_the_reward_none(page_taskset: types.ModuleType, tasks: list[Task]) -> None:
    """A chain where no verifier applies: verifiers records the failure, the reward stays None (not a 0)."""
    data = tasks[0].data.model_copy(update={"solution": None})
    task = page_taskset.GroundingTask(data, page_taskset.GroundingTaskConfig(chain={"verifiers": []}))
    trace = rollout(task, answer(DOG), THINK)
    with pytest.raises(vf.TaskError, match="could not score"):
        asyncio.run(task.score(trace))
    assert trace.rewards == {"groundscore": None}
    paid = page_taskset.GroundingTask(data, page_taskset.GroundingTaskConfig(chain={"verifiers": []}, reward={"unscorable": 0.0}))
    assert score(paid, rollout(paid, answer(DOG), THINK)).reward == 0.0


def test_plugged_reward_rescores_a_saved_trace(tasks: list[Task], monkeypatch: pytest.MonkeyPatch) -> None:
    """vf-replay's path: the trace as JSON, read back as ``Trace[WireTaskData, ...]``, scored by a plain ``Task``
    whose config plugs the page's function."""
    monkeypatch.setenv("GROUNDSCORE_COORDS", "original")
    block = next(b for b in code_blocks("verifiers.md", "python") if "groundscore_reward" in b and "rewards=" in b)
    namespace: dict = {}
    exec(compile(block, "docs/rewards/verifiers.md", "exec"), namespace)
    config = namespace["config"]
    saved = json.loads(score(tasks[0], rollout(tasks[0], answer(DOG), THINK)).model_dump_json())
    wire_trace = Trace[WireTaskData, vf.State, vf.AgentConfig].model_validate(saved)
    assert isinstance(wire_trace.task.data, WireTaskData) and wire_trace.task.data.model_extra["solution"] == DOG
    wire_trace.rewards, wire_trace.metrics = {}, {}
    plain = Task(wire_trace.task.data, config=config)
    assert [fn.__name__ for fn in plain.hooks("reward")] == ["groundscore"]
    rescored = score(plain, wire_trace)
    assert rescored.rewards["groundscore"].score == pytest.approx(saved["rewards"]["groundscore"]["score"])
    wrong = Task(wire_trace.task.data.model_copy(update={"solution": CAT}), config=config)
    assert score(wrong, Trace[WireTaskData, vf.State, vf.AgentConfig].model_validate(saved)).reward < ABSTAIN


def test_clarifying_question_is_paid_by_what_the_row_says(tasks: list[Task]) -> None:
    from groundscore.integrations.verifiers_env import score_trace

    task = tasks[0]
    trace = rollout(task, "<answer>Do you mean the brown dog on the left or the one on the grass?</answer>", THINK)
    config = RewardConfig()
    for solution, expected in (({"ambiguous": [DOG, CAT]}, config.clarify_ambiguous_reward),
                               (DOG, config.clarify_unambiguous_reward), (None, config.abstain)):
        data = task.data.model_copy(update={"solution": solution})
        reward = asyncio.run(score_trace(data, trace, chain={"verifiers": ["schema"]}, default_coords="original"))
        assert reward == pytest.approx(expected)
        assert trace.info["groundscore"]["outcome"] == "clarify"
