"""The learned ranker: the mapper's signals and the label features, weighed by what labels say.

When pairs labelled into a target exist (:mod:`tracker.mapping.training`), a logistic
regression (scikit-learn's, a maintained implementation; the fitted model is a handful of
numbers, stored as JSON with its provenance, never pickled) is trained over every
(requirement, unit) pair of the labelled requirements: the mapper's per-query signals
(lexical, dense, parts, feedback, prior, policy, family, related, and their unsupervised
fusion) and the label features of :mod:`tracker.mapping.label_features`. A unit a label
lists is a positive; every other unit of a labelled requirement a negative (curators list
what applies, so an unlisted control is taken as not applying), a reviewer's rejection a
negative that weighs three times as much.

Labels do not always carry to the requirements being ranked, so the model does not replace
the fusion outright: the ranking is z(fusion) + a * z(model), with the share ``a`` chosen by how
well it ranks the labels' own held-out folds (:func:`fit_blend`; ``a = 0`` keeps the fusion,
and below :data:`MIN_BLEND_QUERIES` labelled requirements ``a`` is 0). The blended score is
calibrated on the labelled pairs into the candidate's probability. Logistic regression
was kept over gradient-boosted trees (scikit-learn's ``HistGradientBoostingClassifier``)
after both were tried on the CSF -> 800-53 benchmark held out by function; the benchmark
prints both. With fewer than :data:`MIN_POSITIVES` positive pairs no model is trained and the
mapper's unsupervised fusion ranks alone.

A pair a reviewer decided is not left to the model for that same requirement: a confirmed
control is put first (score 1) and a rejected one last (score 0), each saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tracker.mapping.documents import MapQuery
from tracker.mapping.label_features import LABEL_FEATURES, LabelMemory
from tracker.mapping.training import RANKER_VERSION, REJECTION_WEIGHT, TrainingSet, query_ident
from tracker.mapping.types import REVIEWER_CONFIRMED, REVIEWER_REJECTED

if TYPE_CHECKING:
    from tracker.mapping.mapper import Mapper

Matrix = npt.NDArray[np.float64]
BASE_FEATURES = ("lexical", "dense", "parts", "feedback", "prior", "policy", "family", "related", "fused")
FEATURES = BASE_FEATURES + LABEL_FEATURES
MIN_POSITIVES = 5
REGULARISATION = 1.0  # scikit-learn's C, over standardised features
GROUP_LEVEL: int | None = None
MIN_BLEND_QUERIES = 10  # labelled requirements before the model may share the ranking


@dataclass(frozen=True)
class Provenance:
    """Which pairs a model learned from, how many, when: what a ranking's reason cites."""

    fingerprint: str
    pairs: int
    positives: int
    queries: int
    origins: dict[str, int]
    trained_at: str
    version: str = RANKER_VERSION

    @property
    def reason(self) -> str:
        where = ", ".join(f"{n} {name}" for name, n in self.origins.items())
        return f"learned ranker trained on {self.pairs} pairs from {where}"

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "pairs": self.pairs,
            "positives": self.positives,
            "queries": self.queries,
            "origins": self.origins,
            "trained_at": self.trained_at,
            "version": self.version,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Provenance:
        return cls(
            str(data["fingerprint"]),
            int(data["pairs"]),
            int(data["positives"]),
            int(data["queries"]),
            {str(k): int(v) for k, v in dict(data["origins"]).items()},
            str(data["trained_at"]),
            str(data.get("version", RANKER_VERSION)),
        )


