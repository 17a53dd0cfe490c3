"""Results do not depend on what happens to be installed.

- ``import groundscore`` (and a Qwen2.5-VL parse) never imports qwen-vl-utils:
  its module pulls torch, and its smart_resize would replace ours;
- TOML configurations load through ``tomli`` where ``tomllib`` is missing
  (Python 3.10), in every module that reads TOML;
- the matching without SciPy is tested in tests/test_reward.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSCORE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(path), str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          timeout=120, cwd=path)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_qwen_vl_utils_is_never_imported(tmp_path: Path) -> None:
    # an installed qwen-vl-utils whose smart_resize gives other sizes: it must change nothing
    (tmp_path / "qwen_vl_utils.py").write_text("def smart_resize(h, w, **kw):\n    return (28, 28)\n")
    out = _run(
        """
        import json, sys
        import groundscore
        after_import = "qwen_vl_utils" in sys.modules
        report = groundscore.Chain({"verifiers": ["schema"]}).verify_one(
            {"query": "dog", "completion": '[{"bbox_2d": [100, 100, 200, 200], "label": "dog"}]', "image_size": [1000, 800]})
        from groundscore.parse.coords import smart_resize
        print(json.dumps({"after_import": after_import, "after_parse": "qwen_vl_utils" in sys.modules,
                          "resize": smart_resize(800, 1000), "box": list(report.parsed.boxes[0].xyxy)}))
        """,
        tmp_path,
    )
    assert out["after_import"] is False and out["after_parse"] is False
    assert out["resize"] == [812, 1008]
    expected = [100 * 1000 / 1008, 100 * 800 / 812, 200 * 1000 / 1008, 200 * 800 / 812]
    assert all(abs(a - b) < 1e-9 for a, b in zip(out["box"], expected, strict=True))


def test_toml_loads_through_tomli_without_tomllib(tmp_path: Path) -> None:
    (tmp_path / "groundscore.toml").write_text(
        '[tool.groundscore]\nverifiers = ["schema"]\n\n[reward]\npolicy = "iou"\n[reward.options]\nmatching = "first"\n'
    )
    out = _run(
        """
        import json, sys
        sys.modules["tomllib"] = None  # what Python 3.10 has: no tomllib
        from groundscore.config import ChainConfig
        from groundscore.rewards import RewardConfig
        chain = ChainConfig.from_file("groundscore.toml")
        reward = RewardConfig.from_file("groundscore.toml")
        import groundscore.config, groundscore.rewards.options
        print(json.dumps({"verifiers": chain.verifiers, "options": reward.options,
                          "parsers": [groundscore.config.tomllib.__name__, groundscore.rewards.options.tomllib.__name__]}))
        """,
        tmp_path,
    )
    assert out == {"verifiers": ["schema"], "options": {"matching": "first"}, "parsers": ["tomli", "tomli"]}


def test_every_module_that_reads_toml_has_the_fallback() -> None:
    for path in (ROOT / "groundscore").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "import tomllib" in text:
            assert "import tomli as tomllib" in text, f"{path.relative_to(ROOT)} imports tomllib without the tomli fallback"


def test_integration_reward_objects_pickle() -> None:
    """Ray, multiprocessing and accelerate send reward callables to workers pickled: no locks in their state."""
    import pickle

    from groundscore.integrations import openrlhf, trl, vlm_r1

    schema = {"verifiers": ["schema"]}
    completions = ['<think>x</think><answer>[{"bbox_2d": [10, 10, 50, 50], "label": "dog"}]</answer>']
    solution = [[10, 10, 50, 50]]
    rewards = [
        trl.grounding_reward(chain_config=schema),
        vlm_r1.make_grounding_reward(chain_config=schema, name="gs"),
        openrlhf.OpenRLHFReward(chain_config=schema),
    ]
    pickle.dumps(trl.grounding_reward())  # the default chain too
    trl_copy = pickle.loads(pickle.dumps(rewards[0]))
    assert trl_copy(prompts=["dog"], completions=completions, solution=solution, image_size=[[640, 480]]) == \
        rewards[0](prompts=["dog"], completions=completions, solution=solution, image_size=[[640, 480]])
    r1_copy = pickle.loads(pickle.dumps(rewards[1]))
    assert r1_copy.__name__ == "gs"
    assert r1_copy(completions, solution=solution) == rewards[1](completions, solution=solution)
    orl_copy = pickle.loads(pickle.dumps(rewards[2]))
    assert orl_copy.body(["dog" + completions[0]], None, [solution])["rewards"] == \
        rewards[2].body(["dog" + completions[0]], None, [solution])["rewards"]
