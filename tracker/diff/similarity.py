"""Similarity between requirements of the two versions: lexical TF-IDF and dense embeddings.

Lexical: word unigrams and bigrams (crudely stemmed), sublinear term frequency, inverse
document frequency over *both* versions (so a word every requirement uses, such as
"system", weighs little), L2-normalised, cosine by sparse product. Computed twice, on title +
statement and on the match text that adds the start of the guidance, and the larger cosine
counts: a pair is lexically close if its statements are, or its descriptions are.
Dense: the embedder's cosine on the same text, computed only for the requirements that
need it (one batched ``encode`` call per request, so a caching embedder sees each text once).
Combined score: ``DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * lexical`` when an embedder is
given, else the lexical cosine alone; thresholds are chosen per mode (see ``Thresholds``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from embeddings.protocol import Embedder
from tracker.diff.features import STOPWORDS, Item, stem

Matrix = npt.NDArray[np.float64]
DENSE_WEIGHT = 0.6
# Candidate generation for large pools: an item is embedded only if some item on the other
# side shares enough vocabulary to be a candidate at all (lexical cosine at least this).
# Renumbered requirements in large catalogs keep far more than this in common; it spares
# embedding hundreds of plainly new requirements (SP 800-53 Rev 5 adds ~230). Pools of up to
# DENSE_ALL_MAX items are embedded whole, so a pure paraphrase in a short list (a Top 10)
# can still be found by meaning alone.
DENSE_PREFILTER = 0.1
DENSE_ALL_MAX = 64


@dataclass(frozen=True)
class Thresholds:
    """Decision points for one similarity mode; see :mod:`tracker.diff.align` for their use.

    ``floor``: below this a pair is never aligned. ``strong``: at or above this a pair is
    aligned even if a sibling is almost as similar. ``margin``: how much better than the
    second-best candidate (in its row and column) a pair in between must be.
    ``reuse``: a same-key pair this dissimilar, with titles that share nothing, is
    an identifier reused for a different requirement.
    """

    floor: float
    strong: float
    margin: float
    reuse: float
    key_bonus: float
    parent_bonus: float


DENSE_THRESHOLDS = Thresholds(
    floor=0.45, strong=0.8, margin=0.06, reuse=0.35, key_bonus=0.12, parent_bonus=0.04
)
LEXICAL_THRESHOLDS = Thresholds(
    floor=0.3, strong=0.75, margin=0.06, reuse=0.12, key_bonus=0.12, parent_bonus=0.04
)


def _grams(folded: str) -> list[str]:
    words = [stem(w) for w in folded.split()]
    grams = [w for w in words if w not in STOPWORDS]
    grams.extend(f"{a} {b}" for a, b in itertools.pairwise(words) if not (a in STOPWORDS and b in STOPWORDS))
    return grams


def _tfidf(docs: Sequence[str]) -> sp.csr_matrix:
    vocab: dict[str, int] = {}
    per_doc = [_grams(doc) for doc in docs]
    cols = np.fromiter((vocab.setdefault(g, len(vocab)) for grams in per_doc for g in grams), dtype=np.int64)
    rows = np.repeat(np.arange(len(docs)), [len(g) for g in per_doc])
    # Duplicate (row, col) entries add up when converted: raw counts, then sublinear tf.
    tf = sp.csr_matrix(
        (np.ones(len(cols)), (rows, cols)), shape=(len(docs), max(1, len(vocab))), dtype=np.float64
    )
    tf.sum_duplicates()
    tf.data = 1.0 + np.log(tf.data)
    df = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.float64)
    idf = np.log((1.0 + len(docs)) / (1.0 + df)) + 1.0
    weighted = sp.csr_matrix(tf.multiply(idf[np.newaxis, :]))
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ weighted)


def _binary(sets: Sequence[frozenset[str]]) -> sp.csr_matrix:
    vocab: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for row, words in enumerate(sets):
        for word in sorted(words):
            rows.append(row)
            cols.append(vocab.setdefault(word, len(vocab)))
    data = np.ones(len(rows), dtype=np.float64)
    return sp.csr_matrix((data, (rows, cols)), shape=(len(sets), max(1, len(vocab))))


class Similarity:
    """Pairwise similarities between old and new items, by item index within each side."""

    def __init__(self, old: Sequence[Item], new: Sequence[Item], embedder: Embedder | None) -> None:
        self.old = old
        self.new = new
        self.embedder = embedder
        self.thresholds = DENSE_THRESHOLDS if embedder is not None else LEXICAL_THRESHOLDS
        self._lex: list[tuple[sp.csr_matrix, sp.csr_matrix]] = []
        for texts in ([it.folded_core for it in (*old, *new)], [it.folded for it in (*old, *new)]):
            matrix = _tfidf(texts)
            self._lex.append((sp.csr_matrix(matrix[: len(old)]), sp.csr_matrix(matrix[len(old) :])))
        self._words = _binary([it.words for it in old] + [it.words for it in new])
        self._sizes = np.asarray(self._words.sum(axis=1), dtype=np.float64).ravel()
        self._vec_old: dict[int, npt.NDArray[np.float32]] = {}
        self._vec_new: dict[int, npt.NDArray[np.float32]] = {}
        self.encoded = 0

    @property
    def dense_enabled(self) -> bool:
        return self.embedder is not None

    def prepare(self, old_idx: Iterable[int], new_idx: Iterable[int]) -> None:
        """Embed, in one call, every listed item not embedded yet."""
        if self.embedder is None:
            return
        need_old = sorted({i for i in old_idx if i not in self._vec_old})
        need_new = sorted({j for j in new_idx if j not in self._vec_new})
        if not need_old and not need_new:
            return
        texts = [self.old[i].match_text for i in need_old] + [self.new[j].match_text for j in need_new]
        vectors = self.embedder.encode(texts)
        self.encoded += len(texts)
        for row, i in enumerate(need_old):
            self._vec_old[i] = vectors[row]
        for row, j in enumerate(need_new, start=len(need_old)):
            self._vec_new[j] = vectors[row]

    def lexical(self, old_idx: Sequence[int], new_idx: Sequence[int]) -> Matrix:
        if not old_idx or not new_idx:
            return np.zeros((len(old_idx), len(new_idx)))
        rows, cols = list(old_idx), list(new_idx)
        products = [np.asarray((a[rows] @ b[cols].T).toarray(), dtype=np.float64) for a, b in self._lex]
        return np.maximum(products[0], products[1])

    def dense(self, old_idx: Sequence[int], new_idx: Sequence[int]) -> Matrix | None:
        if self.embedder is None:
            return None
        if not old_idx or not new_idx:
            return np.zeros((len(old_idx), len(new_idx)))
        self.prepare(old_idx, new_idx)
        a = np.stack([self._vec_old[i] for i in old_idx]).astype(np.float64)
        b = np.stack([self._vec_new[j] for j in new_idx]).astype(np.float64)
        return np.clip(a @ b.T, -1.0, 1.0)

    def combined(self, old_idx: Sequence[int], new_idx: Sequence[int]) -> Matrix:
        """Combined scores; dense only for items with a lexical candidate (see ``DENSE_PREFILTER``)."""
        lex = self.lexical(old_idx, new_idx)
        if self.embedder is None or lex.size == 0:
            return lex
        if lex.shape[0] + lex.shape[1] <= DENSE_ALL_MAX:
            rows, cols = np.arange(lex.shape[0]), np.arange(lex.shape[1])
        else:
            rows = np.flatnonzero(lex.max(axis=1) >= DENSE_PREFILTER)
            cols = np.flatnonzero(lex.max(axis=0) >= DENSE_PREFILTER)
        dense = np.zeros_like(lex)
        if rows.size and cols.size:
            block = self.dense([old_idx[int(r)] for r in rows], [new_idx[int(c)] for c in cols])
            assert block is not None
            dense[np.ix_(rows, cols)] = block
        return DENSE_WEIGHT * dense + (1.0 - DENSE_WEIGHT) * lex

    def containment(self, part: Sequence[tuple[int, int]], whole: Sequence[tuple[int, int]]) -> Matrix:
        """Share of each ``part`` item's content words found in each ``whole`` item.

        Items are given as ``(side, index)``; the result has one row per ``whole`` item and one
        column per ``part`` item, 0 where the part has no content words.
        """
        n_old = len(self.old)
        prow = [i if side == 0 else n_old + i for side, i in part]
        wrow = [i if side == 0 else n_old + i for side, i in whole]
        if not prow or not wrow:
            return np.zeros((len(wrow), len(prow)))
        counts = np.asarray((self._words[wrow] @ self._words[prow].T).toarray(), dtype=np.float64)
        sizes = self._sizes[prow]
        return np.divide(counts, sizes[None, :], out=np.zeros_like(counts), where=sizes[None, :] > 0)

    def word_count(self, side: int, index: int) -> int:
        return int(self._sizes[index if side == 0 else len(self.old) + index])

    def lexical_pairs(self, pairs: Sequence[tuple[int, int]]) -> Matrix:
        """Lexical cosine for a list of (old index, new index) pairs; never embeds anything."""
        if not pairs:
            return np.zeros(0)
        oi = [p[0] for p in pairs]
        nj = [p[1] for p in pairs]
        per_text = [np.asarray(a[oi].multiply(b[nj]).sum(axis=1)).ravel() for a, b in self._lex]
        best: Matrix = np.maximum(per_text[0], per_text[1])
        return best


def title_similarity(a: str, b: str) -> float:
    """Jaccard similarity of the content words of two titles (1.0 when both are empty)."""
    wa = {w for w in a.lower().split() if w not in STOPWORDS}
    wb = {w for w in b.lower().split() if w not in STOPWORDS}
    if not wa and not wb:
        return 1.0
    return len(wa & wb) / len(wa | wb)