@dataclass(frozen=True)
class Weights:
    """A fitted logistic regression over standardised features: all that is stored."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    blend: float | None = None  # a in z(fusion) + a * z(model); None: the model alone
    calibration: tuple[float, float] = (1.0, 0.0)  # slope, intercept of the blended score

    def logits(self, features: dict[str, Matrix]) -> Matrix:
        out: Matrix | None = None
        for name, mu, sd, w in zip(self.names, self.mean, self.scale, self.coef, strict=True):
            term = w * (features[name] - mu) / sd
            out = term if out is None else out + term
        assert out is not None
        return out + self.intercept

    def score(self, features: dict[str, Matrix]) -> tuple[Matrix, Matrix]:
        """Ranking score and calibrated probability of every (query, unit)."""
        model = self.logits(features)
        blended = model if self.blend is None else _z(features["fused"]) + self.blend * _z(model)
        slope, intercept = self.calibration
        probability: Matrix = 1.0 / (1.0 + np.exp(-(slope * blended + intercept)))
        return blended, probability

    def to_json(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "blend": self.blend,
            "calibration": list(self.calibration),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Weights:
        slope, intercept = data.get("calibration", (1.0, 0.0))
        return cls(
            tuple(str(n) for n in data["names"]),
            tuple(float(x) for x in data["mean"]),
            tuple(float(x) for x in data["scale"]),
            tuple(float(x) for x in data["coef"]),
            float(data["intercept"]),
            None if data.get("blend") is None else float(data["blend"]),
            (float(slope), float(intercept)),
        )


def _z(matrix: Matrix) -> Matrix:
    std = matrix.std(axis=1, keepdims=True)
    out: Matrix = (matrix - matrix.mean(axis=1, keepdims=True)) / np.where(std > 1e-12, std, 1.0)
    return out


def groups_of(queries: Sequence[MapQuery], level: int | None = GROUP_LEVEL) -> list[str]:
    """Cross-fitting groups: five folds in key order (``None``: neighbours land in different
    folds), or the ancestor ``level`` up (0: parent category, -1: top-level function)."""
    if level is not None:
        tops = [q.context[level] if len(q.context) > max(level, -1 - level) else "" for q in queries]
        if len(set(tops)) >= 2 and all(tops):
            return tops
    return [f"fold {i % 5}" for i in range(len(queries))]


def features_of(
    mapper: Mapper,
    queries: Sequence[MapQuery],
    memory: LabelMemory | None,
    groups: Sequence[str | None] | None = None,
) -> dict[str, Matrix]:
    """Every feature (query x unit) of :data:`FEATURES` for these queries."""
    fused, signals = mapper.signal_matrices(queries)
    out = {name: np.zeros_like(fused) for name in FEATURES}
    out.update({name: matrix for name, matrix in signals.items() if name in out})
    out["fused"] = fused
    if memory is not None:
        texts = mapper.query_texts(queries)
        vectors = mapper.embedder.encode(texts) if mapper.embedder is not None else None
        out.update(memory.features(texts, vectors, groups))
    return out


def memory_of(mapper: Mapper, training: TrainingSet, groups: Sequence[str]) -> LabelMemory:
    """The labels of ``training`` over the mapper's units."""
    by_query = training.by_query()
    positive = np.zeros((len(training.queries), len(mapper.units)))
    rejected = np.zeros_like(positive)
    for t, ident in enumerate(training.idents):
        for key, pair in by_query[ident].items():
            unit = mapper.unit_index.get(key)
            if unit is not None:
                (positive if pair.positive else rejected)[t, unit] = 1.0
    texts = mapper.query_texts(training.queries)
    vectors = mapper.embedder.encode(texts) if mapper.embedder is not None else None
    return LabelMemory.build(texts, vectors, positive, rejected, groups, mapper.family_onehot)


