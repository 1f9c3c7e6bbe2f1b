"""Reading how a sentence directs: modal verbs, and instructions in the imperative."""

from __future__ import annotations

import pytest

from tracker.domain.modality import imperatives, is_imperative, obligations, strongest
from tracker.domain.model import Strength


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Limit the scope of plugins.", True),
        ("- **Enforce** least privilege for agents", True),
        ("3. Validate inputs at every trust boundary", True),
        ("Do not store secrets in system prompts.", True),
        ("Don't trust model output.", True),
        ("Log all administrative access.", True),
        ("Use of AI is increasing.", False),  # a noun phrase opening with a verb's spelling
        ("Review is done yearly.", False),
        ("Log files are kept for a year.", False),
        ("Consider sandboxing the interpreter.", False),  # an invitation, not a directive
        ("The model should be limited.", False),
        ("Data is destroyed according to policy.", False),
        ("limit the scope", False),  # not the start of a sentence
        ("Uniquely identify and authenticate devices.", True),  # an adverb before the verb
        ("Notify regulators of serious incidents.", True),
        ("Review and approve changes before release.", True),  # two verbs paired
        ("Review and approval are recorded.", False),
        ("Quickly is how attackers adapt.", False),  # an adverb, but no directive verb after it
        ("Plan of action and milestones.", False),  # a title, not an instruction
    ],
)
def test_is_imperative(sentence: str, expected: bool) -> None:
    assert is_imperative(sentence) is expected


def test_imperatives_counts_sentences_and_list_items() -> None:
    text = "Mitigations:\n- Limit plugin permissions.\n- Monitor tool calls.\nAttackers adapt quickly."
    assert imperatives(text) == 2


def test_modal_strength_and_prohibition() -> None:
    found = obligations("Providers shall not log prompts. Operators should rotate keys.")
    assert [(o.modal, o.negated) for o in found] == [("shall not", True), ("should", False)]
    assert strongest(found) is Strength.MUST
