"""The interfaces the rest of the system codes against."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text, in input order."""

    model_id: str  # identifies model and numeric options; part of every cache key
    dim: int

    def encode(self, texts: Sequence[str]) -> Vectors: ...


class VectorStore(Protocol):
    """Persistent cache of vectors keyed by (model id, hash of the normalised text)."""

    def get_many(self, model_id: str, hashes: Sequence[str]) -> Mapping[str, Vectors]: ...

    def put_many(self, model_id: str, items: Mapping[str, Vectors]) -> None: ...
