"""Rank an organisation's controls (or another version's requirements) for each requirement.

Signals, each standardised per query over all candidate *units* (z-scores):

``lexical``
    BM25 over the control's title and statement (:mod:`tracker.mapping.bm25`).
``dense``
    Cosine of the requirement and the control's title + statement (MiniLM through the
    ``embeddings`` package), with enhancements *rolled up*: a base control's similarity is
    ``(1 - s)·own + s·max(own, best enhancement)``. Crosswalk curators map at the level of
    the base control (NIST's CSF → 800-53 mapping names almost no enhancement), but an
    enhancement's text often says what the base control is about more specifically.
``parts``
    Best cosine over the control's statement parts and discussion sentences, so one
    matching item of a long control is not drowned by the rest. Computed for the query's
    ``parts_pool`` (100) best units by the lexical and dense signals; part sentences, three
    times as many texts as controls, are embedded only for units some pool holds.
``feedback``
    Dense pseudo-relevance feedback: the query vector moved towards its three best units
    (Rocchio), which recovers controls that share the winners' vocabulary.
``prior``
    Structural breadth of a control: log(1 + enhancements + declared incoming links),
    scaled to [0, 1]. Broad controls (contingency plan, incident handling, continuous
    monitoring) are mapped from many places; a small prior breaks ties their way.
``family``
    Family coherence: the share of the query's softmax-weighted evidence that falls in
    each control's family. A requirement usually maps to a cluster of one family
    (identification and authentication, media protection, incident response), so a
    control whose family already holds strong candidates moves up a little.
``related``
    Declared neighbourhood: the share of the query's evidence (a softmax over the fused
    score in standard deviations) that falls on the controls a control is linked to by
    the publisher (``Control.links``, 800-53's "Related Controls", read either way and
    rolled up to base controls). Hub controls that the strongest candidates point at
    (incident handling, contingency plan, system monitoring) are what curators list, so
    they move up a little.
``policy``
    A requirement about policy, legal or regulatory obligations maps to the "policy and
    procedures" control that opens every family (the ``-1`` controls of 800-53); that is
    a structural convention of control catalogs, so it is applied by rule.

Weights are fixed round numbers (equal weight for the text signals, half for the
structural ones), not fitted: a leave-one-CSF-function-out search over weights on NIST's
CSF → 800-53 crosswalk did no better on held-out functions than these. Two structural
signals were added after checking them on that crosswalk, so treat both as informed by
the development set: ``family`` (trades about 0.01 MRR for about 0.03 recall@10) and
``related`` (weight 0.5 by the convention above; about +0.015 MRR and +0.02 recall@50 at
the same recall@10, better on four of the five CSF functions, flat on the fifth; its
softmax temperature was set after trying it over the raw fused sum, which was worse).
Re-choosing both weights on four functions and scoring the fifth does *not* beat these
fixed values (the mapping benchmark prints it), so do not tune them further on that set.
Scores are calibrated by :func:`tracker.mapping.scoring.pair_score` (the evidence, or the
pair's absolute textual agreement when that is higher); relationships by
:func:`tracker.mapping.scoring.suggest_relationship`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from scipy import sparse

from embeddings.protocol import Embedder
from tracker.mapping.bm25 import BM25Index
from tracker.mapping.documents import MapQuery
from tracker.mapping.fusion import MapperConfig, Matrix, sentences, softmax, zscore
from tracker.mapping.scoring import pair_score, suggest_relationship, weighted_coverage
from tracker.mapping.tokens import tokens
from tracker.mapping.types import REVIEWER_CONFIRMED, REVIEWER_REJECTED, Candidate, Control, Ranking

if TYPE_CHECKING:
    from tracker.mapping.ranker import LearnedRanker

_POLICY_TITLE = re.compile(r"\bpolic(y|ies)\b.*\bprocedures?\b|\bprocedures?\b.*\bpolic(y|ies)\b", re.I)
UNSUPERVISED = "unsupervised fusion of lexical, dense and structural signals"
_POLICY_QUERY = re.compile(r"\b(polic(y|ies)|legal|regulatory|governance)\b", re.I)


class Mapper:
    """Index a set of controls once; rank them for any number of requirements.

    With ``embedder=None`` only the lexical and structural signals are used (useful in
    tests and as a fallback); scores stay calibrated because every signal is standardised.
    """

    def __init__(
        self,
        controls: Sequence[Control],
        embedder: Embedder | None = None,
        config: MapperConfig | None = None,
    ) -> None:
        self.config = config or MapperConfig()
        self.embedder = embedder
        # With labelled pairs for these controls (tracker.mapping.ranker), the learned ranker
        # weighs the signals below; without, their fixed-weight fusion ranks alone.
        self.ranker: LearnedRanker | None = None
        self.controls = list(controls)
        keys = [c.key for c in self.controls]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise ValueError(f"two controls share the key {dup!r}; control ids must be unique")
        present = set(keys)
        # A unit is what gets ranked: a base control with its enhancements rolled in, or any
        # control when roll-up is off or its base is not among the controls.
        self.units = [
            c
            for c in self.controls
            if not (self.config.roll_up and c.parent is not None and c.parent in present)
        ]
        self.unit_index = {c.key: i for i, c in enumerate(self.units)}
        self.control_index = {c.key: j for j, c in enumerate(self.controls)}
        self._best_child: npt.NDArray[np.int64] | None = None
        self.children: list[list[int]] = [[] for _ in self.units]
        for j, control in enumerate(self.controls):
            if (
                self.config.roll_up
                and control.parent in self.unit_index
                and control.key not in self.unit_index
            ):
                self.children[self.unit_index[control.parent]].append(j)
        self.unit_texts = [self._text(c) for c in self.units]
        self.lexical = BM25Index(self.unit_texts)
        self.unit_terms = [set(tokens(t)) for t in self.unit_texts]
        self.idf = {term: float(self.lexical.idf[col]) for term, col in self.lexical.vocabulary.items()}
        self.prior = self._breadth()
        self.policy_units = np.array(
            [bool(_POLICY_TITLE.search(c.title)) or "policy" in c.tags for c in self.units], dtype=np.float64
        )
        families = sorted({c.family for c in self.units if c.family})
        self.family_onehot: Matrix | None = None
        if len(families) > 1:
            column = {name: i for i, name in enumerate(families)}
            self.family_onehot = np.zeros((len(self.units), len(families)))
            for i, unit in enumerate(self.units):
                if unit.family:
                    self.family_onehot[i, column[unit.family]] = 1.0
        self.related_graph = self._graph()
        self.control_vectors: npt.NDArray[np.float32] | None = None
        self.unit_vectors: npt.NDArray[np.float32] | None = None
        self.part_vectors: npt.NDArray[np.float32] | None = None
        self.part_texts: list[str] = []
        self.part_owner = np.zeros(0, dtype=np.int64)
        self.parts_embedded = np.zeros(len(self.units), dtype=bool)
        if embedder is not None and self.units:
            self._embed_targets(embedder)

    @staticmethod
    def _text(control: Control) -> str:
        title, body = control.title.strip(), control.description.strip()
        return f"{title}. {body}" if title and body else (title or body or control.id)

    def _breadth(self) -> Matrix:
        counts = np.array([len(kids) for kids in self.children], dtype=np.float64)
        for control in self.controls:
            for target in control.links:
                unit = self._unit_of(target)
                if unit is not None:
                    counts[unit] += 1
        log = np.log1p(counts)
        top = float(log.max()) if len(log) else 0.0
        out: Matrix = log / top if top > 0 else log
        return out

    def _graph(self) -> sparse.csr_matrix:
        """Units x units, 1 where a control of one declares a link to a control of the other."""
        pairs = set()
        for control in self.controls:
            source = self._unit_of(control.key)
            for target in control.links:
                unit = self._unit_of(target)
                if source is not None and unit is not None and unit != source:
                    pairs.update({(source, unit), (unit, source)})
        ordered = sorted(pairs)
        rows = np.array([a for a, _ in ordered], dtype=np.int64)
        cols = np.array([b for _, b in ordered], dtype=np.int64)
        n = len(self.units)
        return sparse.csr_matrix((np.ones(len(ordered)), (rows, cols)), shape=(n, n))

    def reconfigured(self, config: MapperConfig) -> Mapper:
        """This index ranked with other weights: nothing is re-indexed or re-embedded.

        Only fusion settings may differ; ``roll_up`` and ``min_part_chars`` shape the index.
        """
        if (config.roll_up, config.min_part_chars) != (self.config.roll_up, self.config.min_part_chars):
            raise ValueError("roll_up and min_part_chars shape the index; build a new Mapper to change them")
        clone = copy.copy(self)
        clone.config = config
        clone._best_child = None
        return clone

    def _unit_of(self, key: str) -> int | None:
        if key in self.unit_index:
            return self.unit_index[key]
        j = self.control_index.get(key)
        parent = self.controls[j].parent if j is not None else None
        return self.unit_index[parent] if parent is not None and parent in self.unit_index else None

    def _embed_targets(self, embedder: Embedder) -> None:
        vectors = embedder.encode([self._text(c) for c in self.controls])
        self.control_vectors = vectors
        unit_rows = [self.control_index[u.key] for u in self.units]
        self.unit_vectors = vectors[unit_rows]
        parts: list[str] = []
        owners: list[int] = []
        for i, unit in enumerate(self.units):
            for sentence in sentences(unit.description, self.config.min_part_chars) + sentences(
                unit.guidance, self.config.min_part_chars
            ):
                parts.append(sentence)
                owners.append(i)
        # Part sentences outnumber controls three to one, so they are embedded on demand
        # (:meth:`_embed_parts`), for the units some query's pool holds.
        self.part_texts = parts
        self.part_vectors = np.zeros((len(parts), embedder.dim), dtype=np.float32)
        self.part_owner = np.array(owners, dtype=np.int64)
        self.parts_embedded = np.zeros(len(self.units), dtype=bool)

    def _embed_parts(self, units: npt.NDArray[np.int64]) -> None:
        assert self.embedder is not None and self.part_vectors is not None
        wanted = np.zeros(len(self.units), dtype=bool)
        wanted[units] = True
        wanted &= ~self.parts_embedded
        rows = np.flatnonzero(wanted[self.part_owner])
        if len(rows):
            self.part_vectors[rows] = self.embedder.encode([self.part_texts[int(r)] for r in rows])
        self.parts_embedded |= wanted

    # --- ranking -------------------------------------------------------------------------

    def rank(self, queries: Sequence[MapQuery], top_k: int = 10) -> list[Ranking]:
        """The ``top_k`` best units for every query, with calibrated scores."""
        if not queries:
            return []
        if not self.units:
            return [Ranking(requirement_id=q.id, key=q.key) for q in queries]
        texts = self.query_texts(queries)
        fused, signals, cosine = self._fuse(queries, texts)
        learned = self.ranker.rerank(self, queries) if self.ranker is not None else None
        if learned is not None:
            fused = learned[0]
        evidence = zscore(fused)  # standing of each control among all candidates, in sigmas
        k = min(top_k, len(self.units))
        order = np.argsort(-fused, axis=1, kind="stable")[:, :k]
        rankings = []
        for qi, query in enumerate(queries):
            q_terms = tokens(texts[qi])
            q_set = set(q_terms)
            candidates = []
            for rank, ui in enumerate(order[qi], start=1):
                unit = self.units[int(ui)]
                cover_q = weighted_coverage(q_terms, self.unit_terms[ui], self.idf)
                cover_c = weighted_coverage(self.unit_terms[ui], q_set, self.idf)
                cos = float(cosine[qi, ui]) if cosine is not None else None
                reason = UNSUPERVISED if learned is None else learned[2][qi][ui]
                if reason in (REVIEWER_CONFIRMED, REVIEWER_REJECTED):
                    score = float(learned[1][qi, ui]) if learned is not None else 0.0
                else:
                    score = pair_score(
                        float(evidence[qi, ui]),
                        cos,
                        cover_q,
                        cover_c,
                        learned=None if learned is None else float(learned[1][qi, ui]),
                    )
                candidates.append(
                    Candidate(
                        control_id=unit.id,
                        key=unit.key,
                        score=score,
                        relationship=suggest_relationship(score, cos, cover_q, cover_c),
                        rank=rank,
                        signals=tuple((name, round(float(m[qi, ui]), 3)) for name, _, m in signals),
                        via=self._via(qi, int(ui)),
                        reason=reason,
                    )
                )
            rankings.append(Ranking(requirement_id=query.id, key=query.key, candidates=tuple(candidates)))
        return rankings

    def scores(self, queries: Sequence[MapQuery]) -> Matrix:
        """Fused evidence (or the learned ranker's logits) for every (query, unit) pair; higher
        is better. For evaluation."""
        if self.ranker is not None:
            return self.ranker.rerank(self, queries)[0]
        return self._fuse(queries, self.query_texts(queries))[0]

    @staticmethod
    def query_texts(queries: Sequence[MapQuery]) -> list[str]:
        return [q.text or (q.context[0] if q.context else q.id) for q in queries]

    def signal_matrices(self, queries: Sequence[MapQuery]) -> tuple[Matrix, dict[str, Matrix]]:
        """The unsupervised fusion and each signal (query x unit): what the learned ranker reads."""
        fused, signals, _ = self._fuse(queries, self.query_texts(queries))
        return fused, {name: matrix for name, _, matrix in signals}

    def evidence(self, queries: Sequence[MapQuery]) -> Matrix:
        """What :func:`~tracker.mapping.scoring.calibrate` reads: fused scores standardised per query."""
        return zscore(self.scores(queries))

    def _fuse(
        self, queries: Sequence[MapQuery], texts: list[str]
    ) -> tuple[Matrix, list[tuple[str, float, Matrix]], Matrix | None]:
        cfg = self.config
        signals: list[tuple[str, float, Matrix]] = [
            ("lexical", cfg.lexical, zscore(self.lexical.scores(texts)))
        ]
        cosine: Matrix | None = None
        self._best_child = None
        if self.embedder is not None and self.control_vectors is not None and self.unit_vectors is not None:
            qv = self.embedder.encode(texts).astype(np.float32)
            cosine, rolled = self._dense(qv)
            signals.append(("dense", cfg.dense, zscore(rolled)))
            pool: Matrix = sum((w * m for _, w, m in signals), np.zeros(cosine.shape))
            signals.append(("parts", cfg.parts, zscore(self._parts(qv, cosine, pool))))
            partial = sum(w * m for _, w, m in signals) + cfg.prior * self.prior
            signals.append(("feedback", cfg.feedback, zscore(self._feedback(qv, partial))))
        fused: Matrix = sum((w * m for _, w, m in signals), np.zeros((len(queries), len(self.units))))
        prior = np.broadcast_to(self.prior, fused.shape)
        signals.append(("prior", cfg.prior, np.asarray(prior, dtype=np.float64)))
        wants_policy = np.array([bool(_POLICY_QUERY.search(t)) for t in texts], dtype=np.float64)
        policy = np.outer(wants_policy, self.policy_units)
        signals.append(("policy", cfg.policy, policy))
        fused = fused + cfg.prior * prior + cfg.policy * policy
        structural: Matrix = np.zeros_like(fused)
        if cfg.family and self.family_onehot is not None:
            weights = softmax(fused, cfg.family_temperature)
            family = zscore((weights @ self.family_onehot) @ self.family_onehot.T)
            signals.append(("family", cfg.family, family))
            structural += cfg.family * family
        if cfg.related and self.related_graph.nnz:
            weights = softmax(zscore(fused), cfg.related_temperature)
            related = zscore(np.asarray(self.related_graph @ weights.T, dtype=np.float64).T)
            signals.append(("related", cfg.related, related))
            structural += cfg.related * related
        return fused + structural, signals, cosine

    def _dense(self, qv: npt.NDArray[np.float32]) -> tuple[Matrix, Matrix]:
        assert self.control_vectors is not None and self.unit_vectors is not None
        own = (qv @ self.unit_vectors.T).astype(np.float64)
        rolled = own.copy()
        best_child = np.full(own.shape, -1, dtype=np.int64)
        if any(self.children):
            all_cos = (qv @ self.control_vectors.T).astype(np.float64)
            share = self.config.enhancement_share
            for ui, kids in enumerate(self.children):
                if kids:
                    sub = all_cos[:, kids]
                    best = sub.max(axis=1)
                    best_child[:, ui] = np.array(kids)[sub.argmax(axis=1)]
                    lifted = best > own[:, ui]
                    best_child[~lifted, ui] = -1
                    rolled[:, ui] = (1 - share) * own[:, ui] + share * np.maximum(own[:, ui], best)
        self._best_child = best_child
        return own, rolled

    def _parts(self, qv: npt.NDArray[np.float32], own: Matrix, pool: Matrix) -> Matrix:
        """Best of own cosine and part cosines, the latter for each query's pool of units only.

        A unit outside a query's pool keeps its own cosine; the pool is per query, so a
        ranking never depends on which other requirements were ranked with it.
        """
        out = own.copy()
        if self.part_vectors is None or not len(self.part_vectors):
            return out
        size = self.config.parts_pool
        in_pool = np.ones(own.shape, dtype=bool)
        if 0 < size < len(self.units):
            in_pool[:] = False
            np.put_along_axis(in_pool, np.argsort(-pool, axis=1, kind="stable")[:, :size], True, axis=1)
        self._embed_parts(np.flatnonzero(in_pool.any(axis=0)))
        sims = (qv @ self.part_vectors.T).astype(np.float64)
        starts = np.flatnonzero(np.r_[True, self.part_owner[1:] != self.part_owner[:-1]])
        maxima = np.maximum.reduceat(sims, starts, axis=1)
        owners = self.part_owner[starts]
        lifted = np.maximum(out[:, owners], maxima)
        out[:, owners] = np.where(in_pool[:, owners], lifted, out[:, owners])
        return out

    def _feedback(self, qv: npt.NDArray[np.float32], partial: Matrix) -> Matrix:
        assert self.unit_vectors is not None
        n = min(self.config.feedback_units, len(self.units))
        top = np.argsort(-partial, axis=1, kind="stable")[:, :n]
        moved = qv + self.config.feedback_mix * self.unit_vectors[top].mean(axis=1)
        moved /= np.maximum(np.linalg.norm(moved, axis=1, keepdims=True), 1e-12)
        out: Matrix = (moved @ self.unit_vectors.T).astype(np.float64)
        return out

    def _via(self, qi: int, ui: int) -> tuple[str, ...]:
        best = self._best_child
        if best is None or best[qi, ui] < 0:
            return ()
        return (self.controls[int(best[qi, ui])].id,)
