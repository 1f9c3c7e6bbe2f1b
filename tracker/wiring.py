"""Wiring: the parts a command or a worker needs, built from :class:`~tracker.settings.Settings`.

The database engine (:func:`tracker.storage.db.open_engine`) and the embedder are made
here or there from settings, never from the environment directly.
"""

from __future__ import annotations

from sqlalchemy import Engine

from embeddings.cache import CachedEmbedder
from tracker.domain.text import normalise
from tracker.settings import Settings
from tracker.storage.vectors import SqlVectorStore


def make_embedder(engine: Engine, settings: Settings) -> CachedEmbedder:
    """The packaged MiniLM behind the database vector cache (the model loads on first use)."""
    from embeddings.sentence_transformer import SentenceTransformerEmbedder

    return CachedEmbedder(
        SentenceTransformerEmbedder(batch_size=settings.embed_batch_size),
        SqlVectorStore(engine),
        normalise=normalise,
    )
