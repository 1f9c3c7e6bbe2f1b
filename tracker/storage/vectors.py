"""SQL-backed vector cache implementing :class:`embeddings.VectorStore`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from embeddings.protocol import Vectors
from tracker.storage.tables.archive import EmbeddingRow

_CHUNK = 500


class SqlVectorStore:
    """Vectors stored as raw float32 bytes, keyed by (model id, text hash)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get_many(self, model_id: str, hashes: Sequence[str]) -> Mapping[str, Vectors]:
        found: dict[str, Vectors] = {}
        unique = list(dict.fromkeys(hashes))
        with Session(self.engine) as session:
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                rows = session.execute(
                    select(EmbeddingRow.text_hash, EmbeddingRow.vector).where(
                        EmbeddingRow.model_id == model_id, EmbeddingRow.text_hash.in_(chunk)
                    )
                )
                for text_hash, blob in rows:
                    found[text_hash] = np.frombuffer(blob, dtype=np.float32).copy()
        return found

    def put_many(self, model_id: str, items: Mapping[str, Vectors]) -> None:
        if not items:
            return
        with Session(self.engine) as session, session.begin():
            present = set(
                session.scalars(
                    select(EmbeddingRow.text_hash).where(
                        EmbeddingRow.model_id == model_id, EmbeddingRow.text_hash.in_(list(items))
                    )
                )
            )
            for text_hash, vector in items.items():
                if text_hash in present:
                    continue
                array = np.asarray(vector, dtype=np.float32)
                session.add(
                    EmbeddingRow(
                        model_id=model_id,
                        text_hash=text_hash,
                        dim=int(array.shape[-1]),
                        vector=array.tobytes(),
                    )
                )
