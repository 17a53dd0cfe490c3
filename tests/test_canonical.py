"""The canonical form the refuting checks read (groundscore.nlp.canonical), and what reads it."""

from __future__ import annotations

import pytest

from groundscore.nlp.canonical import canonical, canonical_short, readable


@pytest.mark.parametrize(("text", "code"), [
    ("the tree\ufffd", "text.replacement"),
    ("ｔｈｅ ｔｒｅｅ", "text.nfkc"),
    ("the t\u0336r\u0336e\u0336e\u0336", "text.combining"),
    ("the tr\u0435\u0435", "text.confusable"),
    ("the\u00a0tree", "text.whitespace"),
    ("the t\u200bree", "text.invisible"),
    ("the    tree", "text.whitespace"),
])
def test_each_disguise_is_undone_and_noted(text: str, code: str) -> None:
    out = canonical(text)
    assert out.text == "the tree"
    assert code in out.codes


def test_plain_ascii_is_unchanged_and_uncoded() -> None:
    out = canonical("man in a red shirt on the left")
    assert out.text == "man in a red shirt on the left" and out.codes == () and out.removed == 0


def test_another_script_is_left_alone() -> None:
    assert canonical("собака").text == "собака"  # a Russian word is no disguised English one
    assert not readable(canonical("собака").text)


def test_padding_cannot_push_a_label_past_the_cut() -> None:
    out = canonical_short("\u00a0" * 70_000 + "the tree")
    assert out.text.strip() == "the tree"
    invisible = canonical_short("\u200b" * 70_000 + "the tree")
    assert invisible.text == "the tree" and "text.invisible" in invisible.codes


def test_cut_is_noted() -> None:
    out = canonical("word " * 100, max_chars=50)
    assert len(out.text) == 50 and "text.cut" in out.codes
