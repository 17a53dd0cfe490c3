"""Worst-case time per sample on hostile text: the chain and every reward function.

Run from the repository root (needs the ``[nlp]`` extra for the default chain)::

    .venv/bin/python benchmarks/bench_hostile_time.py              # 1 MB cases
    .venv/bin/python benchmarks/bench_hostile_time.py --size 65536 # smaller cases
    .venv/bin/python benchmarks/bench_hostile_time.py --only vision,answer

Each case is one sample whose completion, prompt or ground truth is about
``--size`` characters (1 MB by default) of one hostile pattern: every input
that was super-linear before (the REC template on a run of spaces, unclosed
``<|vision_start|>`` and ``<answer>`` tags, malformed JSON that reached
json-repair, the patterns found by auditing every regex), and text that is
merely large (a long thinking, a long label, a long query). The other fields
are an ordinary REC sample.

Entry points: ``Chain.verify`` (the default chain), TRL's
``GroundingReward``, VLM-R1's ``iou_reward``, verl's ``compute_score`` and
OpenRLHF's ``reward_func``; each is called on the one sample (after a
warm-up call on an ordinary sample) and timed, best of ``--repeat``; each
call's hostile text ends differently, so that no content cache answers it.
Time is the process's CPU time (``time.process_time``), which a machine
shared with other work inflates far less than wall-clock time; the wall
time of the slowest case is printed too. Printed: milliseconds per case and
entry point, and the slowest case per entry point against the 100 ms target.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

REC = "Please provide the bounding box coordinate of the region this sentence describes: "
SUFFIX = " First output the thinking process in <think> </think> tags and then output the final answer in <answer> </answer> tags."
PROMPT = REC + "dog on the left." + SUFFIX
COMPLETION = '<think>The dog on the left is the brown one.</think><answer>```json\n[{"bbox_2d": [10, 10, 50, 50], "label": "dog on the left"}]\n```</answer>'
SOLUTION = [10.0, 10.0, 50.0, 50.0]
TARGET_MS = 100.0


def _fill(unit: str, size: int, head: str = "", tail: str = "") -> str:
    return head + unit * max(1, (size - len(head) - len(tail)) // len(unit)) + tail


def cases(size: int) -> dict[str, dict[str, Any]]:
    """Case name -> the sample fields it replaces (completion, prompt or solution)."""
    answer = '<answer>[{"bbox_2d": [10, 10, 50, 50], "label": "dog"}]</answer>'
    kept = min(size, 60_000)
    return {
        "ordinary sample": {},
        # findings of the fuzzing run
        "prompt: REC template, run of spaces": {"prompt": _fill(" ", size, REC + "a", "b")},
        "prompt: REC template, spaces and dots": {"prompt": _fill(" .", size, REC + "a", "b")},
        "prompt: Locate, run of spaces": {"prompt": _fill(" ", size, "Locate", "x and")},
        "prompt: Locate repeated": {"prompt": _fill("Locate ", size)},
        "prompt: unclosed vision spans": {"prompt": _fill("<|vision_start|>", size)},
        "prompt: chat template, many user turns": {"prompt": _fill("<|im_start|>user\nx<|im_end|>", size)},
        "solution: unclosed <answer> tags": {"solution": _fill("<answer>", size)},
        "solution: 1 MB of numbers": {"solution": _fill("1 ", size)},
        "completion: JSON, brackets in an open string": {"completion": _fill("{]1", size, '<answer>[{"label": "')},
        "completion: JSON, objects without keys": {"completion": _fill("{1}", size, "<answer>[")},
        "completion: JSON, mismatched brackets": {"completion": _fill("a]{", size, "<answer>[")},
        "completion: JSON, deep nesting": {"completion": _fill("[", size, "<answer>")},
        # found by auditing every regex
        "completion: '<' and a run of spaces": {"completion": _fill(" ", size, "<")},
        "completion: unclosed <answer> tags": {"completion": _fill("<answer>", size)},
        "completion: end markers": {"completion": _fill("</s> ", size, answer)},
        "completion: grader phrase, newlines in think": {"completion": _fill("\n", size, "<think>", "</think>" + answer)},
        "completion: possessive, run of spaces": {"completion": _fill(" ", size, '<answer>[{"bbox_2d": [10, 10, 50, 50], "label": "a', "'s\"}]</answer>")},
        "completion: Qwen2-VL pair, run of spaces": {"completion": _fill(" ", size, "(1,2)", "x")},
        "completion: Qwen2.5 text line, tabs": {"completion": _fill("\t", size, "", "x")},
        "completion: tool calls": {"completion": _fill("<tool_call>{", size, "", "coordinate action")},
        "completion: bare boxes": {"completion": _fill("[1, 2, 3, 4] ", size, "<answer>", "</answer>")},
        # merely large
        # (under the 65,536-character cut, so that the answer after them is still read)
        "completion: long thinking (words), answer read": {"completion": _fill("The dog is on the left of the cat. ", kept, "<think>", "</think>" + answer)},
        "completion: long label, answer read": {"completion": _fill("dog ", kept, '<answer>[{"bbox_2d": [10, 10, 50, 50], "label": "', '"}]</answer>')},
        "completion: many boxes, answer read": {"completion": _fill('{"bbox_2d": [10, 10, 50, 50], "label": "dog"}, ', kept, "<answer>[", "]</answer>")},
        "prompt: long expression (words)": {"prompt": _fill("dog ", size, REC, "." + SUFFIX)},
    }


def entry_points() -> dict[str, Callable[[str, str, Any], Any]]:
    """Entry point name -> call on one sample (completion, prompt, solution)."""
    from groundscore import Chain
    from groundscore.integrations.openrlhf import OpenRLHFReward
    from groundscore.integrations.trl import GroundingReward
    from groundscore.integrations.verl import compute_score
    from groundscore.integrations.vlm_r1 import iou_reward

    chain = Chain()
    trl = GroundingReward()
    openrlhf = OpenRLHFReward()

    def label(solution: Any) -> str:
        return solution if isinstance(solution, str) else json.dumps({"solution": solution, "image_size": [100, 100]})

    return {
        "chain": lambda c, p, s: chain.verify([{"query": p, "completion": c, "image_size": (100, 100), "coords": "original"}]),
        "trl": lambda c, p, s: trl(prompts=[p], completions=[c], solution=[s], image_size=[(100, 100)]),
        "vlm_r1": lambda c, p, s: iou_reward([[{"role": "assistant", "content": c}]], solution=[s], prompts=[p]),
        "verl": lambda c, p, s: compute_score("refcoco", c, label(s), {"question": p, "image_size": [100, 100]}),
        "openrlhf": lambda c, p, s: openrlhf([p + c], [p], [label(s)]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1_000_000, help="characters of hostile text per case")
    ap.add_argument("--repeat", type=int, default=2, help="calls per case and entry point; the best is kept")
    ap.add_argument("--only", default="", help="comma-separated substrings of case names to run")
    ap.add_argument("--entry", default="", help="comma-separated entry points (default: all)")
    args = ap.parse_args()

    points = entry_points()
    if args.entry:
        points = {k: v for k, v in points.items() if k in args.entry.split(",")}
    table = cases(args.size)
    if args.only:
        keep = [s.strip() for s in args.only.split(",") if s.strip()]
        table = {k: v for k, v in table.items() if k == "ordinary sample" or any(s in k for s in keep)}
    for fn in points.values():  # warm-up: models load, caches fill
        fn(COMPLETION, PROMPT, SOLUTION)

    results: dict[str, dict[str, float]] = {}
    walls: dict[tuple[str, str], float] = {}
    print(f"{'case':52s} " + " ".join(f"{p:>9s}" for p in points) + "   (CPU ms per sample, best of "
          f"{args.repeat}; {args.size:,} characters)", flush=True)
    for name, fields in table.items():
        completion = fields.get("completion", COMPLETION)
        prompt = fields.get("prompt", PROMPT)
        solution = fields.get("solution", SOLUTION)
        row: dict[str, float] = {}
        for point, fn in points.items():
            best = best_wall = float("inf")
            for k in range(args.repeat):
                # a different tail per call, so that no content cache answers the repeat
                tail = f" {point}{k}"
                c = completion + tail if "completion" in fields else completion
                p = prompt + tail if "prompt" in fields else prompt
                s = solution + tail if isinstance(solution, str) and "solution" in fields else solution
                cpu, wall = time.process_time(), time.perf_counter()
                fn(c, p, s)
                best = min(best, time.process_time() - cpu)
                best_wall = min(best_wall, time.perf_counter() - wall)
            row[point] = best * 1000
            walls[(name, point)] = best_wall * 1000
        results[name] = row
        print(f"{name:52s} " + " ".join(f"{row[p]:9.1f}" for p in points), flush=True)

    print("\nslowest case per entry point (target: under 100 ms of CPU):")
    for point in points:
        name, row = max(((n, r) for n, r in results.items() if n != "ordinary sample"), key=lambda nr: nr[1][point])
        verdict = "ok" if row[point] < TARGET_MS else "OVER"
        print(f"  {point:9s} {row[point]:8.1f} ms CPU ({walls[(name, point)]:7.1f} ms wall)  {verdict}  ({name})")


if __name__ == "__main__":
    main()
