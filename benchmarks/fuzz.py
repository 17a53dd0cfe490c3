"""Fuzz every public entry point with generated hostile and ordinary model output.

Why: the promise is that model text never crashes a training loop, never
takes unbounded time, and never buys a reward it did not earn. Unit tests
check the cases someone thought of; this run feeds a large, deterministic
stream of generated inputs, real completions from the VLM-R1 logs mutated
in every way a policy (or an attacker) can write them, through:

- the API: ``groundscore.verify`` and ``Chain.verify`` (with an isolation
  check: a sample's report alone equals its report inside its batch);
- ``Rewarder.score`` under every registered reward policy;
- every integration's reward function: TRL (sync and async), VLM-R1,
  verl (per sample, async, batch) and OpenRLHF (``OpenRLHFReward`` and
  ``reward_func``);
- the command line (``groundscore verify``, ``verify --from vlm-r1``,
  ``filter`` and ``parse`` on files written here, in process through
  ``groundscore.cli.main``);
- a live ``groundscore serve`` on 127.0.0.1 (well-formed and malformed
  requests, two clients at once, ``/health`` pinged throughout).

Each generated input goes to one entry point (a weighted, seeded choice);
the large inputs (64 KB to 1 MB) and the known findings go, one at a time,
to every in-process entry point; any other input over 64 KB runs alone. Printed: per entry point the inputs, the escaped
exceptions (deduplicated by type and location, each with a reproducer),
contract violations (one result per input, finite rewards in the documented
range, every Report serialises, a failed or erroring gate never accepts,
CLI exit 0 with one line per input line, server errors as ``{"error": ...}``),
verifier errors the chain contained, the slowest single input (CPU time of
this process; wall time beside it) and the inputs over 100 ms, and RSS at
start, after warm-up and at the end (this process and the server).

Run from the repository root (needs the ``[nlp,server]`` extras and ../shared/data)::

    .venv/bin/python benchmarks/fuzz.py --quick          # about 5,000 inputs
    .venv/bin/python benchmarks/fuzz.py                  # 100,000 inputs
    .venv/bin/python benchmarks/fuzz.py --write-docs     # also rewrites docs/fuzzing.md

Every run with the same ``--seed`` and ``--n`` generates the same inputs.
Reproducers of every finding are written in full (JSON, lone surrogates
escaped) to ``--repro-dir``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import json
import logging
import math
import os
import platform
import pstats
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from shared_data import COOKBOOK, REC_LOGS  # tests/shared_data.py: one definition of the data folder  # noqa: E402

REC_PREFIX = "Please provide the bounding box coordinate of the region this sentence describes: "
R1_SUFFIX = " First output the thinking process in <think> </think> tags and then output the final answer in <answer> </answer> tags."
RETIME_RUNS = 3  # a slow input is rerun alone this many times and its best time kept
SLOW_MS = 100.0  # the target: no input of at most 1 MB takes longer in the chain or a reward function
LARGE = 64 * 1024  # inputs at least this long run one at a time, through every in-process entry point
SURROGATES = ("\ud800", "\udfff", "\udc80", "\udbff")
CONFUSABLES = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і", "l": "ӏ", "s": "ѕ",
               "0": "０", "1": "１", "2": "２", "5": "５", "9": "９", ",": "，", "[": "［", "]": "］", ":": "："}
INVISIBLE = ("\u200b", "\u200d", "\u2060", "\ufeff", "\u202e", "\u2066", "\u00ad", "\u180e")
CONTROL = ("\x00", "\x1b[31m", "\r", "\x0b", "\x7f", "\u2028", "\u2029", "\x85", "\x00" * 64)
WEIRD_NUMBERS = ("NaN", "Infinity", "-Infinity", "1e309", "-1e308", "1e-320", "1" + "0" * 40, "-5", "0x1F", '"12"',
                 "1_000", "3.0e2", "-0", "", "null", "true", "9" * 400, "1." + "5" * 300, "-" + "9" * 30, "4e4000",
                 "0.000000001", "２３", "1/2", "[1]", "{}")


# ---------------------------------------------------------------------------------------------
# seeds: real completions
# ---------------------------------------------------------------------------------------------
@dataclass
class Seed:
    question: str
    completion: str
    solution: Any
    image: str | None


def load_seeds() -> list[Seed]:
    """Every record of the VLM-R1 logs and the cookbook outputs (real completions to mutate)."""
    seeds: list[Seed] = []
    for path in sorted(REC_LOGS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for r in data.get("results") or []:
            if isinstance(r, dict) and isinstance(r.get("model_output"), str):
                seeds.append(Seed(str(r.get("question") or ""), r["model_output"], r.get("ground_truth"), r.get("image")))
    cookbook = COOKBOOK / "cookbook_outputs_transcribed.json"
    if cookbook.exists():
        for r in json.loads(cookbook.read_text(encoding="utf-8")).get("records") or []:
            out = r.get("output") or r.get("model_output") or ""
            if isinstance(out, str) and out:
                seeds.append(Seed(str(r.get("prompt") or ""), out, None, None))
    if not seeds:  # no shared data: a handful of written ones, so the run still means something
        for i, q in enumerate(["dog on the left", "red car", "man in white shirt", "second cup from right"]):
            seeds.append(Seed(REC_PREFIX + q + ".", f'<think>the {q}</think><answer>[{{"bbox_2d": [{10 + i}, 20, 200, 300], '
                                                  f'"label": "{q}"}}]</answer>', [10 + i, 20, 200, 300], None))
    return seeds


def parser_examples() -> list[str]:
    """Each registered parser's own example output (every format, not only Qwen's)."""
    from groundscore.plugins.manager import get_registry

    return [p.example for p in get_registry().parsers.values() if getattr(p, "example", None)]


def expression(question: str) -> str:
    """The referring expression of a REC prompt (a plain split: the library's own reader is under test)."""
    text = question.split("describes:", 1)[-1]
    return text.split(" First output", 1)[0].strip().rstrip(".").strip() or question[:200]


# ---------------------------------------------------------------------------------------------
# the generator
# ---------------------------------------------------------------------------------------------
@dataclass
class Case:
    """One generated input: the sample fields plus the prompt a trainer would hold."""

    index: int
    fields: dict[str, Any]
    prompt: Any
    kinds: list[str]
    single: bool = False  # large or known slow: runs alone, through every in-process entry point
    slow_known: bool = False  # a known super-linear shape (kept away from the async entry points)
    source: tuple[str, int, int] = ("", 0, 0)  # how to make it again: ("case", index, 0), ("large", index, size), ...

    @property
    def completion(self) -> Any:
        return self.fields.get("completion", "")

    def size(self) -> int:
        return sum(len(v) if isinstance(v, str | bytes) else len(repr(v)) for v in (*self.fields.values(), self.prompt))

    def describe(self) -> str:
        return f"#{self.index} {'+'.join(self.kinds) or 'ordinary'} ({_human(self.size())})"

    def ref(self) -> CaseRef:
        """What the run keeps of an input it may time again: how to make it, not the text (up to 1 MB)."""
        return CaseRef(self.source, self.describe(), self.size(), tuple(self.kinds))


@dataclass(frozen=True)
class CaseRef:
    """A kept input: its recipe and description; ``Generator.rebuild`` makes the same input again."""

    source: tuple[str, int, int]
    text: str
    length: int
    kinds: tuple[str, ...]

    def describe(self) -> str:
        return self.text

    def size(self) -> int:
        return self.length


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} MB"


