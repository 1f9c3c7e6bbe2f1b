"""A small Okapi BM25 index over :func:`tracker.mapping.tokens.tokens`, scored in bulk.

Documents are held as a sparse document x term matrix of precomputed BM25 term weights, so
scoring many queries is one sparse matrix product. ``k1 = 1.2, b = 0.75`` are the textbook
defaults (Robertson & Zaragoza); we do not tune them on any evaluation set.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import sparse

from tracker.mapping.tokens import tokens

FloatMatrix = npt.NDArray[np.float64]


class BM25Index:
    """BM25 over a fixed list of documents; :meth:`scores` ranks them for many queries."""

    def __init__(self, documents: Sequence[str], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        docs = [Counter(tokens(text)) for text in documents]
        self.size = len(docs)
        self.vocabulary: dict[str, int] = {}
        for doc in docs:
            for term in doc:
                self.vocabulary.setdefault(term, len(self.vocabulary))
        lengths = np.array([sum(doc.values()) for doc in docs], dtype=np.float64)
        average = float(lengths.mean()) if self.size and lengths.sum() else 1.0
        df = np.zeros(len(self.vocabulary), dtype=np.float64)
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[float] = []
        for row, doc in enumerate(docs):
            for term, tf in doc.items():
                col = self.vocabulary[term]
                df[col] += 1
                rows.append(row)
                cols.append(col)
                tfs.append(float(tf))
        # Lucene's non-negative IDF: a term in every document still weighs a little.
        self.idf = np.log1p((self.size - df + 0.5) / (df + 0.5))
        tf_arr = np.array(tfs, dtype=np.float64)
        norm = k1 * (1.0 - b + b * lengths[np.array(rows, dtype=np.int64)] / average) if rows else np.zeros(0)
        weights = (
            self.idf[np.array(cols, dtype=np.int64)] * tf_arr * (k1 + 1.0) / (tf_arr + norm)
            if rows
            else tf_arr
        )
        self.matrix = sparse.csr_matrix(
            (weights, (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64))),
            shape=(self.size, len(self.vocabulary)),
        )
        self.presence = sparse.csr_matrix(
            (np.ones(len(rows)), (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64))),
            shape=(self.size, len(self.vocabulary)),
        )

    def query_matrix(self, queries: Sequence[str]) -> sparse.csr_matrix:
        """Queries as term-count rows over this index's vocabulary (unknown terms dropped)."""
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for row, text in enumerate(queries):
            for term, count in Counter(tokens(text)).items():
                col = self.vocabulary.get(term)
                if col is not None:
                    rows.append(row)
                    cols.append(col)
                    vals.append(float(count))
        return sparse.csr_matrix((vals, (rows, cols)), shape=(len(queries), len(self.vocabulary)))

    def scores(self, queries: Sequence[str]) -> FloatMatrix:
        """BM25 score of every document for every query: shape ``(len(queries), size)``."""
        if not queries or not self.size:
            return np.zeros((len(queries), self.size))
        product = self.query_matrix(queries) @ self.matrix.T
        return np.asarray(product.todense(), dtype=np.float64)

    def coverage(self, queries: Sequence[str]) -> FloatMatrix:
        """IDF-weighted share of each query's known terms that occur in each document."""
        if not queries or not self.size:
            return np.zeros((len(queries), self.size))
        q = self.query_matrix(queries)
        q.data = np.ones_like(q.data)
        weighted = q.multiply(self.idf.reshape(1, -1)).tocsr()
        total = np.asarray(weighted.sum(axis=1), dtype=np.float64).reshape(-1, 1)
        hit = np.asarray((weighted @ self.presence.T).todense(), dtype=np.float64)
        return hit / np.maximum(total, 1e-12)

    def idf_of(self, term: str) -> float:
        col = self.vocabulary.get(term)
        return float(self.idf[col]) if col is not None else math.log1p(self.size + 0.5)
