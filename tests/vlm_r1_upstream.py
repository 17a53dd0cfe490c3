"""VLM-R1's ``iou_reward``, restated from its source: the reference our VLM-R1 reward is held to.

VLM-R1 is not a package on PyPI (it is a training repository), so its
algorithm is restated here from om-ai-lab/VLM-R1,
src/open-r1-multimodal/src/open_r1/vlm_modules/qwen_module.py: the first
``<answer>(.*?)</answer>``, the first ``[int, int, int, int]`` in it,
resized from ``image_grid_thw * 14`` to the original size when given, and its
inclusive-pixel IoU. Shared by tests/test_integration_vlm_r1.py and
benchmarks/bench_reward.py (which puts this folder on ``sys.path``; the
tests folder is not a package).
"""

from __future__ import annotations

import re

ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
BOX = re.compile(r"\[(\d+),\s*(\d+),\s*(\d+),\s*(\d+)]")


def upstream_iou(box1: list[float], box2: list[float]) -> float:
    """VLM-R1's IoU (pixels counted inclusively); 0.0 where the union is empty, where VLM-R1 catches the error."""
    inter_x1, inter_y1 = max(box1[0], box2[0]), max(box1[1], box2[1])
    inter_x2, inter_y2 = min(box1[2] - 1, box2[2] - 1), min(box1[3] - 1, box2[3] - 1)
    inter = (inter_x2 - inter_x1 + 1) * (inter_y2 - inter_y1 + 1) if inter_x1 < inter_x2 and inter_y1 < inter_y2 else 0
    union = (box1[2] - box1[0]) * (box1[3] - box1[1]) + (box2[2] - box2[0]) * (box2[3] - box2[1]) - inter
    return float(inter) / union if union else 0.0


def upstream_iou_reward(content: str, sol: list[float], grid: list[int] | None = None,
                        image_size: tuple[int, int] | None = None) -> float | None:
    """VLM-R1's per-completion computation; None where its regex finds no box."""
    match = ANSWER.search(content)
    if not match:
        return None
    box_match = BOX.search(match.group(1).strip())
    if not box_match:
        return None
    bbox = [int(v) for v in box_match.groups()]
    if grid is not None and image_size is not None:
        input_height, input_width = int(grid[1] * 14), int(grid[2] * 14)
        image_width, image_height = image_size
        bbox = [bbox[0] / input_width * image_width, bbox[1] / input_height * image_height,
                bbox[2] / input_width * image_width, bbox[3] / input_height * image_height]
    return upstream_iou(bbox, sol)


# -- the hook its scripts use (``--is_reward_customized_from_vlm_module True``) and its trainer's call --

def upstream_iou_rewards(completions: list, solution: list, **kwargs: object) -> list[float]:
    """VLM-R1's ``Qwen2VLModule.iou_reward``: per completion, 0.0 where its regex finds no box."""
    grids = kwargs.get("image_grid_thw")
    sizes = kwargs.get("image_size")
    out = []
    for i, (completion, sol) in enumerate(zip(completions, solution, strict=True)):
        grid = list(grids[i]) if grids is not None else None
        size = tuple(sizes[i]) if sizes is not None else None
        value = upstream_iou_reward(completion[0]["content"], sol, grid, size)
        out.append(value if value is not None else 0.0)
    return out


class Qwen2VLModule:
    """The reward hook of VLM-R1's ``vlm_modules/qwen_module.py`` (REC part), as its trainer reaches it."""

    @staticmethod
    def iou_reward(completions: list, solution: list, **kwargs: object) -> list[float]:
        return upstream_iou_rewards(completions, solution, **kwargs)

    @staticmethod
    def format_reward_rec(completions: list, **kwargs: object) -> list[float]:
        pattern = re.compile(r"<think>.*?</think>\s*<answer>.*?\{.*\[\d+,\s*\d+,\s*\d+,\s*\d+\].*\}.*?</answer>", re.DOTALL)
        return [1.0 if pattern.search(c[0]["content"]) else 0.0 for c in completions]

    @staticmethod
    def select_reward_func(func: str, task_type: str):
        if func == "accuracy" and task_type == "rec":
            return Qwen2VLModule.iou_reward
        if func == "format" and task_type == "rec":
            return Qwen2VLModule.format_reward_rec
        raise ValueError(f"Unsupported reward function: {func}")


def trainer_reward_call(reward_func, inputs: list[dict], prompts: list, completions: list) -> list[float]:
    """How VLM-R1's ``VLMGRPOTrainer`` calls a reward function: every input column but prompt, as lists."""
    keys = [key for key in inputs[0] if key not in ["prompt", "completion"]]
    reward_kwargs = {key: [example[key] for example in inputs] for key in keys}
    return reward_func(prompts=prompts, completions=completions, **reward_kwargs)
