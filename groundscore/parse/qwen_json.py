"""Qwen2.5-VL's JSON grounding answers: ``[{"bbox_2d": [...], "label": ...}]``.

Covers a list or a single object, ``point_2d`` points, fenced or bare JSON,
prose around it, the wrong closing fence seen in GRPO logs, truncated or
slightly broken JSON (repaired by json-repair), numbers as strings, boxes
nested under other keys (``{"final_answer": {"bbox_2d": ...}}``), and labels
under other keys (``text_content``). Coordinates default to Qwen2.5-VL's
smart_resize'd input pixels.

The same model, asked for a box without the cookbook's JSON prompt (the R1
prompts of VLM-R1), also writes variants that carry the same coordinates:
a bare list ``[x1, y1, x2, y2]``, ``{"bounding_box": [...]}``,
``{"answer": "[x1, y1, x2, y2]"}``, ``{"top_left": [x, y], "bottom_right":
[x, y]}`` or a box under a descriptive key (``{"left front cake": [...]}``).
These are read by a lenient second pass that runs only when the strict
``bbox_2d`` pass finds nothing, and each says so in an issue, so that a
reward can prefer the documented format.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from groundscore.parse.base import MAX_BOXES, Parser, RawParse
from groundscore.parse.detection import BARE_BOX, DOCUMENTED_SYNTAX, LENIENT_KEYS, NONE, WEAK
from groundscore.parse.jsontext import (
    MAX_JSON_CHARS,
    decode_quoted,
    iter_dicts,
    iter_json_texts,
    load_json,
    split_values,
    to_numbers,
)
from groundscore.plugins.hookspecs import hookimpl

BOX_KEYS = ("bbox_2d", "bbox", "box_2d")
POINT_KEYS = ("point_2d",)
LABEL_KEYS = ("label", "text_content", "name", "object", "description", "text")

# Keys under which the lenient pass accepts a box (lower-cased, spaces as "_").
LENIENT_BOX_KEYS = frozenset({
    "bbox_2d", "bbox", "box_2d", "box", "bounding_box", "bounding_box_2d", "bounding_boxes",
    "bounding_box_coordinates", "bbox_coordinates", "coordinates", "coords", "position", "region",
    "answer", "final_answer", "output", "result",
})
# One box inside a short string: "[0, 35, 102, 209]", "<answer>[...]</answer>", "The person at [...]".
_NUM = r"\s*(-?\d+(?:\.\d+)?)\s*"
_BOX_IN_STRING = re.compile(r"[\[(]" + r",".join([_NUM] * 4) + r"[\])]")
_MAX_BOX_STRING = 500
# Cheap detection of a bare coordinate list such as [398,314,644,470].
_BARE_BOX = re.compile(r"\[" + r",".join([r"\s*-?\d+(?:\.\d+)?\s*"] * 4) + r"\]")
_EMPTY_JSON = re.compile(r"^\s*(?:```(?:json)?\s*)?(?:\[\s*\]|\{\s*\})\s*(?:```)?\s*$")
_LENIENT_HINTS = ('"bounding_box', '"coordinates"', '"bbox"', '"box"', '"top_left"', '"answer"', '"final_answer"')


def _label(item: dict[str, Any], raw: RawParse) -> str | None:
    for key in LABEL_KEYS:
        value = item.get(key)
        if isinstance(value, str):
            if key != "label" and "label" not in item:
                raw.issue("label.other_key", f"label read from {key!r}", "info")
            return value
        if value is not None and key == "label":
            return str(value)
    return None


def read_items(value: Any, raw: RawParse) -> None:
    """Collect boxes and points from any JSON value into ``raw`` (strict keys).

    A key written twice in one object (``{"bbox_2d": A, "bbox_2d": B}``) keeps
    both values, in the order written (see :class:`DupDict`): the first is read
    first, as VLM-R1's regex reads it; the caller flags the hedge.
    """
    if value == [] or value == {}:
        raw.found = True
        raw.no_object = True
        return
    for item in iter_dicts(value):
        box_key = next((k for k in BOX_KEYS if k in item), None)
        point_key = next((k for k in POINT_KEYS if k in item), None)
        if box_key is None and point_key is None:
            continue
        raw.found = True
        label = _label(item, raw)
        key, want = (box_key, 4) if box_key is not None else (point_key, 2)
        assert key is not None
        written = item.dups.get(key, [item[key]]) if isinstance(item, DupDict) else [item[key]]
        for one in written:
            nums = to_numbers(one)
            if nums is None or len(nums) != want:
                n = "non-numeric" if nums is None else f"{len(nums)} numbers"
                code = "box.bad_arity" if want == 4 else "point.bad_arity"
                raw.issue(code, f"{key} is {n}, expected {want} numbers", "error")
                continue
            added = raw.add_box(*nums, label) if want == 4 else raw.add_point(nums[0], nums[1], label)
            if not added:
                return


class DupDict(dict):  # type: ignore[type-arg]
    """A JSON object that remembers every value of a key written more than once (``dups``)."""

    dups: dict[str, list[Any]]


def _pairs(pairs: list[tuple[str, Any]]) -> DupDict:
    out = DupDict()
    out.dups = {}
    for key, value in pairs:
        if key in out:
            out.dups.setdefault(key, [out[key]]).append(value)
        else:
            out[key] = value
    return out


_DUP_DECODER = json.JSONDecoder(strict=False, object_pairs_hook=_pairs)
_STRICT = json.JSONDecoder(strict=False)
_KEY_WRITTEN = re.compile(r'"(?:bbox_2d|bbox|box_2d|point_2d)"\s*:')
_NUM_WRITTEN = r"""\s*["']?(-?\d{1,7}(?:\.\d{1,12})?)["']?\s*"""
_COMPLETE_BOX = re.compile(r"""["'](?:bbox_2d|bbox|box_2d)["']\s*:\s*\[""" + ",".join([_NUM_WRITTEN] * 4) + r",?\s*\]")


_PLACE_KEY_SET = frozenset((*BOX_KEYS, *POINT_KEYS))


def _with_duplicates(candidate: str, value: Any) -> Any:
    """``value`` decoded again keeping duplicate keys, when the text writes more box keys than ``value`` holds."""
    written = len(_KEY_WRITTEN.findall(candidate[:MAX_JSON_CHARS]))
    if written == 0:
        return value
    held = 0
    for item in iter_dicts(value):
        held += len(_PLACE_KEY_SET.intersection(item))
        if held >= written:  # every key written is held: no duplicate (and the rest of a long list is not walked)
            return value
    try:
        return _DUP_DECODER.decode(candidate)
    except (ValueError, RecursionError):
        return value  # repaired text: the duplicates, if any, are not recoverable by decoding


def _box_numbers(value: Any) -> list[float] | None:
    """Four numbers from a list, or from a short string that holds exactly one box; else None."""
    if isinstance(value, str):
        if len(value) > _MAX_BOX_STRING or "," not in value:
            return None
        found = _BOX_IN_STRING.findall(value)
        return [float(g) for g in found[0]] if len(found) == 1 else None
    if isinstance(value, list) and len(value) == 4:
        return to_numbers(value)
    return None


def _norm_key(key: Any) -> str:
    return str(key).strip().lower().replace(" ", "_").replace("-", "_")


def read_lenient(value: Any, raw: RawParse, max_items: int = 10_000) -> None:
    """Second pass: boxes under other keys, bare lists, box strings, corner pairs."""
    found_keys: list[str] = []
    stack: list[tuple[Any, str | None]] = [(value, None)]
    seen = 0
    ordered: list[tuple[list[float], str | None]] = []
    while stack and seen < max_items:
        item, parent = stack.pop()
        seen += 1
        nums = _box_numbers(item) if not isinstance(item, dict) else None
        if nums is not None:
            ordered.append((nums, parent))
            continue
        if isinstance(item, list):
            stack.extend((v, parent) for v in reversed(item))
        elif isinstance(item, dict):
            label = _label(item, raw)
            tl, br = to_numbers(item.get("top_left")), to_numbers(item.get("bottom_right"))
            if tl and br and len(tl) == 2 and len(br) == 2:
                ordered.append(([tl[0], tl[1], br[0], br[1]], label or parent))
                found_keys.append("top_left/bottom_right")
                continue
            children: list[tuple[Any, str | None]] = []
            for key, child in item.items():
                norm = _norm_key(key)
                if norm in LENIENT_BOX_KEYS:
                    # {"bounding_box": [...], "label": ...}: the label is a sibling or the parent key
                    if _box_numbers(child) is not None:
                        found_keys.append(norm)
                    children.append((child, label or parent))
                elif isinstance(child, str):
                    continue  # prose such as "thinking process" is not a box
                else:
                    # {"left front cake": [...]} or {"standing_person": {...}}: the key names the object
                    children.append((child, str(key)))
            stack.extend(reversed(children))
    for nums, label in ordered:
        if not raw.add_box(nums[0], nums[1], nums[2], nums[3], label):
            break
    if raw.boxes:
        keys = ", ".join(sorted(set(found_keys))) or "a bare coordinate list"
        raw.issue("box.lenient", f"box read from {keys} rather than bbox_2d", "info")


class QwenJsonParser(Parser):
    name = "qwen25_json"
    description = "Qwen2.5-VL JSON: bbox_2d / point_2d / label, fenced or bare; lenient on keys and bare lists"
    default_coords = "qwen25"
    example = '```json\n[{"bbox_2d": [45, 36, 137, 209], "label": "water left"}]\n```'

    def detect(self, text: str) -> float:
        if "bbox_2d" in text or "point_2d" in text:
            return DOCUMENTED_SYNTAX
        if ("{" in text or "```json" in text) and any(h in text for h in _LENIENT_HINTS):
            return LENIENT_KEYS
        if "[" in text and _BARE_BOX.search(text) is not None:
            return BARE_BOX
        if len(text) < 64 and _EMPTY_JSON.match(text):
            return WEAK  # "[]" or "```json\n[]\n```": Qwen's way of saying nothing is there
        return NONE

    def parse(self, text: str) -> RawParse:
        """Every shape this format takes: fences, prose, repair, lenient keys, hedges (see the module)."""
        raw = RawParse()
        values = _values(text, raw)
        if not values:
            if not raw.issues:
                raw.issue("json.missing", "no JSON found in the answer", "error")
            return raw
        groups: list[tuple[list[int], list[int], str]] = []
        seen: list[tuple[tuple[float, ...], ...]] = []
        first = None
        for index, (value, candidate, repaired) in enumerate(values):
            # the first value that answers is read into raw; later ones into a scratch parse, whose
            # issues (a broken draft) do not count against the answer: only different boxes do (a hedge)
            target = raw if first is None else RawParse()
            b0, p0 = len(target.boxes), len(target.points)
            if value is not None:
                read_items(value, target)
            if repaired:
                _keep_complete_boxes(candidate, target, b0)
            if len(target.boxes) == b0 and len(target.points) == p0:
                if first is None and raw.no_object:
                    first = index
                continue
            key = _answer_key(target, b0, p0)
            if key in seen:  # the same answer written again: not a second candidate
                continue
            seen.append(key)
            if target is not raw:
                b0, p0 = len(raw.boxes), len(raw.points)
                raw.boxes.extend(target.boxes[: MAX_BOXES - b0])
                raw.points.extend(target.points[: MAX_BOXES - p0])
            groups.append((list(range(b0, len(raw.boxes))), list(range(p0, len(raw.points))), f"JSON value {index + 1}"))
            if first is None:
                first = index
                if value is not None:
                    _flag_duplicate_keys(raw, value, b0, p0)
        if first is not None:
            if first > 0:
                raw.issue("json.later_block", "the box was read from a later JSON block", "info")
            if len(groups) > 1 and not raw.candidates:
                raw.hedge("hedge.lists", groups, "the answer holds several JSON values with different boxes")
            return raw
        if raw.found:  # bbox_2d keys present but unreadable (issues say why)
            return raw
        for value, _candidate, _repaired in values:
            if value is None:
                continue
            read_lenient(value, raw)
            if raw.boxes:
                return raw
        raw.issue("json.no_boxes", "the JSON has no bbox_2d or point_2d", "error")
        return raw


def _answer_key(raw: RawParse, b0: int, p0: int) -> tuple[tuple[float, ...], ...]:
    """The distinct places of an answer, in order: a box written twice, or wrapped differently, is one answer."""
    places = [b.xyxy for b in raw.boxes[b0:]] + [(p.x, p.y) for p in raw.points[p0:]]
    return tuple(dict.fromkeys(places))


def _values(text: str, raw: RawParse) -> list[tuple[Any | None, str, bool]]:
    """Every JSON value of the answer, in document order: ``(value, its text, whether it needed repair)``.

    Fenced blocks each give theirs; an unfenced span that holds several
    complete values one after another (``[..] [..]``, ``{..}\n{..}``) gives
    each (a hedge when their boxes differ), rather than being repaired into one.
    """
    out: list[tuple[Any | None, str, bool]] = []
    for candidate, _fenced in iter_json_texts(text):
        if len(candidate) <= MAX_JSON_CHARS:
            try:  # the common case, one valid value: decoded once, here
                value = _STRICT.decode(candidate)
            except (ValueError, RecursionError):
                pass
            else:
                value = decode_quoted(value, raw.issues)
                out.append((_with_duplicates(candidate, value), candidate, False))
                continue
        several = split_values(candidate, checked=True)
        if several is not None and all(isinstance(v, dict) for v, _ in several):
            # {..}, {..} or JSON lines: the items of one list written without its brackets, one answer
            out.append(([_with_duplicates(piece, v) for v, piece in several], candidate, False))
            continue
        if several is not None:  # [..] [..]: each list is a whole answer
            out.extend((_with_duplicates(piece, v), piece, False) for v, piece in several)
            continue
        before = len(raw.issues)
        candidate = _past_the_cap(candidate)
        value = load_json(candidate, raw.issues)
        repaired = any(i.code in ("json.repaired", "json.quoted", "json.invalid") for i in raw.issues[before:])
        if value is None:
            if candidate.lstrip()[:1] in ("[", "{") and _COMPLETE_BOX.search(candidate[:MAX_JSON_CHARS]) is not None:
                # JSON damaged after its start, yet complete boxes are written in it: read by pattern. Text that
                # is not JSON from its first character (a code comment, prose) is not read this way.
                out.append((None, candidate, True))
            continue
        value = decode_quoted(value, raw.issues)
        out.append((value if repaired else _with_duplicates(candidate, value), candidate, repaired))
    return out


def _past_the_cap(candidate: str) -> str:
    """A JSON text to repair, cut before its box or point key number ``MAX_BOXES + 2``.

    The parser reads ``MAX_BOXES`` places and flags one more as ``box.too_many``; the repair (a Python
    pass over the text) need not walk 64 KB of boxes nobody reads. Short texts are returned as they are.
    """
    if len(candidate) <= 8192:
        return candidate
    for k, m in enumerate(_KEY_WRITTEN.finditer(candidate)):
        if k == MAX_BOXES + 1:
            return candidate[: m.start()]
    return candidate


def _keep_complete_boxes(candidate: str, raw: RawParse, start: int) -> None:
    """After a repair, no complete box is lost and none is made up (``json.repair_changed`` when that changes the read).

    A repair that cuts or re-nests the text may drop a complete first box and
    keep a later one, or close a box cut mid-number (``[0, 184, 165, 33`` of a
    truncated ``336``) into four numbers the model never wrote; the boxes the
    model finished writing before the damage are its answer. Every box key
    followed by four numbers and a closing bracket in the text is a complete
    box: one the repair dropped is put back, in the text's order; the last box
    read is dropped when the text ends inside it. Boxes the repair read that
    the pattern does not see (written in another way) are kept.
    """
    text = candidate[:MAX_JSON_CHARS]
    written = list(dict.fromkeys(tuple(float(v) for v in m) for m in _COMPLETE_BOX.findall(text)))[:MAX_BOXES]
    read = raw.boxes[start:]
    seen = {b.xyxy for b in read}
    dropped = [w for w in written if w not in seen]
    last_key = max(text.rfind(k) for k in ('"bbox_2d"', '"bbox"', '"box_2d"', "'bbox_2d'"))
    cut = last_key != -1 and "]" not in text[last_key:] and "[" in text[last_key:]
    invented = [read[-1]] if cut and read and read[-1].xyxy not in written else []
    if not dropped and not invented:
        return
    order = {w: i for i, w in enumerate(written)}
    kept = [b for b in read if not any(b is x for x in invented)]
    labels = {b.xyxy: b.label for b in kept}
    boxes = [(w, labels.get(w)) for w in written] + [(b.xyxy, b.label) for b in kept if b.xyxy not in order]
    del raw.boxes[start:]
    for xyxy, label in boxes:
        raw.add_box(*xyxy, label)
    if boxes:
        raw.found = True
        raw.issues[:] = [i for i in raw.issues if not (i.code in ("json.invalid", "box.bad_arity") and i.severity == "error")]
    raw.issue("json.repair_changed", (
        f"the repaired JSON held {len(read)} box(es), the text writes {len(written)} complete one(s)"
        + (f"; {len(dropped)} dropped by the repair put back" if dropped else "")
        + ("; one cut short by the end of the text and closed by the repair left out" if invented else "")))


def _flag_duplicate_keys(raw: RawParse, value: Any, b0: int, p0: int) -> None:
    """A box key written twice in one object: a hedge when the values differ, else one box.

    Only the objects the parser can read are looked at (``4 * MAX_BOXES``): a key written twice past them
    changes no box that is read."""
    for item in itertools.islice(iter_dicts(value), 4 * MAX_BOXES):
        if not isinstance(item, DupDict) or not item.dups:
            continue
        boxes = raw.boxes[b0:]
        distinct = list(dict.fromkeys(b.xyxy for b in boxes))
        if len(distinct) == 1 and len(boxes) > 1:
            del raw.boxes[b0 + 1:]
            raw.issue("json.duplicate_key", "a box key is written twice with the same value; read once", "info")
        elif len(boxes) > 1:
            groups = [([b0 + i], [], f"value {i + 1} of the key") for i in range(len(boxes))]
            raw.hedge("hedge.duplicate_key", groups, "one object writes its box key more than once")
        points = raw.points[p0:]
        if len(points) > 1 and not raw.candidates:
            groups = [([], [p0 + i], f"value {i + 1} of the key") for i in range(len(points))]
            raw.hedge("hedge.duplicate_key", groups, "one object writes its point key more than once")
        return


@hookimpl
def register_parsers(register: Any) -> None:
    register(QwenJsonParser())
