"""Hostile text costs linear time: one regression test per super-linear case found.

Each input below took seconds (some minutes) before its fix: a run of spaces
in the REC prompt template (cubic), unclosed ``<|vision_start|>`` spans and
``<answer>`` tags (quadratic), malformed JSON handed to json-repair (worse than
quadratic), and the patterns found by auditing every regex in the package.

How time is checked on a noisy shared machine: each case runs at ``n`` and at
``4n`` characters (best of three), sized so that the old code took seconds at
``4n``. It passes when the larger input takes under :data:`FAST` seconds (far
below the old cost, so noise cannot fail it), or else when growing the input
4x grew the time less than :data:`MAX_RATIO`x (linear: about 4; quadratic:
16; the old code: 16 to 64). Timing *targets* are in
``benchmarks/bench_hostile_time.py``; these tests only catch a return of the
super-linear behaviour.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from groundscore.clip.distractors import content_words
from groundscore.inputs.prompts import referring_expression
from groundscore.integrations.fields import strip_chat_template, strip_end_markers
from groundscore.integrations.vlm_r1 import upstream_answer
from groundscore.model import Sample
from groundscore.nlp.positions import words
from groundscore.nlp.tampering import grader_phrase
from groundscore.parse.detections import literal
from groundscore.parse.jsontext import MAX_REPAIR_CHARS, close_json, load_json
from groundscore.parse.r1 import split_r1, tag_blocks
from groundscore.plugins.manager import get_registry
from groundscore.rewards import parse_solution

FAST = 0.25
MAX_RATIO = 9.0
REC = "Please provide the bounding box coordinates of the region this sentence describes:"


def _best(fn: Callable[[str], Any], text: str) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - start)
    return best


def assert_linear(fn: Callable[[str], Any], make: Callable[[int], str], n: int) -> None:
    small, large = make(n), make(4 * n)
    t_small, t_large = _best(fn, small), _best(fn, large)
    if t_large < FAST:
        return
    ratio = t_large / max(t_small, 1e-9)
    assert ratio < MAX_RATIO, (
        f"super-linear: {len(small)} chars took {t_small * 1000:.1f} ms, {len(large)} chars {t_large * 1000:.1f} ms "
        f"(x{ratio:.1f} for 4x the input; linear is about x4)")


def _parser(name: str) -> Callable[[str], Any]:
    return get_registry().parsers[name].parse


CASES: dict[str, tuple[Callable[[str], Any], Callable[[int], str], int]] = {
    # finding: the REC template is cubic in a run of spaces (1.1 KB: 6 s); prompts are cut at 4,096
    "rec template, spaces": (referring_expression, lambda n: REC + " a" + " " * n + "b", 1000),
    "rec template, spaces and dots": (referring_expression, lambda n: REC + " a" + " ." * (n // 2) + "b", 1000),
    "locate template, spaces": (referring_expression, lambda n: "Locate" + " " * n + "x and", 1000),
    "locate template, repeated": (referring_expression, lambda n: "Find a " * (n // 7), 1000),
    # finding: unclosed vision spans are quadratic (200 KB: 7.5 s)
    "vision spans": (strip_chat_template, lambda n: "<|vision_start|>" * (n // 16), 50_000),
    # finding: the <answer> pattern on ground truth is quadratic (5 s)
    "ground-truth <answer>": (parse_solution, lambda n: "<answer>" * (n // 8), 25_000),
    "upstream <answer>": (upstream_answer, lambda n: "<answer>0" * (n // 9), 50_000),
    # finding: malformed JSON with brackets inside strings reached json-repair (8 KB: 1.5 s, 64 KB: 44 s)
    "json, brackets in an open string": (lambda t: load_json(t, []), lambda n: '[{"label": "' + "{]1" * (n // 3), 2000),
    "json, objects without keys": (lambda t: load_json(t, []), lambda n: "[" + "{1}" * (n // 3), 2000),
    "json, mismatched brackets": (lambda t: load_json(t, []), lambda n: "[" + "a]{" * (n // 3), 2000),
    # found by the audit of every pattern
    "r1 tags, spaces after <": (split_r1, lambda n: "<" + " " * n, 16_000),
    "r1 tags, spaces after </": (split_r1, lambda n: "< /" + " " * n, 16_000),
    "end markers": (strip_end_markers, lambda n: "x" + "</s> " * (n // 5), 50_000),
    "grader phrase, newlines": (grader_phrase, lambda n: "\n" * n, 2000),  # thinking is cut at 8,000
    "possessive, spaces": (words, lambda n: "a" + " " * n + "b", 16_000),
    "apostrophe, spaces": (content_words, lambda n: "a" + " " * n + "b", 16_000),
    "qwen2_vl pairs, spaces": (_parser("qwen2_vl"), lambda n: "(1,2)" + " " * n + "x", 4000),
    "qwen25_text lines, tabs": (_parser("qwen25_text"), lambda n: "\t" * n + "x", 4000),
    "computer_use calls": (_parser("qwen25_computer_use"), lambda n: "<tool_call>{" * (n // 12), 16_000),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_text_takes_linear_time(name: str) -> None:
    fn, make, n = CASES[name]
    assert_linear(fn, make, n)


def test_a_whole_completion_of_each_case_parses_quickly() -> None:
    """The same inputs as completions through the parser front door (the 65,536-character cut)."""
    from groundscore.parse import parse_completion

    parsers = get_registry().parsers
    for name, (_fn, make, n) in CASES.items():
        text = make(4 * n)
        start = time.perf_counter()
        parsed = parse_completion(Sample(query="x", completion=text), parsers)
        took = time.perf_counter() - start
        assert parsed is not None
        assert took < 2.0, f"{name}: {len(text)} characters took {took:.2f} s to parse"


# -- what the rewrites must still read ------------------------------------------------------------
@pytest.mark.parametrize(("prompt", "expr"), [
    (f"{REC} the man on the left. Output the thinking process in <think> </think> tags.", "the man on the left"),
    (f"{REC} water left.  First output the thinking process in <think> </think> and then the answer.", "water left"),
    (f"{REC}   beach umbrella on the beach ,.", "beach umbrella on the beach"),
    ("Locate the red car and output its bbox coordinates in JSON format.", "the red car"),
    ("Find the shadow of the fox, and return the box.", "the shadow of the fox"),
    ("Outline the position of each cake and output all the coordinates in JSON format.", "each cake"),
    ("Locate the band in the image.", "the band"),
    ("Ground the island  and  output the box", "the island"),
    ("just an expression", "just an expression"),
])
def test_templates_read_the_expression(prompt: str, expr: str) -> None:
    assert referring_expression(prompt) == expr


def test_tag_blocks_read_as_the_lazy_pattern_did() -> None:
    import re

    old = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
    for text in ["", "<answer>a</answer>", "<answer>a</ANSWER><answer>b", "<answer><answer>x</answer>y</answer>",
                 "</answer><answer>\nq\n</answer>", "<Answer>a</answer><answer>b</answer>"]:
        assert tag_blocks(text, "answer") == old.findall(text), text


@pytest.mark.parametrize(("broken", "fixed"), [
    ('[{"bbox_2d": [1, 2, 3, 4], "label": "dog",}]', '[{"bbox_2d": [1, 2, 3, 4], "label": "dog"}]'),
    ('{"bbox_2d": [1, 2, 3, 4], "label": "wat', '{"bbox_2d": [1, 2, 3, 4], "label": "wat"}'),
    ('[{"bbox_2d": [1, 2, 3, 4], "label":', '[{"bbox_2d": [1, 2, 3, 4], "label": ""}]'),
    ('{"bbox_2d": [1, 2, 3, 4], "lab', '{"bbox_2d": [1, 2, 3, 4]}'),
    ('[{"bbox_2d": [1, 2, 3, 4]]', '[{"bbox_2d": [1, 2, 3, 4]}]'),
    ('{"bbox_2d": [1, 2, 3, 4]}\n]', '{"bbox_2d": [1, 2, 3, 4]}\n'),
    ('[{"bbox_2d": [1, 2', '[{"bbox_2d": [1, 2]}]'),
])
def test_close_json_fixes_what_real_outputs_get_wrong(broken: str, fixed: str) -> None:
    assert close_json(broken) == fixed


def test_long_truncated_json_is_still_repaired_and_garbage_is_refused() -> None:
    boxes = ", ".join(f'{{"bbox_2d": [{i}, {i}, {i + 10}, {i + 10}], "label": "cake {i}"}}' for i in range(40))
    issues: list[Any] = []
    value = load_json("[" + boxes + ', {"bbox_2d": [5, 5, 9', issues)  # truncated, far over the json-repair limit
    assert len(value) == 41 and value[-1] == {"bbox_2d": [5, 5, 9]}
    assert [i.code for i in issues] == ["json.repaired"]
    issues = []
    assert load_json("[" + "{1}" * 2000, issues) is None
    assert issues[0].code == "json.invalid" and str(MAX_REPAIR_CHARS) in issues[0].message


def test_literal_eval_on_model_text_warns_nothing() -> None:
    texts = ["[{'box': [1, 2, 3, 4], 'label': 'a\\d'}]", "[1 is 1]", "[(1)(2)]", "[{'box': [1, 2, 3, 4], 'label': 'x'} 'y']"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as under python -W error: a warning would raise here
        assert literal(texts[0]) == [{"box": [1, 2, 3, 4], "label": "a\\d"}]
        for text in texts[1:]:
            literal(text)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        parsers = get_registry().parsers
        from groundscore.parse import parse_completion

        for text in texts:
            parse_completion(Sample(query="x", completion=text, format="detections"), parsers)
    assert not [w for w in seen if issubclass(w.category, SyntaxWarning | DeprecationWarning)], [str(w.message) for w in seen]
