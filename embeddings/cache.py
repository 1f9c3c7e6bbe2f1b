"""A caching :class:`~embeddings.protocol.Embedder`: no text is ever embedded twice.

Texts are first put in their comparison form, so two spellings that differ only in noise
share one vector; the cache key is the SHA-256 of that form, scoped by the embedder's
``model_id``. The normalised form is also what gets embedded, so a vector never depends on
which spelling happened to be seen first. The default form is Unicode NFKC with runs of
whitespace collapsed; the tracker passes its fuller noise normalisation
(:func:`tracker.domain.text.normalise`), keeping this package free of imports from ``tracker``.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from embeddings.protocol import Embedder, Vectors, VectorStore


def _normalise(text: str) -> str:
    """NFKC and collapsed whitespace: the least any caller wants treated as the same text."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def text_key(normalised: str) -> str:
    """The cache key of an already-normalised text."""
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


class MemoryVectorStore:
    """A :class:`~embeddings.protocol.VectorStore` in a dict, for tests and one-off runs."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], Vectors] = {}

    def get_many(self, model_id: str, hashes: Sequence[str]) -> Mapping[str, Vectors]:
        found: dict[str, Vectors] = {}
        for digest in hashes:
            vector = self._data.get((model_id, digest))
            if vector is not None:
                found[digest] = vector
        return found

    def put_many(self, model_id: str, items: Mapping[str, Vectors]) -> None:
        for digest, vector in items.items():
            stored = np.array(vector, dtype=np.float32, copy=True).reshape(-1)
            stored.setflags(write=False)
            self._data[(model_id, digest)] = stored

    def __len__(self) -> int:
        return len(self._data)


class CachedEmbedder:
    """Wraps an embedder with a vector store; looks up first, encodes only the misses.

    Within one ``encode`` call duplicate texts (after normalisation) are encoded once.
    ``hits`` and ``misses`` count texts served from the store and texts actually encoded,
    so benchmarks and tests can check the "never twice" promise.
    """

    def __init__(
        self,
        embedder: Embedder,
        store: VectorStore | None = None,
        *,
        normalise: Callable[[str], str] = _normalise,
    ) -> None:
        self.embedder = embedder
        self.store: VectorStore = store if store is not None else MemoryVectorStore()
        self.normalise = normalise
        self.model_id: str = embedder.model_id
        self.dim: int = embedder.dim
        self.hits = 0
        self.misses = 0

    def encode(self, texts: Sequence[str]) -> Vectors:
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        forms = [self.normalise(t) for t in texts]
        keys = [text_key(f) for f in forms]
        unique = list(dict.fromkeys(keys))
        found = dict(self.store.get_many(self.model_id, unique)) if unique else {}
        missing = [k for k in unique if k not in found]
        if missing:
            form_of = dict(zip(keys, forms, strict=True))
            fresh = self.embedder.encode([form_of[k] for k in missing])
            if fresh.shape != (len(missing), self.dim):
                raise ValueError(
                    f"embedder returned shape {fresh.shape}, expected {(len(missing), self.dim)}"
                )
            new = {k: np.asarray(fresh[i], dtype=np.float32) for i, k in enumerate(missing)}
            self.store.put_many(self.model_id, new)
            found.update(new)
        self.hits += len(unique) - len(missing)
        self.misses += len(missing)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, key in enumerate(keys):
            out[row] = found[key]
        return out
