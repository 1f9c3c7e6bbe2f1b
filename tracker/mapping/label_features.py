"""Features learned from labels: what known pairs say about a new requirement's controls.

The mapper's own signals (:mod:`tracker.mapping.mapper`) read only the two texts and the
catalog's structure. Labelled pairs (:mod:`tracker.mapping.training`) add what curators and
reviewers did with *similar* requirements, which is how a person maps: "requirements like
this one went to SI-4". For a query and a candidate unit:

``knn_dense`` / ``knn_lexical``
    The share of the query's nearest labelled requirements (by MiniLM cosine, or TF-IDF
    cosine over the mapper's tokens) that list the unit, weighted by a softmax over their
    similarity; rejections count against it (``knn_rejected``).
``prototype``
    Cosine of the query and the mean vector of the labelled requirements that list the unit.
``popularity``
    How often the unit is a target at all (log-scaled): hub controls are listed often.
``family_share``
    The share of the neighbours' targets that fall in the unit's family.

**Cross-fitting.** A training pair's label features are computed without the labels of its
own *group* (the requirement's top-level ancestor: a CSF function, a catalog family), so the
model learns how far to trust transfer from other parts of a framework, which is what it
faces on a new part or a new framework. Features for new queries use every label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # imported where a vectoriser is built: scikit-learn takes 0.8 s to import
    from sklearn.feature_extraction.text import TfidfVectorizer

from tracker.mapping.tokens import tokens

Matrix = npt.NDArray[np.float64]
LABEL_FEATURES = ("knn_dense", "knn_lexical", "knn_rejected", "prototype", "popularity", "family_share")
NEIGHBOURS = 10
TEMPERATURE = 0.05  # softmax over cosines: a neighbour 0.05 closer counts e times more


def _analyzer(text: str) -> list[str]:
    return tokens(text)


@dataclass
class LabelMemory:
    """The labelled requirements, embedded, with their labels over the mapper's units."""

    vectors: npt.NDArray[np.float32] | None  # T x dim, unit length (None: no embedder)
    lexical: TfidfVectorizer
    lexical_rows: Matrix  # T x vocabulary (dense: a few hundred rows at most in practice)
    positive: Matrix  # T x U, 1 where a label lists the unit
    rejected: Matrix  # T x U, 1 where a reviewer rejected the unit
    groups: tuple[str, ...]  # group of each labelled requirement, for cross-fitting
    family: Matrix | None  # U x families one-hot (None: one family or none)

    @classmethod
    def build(
        cls,
        texts: Sequence[str],
        vectors: npt.NDArray[np.float32] | None,
        positive: Matrix,
        rejected: Matrix,
        groups: Sequence[str],
        family: Matrix | None,
    ) -> LabelMemory:
        from sklearn.feature_extraction.text import TfidfVectorizer  # only when labels exist

        lexical = TfidfVectorizer(analyzer=_analyzer, sublinear_tf=True)
        rows = lexical.fit_transform(list(texts) or [""]).toarray()[: len(texts)]
        return cls(vectors, lexical, rows, positive, rejected, tuple(groups), family)

    def features(
        self,
        texts: Sequence[str],
        vectors: npt.NDArray[np.float32] | None,
        groups: Sequence[str | None] | None = None,
    ) -> dict[str, Matrix]:
        """Label features (query x unit) for ``texts``; a query of group ``g`` sees no label of ``g``."""
        n, units = len(texts), self.positive.shape[1]
        out = {name: np.zeros((n, units)) for name in LABEL_FEATURES}
        if n == 0 or not len(self.groups):
            return out
        lex = self.lexical.transform(list(texts)).toarray()
        sims_lex = lex @ self.lexical_rows.T
        sims_dense: Matrix | None = None
        if vectors is not None and self.vectors is not None:
            sims_dense = (vectors @ self.vectors.T).astype(np.float64)
        wanted = list(groups) if groups is not None else [None] * n
        mine = np.array(self.groups)
        for group in sorted(set(wanted), key=lambda g: (g is not None, g or "")):
            rows = np.array([i for i, g in enumerate(wanted) if g == group])
            allowed = np.flatnonzero(mine != group) if group is not None else np.arange(len(mine))
            if not len(allowed):
                continue
            self._fill(out, rows, allowed, sims_lex, sims_dense, vectors)
        return out

    def _fill(
        self,
        out: dict[str, Matrix],
        rows: npt.NDArray[np.int64],
        allowed: npt.NDArray[np.int64],
        sims_lex: Matrix,
        sims_dense: Matrix | None,
        vectors: npt.NDArray[np.float32] | None,
    ) -> None:
        positive, rejected = self.positive[allowed], self.rejected[allowed]
        counts = positive.sum(axis=0)
        top = np.log1p(counts.max()) if counts.max() > 0 else 1.0
        out["popularity"][rows] = np.log1p(counts) / top
        weights_lex = _neighbour_weights(sims_lex[np.ix_(rows, allowed)])
        out["knn_lexical"][rows] = weights_lex @ positive
        weights = weights_lex
        if sims_dense is not None and self.vectors is not None and vectors is not None:
            weights = _neighbour_weights(sims_dense[np.ix_(rows, allowed)])
            out["knn_dense"][rows] = weights @ positive
            sums = positive.T @ self.vectors[allowed].astype(np.float64)  # U x dim
            norms = np.linalg.norm(sums, axis=1, keepdims=True)
            centroids = np.where(norms > 0, sums / np.maximum(norms, 1e-12), 0.0)
            out["prototype"][rows] = vectors[rows].astype(np.float64) @ centroids.T
        out["knn_rejected"][rows] = weights @ rejected
        if self.family is not None:
            by_family = positive @ self.family  # T x families
            shares = by_family / np.maximum(by_family.sum(axis=1, keepdims=True), 1.0)
            out["family_share"][rows] = (weights @ shares) @ self.family.T


def _neighbour_weights(sims: Matrix) -> Matrix:
    """Softmax over each row's ``NEIGHBOURS`` most similar labelled requirements, zero elsewhere."""
    k = min(NEIGHBOURS, sims.shape[1])
    weights = np.zeros_like(sims)
    if k == 0:
        return weights
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    picked = np.take_along_axis(sims, top, axis=1)
    soft = np.exp((picked - picked.max(axis=1, keepdims=True)) / TEMPERATURE)
    soft /= soft.sum(axis=1, keepdims=True)
    np.put_along_axis(weights, top, soft, axis=1)
    return weights
