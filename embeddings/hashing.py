"""A deterministic stand-in :class:`~embeddings.protocol.Embedder` for tests and offline demos.

Bag of words hashed into ``dim`` buckets (CRC-32, so the same on every machine and Python
build), word bigrams included, L2-normalised. It knows no synonyms: two texts are similar
exactly when they share words. Use the real model where meaning matters.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Sequence

import numpy as np

from embeddings.protocol import Vectors

_WORD = re.compile(r"[a-z0-9]+")


class HashingEmbedder:
    """Hashing bag-of-words vectors; ``model_id`` names the scheme and ``dim``."""

    def __init__(self, dim: int = 256) -> None:
        if dim < 8:
            raise ValueError("dim must be at least 8")
        self.dim = dim
        self.model_id = f"hashing-bow-v1:{dim}"
        self.calls = 0
        self.texts_encoded = 0

    def encode(self, texts: Sequence[str]) -> Vectors:
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        self.calls += 1
        self.texts_encoded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            grams = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
            for gram in grams:
                out[row, zlib.crc32(gram.encode("utf-8")) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        result: Vectors = (out / norms).astype(np.float32)
        return result
