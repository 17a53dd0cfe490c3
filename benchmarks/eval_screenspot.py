"""Re-score the VLM-R1 ScreenSpot logs with the click rule, next to the logs' own ``accuracy``.

The logs (``../shared/data/vlmr1-rec-logs/screenspot-*``, Qwen2.5-VL-7B
before and after GRPO, ScreenSpot-v2 desktop) hold a box per answer and the
target element's box. ScreenSpot's rule is that the click, here the centre
of the answered box, falls inside the target box; the logs' ``accuracy``
comes from VLM-R1's own regex and IoU judgement, which misses many answers.
For each log this prints: the logs' ``accuracy`` figure, the share our
parse reads a box from, IoU >= 0.5 on our parse, the click rule on our
parse, and the mean reward of the ``click`` policy.

The screenshots are not in the data, so the image size is unknown: the
boxes are taken as original pixels (``coords="original"``), as VLM-R1's own
scoring takes them. For a 1920x1080 screenshot Qwen2.5-VL's resized input is
1932x1092, so this moves a box by less than 1%.

    python benchmarks/eval_screenspot.py [--data ../shared/data/vlmr1-rec-logs] [--json out/screenspot.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from groundscore.model import Report, Sample, box_iou
from groundscore.parse import parse_completion
from groundscore.plugins.manager import get_registry
from groundscore.rewards import RewardConfig
from groundscore.rewards.click import click_hit, click_point, click_policy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from shared_data import REC_LOGS as DEFAULT_DATA  # noqa: E402


def score_log(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    parsers = get_registry().parsers
    config = RewardConfig()
    n = read = iou_ok = hits = 0
    rewards = []
    for record in data["results"]:
        gt = [float(v) for v in record["ground_truth"]]
        sample = Sample(query=record["question"], completion=record["model_output"], coords="original")
        parsed = parse_completion(sample, parsers, None)
        n += 1
        point = click_point(parsed)
        if parsed.boxes or parsed.points:
            read += 1
        if parsed.boxes and box_iou(parsed.boxes[0].xyxy, gt) >= 0.5:
            iou_ok += 1
        if point is not None and click_hit(point[0], point[1], [gt]):
            hits += 1
        rewards.append(click_policy(Report(parsed=parsed), [gt], config).reward or 0.0)
    return {
        "log": path.name, "n": n, "log_accuracy": data.get("accuracy"),
        "log_correct": sum(int(r.get("correct", 0)) for r in data["results"]) / max(n, 1),
        "read": read / max(n, 1), "iou50": iou_ok / max(n, 1), "click": hits / max(n, 1),
        "click_reward": sum(rewards) / max(len(rewards), 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    logs = sorted(args.data.glob("screenspot-*.json"))
    if not logs:
        print(f"no screenspot-*.json under {args.data}", file=sys.stderr)
        return 1
    rows = [score_log(p) for p in logs]
    print("| log | n | log's accuracy | box read | IoU>=0.5 (ours) | click rule (ours) | mean click reward |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['log']} | {r['n']} | {r['log_accuracy'] / 100:.3f} | {r['read']:.3f} | {r['iou50']:.3f} | "
              f"{r['click']:.3f} | {r['click_reward']:.3f} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
