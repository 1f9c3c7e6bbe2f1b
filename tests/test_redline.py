"""Word-level redlines: pinned diff-match-patch settings, text and HTML renderings."""

from __future__ import annotations

from tracker.domain import redline as rl
from tracker.domain.redline import Redline, parse_text, redline, render_html, render_text, word_similarity


def test_word_level_with_semantic_cleanup() -> None:
    red = redline(
        "The organization shall review the policy annually.",
        "The organization should review it every 90 days.",
    )
    assert (
        render_text(red)
        == "The organization [-shall-]{+should+} review [-the policy annually-]{+it every 90 days+}."
    )
    assert red.old_text() == "The organization shall review the policy annually."
    assert red.new_text() == "The organization should review it every 90 days."
    assert ("shall", "should") in red.replacements()


def test_edits_never_cut_words() -> None:
    red = redline("Maintain the inventory.", "Maintian the inventories.")
    for op, text in red.ops:
        if op != rl.EQUAL:
            assert text == text.strip() and " " not in text
    assert render_text(red) == "[-Maintain-]{+Maintian+} the [-inventory-]{+inventories+}."


def test_html_is_escaped() -> None:
    red = redline("use <b> & x", 'use <script>"y"</script>')
    html = render_html(red)
    assert "<script>" not in html
    assert "script&gt;&quot;y&quot;&lt;/script&gt;" in html
    assert html.startswith("use &lt;") and "<del>" in html and "<ins>" in html


def test_identical_and_empty() -> None:
    assert not redline("same", "same").changed
    assert redline("", "").ops == ()
    assert render_text(redline("", "new")) == "{+new+}"
    assert word_similarity("a b c", "a b c") == 1.0
    assert Redline(()).similarity() == 1.0


def test_parse_text_round_trip() -> None:
    red = redline("alpha beta gamma delta", "alpha BETA gamma epsilon delta")
    assert parse_text(render_text(red)) == red


def test_pinned_parameters() -> None:
    engine = rl._engine()
    assert engine.Diff_Timeout == 0
    assert engine.Diff_EditCost == 4


def test_long_very_different_texts_are_bounded_and_deterministic() -> None:
    old = " ".join(f"Sentence {i} says the operator keeps record {i}." for i in range(300))
    new = " ".join(f"Clause {i} requires that a provider stores log {i * 7}." for i in range(300))
    first = redline(old, new)
    assert first == redline(old, new)
    assert first.old_text() == old and first.new_text() == new


def test_long_texts_with_small_edits_stay_word_level() -> None:
    old = " ".join(f"Item {i}: keep record {i}." for i in range(400))
    new = old.replace("keep record 7.", "keep records 7.")
    red = redline(old, new)
    assert render_text(red).count("[-") == 1
    assert "[-record-]{+records+}" in render_text(red)