class Generator:
    """Seeded stream of cases: real completions, mutated (or not), with mutated fields around them."""

    def __init__(self, seed: int, seeds: list[Seed], examples: list[str]) -> None:
        self.seed = seed
        self.rng = random.Random(seed)  # reseeded for every input (see _start), so that any input can be made again
        self.pick = random.Random(seed)  # the run's own choices (entry points, malformed requests)
        self.seeds = seeds
        self.examples = examples or ['[{"bbox_2d": [1, 2, 3, 4], "label": "x"}]']

    # -- text mutations: each takes the text and returns it changed ----------------------------
    def _pos(self, text: str) -> int:
        return self.rng.randrange(len(text) + 1)

    def _insert(self, text: str, piece: str) -> str:
        at = self._pos(text)
        return text[:at] + piece + text[at:]

    def m_surrogate(self, text: str) -> str:
        s = self.rng.choice(SURROGATES)
        if self.rng.random() < 0.5 and '"label": "' in text:  # JSON-escaped: plain ASCII text that decodes to one
            return text.replace('"label": "', '"label": "' + "banana\\" + "ud800 ", 1)
        return self._insert(text, s)

    def m_control(self, text: str) -> str:
        return self._insert(text, self.rng.choice(CONTROL))

    def m_confusable(self, text: str) -> str:
        chars = list(text)
        for _ in range(self.rng.randint(1, 8)):
            if chars:
                i = self.rng.randrange(len(chars))
                chars[i] = CONFUSABLES.get(chars[i].lower(), chars[i] + self.rng.choice(INVISIBLE))
        return "".join(chars)

    def m_number(self, text: str) -> str:
        digits = [i for i, ch in enumerate(text) if ch.isdigit() and (i == 0 or not text[i - 1].isdigit())]
        if not digits:
            return self._insert(text, f"[{self.rng.choice(WEIRD_NUMBERS)}, 2, 3, 4]")
        for _ in range(self.rng.randint(1, 4)):
            i = self.rng.choice(digits)
            j = i
            while j < len(text) and (text[j].isdigit() or text[j] == "."):
                j += 1
            text = text[:i] + self.rng.choice(WEIRD_NUMBERS) + text[j:]
            digits = [k for k in digits if k < len(text) and text[k].isdigit()] or [0]
        return text

    def m_coords(self, text: str) -> str:
        vals = [self.rng.choice([-1e9, -100, -1, 0, 0.5, 1, 999, 1000, 1001, 28 * 80, 1e6, 2**31, 2**63, 1e18, -2**63])
                for _ in range(self.rng.choice([4, 4, 4, 2, 3, 5, 8, 0]))]
        box = json.dumps(vals)
        return f'<think>{text[:80]}</think><answer>[{{"bbox_2d": {box}, "label": "x"}}]</answer>'

    def m_tags(self, text: str) -> str:
        op = self.rng.randrange(8)
        if op == 0:
            return text.replace("</answer>", "", 1)
        if op == 1:
            return text + text[text.find("<answer>"):] if "<answer>" in text else "<answer>" + text
        if op == 2:
            return "<think>" + text.replace("<think>", "").replace("</think>", "")  # never closed
        if op == 3:
            return text.replace("<think>", "<ANSWER>").replace("</think>", "</ANSWER>")
        if op == 4:
            return "<answer>" * self.rng.randint(2, 300) + text
        if op == 5:
            return text.replace("<answer>", "<think><answer>", 1) + "</think>"
        if op == 6:
            return "</answer></think>" + text + "<think><answer>"
        return "".join(self.rng.choice(["<think>", "</think>", "<answer>", "</answer>", "<ref>", "</box>", "<|box_start|>",
                                        "```json", "```", "<", ">", "/"]) for _ in range(self.rng.randint(1, 60))) + text

    def m_truncate(self, text: str) -> str:
        return text[: self._pos(text)]

    def m_many_boxes(self, text: str) -> str:
        n = self.rng.choice([50, 300, 1000, 3000])
        item = '{"bbox_2d": [10, 20, 30, 40], "label": "x"}'
        return "<answer>[" + ",".join([item] * n) + "]</answer>"

    def m_nesting(self, text: str) -> str:
        depth = self.rng.choice([20, 200, 1000, 5000, 50000])
        opener = self.rng.choice(["[", "{", '{"a":', "[{", '{"bbox_2d":['])
        closed = self.rng.random() < 0.5
        closer = {"[": "]", "{": "}", '{"a":': "}", "[{": "}]", '{"bbox_2d":[': "]}"}[opener]
        body = opener * depth + ("1" if opener in ("[", '{"a":') else "") + (closer * depth if closed else "")
        return self.rng.choice(["```json\n{}\n```", "<answer>{}</answer>", "{}"]).format(body)

    def m_spaces(self, text: str) -> str:
        return self._insert(text, self.rng.choice([" ", "\t", "\n", "\u3000", "\xa0"]) * self.rng.choice([50, 400, 2000]))

    def m_repair_bait(self, text: str) -> str:
        n = self.rng.choice([10, 100, 600])
        return '<answer>[{"bbox_2d": [1, 2, 30, 40], "label": "' + "{[" * n + '"' + ", {" * self.rng.randint(0, 3) + "</answer>"

    def m_garbage(self, text: str) -> str:
        n = self.rng.choice([1, 10, 200, 2000])
        if self.rng.random() < 0.5:
            raw = bytes(self.rng.randrange(256) for _ in range(n))
            return raw.decode("utf-8", errors="surrogateescape")  # undecodable bytes as lone surrogates
        return "".join(chr(self.rng.choice([self.rng.randrange(32, 127), self.rng.randrange(0x80, 0x2FFF),
                                            self.rng.randrange(0x1F300, 0x1FAFF), self.rng.randrange(0xE000, 0xF8FF)]))
                       for _ in range(n))

    def m_format(self, text: str) -> str:
        return self.m_number(self.rng.choice(self.examples)) if self.rng.random() < 0.5 else self.rng.choice(self.examples)

    def m_splice(self, text: str) -> str:
        other = self.rng.choice(self.seeds).completion
        return text[: self._pos(text)] + other[self.rng.randrange(len(other) + 1):]

    def m_relabel(self, text: str) -> str:
        other = expression(self.rng.choice(self.seeds).question)
        return text.replace('"label": "', f'"label": "{other}', 1) if '"label": "' in text else text

    def m_empty(self, text: str) -> str:
        return self.rng.choice(["", " ", "\n\n", "<answer></answer>", "<think></think><answer></answer>", "[]", "{}",
                                "None", "null", "no object found", "<answer>[]</answer>"])

    MUTATIONS: tuple[tuple[str, float], ...] = (
        ("surrogate", 3), ("control", 2), ("confusable", 2), ("number", 4), ("coords", 3), ("tags", 4),
        ("truncate", 3), ("many_boxes", 0.5), ("nesting", 1), ("spaces", 1), ("repair_bait", 0.5), ("garbage", 2),
        ("format", 3), ("splice", 2), ("relabel", 3), ("empty", 1),
    )

    # -- fields around the completion ----------------------------------------------------------
    def query(self, seed: Seed) -> tuple[Any, list[str]]:
        q = expression(seed.question)
        r = self.rng.random()
        if r < 0.80:
            return q, []
        choice = self.rng.randrange(9)
        if choice == 0:
            return q + self.rng.choice(SURROGATES), ["query:surrogate"]
        if choice == 1:
            return self.m_confusable(q), ["query:confusable"]
        if choice == 2:
            return "", ["query:empty"]
        if choice == 3:
            return None, ["query:none"]
        if choice == 4:
            return self.rng.choice([42, ["dog", "cat"], {"text": "dog"}, 3.5, True]), ["query:not-text"]
        if choice == 5:
            return q + " " * self.rng.choice([100, 1000]) + "x", ["query:spaces"]
        if choice == 6:
            return self.m_garbage(q), ["query:garbage"]
        if choice == 7:
            return q * self.rng.choice([10, 100]), ["query:long"]
        return q + "\x00" + q, ["query:nul"]

    def image_size(self) -> tuple[Any, list[str]]:
        r = self.rng.random()
        if r < 0.6:
            return self.rng.choice([[640, 480], [427, 640], [1920, 1080], [500, 375], [2560, 1440]]), []
        if r < 0.8:
            return None, []
        bad = self.rng.choice([[0, 0], [-1, 5], [1e9, 1e9], "640x480", [float("nan"), 1], [640], [1, 1], [10**12, 3],
                               [640.5, 480.2], True, {"w": 1}, [float("inf"), 480]])
        return bad, ["image_size:odd"]

    def solution(self, seed: Seed) -> tuple[Any, list[str]]:
        gt = seed.solution
        r = self.rng.random()
        if r < 0.55:
            return gt, []
        if r < 0.65:
            return None, []
        if r < 0.72:
            return [], ["solution:negative"]
        choice = self.rng.randrange(10)
        if choice == 0 and isinstance(gt, list):
            return "<answer>" + json.dumps(gt) + "</answer>", ["solution:text"]
        if choice == 1:
            return [float("nan"), 1, 2, 3], ["solution:nan"]
        if choice == 2:
            return json.dumps(gt) if gt is not None else "[1, 2, 3]", ["solution:json"]
        if choice == 3:
            return [[1, 2, 3, 4]] * self.rng.choice([2, 100, 2000]), ["solution:many"]
        if choice == 4:
            return {"bbox": gt, "x": [1]}, ["solution:dict"]
        if choice == 5:
            return self.m_garbage(""), ["solution:garbage"]
        if choice == 6:
            return "[" * self.rng.choice([10, 1000, 100000]), ["solution:nested"]
        if choice == 7:
            return [-1e308, 1e308, -5, 2**70], ["solution:huge"]
        if choice == 8:
            return "<answer>" * self.rng.choice([10, 500]), ["solution:answer-tags"]
        return [1, 2, 3], ["solution:short"]

    def prompt(self, seed: Seed, query: Any) -> tuple[Any, list[str]]:
        base = seed.question if seed.question.startswith("Please") else REC_PREFIX + (query if isinstance(query, str) else "x") + "."
        if self.rng.random() < 0.3:
            base += R1_SUFFIX
        r = self.rng.random()
        kinds: list[str] = []
        if r < 0.1:
            base = base.replace("describes: ", "describes: " + self.rng.choice(SURROGATES), 1)
            kinds.append("prompt:surrogate")
        elif r < 0.15:
            base = "<|vision_start|><|image_pad|><|vision_end|>" * self.rng.randint(1, 5) + base
            kinds.append("prompt:vision")
        elif r < 0.18:
            base = self.m_garbage(base)
            kinds.append("prompt:garbage")
        if self.rng.random() < 0.4:  # conversational
            return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": base}]}], [*kinds, "chat"]
        return base, kinds

    def _start(self, what: str, index: int) -> None:
        self.rng = random.Random(f"{self.seed}/{what}/{index}")

    def rebuild(self, ref: CaseRef) -> Case:
        """The kept input again, from its recipe (the run keeps recipes, not texts of up to 1 MB)."""
        what, index, extra = ref.source
        if what == "case":
            return self.case(index)
        if what == "large":
            return self.large(index, extra)
        if what == "known":
            return known_cases(extra)[index - extra]
        raise ValueError(f"cannot make {ref.text} again")

    def case(self, index: int) -> Case:
        self._start("case", index)
        seed = self.rng.choice(self.seeds)
        text = seed.completion
        kinds: list[str] = []
        n = self.rng.choices([0, 1, 2, 3], weights=[30, 40, 20, 10])[0]
        names = [m for m, _ in self.MUTATIONS]
        weights = [w for _, w in self.MUTATIONS]
        for name in self.rng.choices(names, weights=weights, k=n):
            text = getattr(self, "m_" + name)(text)
            kinds.append(name)
        query, qk = self.query(seed)
        size, sk = self.image_size()
        solution, solk = self.solution(seed)
        prompt, pk = self.prompt(seed, query)
        fields: dict[str, Any] = {"completion": text, "query": query, "id": f"c{index}"}
        if size is not None:
            fields["image_size"] = size
        if solution is not None:
            fields["solution"] = solution
        if self.rng.random() < 0.2:
            fields["coords"] = self.rng.choice(["qwen25", "norm1000", "original", "original:xywh", "norm1", "bogus", 5, None])
            kinds.append("coords")
        if self.rng.random() < 0.05:
            fields["format"] = self.rng.choice([*list(self._parser_names()), "nope", 3])
            kinds.append("format")
        if self.rng.random() < 0.03:
            fields[self.rng.choice(["qeury", "completions", "meta", "image", "other"])] = self.rng.choice(
                ["dog", {"a": 1}, None, 5, "/no/such/image.png", "x" * 300 + ".png"])
            kinds.append("extra-key")
        if self.rng.random() < 0.02:
            fields["completion"] = text.encode("utf-8", errors="surrogatepass")
            kinds.append("bytes")
        return Case(index, fields, prompt, kinds + qk + sk + solk + pk, source=("case", index, 0))

    def _parser_names(self) -> list[str]:
        from groundscore.plugins.manager import get_registry

        return list(get_registry().parsers)

    def large(self, index: int, target: int) -> Case:
        """A case of about ``target`` characters: repeated real completions, garbage or brackets."""
        self._start("large", index)
        kind = self.rng.choice(["repeat", "garbage", "brackets", "digits", "think", "boxes"])
        seed = self.rng.choice(self.seeds)
        if kind == "repeat":
            text = (seed.completion * (target // max(1, len(seed.completion)) + 1))[:target]
        elif kind == "garbage":
            text = "".join(chr(self.rng.randrange(32, 0x2FFF)) for _ in range(target))
        elif kind == "brackets":
            text = "".join(self.rng.choice('[]{},:"0123456789 ') for _ in range(target))
        elif kind == "digits":
            text = "<answer>[" + "1," * (target // 2) + "1]</answer>"
        elif kind == "think":
            text = "<think>" + (expression(seed.question) + " on the left. ") * (target // 40) + "</think>" + seed.completion
        else:
            item = '{"bbox_2d": [10, 20, 30, 40], "label": "' + expression(seed.question) + '"},'
            text = "<answer>[" + item * (target // len(item)) + "]</answer>"
        q = expression(seed.question)
        return Case(index, {"completion": text, "query": q, "id": f"c{index}", "image_size": [640, 480],
                            "solution": seed.solution}, REC_PREFIX + q + ".", [f"large:{kind}"], single=True,
                    source=("large", index, target))


def known_cases(start: int) -> list[Case]:
    """The findings of issue 12 as inputs (sized to take seconds, not minutes, where they are super-linear)."""
    wrong_label = '<think>the banana on the left</think><answer>[{"bbox_2d": [10, 10, 50, 50], "label": "dog"}]</answer>'
    cases = [
        Case(0, {"completion": '<answer>[{"bbox_2d": [10, 10, 50, 50], "label": "banana\\ud800"}]</answer>', "query": "banana",
                 "image_size": [100, 100], "coords": "original", "solution": [10, 10, 50, 50]},
             REC_PREFIX + "banana.", ["known:1-escaped-surrogate-label"]),
        Case(0, {"completion": wrong_label, "query": "banana", "image_size": [100, 100], "coords": "original",
                 "solution": [10, 10, 50, 50]}, REC_PREFIX + "banana.", ["known:1-wrong-label-neighbour"]),
        Case(0, {"completion": "<answer>[{\"bbox_2d\": [1, 2, 30, 40], \"label\": \"cat\ud800\"}]</answer>", "query": "cat\udfff",
                 "id": "id\ud800", "meta": {"k\udc80": "v\ud800"}, "image_size": [640, 480]},
             REC_PREFIX + "cat\ud800.", ["known:2-raw-surrogates-everywhere"]),
        Case(0, {"completion": wrong_label, "query": "banana"}, REC_PREFIX + "dog" + " " * 500 + "x",
             ["known:3-rec-template-spaces"], single=True, slow_known=True),
        Case(0, {"completion": wrong_label, "query": "chair in foreground" + " " * 300 + "x"}, REC_PREFIX + "chair.",
             ["known:3-rec-template-in-query"], single=True, slow_known=True),  # "foreground" matches the "Ground ..." template
        Case(0, {"completion": wrong_label, "query": "banana"}, "<|vision_start|>" * 3000 + REC_PREFIX + "dog.",
             ["known:3-vision-span-prompt"], single=True, slow_known=True),
        Case(0, {"completion": wrong_label, "query": "banana", "solution": "<answer>" * 2000},
             REC_PREFIX + "banana.", ["known:3-answer-tags-in-solution"], single=True, slow_known=True),
        Case(0, {"completion": '<answer>[{"bbox_2d": [1, 2, 30, 40], "label": "' + "{[" * 4000 + '"</answer>', "query": "x"},
             REC_PREFIX + "x.", ["known:3-json-repair-braces-in-string"], single=True, slow_known=True),
        Case(0, {"completion": wrong_label, "query": "banana", "image": "x" * 300 + ".png"}, REC_PREFIX + "banana.",
             ["known:4-long-image-path"]),
        Case(0, {"completion": wrong_label, "qeury": "banana"}, "", ["known:5-misspelt-key"]),
    ]
    for i, c in enumerate(cases):
        c.index = start + i
        c.source = ("known", start + i, start)
        c.fields.setdefault("id", f"k{i}")
    return cases


# ---------------------------------------------------------------------------------------------
# findings
# ---------------------------------------------------------------------------------------------
class FuzzTimeout(BaseException):
    """Raised by the watchdog; a BaseException so that the library's ``except Exception`` cannot swallow it."""


@contextlib.contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    def fire(*_: Any) -> None:
        raise FuzzTimeout(f"no answer within {seconds:g} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class Clock:
    """CPU and wall time of the library call alone (the checks around it are not timed)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.cpu = self.wall = 0.0
        self.used = False

    timer: Callable[[], float] = staticmethod(time.process_time)  # the retiming sets the calling thread's clock

    def __enter__(self) -> Clock:
        self._cpu, self._wall = self.timer(), time.perf_counter()
        return self

    def __exit__(self, *_: Any) -> None:
        self.cpu += self.timer() - self._cpu
        self.wall += time.perf_counter() - self._wall
        self.used = True


CLOCK = Clock()


class GcClock:
    """Wall time the garbage collector ran (any generation) since the last reset: a full collection of the process
    heap can land on any call, and how much of a slow input's time it was is printed beside that time."""

    def __init__(self) -> None:
        self.total = 0.0
        self._start = 0.0

    def reset(self) -> None:
        self.total = 0.0

    def callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._start


GC_CLOCK = GcClock()


class ContractError(AssertionError):
    """A result that breaks a promise (count, range, serialisation, exit code), not an exception."""


def location(exc: BaseException) -> str:
    """Where an exception was raised: the innermost frame in groundscore (else the innermost frame)."""
    if isinstance(exc, ContractError):
        return "contract"
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/groundscore/" in f.filename.replace("\\", "/")]
    frame = (ours or frames or [None])[-1]
    if frame is None:
        return "?"
    path = frame.filename.replace("\\", "/")
    path = path.split("/groundscore/", 1)[-1] if "/groundscore/" in path else Path(path).name
    return f"{path}:{frame.lineno} ({frame.name})"


def short(value: Any, limit: int = 160) -> str:
    """A reproducer-sized repr: long strings and lists are abbreviated with their length."""
    if isinstance(value, str | bytes) and len(value) > limit:
        return f"{value[: limit // 2]!r}...<{len(value)} chars>...{value[-20:]!r}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{short(k, 40)}: {short(v, limit)}" for k, v in value.items()) + "}"
    if isinstance(value, list) and len(value) > 8:
        return f"[{', '.join(short(v, 40) for v in value[:4])}, ...<{len(value)} items>]"
    if isinstance(value, list):
        return "[" + ", ".join(short(v, limit) for v in value) + "]"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"...<{len(text)} chars>"


@dataclass
class Finding:
    entry: str
    kind: str  # "exception", "contract", "timeout", "contained", "isolation", "server-error"
    error: str
    where: str
    count: int = 0
    cases: list[Case] = field(default_factory=list)
    detail: str = ""

    def reproducer(self) -> str:
        cases = self.cases[:3]
        body = ", ".join(short(c.fields) for c in cases) + (f", ...<{len(self.cases)} cases>" if len(self.cases) > 3 else "")
        prompts = ", ".join(short(c.prompt) for c in cases)
        return f"{self.entry}([{body}])" + (f"  prompts=[{prompts}]" if any(c.prompt for c in cases) else "")


class Findings:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str, str], Finding] = {}

    def add(self, entry: str, kind: str, error: str, where: str, cases: Sequence[Case], detail: str = "") -> Finding:
        key = (entry, kind, error.split(":", 1)[0] if kind != "contract" else error[:60], where)
        f = self.items.get(key)
        if f is None:
            f = self.items[key] = Finding(entry, kind, error, where, 0, list(cases), detail)
        elif sum(c.size() for c in cases) < sum(c.size() for c in f.cases):  # keep the smallest reproducer
            f.cases, f.error, f.detail = list(cases), error, detail or f.detail
        f.count += 1
        return f

    def of_kind(self, *kinds: str) -> list[Finding]:
        return [f for f in self.items.values() if f.kind in kinds]


# ---------------------------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------------------------
def finite_in(value: Any, lo: float, hi: float, allow_none: bool, what: str) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ContractError(f"{what} is {type(value).__name__} {value!r}, not a float")
    if not math.isfinite(value) or not lo - 1e-9 <= value <= hi + 1e-9:
        raise ContractError(f"{what} {value!r} outside [{lo}, {hi}]")


def check_count(results: Sequence[Any], n: int, what: str) -> None:
    if len(results) != n:
        raise ContractError(f"{what}: {len(results)} results for {n} inputs")


def check_reports(reports: Sequence[Any], n: int, gates: frozenset[str]) -> None:
    from groundscore.model import Report

    check_count(reports, n, "reports")
    for r in reports:
        if not isinstance(r, Report):
            raise ContractError(f"a {type(r).__name__}, not a Report")
        finite_in(r.confidence, 0.0, 1.0, False, "confidence")
        if r.decision not in ("accept", "reject", "abstain"):
            raise ContractError(f"decision {r.decision!r}")
        try:
            json.loads(r.model_dump_json())  # every report serialises
        except Exception as exc:  # noqa: BLE001 - a report that cannot be written is a broken promise
            raise ContractError(f"Report.model_dump_json() raises {type(exc).__name__}: {str(exc)[:120]}") from None
        if r.decision == "accept":
            failed = [v.verifier for v in r.verdicts if v.gate is False]
            if failed:
                raise ContractError(f"accepted with failed gate(s) {failed}")
            errored = [v.verifier for v in r.verdicts if v.code == "error" and v.verifier in gates]
            if errored:
                raise ContractError(f"accepted although gate verifier(s) {errored} failed with an error (fail open)")


def signature(report: Any) -> tuple[Any, ...]:
    return (report.decision, round(report.confidence, 6),
            tuple((v.verifier, None if v.score is None else round(v.score, 6), v.gate, v.code) for v in report.verdicts))


# ---------------------------------------------------------------------------------------------
# entry points
# ---------------------------------------------------------------------------------------------
@dataclass
class Entry:
    name: str
    weight: float
    batch: int
    run: Callable[[list[Case]], None]
    target: bool = True  # chain or reward function: held to the 100 ms per input target
    in_process: bool = True
    takes_slow: bool = True  # may run the known slow shapes (the async forms run them in a thread: no watchdog there)
    inputs: int = 0
    batches: int = 0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    # Only the slowest calls are kept, and of their inputs only the recipes: keeping the inputs themselves (up to
    # 1 MB each) would make this run's own RSS grow, and that growth is one of the things it measures.
    timings: list[tuple[float, float, list[CaseRef]]] = field(default_factory=list)  # slowest calls: (cpu, wall, inputs)
    single: list[tuple[float, float, CaseRef]] = field(default_factory=list)  # per input, run alone

    KEEP = 16

    def keep_call(self, cpu: float, wall: float, cases: list[Case]) -> None:
        """Remember a call if it is among the slowest (bounded, so that the run holds no input it does not need)."""
        if len(self.timings) < self.KEEP or cpu > self.timings[-1][0]:
            self.timings.append((cpu, wall, [c.ref() for c in cases]))
            self.timings.sort(key=lambda t: -t[0])
            del self.timings[self.KEEP:]

    def keep_single(self, cpu: float, wall: float, case: Case | CaseRef) -> None:
        """Remember one input's time: the slowest few, and every one over the target (up to 200)."""
        self.single.append((cpu, wall, case.ref() if isinstance(case, Case) else case))
        if len(self.single) > 4 * self.KEEP:
            self.single.sort(key=lambda t: -t[0])
            over = sum(1 for t in self.single if 1000 * t[0] > SLOW_MS)
            del self.single[max(self.KEEP, min(over, 200)):]


def as_chat(text: Any) -> list[dict[str, Any]]:
    return [{"role": "assistant", "content": text}]


def text_of(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="surrogateescape")
    return value if isinstance(value, str) else json.dumps(value, default=repr) if value is not None else ""


def chat_prompt(case: Case) -> str:
    """The prompt as OpenRLHF decodes it (a chat template around the text)."""
    p = case.prompt
    text = p[0]["content"][1]["text"] if isinstance(p, list) else text_of(p)
    return f"<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>{text}<|im_end|>\n<|im_start|>assistant\n"


def label_of(case: Case) -> str:
    f = case.fields
    label = {k: f[k] for k in ("solution", "image_size", "coords") if k in f}
    return json.dumps(label, default=repr)  # NaN as NaN, lone surrogates as \\ud800 escapes


class InProcess:
    """The in-process entry points, built once (models load here)."""

    def __init__(self) -> None:
        import groundscore
        from groundscore.chain import Chain
        from groundscore.integrations import openrlhf, trl, verl, vlm_r1
        from groundscore.plugins.manager import get_registry
        from groundscore.rewards import Rewarder

        self.groundscore = groundscore
        self.chain = Chain({"verifiers": ["schema", "label_match", "consistency", "spatial"]})  # no agreement: it reads the batch
        self.gates = frozenset(v.name for v in Chain().verifiers if getattr(v, "is_gate", False))
        self.policies = sorted(get_registry().reward_policies)
        self.rewarders = {p: Rewarder({"policy": p}) for p in self.policies}
        self.trl = trl.grounding_reward()
        self.trl_async = trl.grounding_reward(asynchronous=True)
        self.vlm_r1 = vlm_r1
        self.verl = verl
        self.openrlhf = openrlhf.OpenRLHFReward()
        self.openrlhf_module = openrlhf
        self.isolation_every = 7
        self._calls = 0
        self.on_reports: Callable[[Sequence[Any], Sequence[Case]], None] = lambda reports, cases: None

    # -- API ---------------------------------------------------------------------------------
    def verify(self, cases: list[Case]) -> None:
        with CLOCK:
            reports = self.groundscore.verify([c.fields for c in cases])
        self.on_reports(reports, cases)
        check_reports(reports, len(cases), self.gates)

    def chain_verify(self, cases: list[Case]) -> None:
        with CLOCK:
            reports = self.chain.verify([c.fields for c in cases])
        self.on_reports(reports, cases)
        check_reports(reports, len(cases), self.gates)
        self._calls += 1
        if self.isolation_every and len(cases) > 1 and self._calls % self.isolation_every == 0:
            k = self._calls % len(cases)
            alone = self.chain.verify([cases[k].fields])[0]
            if signature(alone) != signature(reports[k]):
                raise IsolationError(f"case {k}'s report changed by its batch: alone {signature(alone)[:2]}, "
                                     f"in the batch {signature(reports[k])[:2]}")

    def rewarder(self, cases: list[Case]) -> None:
        # each input's policy follows its index (as the integrations' call forms do), so that an input timed alone
        # is scored by the same policy as in its batch; the batch is scored policy by policy
        by_policy: dict[str, list[Case]] = defaultdict(list)
        for c in cases:
            by_policy[self.policies[c.index % len(self.policies)]].append(c)
        for policy, part in by_policy.items():
            rewarder = self.rewarders[policy]
            with CLOCK:
                results = rewarder.score([c.fields for c in part])
            check_count(results, len(part), f"Rewarder({policy!r})")
            hi = rewarder.config.correct + rewarder.config.format_weight
            for r in results:
                finite_in(r.reward, rewarder.config.wrong, hi, rewarder.config.unscorable is None, f"{policy} reward")
                if r.report is not None:
                    check_reports([r.report], 1, frozenset())

    # -- integrations ------------------------------------------------------------------------
    def _trl_kwargs(self, cases: list[Case]) -> dict[str, Any]:
        # the form follows the input's index, not its place in the batch, so that an input timed alone is called the same way
        completions = [as_chat(text_of(c.completion)) if c.index % 2 else text_of(c.completion) for c in cases]
        return {"prompts": [c.prompt for c in cases], "completions": completions,
                "solution": [c.fields.get("solution") for c in cases],
                "image_size": [c.fields.get("image_size") for c in cases], "completion_ids": [[1]] * len(cases),
                "log_metric": lambda *_: None, "log_extra": lambda *_: None}

    def trl_sync(self, cases: list[Case]) -> None:
        kwargs = self._trl_kwargs(cases)
        with CLOCK:
            rewards = self.trl(**kwargs)
        check_count(rewards, len(cases), "trl")
        for r in rewards:
            finite_in(r, 0.0, 1.0, True, "trl reward")

    def trl_async_(self, cases: list[Case]) -> None:
        kwargs = self._trl_kwargs(cases)
        with CLOCK:
            rewards = asyncio.run(self.trl_async(**kwargs))
        check_count(rewards, len(cases), "trl async")
        for r in rewards:
            finite_in(r, 0.0, 1.0, True, "trl async reward")

    def _vlm_r1_args(self, cases: list[Case]) -> tuple[list[Any], list[Any], dict[str, Any]]:
        completions = [as_chat(text_of(c.completion)) for c in cases]
        solution = [c.fields.get("solution") for c in cases]
        problem = [c.fields.get("query") if isinstance(c.fields.get("query"), str) else text_of(c.prompt) for c in cases]
        return completions, solution, {"problem": problem, "image_size": [c.fields.get("image_size") for c in cases]}

    def _vlm_r1(self, fn: Callable[..., list[float]], cases: list[Case], what: str, with_solution: bool = True) -> None:
        completions, solution, kwargs = self._vlm_r1_args(cases)
        with CLOCK:
            rewards = fn(completions, solution, **kwargs) if with_solution else fn(completions, **kwargs)
        check_count(rewards, len(cases), what)
        for r in rewards:
            finite_in(r, 0.0, 1.0, False, what)

    def vlm_r1_iou(self, cases: list[Case]) -> None:
        self._vlm_r1(self.vlm_r1.iou_reward, cases, "vlm_r1.iou_reward")

    def vlm_r1_iou_upstream(self, cases: list[Case]) -> None:
        self._vlm_r1(self.vlm_r1.iou_reward_vlm_r1, cases, "vlm_r1.iou_reward_vlm_r1")

    def vlm_r1_format(self, cases: list[Case]) -> None:
        self._vlm_r1(self.vlm_r1.format_reward, cases, "vlm_r1.format_reward", with_solution=False)

    def vlm_r1_grounding(self, cases: list[Case]) -> None:
        self._vlm_r1(self.vlm_r1.grounding_reward, cases, "vlm_r1.grounding_reward")

    def _verl_args(self, case: Case) -> tuple[Any, Any, Any]:
        f = case.fields
        gt: Any = f.get("solution")
        i = case.index  # the ground truth's form follows the input, not its place in the batch (see _trl_kwargs)
        if i % 3 == 1:
            gt = {"solution": f.get("solution"), "image_size": f.get("image_size"), "query": f.get("query")}
        elif i % 3 == 2:
            gt = json.dumps(gt, default=repr)
        extra = {"question": text_of(case.prompt) if not isinstance(case.prompt, list) else case.prompt[0]["content"][1]["text"],
                 "image_size": f.get("image_size")}
        return text_of(case.completion), gt, extra

    @staticmethod
    def _check_verl(out: Any, what: str) -> None:
        if not isinstance(out, dict) or "score" not in out:
            raise ContractError(f"{what} returned {type(out).__name__}, not a dict with 'score'")
        finite_in(out["score"], 0.0, 1.0, False, f"{what} score")
        bad = {k: v for k, v in out.items() if not (isinstance(v, int | float) and math.isfinite(v))}
        if bad:
            raise ContractError(f"{what}: non-finite or non-numeric logged values {bad}")

    def verl_batch(self, cases: list[Case]) -> None:
        args = [self._verl_args(c) for c in cases]
        with CLOCK:
            out = self.verl.compute_score_batch(["refcoco"] * len(cases), [a[0] for a in args], [a[1] for a in args],
                                                [a[2] for a in args])
        check_count(out, len(cases), "verl.compute_score_batch")
        keys = {tuple(sorted(o)) for o in out if isinstance(o, dict)}
        if len(keys) > 1:
            raise ContractError(f"verl dicts with different keys: {keys}")
        for o in out:
            self._check_verl(o, "verl.compute_score_batch")

    def verl_one(self, cases: list[Case]) -> None:
        for c in cases:
            s, gt, extra = self._verl_args(c)
            with CLOCK:
                out = self.verl.compute_score("refcoco", s, gt, extra)
            self._check_verl(out, "verl.compute_score")

    def verl_async(self, cases: list[Case]) -> None:
        async def all_of() -> list[Any]:
            return await asyncio.gather(*[self.verl.compute_score_async("refcoco", *self._verl_args(c))
                                          for c in cases])

        with CLOCK:
            outs = asyncio.run(all_of())
        for o in outs:
            self._check_verl(o, "verl.compute_score_async")

    @staticmethod
    def _openrlhf_args(cases: list[Case]) -> tuple[list[str], list[str], list[str]]:
        prompts = [chat_prompt(c) for c in cases]
        queries = [p + text_of(c.completion) + "<|im_end|>" for p, c in zip(prompts, cases, strict=True)]
        return queries, prompts, [label_of(c) for c in cases]

    @staticmethod
    def _check_openrlhf(out: Any, n: int, what: str) -> None:
        if not isinstance(out, dict) or not {"rewards", "scores", "extra_logs"} <= set(out):
            raise ContractError(f"{what} returned {type(out).__name__} without rewards/scores/extra_logs")
        for key in ("rewards", "scores"):
            values = [float(v) for v in out[key]]
            check_count(values, n, f"{what} {key}")
            for v in values:
                finite_in(v, 0.0, 1.0, False, f"{what} {key}")
        for name, values in out["extra_logs"].items():
            vals = [float(v) for v in values]
            check_count(vals, n, f"{what} extra_logs[{name}]")
            if not all(math.isfinite(v) for v in vals):
                raise ContractError(f"{what} extra_logs[{name}] not finite")

    def openrlhf_object(self, cases: list[Case]) -> None:
        args = self._openrlhf_args(cases)
        with CLOCK:
            out = self.openrlhf(*args)
        self._check_openrlhf(out, len(cases), "OpenRLHFReward")

    def openrlhf_func(self, cases: list[Case]) -> None:
        args = self._openrlhf_args(cases)
        with CLOCK:
            out = self.openrlhf_module.reward_func(*args)
        self._check_openrlhf(out, len(cases), "openrlhf.reward_func")


class IsolationError(AssertionError):
    """A sample's report (or reward) depends on its neighbours in the batch."""


# ---------------------------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------------------------
class CommandLine:
    """``groundscore verify`` / ``filter`` / ``parse`` in process, on files written to a scratch folder."""

    def __init__(self, scratch: Path) -> None:
        from groundscore.cli import main

        self.main = main
        self.scratch = scratch
        self.k = 0
        self.extra_lines = 0  # hostile raw lines added to the JSONL files

    def _call(self, argv: list[str]) -> tuple[int, str]:
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            rc = self.main(argv)
        return rc, err.getvalue()

    def _jsonl(self, cases: list[Case]) -> tuple[Path, int]:
        self.k += 1
        path = self.scratch / f"in{self.k % 4}.jsonl"
        lines: list[bytes] = []
        for c in cases:
            record = {k: (v.decode("utf-8", errors="surrogateescape") if isinstance(v, bytes) else v) for k, v in c.fields.items()}
            raw = c.index % 5 == 0  # one line in five as raw UTF-8 (lone surrogates become invalid bytes)
            text = json.dumps(record, ensure_ascii=not raw, default=repr)
            lines.append(text.encode("utf-8", errors="surrogatepass"))
        path.write_bytes(b"\n".join(lines) + b"\n")
        return path, len(lines)

    def _lines(self, path: Path) -> int:
        return sum(1 for line in path.read_bytes().split(b"\n") if line.strip())

    def verify(self, cases: list[Case]) -> None:
        path, n = self._jsonl(cases)
        out = self.scratch / "out.jsonl"
        rc, err = self._call(["verify", str(path), "-o", str(out), "-q", "--no-progress"])
        if rc != 0:
            raise ContractError(f"verify exit {rc}: {err.strip()[-300:]}")
        if self._lines(out) != n:
            raise ContractError(f"verify wrote {self._lines(out)} lines for {n}")

    def verify_log(self, cases: list[Case]) -> None:
        self.k += 1
        path = self.scratch / f"log{self.k % 4}.json"
        results = [{"image": None, "question": text_of(c.prompt) if not isinstance(c.prompt, list) else c.prompt[0]["content"][1]["text"],
                    "ground_truth": c.fields.get("solution"), "model_output": text_of(c.completion)} for c in cases]
        path.write_bytes(json.dumps({"accuracy": 0.0, "results": results}, default=repr).encode("utf-8", errors="surrogatepass"))
        out = self.scratch / "out.jsonl"
        rc, err = self._call(["verify", str(path), "--from", "vlm-r1", "-o", str(out), "-q", "--no-progress"])
        if rc != 0:
            raise ContractError(f"verify --from vlm-r1 exit {rc}: {err.strip()[-300:]}")
        if self._lines(out) != len(cases):
            raise ContractError(f"verify --from vlm-r1 wrote {self._lines(out)} lines for {len(cases)}")

    def filter(self, cases: list[Case]) -> None:
        path, n = self._jsonl(cases)
        out = self.scratch / "filtered.jsonl"
        rc, err = self._call(["filter", str(path), "-o", str(out), "--mode", "annotate", "-q"])
        if rc != 0:
            raise ContractError(f"filter exit {rc}: {err.strip()[-300:]}")
        if self._lines(out) != n:
            raise ContractError(f"filter wrote {self._lines(out)} lines for {n}")

    def parse(self, cases: list[Case]) -> None:
        for c in cases:
            path = self.scratch / "completion.txt"
            text = text_of(c.completion)
            path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
            rc, err = self._call(["parse", "--file", str(path), "--json"])
            if rc not in (0, 1):
                raise ContractError(f"parse exit {rc}: {err.strip()[-300:]}")
            if c.index % 3 == 0:  # the completion as the argument itself
                rc, err = self._call(["parse", "--image-size", "640", "480", "--", text])
                if rc not in (0, 1):
                    raise ContractError(f"parse (argument) exit {rc}: {err.strip()[-300:]}")


def cli_file_checks(cli: CommandLine) -> list[tuple[str, list[str], bytes | None]]:
    """Whole-file inputs of issue 12 (finding 4): each should be a one-line error (exit 2) or a clean run, never a traceback."""
    return [
        ("deeply nested JSONL line", ["verify", "{path}", "-o", "{out}", "-q"], b"[" * 100_000 + b"\n"),
        ("VLM-R1 log with results null", ["verify", "{path}", "--from", "vlm-r1", "-o", "{out}", "-q"], b'{"results": null}'),
        ("VLM-R1 log with results a number", ["verify", "{path}", "--from", "vlm-r1", "-o", "{out}", "-q"], b'{"results": 5}'),
        ("input is a directory", ["verify", "{dir}", "-o", "{out}", "-q"], None),
        ("invalid UTF-8 and NUL lines", ["filter", "{path}", "-o", "{out}", "-q"], b"\xff\xfe\x00\n\x00\x00\n{\"completion\": \"\\u0000\"}\n"),
        ("image path over 255 characters", ["verify", "{path}", "-o", "{out}", "-q"],
         json.dumps({"completion": "[1,2,3,4]", "image": "a" * 300 + ".png"}).encode()),
        ("FIFO as input file", ["verify", "{fifo}", "-o", "{out}", "-q"], None),
        ("FIFO as image path", ["verify", "{path}", "-o", "{out}", "-q"],
         json.dumps({"completion": "[1,2,3,4]", "image": "{fifo}"}).encode()),
        ("--image-root that does not exist", ["verify", "{path}", "--from", "vlm-r1", "--image-root", "/no/such/root", "-o", "{out}", "-q"],
         b'{"results": [{"image": "x.jpg", "question": "q", "ground_truth": [1,2,3,4], "model_output": "[1,2,3,4]"}]}'),
    ]


# ---------------------------------------------------------------------------------------------
# the live server
# ---------------------------------------------------------------------------------------------
def rss_mb(pid: int | str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def malloc_trim() -> bool:
    """Ask glibc to return the free memory it holds to the system; False where there is no glibc."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return False
    return True


def server_pid(port: int) -> int | None:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in argv and str(port).encode() in argv:
            return int(proc.name)
    return None


class Server:
    """Requests to a running ``groundscore serve``; ``/health`` pinged from a thread throughout."""

    def __init__(self, base: str) -> None:
        import httpx

        self.base = base
        self.client = httpx.Client(timeout=120)
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.health_max_s = 0.0
        self.health_slow = 0
        self.health_n = 0
        self._stop = threading.Event()
        self._pinger = threading.Thread(target=self._ping, daemon=True)
        self._pinger.start()
        self.odd_requests = 0

    def _ping(self) -> None:
        import httpx

        with httpx.Client(timeout=60) as client:
            while not self._stop.wait(0.25):
                start = time.perf_counter()
                with contextlib.suppress(httpx.HTTPError):
                    client.get(f"{self.base}/health")
                elapsed = time.perf_counter() - start
                self.health_n += 1
                self.health_max_s = max(self.health_max_s, elapsed)
                self.health_slow += elapsed > 1.0

    def close(self) -> None:
        self._stop.set()
        self._pinger.join(timeout=5)
        self.pool.shutdown()
        self.client.close()

    def _post(self, body: bytes, content_type: str = "application/json") -> Any:
        return self.client.post(f"{self.base}/get_reward", content=body, headers={"content-type": content_type})

    @staticmethod
    def _body(cases: list[Case]) -> bytes:
        queries, prompts, labels = InProcess._openrlhf_args(cases)
        return json.dumps({"query": queries, "prompts": prompts, "labels": labels}).encode()

    def _check(self, response: Any, n: int) -> list[float]:
        if response.status_code != 200:
            raise ContractError(f"HTTP {response.status_code} for a well-formed request: {response.text[:200]}")
        data = response.json()
        InProcess._check_openrlhf(data, n, "serve")
        return [float(v) for v in data["rewards"]]

    def rewards(self, cases: list[Case]) -> None:
        half = max(1, len(cases) // 2)  # two clients at once: their work shares micro-batches
        parts = [cases[:half], cases[half:]] if len(cases) > 1 else [cases]
        futures = [self.pool.submit(self._post, self._body(p)) for p in parts]
        for part, future in zip(parts, futures, strict=True):
            self._check(future.result(), len(part))

    def odd(self, rng: random.Random) -> tuple[str, int, Any]:
        """One malformed request: a 4xx with ``{"error": ...}`` is right; anything else is a finding."""
        self.odd_requests += 1
        what, body, ctype = rng.choice([
            ("malformed JSON", b'{"query": [', "application/json"),
            ("nested JSON", b"[" * 100_000, "application/json"),
            ("not JSON", b"hello", "text/plain"),
            ("query a number", b'{"query": 5}', "application/json"),
            ("query of numbers", b'{"query": [1, 2]}', "application/json"),
            ("labels too short", json.dumps({"query": ["a", "b"], "labels": ["[]"]}).encode(), "application/json"),
            ("invalid UTF-8", b'{"query": ["\xff\xfe"]}', "application/json"),
            ("JSON list", b"[1, 2]", "application/json"),
            ("NaN label", b'{"query": ["x"], "labels": [NaN]}', "application/json"),
            ("escaped surrogate query", b'{"query": ["\\ud800<answer>[1,2,3,4]</answer>"]}', "application/json"),
        ])
        response = self._post(body, ctype)
        return what, response.status_code, response

    def isolation(self, good: list[Case], poison: list[Case]) -> str | None:
        """Good requests alone, then alongside a poisoned one: their rewards must not move."""
        baseline = self._check(self._post(self._body(good)), len(good))
        moved, tries, example = 0, 10, ""
        barrier = threading.Barrier(2)

        def post_together(body: bytes) -> Any:
            barrier.wait()
            return self._post(body)

        for _ in range(tries):
            futures = [self.pool.submit(post_together, self._body(poison)), self.pool.submit(post_together, self._body(good))]
            futures[0].result()
            got = self._check(futures[1].result(), len(good))
            if got != baseline:
                moved += 1
                example = example or f"{baseline} -> {got}"
        if moved:
            return (f"rewards of a good request moved in {moved} of {tries} tries when a poisoned request from another "
                    f"client ran beside it: {example}")
        return None


# ---------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------
class ContainedCounter(logging.Handler):
    """Counts warnings the library logged with a traceback: exceptions it caught (contained, not escaped)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.entry = "?"
        self.seen: Counter[tuple[str, str, str]] = Counter()
        self.examples: dict[tuple[str, str, str], str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if not record.exc_info or record.exc_info[1] is None:
            return
        exc = record.exc_info[1]
        key = (self.entry, type(exc).__name__, location(exc))
        self.seen[key] += 1
        self.examples.setdefault(key, f"{record.name}: {record.getMessage()[:200]}")


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.findings = Findings()
        self.rss: dict[str, float] = {"start": rss_mb()}
        self.server_rss: dict[str, float] = {}
        self.contained = ContainedCounter()
        logging.getLogger("groundscore").addHandler(self.contained)
        logging.getLogger("groundscore").propagate = False  # the counts are printed; the tracebacks go nowhere
        self.verifier_errors: Counter[tuple[str, str, str]] = Counter()
        self.verifier_error_cases: dict[tuple[str, str, str], Case] = {}
        self.server_odd: Counter[tuple[str, int]] = Counter()
        self.cli_file: list[tuple[str, int, str]] = []
        self.timeout_s = args.timeout
        self.generated = 0
        self.known = 0
        self.load = (f"{os.getloadavg()[0]:.1f}",)
        self.server_problem = ""
        self.gc_ms: dict[tuple[str, tuple[str, int, int]], tuple[float, float]] = {}  # (best run's, worst run's)
        self.profiles: dict[tuple[str, tuple[str, int, int]], str] = {}

    # -- calling an entry point, catching what escapes ---------------------------------------
    def call(self, entry: Entry, cases: list[Case], record: bool = True) -> bool:
        self.contained.entry = entry.name
        CLOCK.reset()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        ok = True
        try:
            with watchdog(self.timeout_s):
                entry.run(cases)
        except FuzzTimeout as exc:
            ok = False
            self.findings.add(entry.name, "timeout", str(exc), "watchdog", cases, "; ".join(c.describe() for c in cases[:5]))
        except IsolationError as exc:
            ok = False
            self.findings.add(entry.name, "isolation", str(exc), "batch", cases)
        except ContractError as exc:
            ok = False
            self._bisect(entry, cases, "contract", str(exc), "contract")
        except Exception as exc:  # noqa: BLE001 - an escaped exception is what this run looks for
            ok = False
            self._bisect(entry, cases, "exception", f"{type(exc).__name__}: {str(exc)[:200]}", location(exc),
                         "".join(traceback.format_exception(exc)[-6:]))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        if CLOCK.used and ok:
            cpu, wall = CLOCK.cpu, CLOCK.wall
        if record:
            entry.inputs += len(cases)
            entry.batches += 1
            entry.cpu_s += cpu
            entry.wall_s += wall
            if len(cases) == 1:
                entry.keep_single(cpu, wall, cases[0])
            else:
                entry.keep_call(cpu, wall, cases)
        return ok

    def _fails(self, entry: Entry, cases: list[Case]) -> BaseException | None:
        every, self.api.isolation_every = self.api.isolation_every, 0  # narrowing one failure, not looking for another
        try:
            with watchdog(self.timeout_s):
                entry.run(cases)
        except FuzzTimeout as exc:
            return exc
        except Exception as exc:  # noqa: BLE001
            return exc
        finally:
            self.api.isolation_every = every
        return None

    def _bisect(self, entry: Entry, cases: list[Case], kind: str, error: str, where: str, detail: str = "") -> None:
        """Narrow a failing batch to the smallest failing part (to one input where the failure is one input's)."""
        current = cases
        for _ in range(12):
            if len(current) <= 1:
                break
            half = len(current) // 2
            left, right = current[:half], current[half:]
            exc = self._fails(entry, left)
            if exc is not None:
                current = left
            elif (exc := self._fails(entry, right)) is not None:
                current = right
            else:
                break  # only the whole fails: an interaction between inputs; the batch is the reproducer
            if exc is not None:
                kind = "contract" if isinstance(exc, ContractError) else "timeout" if isinstance(exc, FuzzTimeout) else "exception"
                error = str(exc) if kind != "exception" else f"{type(exc).__name__}: {str(exc)[:200]}"
                where = location(exc) if kind != "timeout" else "watchdog"
                if kind == "exception":
                    detail = "".join(traceback.format_exception(exc)[-6:])
        self.findings.add(entry.name, kind, error, where, current, detail)

    def contained_errors(self, reports: Sequence[Any], cases: Sequence[Case]) -> None:
        for r, c in zip(reports, cases, strict=False):
            for v in r.verdicts:
                if v.code == "error":
                    message = re.sub(r"\d+", "N", re.sub(r"'[^']*'", "'...'", v.reason.split(":", 2)[-1].strip()))
                    key = (v.verifier, str(v.details.get("error", "?")), message[:80])
                    self.verifier_errors[key] += 1
                    old = self.verifier_error_cases.get(key)
                    if old is None or c.size() < old.size():
                        self.verifier_error_cases[key] = c

    # -- the main loop -----------------------------------------------------------------------
    def execute(self) -> None:
        args = self.args
        start = time.perf_counter()
        print(f"loading seeds and models (seed {args.seed}, n {args.n}) ...", file=sys.stderr, flush=True)
        seeds = load_seeds()
        gen = self.gen = Generator(args.seed, seeds, parser_examples())
        api = self.api = InProcess()
        api.on_reports = self.contained_errors
        scratch = Path(tempfile.mkdtemp(prefix="groundscore-fuzz-"))
        cli = CommandLine(scratch)
        self.seeds = len(seeds)
        b = 4 if args.quick else 16
        entries = [
            Entry("groundscore.verify", 12, b * 2, api.verify),
            Entry("Chain.verify", 10, b * 2, api.chain_verify),
            Entry("Rewarder.score[policy]", 10, b * 2, api.rewarder),
            Entry("trl.GroundingReward", 8, b, api.trl_sync),
            Entry("trl.AsyncGroundingReward", 3, b, api.trl_async_, takes_slow=False),
            Entry("vlm_r1.iou_reward", 3, b, api.vlm_r1_iou),
            Entry("vlm_r1.iou_reward_vlm_r1", 2, b, api.vlm_r1_iou_upstream),
            Entry("vlm_r1.format_reward", 2, b, api.vlm_r1_format),
            Entry("vlm_r1.grounding_reward", 4, b, api.vlm_r1_grounding),
            Entry("verl.compute_score_batch", 5, b, api.verl_batch),
            Entry("verl.compute_score", 2, 8, api.verl_one),
            Entry("verl.compute_score_async", 2, 8, api.verl_async, takes_slow=False),
            Entry("OpenRLHFReward", 4, b, api.openrlhf_object),
            Entry("openrlhf.reward_func", 2, b, api.openrlhf_func),
            Entry("cli verify", 5, 25 if args.quick else 250, cli.verify, target=False),
            Entry("cli verify --from vlm-r1", 2, 25 if args.quick else 250, cli.verify_log, target=False),
            Entry("cli filter", 3, 25 if args.quick else 250, cli.filter, target=False),
            Entry("cli parse", 1, 10, cli.parse, target=False),
        ]
        server_entry = Entry("serve /get_reward", 10, b * 2, lambda cases: None, target=False, in_process=False)
        if not args.no_server:
            entries.append(server_entry)
        pending: dict[str, list[Case]] = defaultdict(list)

        with self._server() as server:
            if server is not None:
                server_entry.run = server.rewards
            elif server_entry in entries:
                entries.remove(server_entry)
            by_name = {e.name: e for e in entries}
            weights = [e.weight for e in entries]
            # warm-up: inputs of the run's own kind (not counted), so that the library's bounded caches (the analyzer's
            # 4,096 texts, the lexicon's and coordinate spaces' LRUs) and the allocator's pools are filled before the
            # RSS baseline; what grows after it is what a long run would keep growing
            self.warm_inputs = self.warm_up(gen, entries, args.warm)
            gc.collect()
            self.rss["after warm-up"] = rss_mb()
            if self.server_pid:
                self.server_rss["after warm-up"] = rss_mb(self.server_pid)
            self.warm_s = time.perf_counter() - start

            known = known_cases(args.n)
            self.known = len(known)
            n_large = 4 if args.quick else max(6, args.n // 10_000)
            large_at = {int(args.n * (k + 1) / (n_large + 1)) for k in range(n_large)}
            sizes = [LARGE, 256 * 1024, 1024 * 1024 - 1024]
            progress_every = max(1, args.n // 20)
            for i in range(args.n):
                if i in large_at:
                    case = gen.large(i, sizes[len(large_at & set(range(i))) % len(sizes)])
                else:
                    case = gen.case(i)
                self.generated += 1
                if case.single:
                    self.run_single(case, entries)
                    continue
                e = gen.pick.choices(entries, weights=weights)[0]
                if case.size() >= LARGE and e.target:  # a generated large one: alone, so that its time is its own
                    self.call(e, [case])
                    continue
                pending[e.name].append(case)
                if len(pending[e.name]) >= e.batch:
                    self.run_batch(e, pending.pop(e.name))
                if server is not None and i % 200 == 0:
                    what, status, response = server.odd(gen.pick)
                    self.check_odd(what, status, response)
                if i % progress_every == 0 and i:
                    print(f"  {i:>7} inputs, {time.perf_counter() - start:6.0f} s, RSS {rss_mb():.0f} MB, "
                          f"{len(self.findings.items)} findings", file=sys.stderr, flush=True)
            for name, cases in pending.items():
                if cases:
                    self.run_batch(by_name[name], cases)
            gc.collect()
            self.rss["after the inputs"] = rss_mb()
            if self.server_pid:
                self.server_rss["after the inputs"] = rss_mb(self.server_pid)

            # the findings of issue 12, every run
            self.generated += len(known)
            pair = [known[0], known[1]]  # finding 1: a poisoned neighbour must not change the other report
            for e in entries:
                if e.in_process and e.target:
                    self.call(e, pair)
                    self.call(e, [known[2]])
            self.isolation_known(api, known[0], known[1])
            for case in known[3:]:
                self.run_single(case, entries)
            self.cli_files(cli, scratch, api)
            if server is not None:
                by_name_server = server_entry
                self.call(by_name_server, pair)
                self.call(by_name_server, [known[2]])
                good = [gen.case(10**9 + k) for k in range(4)]
                for g in good:
                    g.kinds.append("ordinary")
                message = server.isolation([known[1], *good[:2]], [known[0]] * 4)
                if message:
                    self.findings.add("serve /get_reward", "isolation", message, "micro-batcher", [known[0], known[1]])
            self.retime(entries)
            gc.collect()
            self.rss["end"] = rss_mb()
            if malloc_trim():  # how much of the end's RSS is memory the allocator holds free (glibc only)
                self.rss["end, trimmed"] = rss_mb()
            if self.server_pid:
                self.server_rss["end"] = rss_mb(self.server_pid)
            if server is not None:
                self.health = (server.health_n, server.health_max_s, server.health_slow, server.odd_requests)
                if server.health_slow:
                    self.findings.add("serve /health", "contract", f"/health took over 1 s {server.health_slow} times "
                                      f"(slowest {server.health_max_s:.1f} s): scoring blocks the event loop", "event loop", [])
                server.close()
        self.entries = entries
        self.elapsed = time.perf_counter() - start

    def warm_up(self, gen: Generator, entries: list[Entry], n: int) -> int:
        """Every entry point on ordinary inputs first, then ``n`` generated ones (batched as in the run, unrecorded)."""
        first = [gen.case(-1 - i) for i in range(8)]
        for e in entries:
            self.call(e, first, record=False)
        weights = [e.weight for e in entries]
        pending: dict[str, list[Case]] = defaultdict(list)
        for i in range(n):
            case = gen.case(-100 - i)
            e = gen.pick.choices(entries, weights=weights)[0]
            pending[e.name].append(case)
            if len(pending[e.name]) >= e.batch or case.size() >= LARGE:
                self.call(e, pending.pop(e.name), record=False)
        by_name = {e.name: e for e in entries}
        for name, cases in pending.items():
            self.call(by_name[name], cases, record=False)
        return len(first) + n

    def run_batch(self, entry: Entry, cases: list[Case]) -> None:
        self.call(entry, cases)

    def run_single(self, case: Case, entries: list[Entry]) -> None:
        """A large or known slow input: alone, through every in-process entry point (and the server)."""
        for e in entries:
            if case.slow_known and not e.takes_slow:
                continue
            if e.name == "cli parse" or (e.in_process and e.target) or (e.name == "serve /get_reward" and case.size() < 2**20):
                self.call(e, [case])

    def isolation_known(self, api: InProcess, poison: Case, victim: Case) -> None:
        """Finding 1 in process: the wrong label's report and reward alone and beside the poisoned one."""
        checks: list[tuple[str, Callable[[list[Case]], Any]]] = [
            ("Chain.verify", lambda cs: [signature(r) for r in api.chain.verify([c.fields for c in cs])]),
            ("groundscore.verify", lambda cs: [signature(r) for r in api.groundscore.verify([c.fields for c in cs])]),
            ("Rewarder.score[auto]", lambda cs: [r.reward for r in api.rewarders["auto"].score([c.fields for c in cs])]),
        ]
        for name, fn in checks:
            try:
                alone = fn([victim])[0]
                beside = fn([poison, victim])[1]
            except Exception as exc:  # noqa: BLE001
                self.findings.add(name, "exception", f"{type(exc).__name__}: {exc}", location(exc), [poison, victim])
                continue
            if alone != beside:
                self.findings.add(name, "isolation", f"the wrong-label sample's result moved from {short(alone, 80)} alone "
                                  f"to {short(beside, 80)} beside the poisoned one", "batch", [poison, victim])

    def cli_files(self, cli: CommandLine, scratch: Path, api: InProcess) -> None:
        fifo = scratch / "fifo"
        with contextlib.suppress(OSError, AttributeError):
            os.mkfifo(fifo)
        limit = min(5.0, self.timeout_s)  # a FIFO nobody writes: anything longer is a hang
        for what, argv, content in cli_file_checks(cli):
            path = scratch / "file-check.jsonl"
            if content is not None:
                path.write_bytes(content.replace(b"{fifo}", str(fifo).encode()))
            argv = [a.format(path=path, out=scratch / "file-out.jsonl", dir=scratch, fifo=fifo) for a in argv]
            self.contained.entry = "cli files"
            try:
                with watchdog(limit if "FIFO" in what else self.timeout_s):
                    rc, err = cli._call(argv)
            except FuzzTimeout as exc:
                self.findings.add("cli files", "timeout", str(exc), what, [], f"{what}: groundscore {' '.join(argv)}")
                self.cli_file.append((what, -1, "hang"))
                continue
            except Exception as exc:  # noqa: BLE001
                self.findings.add("cli files", "exception", f"{type(exc).__name__}: {str(exc)[:160]}", location(exc), [],
                                  f"{what}: groundscore {' '.join(a[:60] for a in argv)}")
                self.cli_file.append((what, -1, f"{type(exc).__name__}"))
                continue
            last = err.strip().splitlines()[-1][:160] if err.strip() else ""
            self.cli_file.append((what, rc, last))
            if "Traceback" in err:
                self.findings.add("cli files", "exception", last, what, [], what)
        case = Case(-1, {"completion": "[1, 2, 3, 4]", "query": "x", "image": str(fifo)}, "", ["fifo-image"])
        for name, fn in (("groundscore.verify", api.groundscore.verify), ("Chain.verify", api.chain.verify)):
            try:
                with watchdog(limit):
                    fn([case.fields])
            except FuzzTimeout as exc:
                self.findings.add(name, "timeout", f"{exc} (a FIFO as the image path)", "image read", [case])
            except Exception as exc:  # noqa: BLE001
                self.findings.add(name, "exception", f"{type(exc).__name__}: {exc}", location(exc), [case])

    def check_odd(self, what: str, status: int, response: Any) -> None:
        self.server_odd[(what, status)] += 1
        try:
            body = response.json()
        except ValueError:
            body = None
        if status >= 500 or not (isinstance(body, dict) and ("error" in body or status == 200)):
            self.findings.add("serve /get_reward", "server-error",
                              f"{what}: HTTP {status} {response.text[:120]!r}", "schema" if status < 500 else "5xx", [])

    def retime(self, entries: list[Entry]) -> None:
        """The slowest inputs again, each alone, best of RETIME_RUNS: which input was slow, and is it slow alone."""
        # This run's own heap (the seeds, the generator, the bookkeeping) is moved out of the collector's sight, so
        # that a full collection of it does not land on whichever input is being timed; the library's own garbage
        # (and the library's models, loaded before) is still collected during the timed calls, and the time the
        # collector took inside each timed call is recorded beside it.
        gc.collect()
        gc.freeze()
        gc.callbacks.append(GC_CLOCK.callback)
        try:
            for e in entries:
                if e.name.startswith("cli"):
                    continue
                slow = sorted(e.timings, key=lambda t: -t[0])
                picked = [t for t in slow if t[0] * 1000 > SLOW_MS][: self.args.retime] or slow[:2]
                refs = [ref for _, _, batch in picked[: max(2, self.args.retime)] for ref in batch]
                # inputs that ran alone in the run (the large ones) were timed once there: those over the target
                # and the slowest two are timed again like the rest
                singles = sorted(e.single, key=lambda t: -t[0])
                again = [t for t in singles if 1000 * t[0] > SLOW_MS][:200] or singles[:2]
                e.single = [t for t in e.single if t not in again]
                refs += [ref for _, _, ref in again]
                seen: set[tuple[str, int, int]] = set()
                for ref in refs:
                    if ref.source in seen or not ref.source[0]:
                        continue
                    seen.add(ref.source)
                    self.time_alone(e, ref)
        finally:
            gc.callbacks.remove(GC_CLOCK.callback)

    def time_alone(self, e: Entry, ref: CaseRef) -> None:
        """One input, alone, RETIME_RUNS times; the best kept, and profiled once more if still over the target."""
        case = self.gen.rebuild(ref)
        self.contained.entry = e.name
        self.api.isolation_every = 0
        # the calling thread's CPU time: process CPU time would also count this run's other threads (the /health
        # pinger, thread pools); the async entry points work in other threads, so theirs is the process's
        timer = time.process_time if "async" in e.name.lower() else time.thread_time
        CLOCK.timer = timer
        times = []
        for _ in range(RETIME_RUNS):
            CLOCK.reset()
            GC_CLOCK.reset()
            cpu0, wall0 = timer(), time.perf_counter()
            try:
                with watchdog(self.timeout_s):
                    e.run([case])
            except (Exception, FuzzTimeout):  # noqa: BLE001 - already recorded by the batch
                pass
            cpu, wall = timer() - cpu0, time.perf_counter() - wall0
            if CLOCK.used:
                cpu, wall = CLOCK.cpu, CLOCK.wall
            times.append((cpu, wall, GC_CLOCK.total))
        cpu, wall, in_gc = min(times)
        CLOCK.timer = time.process_time
        e.keep_single(cpu, wall, ref)
        self.gc_ms[(e.name, ref.source)] = (1000 * in_gc, max(1000 * t[2] for t in times))
        if 1000 * cpu > SLOW_MS and e.target:
            profile = cProfile.Profile()
            with contextlib.suppress(Exception, FuzzTimeout), watchdog(self.timeout_s):
                profile.runcall(e.run, [case])
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
            self.profiles[(e.name, ref.source)] = out.getvalue()

    @contextlib.contextmanager
    def _server(self) -> Iterator[Server | None]:
        self.server_pid: int | None = None
        self.health: tuple[int, float, int, int] | None = None
        if self.args.no_server:
            yield None
            return
        from serve_process import running_server  # tests/serve_process.py: one definition of start/wait/stop

        log = Path(tempfile.mkstemp(prefix="groundscore-fuzz-serve-", suffix=".log")[1])
        try:
            started = running_server([], log)
            base = started.__enter__()
        except (RuntimeError, OSError) as exc:
            self.server_problem = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
            print(f"server did not start: {self.server_problem}", file=sys.stderr)
            yield None
            return
        try:
            self.server_pid = server_pid(int(base.rsplit(":", 1)[1]))
            if self.server_pid:
                self.server_rss["start"] = rss_mb(self.server_pid)
            server = Server(base)
            yield server
        finally:
            started.__exit__(None, None, None)


# ---------------------------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------------------------
def commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
        return sha + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> str:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def render(run: Run) -> str:
    a = run.args
    out: list[str] = []
    w = out.append
    total = sum(e.inputs for e in run.entries)
    w(f"groundscore fuzz run: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit()}")
    w(f"machine: {machine()}")
    w(f"load average at start / end: {run.load[0]} / {os.getloadavg()[0]:.1f} (other processes share the CPUs)")
    w(f"inputs generated: {run.generated:,} (--n {a.n:,}, --seed {a.seed}{', --quick' if a.quick else ''}) from "
      f"{run.seeds:,} real completions and {run.known} known findings; {total:,} inputs run over the entry points below "
      f"(each input goes to one; the large and the known ones to every in-process one); "
      f"{run.elapsed:.0f} s in all ({run.warm_s:.0f} s loading and a warm-up of {run.warm_inputs:,} more generated inputs, "
      f"not counted)")
    if run.server_problem:
        w(f"server: not run: {run.server_problem}")
    escaped = run.findings.of_kind("exception", "timeout")
    broken = run.findings.of_kind("contract", "isolation", "server-error")
    w(f"escaped exceptions and hangs: {sum(f.count for f in escaped)} ({len(escaped)} distinct); "
      f"contract violations: {sum(f.count for f in broken)} ({len(broken)} distinct)")
    targets_at = len(out)
    w("")
    w(f"{'entry point':<28} {'inputs':>8} {'calls':>6} {'escaped':>7} {'broken':>6} {'cpu ms/input':>12} "
      f"{'slowest alone (cpu / wall ms)':>30}  slowest input")
    over: list[tuple[str, float, float, CaseRef]] = []
    for e in run.entries:
        esc = sum(f.count for f in escaped if f.entry == e.name)
        brk = sum(f.count for f in broken if f.entry == e.name)
        per = 1000 * e.cpu_s / max(1, e.inputs)
        if e.single:
            cpu, wall, case = max(e.single, key=lambda t: t[0])
            slow = f"{1000 * cpu:>10.0f} / {1000 * wall:<10.0f}"
            desc = case.describe()
        else:
            slow, desc = "-", "-"
        w(f"{e.name:<28} {e.inputs:>8,} {e.batches:>6,} {esc:>7} {brk:>6} {per:>12.2f} {slow:>30}  {desc}")
        if e.target:
            over += [(e.name, 1000 * c, 1000 * wl, case) for c, wl, case in e.single if 1000 * c > SLOW_MS and case.size() <= 2**20]
    w("")
    w(f"inputs of at most 1 MB over {SLOW_MS:.0f} ms (CPU, alone) in the chain or a reward function: {len(over)}")
    by_entry: dict[str, list[tuple[float, float, CaseRef]]] = defaultdict(list)
    for name, cpu, wall, case in over:
        by_entry[name].append((cpu, wall, case))
    for name, items in by_entry.items():
        items.sort(key=lambda t: -t[0])
        shown = "; ".join(f"{c.describe()} {cpu:.0f} ms{_gc_note(run, name, c)}" for cpu, _, c in items[:4])
        w(f"  {name}: {len(items)} ({shown}{'; ...' if len(items) > 4 else ''})")
    w("")
    columns = ("start", "after warm-up", "after the inputs", "end")
    w("RSS (MB)        " + "  ".join(f"{k:>16}" for k in columns) + "   growth: over the inputs / to the end")
    nan = float("nan")
    for label, rss in (("fuzz process", run.rss), ("server", run.server_rss)):
        if rss:
            vals = "  ".join(f"{rss.get(k, nan):>16.0f}" for k in columns)
            w(f"{label:<16}{vals}   {rss.get('after the inputs', nan) - rss.get('after warm-up', nan):+.0f} / "
              f"{rss.get('end', nan) - rss.get('after warm-up', nan):+.0f}")
    if "end, trimmed" in run.rss:
        w(f"fuzz process at the end after malloc_trim(0): {run.rss['end, trimmed']:.0f} MB "
          f"({run.rss['end, trimmed'] - run.rss.get('after warm-up', nan):+.0f} since warm-up): the rest of its growth "
          "to the end was free memory the allocator held")
    w("('after the inputs': after the generated inputs, the target's reading; 'end': after the known findings, the "
      "whole-file CLI checks and the retiming, which reruns the slowest and the largest inputs, up to 1 MB, alone)")
    n_escaped = sum(f.count for f in escaped)
    # The target is judged on both processes over the generated inputs: the server holds only the library; the
    # fuzz process keeps recipes, not inputs, so what it grows by is the library's (and this run's bookkeeping).
    growth = {label: rss.get("after the inputs", nan) - rss.get("after warm-up", nan)
              for label, rss in (("live server", run.server_rss), ("fuzz process", run.rss)) if rss}
    ok = {True: "met", False: "NOT met"}
    out[targets_at:targets_at] = [
        "targets (issue 12): "
        f"no escaped exception or hang: {ok[n_escaped == 0]} ({n_escaped}); "
        f"no contract violation: {ok[not broken]} ({sum(f.count for f in broken)}); "
        f"no input <= 1 MB over {SLOW_MS:.0f} ms in the chain or a reward function: {ok[not over]} ({len(over)}); "
        f"RSS growth after warm-up under 50 MB: {ok[bool(growth) and all(g < 50 for g in growth.values())]} "
        f"({', '.join(f'{k} {g:+.0f} MB' for k, g in growth.items())}; "
        f"over {total:,} inputs)",
    ]
    if run.health:
        n, mx, slow, odd = run.health
        w(f"server /health while fuzzing: {n} pings, slowest {1000 * mx:.0f} ms, {slow} over 1 s; "
          f"{odd} malformed requests: " + ", ".join(f"{what} -> {st}" for (what, st), _ in sorted(run.server_odd.items())))
    w("")
    w("findings (deduplicated by entry point, type and location; reproducers abbreviated, in full in --repro-dir):")
    if not run.findings.items:
        w("  none")
    for i, f in enumerate(sorted(run.findings.items.values(), key=lambda f: (f.kind, f.entry)), 1):
        w(f"  [{i}] {f.kind} in {f.entry} x{f.count}: {f.error[:220]}")
        w(f"      at {f.where}")
        if f.cases:
            w(f"      inputs: {'; '.join(c.describe() for c in f.cases[:4])}")
            w(f"      repro: {f.reproducer()[:600]}")
        elif f.detail:
            w(f"      repro: {f.detail[:300]}")
    w("")
    w("verifier errors the chain contained (an error verdict instead of a score), by verifier, error and message;")
    w("an error verdict can cover a whole batch, so the smallest input shown may be a bystander of the one that caused it:")
    if not run.verifier_errors:
        w("  none")
    for (verifier, error, message), count in sorted(run.verifier_errors.items(), key=lambda kv: -kv[1])[:12]:
        case = run.verifier_error_cases[(verifier, error, message)]
        w(f"  {verifier}: {error} x{count} ({message}); smallest input {case.describe()}: {short(case.fields, 200)}")
    w("")
    w("exceptions the library caught and logged (contained: a reward came back), by entry point:")
    if not run.contained.seen:
        w("  none")
    for (entry, typ, where), count in sorted(run.contained.seen.items(), key=lambda kv: -kv[1])[:25]:
        w(f"  {entry}: {typ} at {where} x{count}")
    if run.cli_file:
        w("")
        w("whole-file CLI inputs (exit 2 with one line is right; a traceback or a hang is a finding):")
        for what, rc, last in run.cli_file:
            w(f"  {what}: exit {rc}: {last}")
    return "\n".join(out)


def _gc_note(run: Run, entry: str, ref: CaseRef) -> str:
    """How much of a retimed input's best run was the garbage collector's (empty when it was not retimed)."""
    best = run.gc_ms.get((entry, ref.source))
    return f" (of it in the collector: {best[0]:.0f} ms)" if best else " (not retimed)"


def write_repros(run: Run, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(sorted(run.findings.items.values(), key=lambda f: (f.kind, f.entry)), 1):
        data = {"entry": f.entry, "kind": f.kind, "error": f.error, "where": f.where, "count": f.count, "detail": f.detail,
                "cases": [{"fields": {k: (v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in c.fields.items()},
                           "prompt": c.prompt, "kinds": c.kinds} for c in f.cases]}
        (folder / f"finding-{i:02d}.json").write_text(json.dumps(data, default=repr, ensure_ascii=True, indent=1))
    # the inputs over the time target too, so that a slow one can be rerun and profiled on its own
    slow = [{"entry": e.name, "cpu_ms": round(1000 * c, 1), "wall_ms": round(1000 * wl, 1), "kinds": list(ref.kinds),
             "fields": {k: (v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in case.fields.items()},
             "prompt": case.prompt, "gc_ms": run.gc_ms.get((e.name, ref.source)),
             "profile": run.profiles.get((e.name, ref.source), "").splitlines()}
            for e in run.entries for c, wl, ref in e.single if 1000 * c > SLOW_MS and ref.size() <= 2**20
            for case in (run.gen.rebuild(ref),)]
    if slow:
        (folder / "slow-inputs.json").write_text(json.dumps(slow, default=repr, ensure_ascii=True, indent=1))


DOC_HEAD = """# Fuzzing

The promise behind every reward function is that model text never crashes a
training loop, never takes unbounded time and never buys a reward it did not
earn. `benchmarks/fuzz.py` checks it on a large, deterministic stream of
generated inputs: real completions from the VLM-R1 logs (`shared/data`),
mutated the ways a policy or an attacker writes them (lone surrogates, NULs,
control and invisible characters, unicode confusables, NaN/inf and huge or
negative coordinates, unbalanced and repeated tags, truncation, deep JSON
nesting, thousands of boxes, runs of spaces, JSON that lures the repair
step, other models' formats, garbage), with odd fields around them (missing,
non-text or garbage queries; odd image sizes; ground truth as text, NaN,
nested or huge; unknown keys), plus a few inputs of up to 1 MB and the
reproducers of known findings. Each input goes to one entry point:

- the API: `groundscore.verify`, `Chain.verify` (with an isolation check:
  a sample's report alone equals its report inside its batch), and
  `Rewarder.score` under every registered reward policy;
- every integration: TRL (`GroundingReward`, sync and async), VLM-R1
  (`iou_reward`, `iou_reward_vlm_r1`, `format_reward`, `grounding_reward`),
  verl (`compute_score`, `compute_score_async`, `compute_score_batch`) and
  OpenRLHF (`OpenRLHFReward`, `reward_func`);
- the command line: `groundscore verify` (JSONL and `--from vlm-r1`),
  `filter` and `parse` on files the run writes;
- a live `groundscore serve` on 127.0.0.1: two clients at once, malformed
  requests, and `/health` pinged throughout.

What counts as a finding: an exception that escapes, a call that does not
return within the watchdog's limit, and a broken contract: not one result per
input, a reward that is not a finite float in the documented range, a Report
that does not serialise, an answer accepted although a gate failed or a gate
verifier raised, a report that changes with its batch neighbours, a CLI run
that does not exit 0 with one output line per input line, a server error
outside its `{"error": ...}` schema. Times are the CPU time of one input
alone, which a shared machine disturbs less than wall time (printed beside
it): the calling thread's CPU time (the process's for the async entry
points, whose work runs in other threads), the best of three runs of that
input. The inputs timed alone are the members of each entry point's slowest
batches and every input that ran alone in the run (the large ones, timed
once there) that was over the target or among the two slowest; each is made
again from its recipe (every input has its own seeded random stream), and
called in the same form as in its batch (chat or plain text, the ground
truth's form, the reward policy: all follow the input's index). Before the
retiming, this run's own heap is frozen out of the garbage collector's sight
(`gc.freeze()`); the library's garbage is still collected during the timed
calls, and the time the collector took inside an input's best run is printed
beside any input over the target. An input still over the target is profiled
once more (cProfile, top 25 by cumulative time) into `slow-inputs.json` in
`--repro-dir`. The target is 100 ms for any input of at most 1 MB.

How to read the RSS line: "after warm-up" is taken after a warm-up of
10,000 generated inputs of the same kinds (`--warm`; not counted in the
run), through every entry point and the server, so that the library's
bounded caches (the expression analyzer's 4,096 texts, the lexicon's and the
coordinate spaces' LRUs) are full. The fuzz process keeps no input it has
run: of its slowest calls it keeps each input's recipe and description, not
its text. Both processes are judged: the live server, a long-running process
that holds only the library (as a trainer's reward worker does), and the
fuzz process, which also holds the run's bookkeeping (counters, the findings'
inputs) and serves the in-process entry points. The target's reading is
"after the inputs", taken right after the generated inputs; "end" comes
after the known findings, the whole-file CLI checks and the retiming, which
reruns the slowest and largest inputs (up to 1 MB) alone, and is printed
beside it, with the fuzz process's RSS after `malloc_trim(0)` (how much of
it is free memory the allocator keeps). The library's own memory in
one process over a long run of novel words is also measured by
`benchmarks/bench_memory.py` (see [Robustness](robustness.md)).

Rerun it (about ten minutes for 100,000 inputs on two cores):

```
python benchmarks/fuzz.py                 # 100,000 inputs, seed 0
python benchmarks/fuzz.py --quick         # 5,000 inputs, a few minutes
python benchmarks/fuzz.py --write-docs    # rewrites this page with the output
```

The bounded property tests of the same promises run with every test run
(`tests/test_fuzz_properties.py`, `tests/test_never_raises.py`).

## Last run

"""


def write_docs(text: str, path: Path) -> None:
    path.write_text(DOC_HEAD + "```\n" + text.replace("```", "'''") + "\n```\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=None, help="generated inputs (default 100,000; 5,000 with --quick)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="5,000 inputs in small batches")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds one call may take before it counts as a hang")
    p.add_argument("--warm", type=int, default=None,
                   help="generated inputs run before the RSS baseline, not counted (default 10,000; 500 with --quick)")
    p.add_argument("--retime", type=int, default=8, help="slowest batches per entry point re-run input by input")
    p.add_argument("--no-server", action="store_true", help="skip the live server")
    p.add_argument("--repro-dir", default=str(Path(tempfile.gettempdir()) / "groundscore-fuzz"),
                   help="where every finding's inputs are written in full (JSON)")
    p.add_argument("--write-docs", action="store_true", help="write the output into docs/fuzzing.md")
    args = p.parse_args(argv)
    if args.n is None:
        args.n = 5_000 if args.quick else 100_000
    if args.warm is None:
        args.warm = 500 if args.quick else 10_000
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    run = Run(args)
    run.execute()
    text = render(run)
    print(text)
    write_repros(run, Path(args.repro_dir))
    print(f"\nreproducers: {args.repro_dir}", file=sys.stderr)
    if args.write_docs:
        write_docs(text, ROOT / "docs" / "fuzzing.md")
        print("wrote docs/fuzzing.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
