"""The SQL vector cache: vectors round-trip exactly and no text is embedded twice across runs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import Engine

from embeddings.cache import CachedEmbedder
from embeddings.protocol import Vectors
from tracker.storage.vectors import SqlVectorStore


class CountingEmbedder:
    """Deterministic letter-frequency vectors; counts every text it is asked to encode."""

    model_id = "counting-test"
    dim = 26

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.encoded.extend(texts)
        rows = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for ch in text.lower():
                if "a" <= ch <= "z":
                    rows[i, ord(ch) - 97] += 1
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return (rows / np.where(norms == 0, 1, norms)).astype(np.float32)


def test_cache_persists_across_embedder_instances(engine: Engine) -> None:
    texts = ["Access control policy", "Audit logging", "Access control policy", "Incident response"]
    first = CountingEmbedder()
    vectors = CachedEmbedder(first, SqlVectorStore(engine)).encode(texts)
    assert len(first.encoded) == 3  # the duplicate is encoded once
    second = CountingEmbedder()
    again = CachedEmbedder(second, SqlVectorStore(engine)).encode(texts)
    assert second.encoded == []  # everything came from the database
    np.testing.assert_array_equal(vectors, again)


def test_store_skips_existing_rows(engine: Engine) -> None:
    store = SqlVectorStore(engine)
    vec = np.arange(4, dtype=np.float32)
    store.put_many("m", {"h1": vec})
    store.put_many("m", {"h1": vec + 1, "h2": vec})
    got = store.get_many("m", ["h1", "h2", "h3"])
    assert set(got) == {"h1", "h2"}
    np.testing.assert_array_equal(got["h1"], vec)
    assert store.get_many("other-model", ["h1"]) == {}