@dataclass
class LearnedRanker:
    """A fitted model with the labels its features read; see the module docstring."""

    weights: Weights
    provenance: Provenance
    memory: LabelMemory
    decided: dict[str, dict[str, bool]] = field(default_factory=dict)  # query ident -> unit -> verdict
    query_set: str = ""  # the set the ranked requirements belong to, for reviewers' exact decisions

    @classmethod
    def fit(
        cls, mapper: Mapper, training: TrainingSet, *, weights: Weights | None = None
    ) -> LearnedRanker | None:
        """Train (or, given stored ``weights`` for the same pairs, rebuild) a ranker; None with
        too few positive pairs, so the caller keeps the unsupervised fusion."""
        if training.positives < MIN_POSITIVES:
            return None
        groups = groups_of(training.queries)
        memory = memory_of(mapper, training, groups)
        if memory.positive.sum() < MIN_POSITIVES:  # labels on controls no longer ranked
            return None
        if weights is None:
            features = features_of(mapper, training.queries, memory, groups)
            weights = fit_blend(features, memory.positive, memory.rejected, groups)
        provenance = Provenance(
            fingerprint=training.fingerprint([u.key for u in mapper.units]),
            pairs=len(training.pairs),
            positives=training.positives,
            queries=len(training.queries),
            origins=training.origins(),
            trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        decided: dict[str, dict[str, bool]] = {}
        for pair in training.pairs:
            if pair.origin != "published":
                decided.setdefault(query_ident(pair.source_set, pair.source_key), {})[pair.target_key] = (
                    pair.positive
                )
        return cls(weights, provenance, memory, decided)

    @property
    def reason(self) -> str:
        if self.weights.blend == 0:
            return (
                f"unsupervised fusion: a model on {self.provenance.pairs} labelled pairs did not rank "
                "its own held-out pairs better"
            )
        return self.provenance.reason

    def scoped(self, query_set: str, provenance: Provenance | None = None) -> LearnedRanker:
        """This ranker for requirements of ``query_set`` (and the stored provenance, if any)."""
        return replace(self, query_set=query_set, provenance=provenance or self.provenance)

    def rerank(self, mapper: Mapper, queries: Sequence[MapQuery]) -> tuple[Matrix, Matrix, list[list[str]]]:
        """Logits, probabilities and a reason per (query, unit)."""
        logits, probs = self.weights.score(features_of(mapper, queries, self.memory))
        reasons = [[self.reason] * len(mapper.units) for _ in queries]
        for qi, query in enumerate(queries):
            for key, verdict in self.decided.get(query_ident(self.query_set, query.key), {}).items():
                unit = mapper.unit_index.get(key)
                if unit is None:
                    continue
                logits[qi, unit] = logits[qi].max() + 10 if verdict else logits[qi].min() - 10
                probs[qi, unit] = 1.0 if verdict else 0.0
                reasons[qi][unit] = REVIEWER_CONFIRMED if verdict else REVIEWER_REJECTED
        return logits, probs, reasons


def fit_weights(
    features: dict[str, Matrix], positive: Matrix, rejected: Matrix, *, names: Sequence[str] = FEATURES
) -> Weights:
    """Logistic regression over the labelled requirements' units (see the comment below)."""
    # a requirement with a positive label: every unit (unlisted = negative); one with only
    # rejections: just the rejected units (the rest were not looked at)
    mask = np.where(positive.sum(axis=1, keepdims=True) > 0, True, rejected > 0)
    x = np.stack([features[n][mask] for n in names], axis=1)
    y = positive[mask]
    sample = np.where(rejected[mask] > 0, REJECTION_WEIGHT, 1.0)
    mean = x.mean(axis=0)
    scale = np.where(x.std(axis=0) > 1e-9, x.std(axis=0), 1.0)
    from sklearn.linear_model import LogisticRegression  # only when training: 0.8 s to import

    model = LogisticRegression(C=REGULARISATION, max_iter=1000)
    model.fit((x - mean) / scale, y, sample_weight=sample)
    return Weights(
        tuple(names),
        tuple(float(v) for v in mean),
        tuple(float(v) for v in scale),
        tuple(float(v) for v in model.coef_[0]),
        float(model.intercept_[0]),
    )


BLENDS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
INNER_FOLDS = 5


def _merit(scores: Matrix, positive: Matrix) -> float:
    """MRR + recall@10 over the requirements with a positive label."""
    rows = np.flatnonzero(positive.sum(axis=1) > 0)
    if not len(rows):
        return 0.0
    ranks = np.argsort(np.argsort(-scores[rows], axis=1, kind="stable"), axis=1)
    hits = positive[rows] > 0
    first = np.where(hits, ranks, ranks.shape[1]).min(axis=1)
    mrr = float(np.mean(1.0 / (first + 1)))
    recall = float(((ranks < 10) & hits).sum() / hits.sum())
    return mrr + recall


def fit_blend(
    features: dict[str, Matrix], positive: Matrix, rejected: Matrix, groups: Sequence[str]
) -> Weights:
    """The model, and how much to trust it beside the unsupervised fusion.

    Labels may not transfer: on NIST's CSF -> 800-53 crosswalk, pairs of four CSF functions
    do not rank the fifth better than the fusion does, and a few decisions can make it worse
    (the benchmark prints both). So the model's share ``a`` in z(fusion) + a * z(model) is
    chosen by how well it ranks the labels' own held-out groups (up to five folds of
    categories, each scored by a model fitted on the others): ``a = 0`` keeps the fusion's
    ranking wherever the labels have not shown they help. The blended score is then
    calibrated to a probability on the labelled pairs (Platt scaling).
    """
    names = sorted(set(groups))
    fold = np.array([names.index(g) % INNER_FOLDS for g in groups])
    inner = np.zeros_like(positive)
    for k in sorted(set(fold.tolist())):
        out = fold == k
        if out.all() or positive[~out].sum() == 0:
            continue
        part = fit_weights({n: features[n][~out] for n in FEATURES}, positive[~out], rejected[~out])
        inner[out] = part.logits({n: features[n][out] for n in FEATURES})
    fused = _z(features["fused"])
    merits = [_merit(fused + a * _z(inner), positive) for a in BLENDS]
    # a tie, or a gain within noise of one requirement's first hit, keeps the fusion
    best = max(range(len(BLENDS)), key=lambda i: (merits[i] - (0.0 if i == 0 else 0.01), -i))
    if int((positive.sum(axis=1) > 0).sum()) < MIN_BLEND_QUERIES:
        best = 0
    full = fit_weights(features, positive, rejected)
    blended = fused + BLENDS[best] * _z(full.logits(features))
    mask = np.where(positive.sum(axis=1, keepdims=True) > 0, True, rejected > 0)
    from sklearn.linear_model import LogisticRegression

    platt = LogisticRegression(max_iter=1000).fit(blended[mask].reshape(-1, 1), positive[mask])
    return replace(
        full, blend=BLENDS[best], calibration=(float(platt.coef_[0][0]), float(platt.intercept_[0]))
    )
