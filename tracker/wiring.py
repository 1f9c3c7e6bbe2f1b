"""Wiring: the parts a command or a worker needs, built from :class:`~tracker.settings.Settings`.

The database engine (:func:`tracker.storage.db.open_engine`) and the embedder are made
here or there from settings, never from the environment directly.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from embeddings.cache import CachedEmbedder
from tracker.domain.errors import InvalidInputError
from tracker.domain.text import normalise
from tracker.settings import Settings
from tracker.storage.vectors import SqlVectorStore


def make_embedder(
    engine: Engine, settings: Settings, progress: Callable[[int, int], None] | None = None
) -> CachedEmbedder:
    """The packaged MiniLM behind the database vector cache (the model loads on first use).

    ``progress`` is told how far each batch of texts that missed the cache has got.
    """
    from embeddings.sentence_transformer import PRECISIONS, SentenceTransformerEmbedder

    precision = next((p for p in PRECISIONS if p == settings.embed_precision), None)
    if precision is None:
        raise InvalidInputError(
            f"TRACKER_EMBED_PRECISION={settings.embed_precision!r} is not a known precision",
            "set it to bf16 or fp32",
        )
    return CachedEmbedder(
        SentenceTransformerEmbedder(
            batch_size=settings.embed_batch_size,
            precision=precision,
            threads=settings.embed_threads or None,
            progress=progress,
        ),
        SqlVectorStore(engine),
        normalise=normalise,
    )
