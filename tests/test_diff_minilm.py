"""The diff engine with the real all-MiniLM-L6-v2 model (slow: loads the model)."""

from __future__ import annotations

import pytest

from embeddings.cache import CachedEmbedder, MemoryVectorStore
from embeddings.sentence_transformer import SentenceTransformerEmbedder
from tests.support.factories import requirement
from tracker.diff import Kind, Tag, diff_versions
from tracker.domain.model import Requirement

pytestmark = pytest.mark.slow


def _r(ident: str, title: str, statement: str) -> Requirement:
    return requirement(ident, statement, title)


OLD = (
    _r("LLM01", "Prompt Injection", "Crafted inputs manipulate the model into ignoring its instructions."),
    _r(
        "LLM06",
        "Sensitive Information Disclosure",
        "The model may reveal confidential data, proprietary algorithms or personal details in answers.",
    ),
    _r(
        "LLM07",
        "Insecure Plugin Design",
        "Plugins accept free-text inputs without validation, letting attackers run remote code.",
    ),
)
NEW = (
    _r("LLM01", "Prompt Injection", "Crafted inputs manipulate the model into ignoring system instructions."),
    _r(
        "LLM02",
        "Sensitive Information Disclosure",
        "Responses can leak personal information, secrets or proprietary model details to users.",
    ),
    _r(
        "LLM08",
        "Vector and Embedding Weaknesses",
        "Retrieval augmented generation pipelines can be poisoned through manipulated embeddings.",
    ),
)


def test_minilm_aligns_reworded_renumbered_entry() -> None:
    embedder = CachedEmbedder(SentenceTransformerEmbedder(), MemoryVectorStore())
    result = diff_versions(OLD, NEW, embedder)
    by_ids = {(c.old_ids, c.new_ids): c for c in result.changes}
    moved = by_ids[(("LLM06",), ("LLM02",))]
    assert moved.kind is Kind.MOVED and moved.substantive is True
    assert by_ids[(("LLM01",), ("LLM01",))].kind is Kind.MODIFIED
    assert by_ids[(("LLM07",), ())].kind is Kind.REMOVED
    assert by_ids[((), ("LLM08",))].kind is Kind.ADDED
    assert Tag.IDENTIFIER_REUSED not in moved.tags
    assert result.model_id is not None and "all-MiniLM-L6-v2" in result.model_id
    # Warm: the same diff again embeds nothing and gives the same answer.
    misses = embedder.misses
    assert diff_versions(OLD, NEW, embedder).to_json_dict() == result.to_json_dict()
    assert embedder.misses == misses
