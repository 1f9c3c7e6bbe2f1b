"""Sentence embeddings behind a one-method interface, with a persistent cache."""

from embeddings.protocol import Embedder, VectorStore

__all__ = ["Embedder", "VectorStore"]
