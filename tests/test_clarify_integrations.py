"""The clarification rule through every integration: the same three rewards whatever the trainer.

Each trainer's own call shape carries the ambiguous ground truth
(``{"ambiguous": [A, B]}`` as a column value, a JSON label, verl's
``ground_truth``) to the host; a clarifying question is then paid
``clarify_ambiguous`` there, ``clarify_unambiguous`` where ground truth gives
one target, and exactly ``abstain`` without ground truth. (verifiers: in
tests/test_integration_verifiers.py, which builds its tasks.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from groundscore.integrations import openrlhf as gs_openrlhf
from groundscore.integrations import verl as gs_verl
from groundscore.integrations import vlm_r1
from groundscore.integrations.trl import grounding_reward
from groundscore.rewards import RewardConfig

CONFIG = RewardConfig()
CHAIN = {"verifiers": ["schema"]}
PROMPT = "Please provide the bounding box coordinate of the region this sentence describes: the man."
ASK = ("<think>two men</think><answer>Do you mean the man on the left or the one holding the umbrella?</answer>")
LEFT, RIGHT = [10, 10, 50, 50], [100, 100, 150, 150]
AMBIGUOUS = {"ambiguous": [LEFT, RIGHT]}
EXPECTED = [CONFIG.clarify_ambiguous_reward, CONFIG.clarify_unambiguous_reward]
RIGHT_BOX = f'<think>the man</think><answer>[{{"bbox_2d": {RIGHT}, "label": "man"}}]</answer>'


def test_trl() -> None:
    reward = grounding_reward(chain_config=CHAIN)
    rewards = reward(prompts=[PROMPT] * 3, completions=[ASK, ASK, RIGHT_BOX], completion_ids=[[1]] * 3,
                     solution=[AMBIGUOUS, LEFT, json.dumps(AMBIGUOUS)], coords=["original"] * 3)
    assert rewards[:2] == pytest.approx(EXPECTED)
    # a box on the other acceptable target is acceptable but a guess: paid above abstain, below asking
    assert rewards[2] == pytest.approx(CONFIG.guess_range[1]) and CONFIG.abstain < rewards[2] < EXPECTED[0]
    without = grounding_reward(chain_config=CHAIN)(prompts=[PROMPT], completions=[ASK], completion_ids=[[1]])
    assert without == [pytest.approx(CONFIG.abstain)]


def test_vlm_r1() -> None:
    rewards = vlm_r1.grounding_reward([[{"role": "assistant", "content": ASK}]] * 2, [AMBIGUOUS, [LEFT]],
                                      problem=["the man"] * 2, coords=["original"] * 2, chain_config=CHAIN)
    assert rewards == pytest.approx(EXPECTED)


def test_verl() -> None:
    extra = {"question": PROMPT, "coords": "original"}
    out = [gs_verl.compute_score("refcoco", ASK, gt, extra, chain_config=CHAIN)
           for gt in (json.dumps(AMBIGUOUS), {"solution": AMBIGUOUS, "coords": "original"}, LEFT)]
    assert [d["score"] for d in out] == pytest.approx([EXPECTED[0], EXPECTED[0], EXPECTED[1]])
    assert out[0]["clarify"] == 1.0 and out[0]["abstain"] == 0.0


def test_openrlhf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "chain.toml"
    config.write_text('verifiers = ["schema"]\n')
    monkeypatch.setenv("GROUNDSCORE_CONFIG", str(config))
    monkeypatch.setattr(gs_openrlhf, "_default", None)
    labels = [json.dumps({**AMBIGUOUS, "coords": "original"}), json.dumps({"solution": LEFT, "coords": "original"}),
              ""]
    out = gs_openrlhf.reward_func([PROMPT + ASK] * 3, [PROMPT] * 3, labels)
    rewards = [float(v) for v in out["rewards"]]
    assert rewards == pytest.approx([*EXPECTED, CONFIG.abstain])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("httpx")
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from serve_process import running_server

    folder = tmp_path_factory.mktemp("serve-clarify")
    config = folder / "chain.toml"
    config.write_text('verifiers = ["schema"]\n')
    with running_server(["--config", str(config), "--max-wait-ms", "1"], folder / "server.log") as base:
        yield base


def test_server(server: str) -> None:
    import httpx

    labels = [json.dumps({**AMBIGUOUS, "coords": "original"}), json.dumps({"solution": LEFT, "coords": "original"})]
    r = httpx.post(f"{server}/get_reward", json={"query": [PROMPT + ASK] * 2, "prompts": [PROMPT] * 2, "labels": labels},
                   timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["rewards"] == pytest.approx(EXPECTED)
