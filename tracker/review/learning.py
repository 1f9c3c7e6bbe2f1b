"""Reviewers' decisions and imported crosswalks teach the mapper: the edge that wires it.

:func:`learned_mapper` builds the :class:`~tracker.mapping.mapper.Mapper` for a target (an
organisation's controls, or a catalog version adopted as controls) with the learned ranker of
:mod:`tracker.mapping.ranker` when labelled pairs point into that target:

* the labels are the organisation's own stored mappings that a person or publisher asserted
  (imported mapping files, reviewers' confirmations, corrections and rejections) and the
  shared ones (published crosswalks between standards, the operator's decisions), never
  another organisation's: one tenant's reviewers cannot change another's rankings;
* the model is keyed on the fingerprint of those pairs (and of the ranked controls): a stored
  model for the same fingerprint is reused, anything else (a new decision, a new crosswalk)
  trains and stores a new one, with its provenance (which pairs, how many, from where, when);
* with too few labels the unsupervised fusion ranks alone, as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from embeddings.protocol import Embedder
from tracker.domain.errors import NotFoundError
from tracker.mapping.documents import MapQuery, queries_from_requirements
from tracker.mapping.mapper import Mapper
from tracker.mapping.ranker import LearnedRanker
from tracker.mapping.training import LabelledPair, TrainingSet, labelled_pairs
from tracker.mapping.types import Control
from tracker.storage.archive import Archive
from tracker.storage.mappings import MappingStore
from tracker.storage.ranker_models import RankerModelStore


def _texts(archive: Archive, pairs: Sequence[LabelledPair]) -> dict[tuple[str, str], MapQuery]:
    """The requirement text of every labelled pair whose source set is an archived version
    (``slug@label``, or ``slug`` for its newest version); other pairs cannot be featurised."""
    out: dict[tuple[str, str], MapQuery] = {}
    for source_set in sorted({p.source_set for p in pairs if p.source_set}):
        slug, _, label = source_set.partition("@")
        try:
            if not label:
                versions = archive.versions(slug)
                if not versions:
                    continue
                label = versions[-1].label
            requirements = archive.requirements(slug, label)
        except NotFoundError:
            continue
        for query in queries_from_requirements(requirements):
            out[(source_set, query.key)] = query
    return out


def training_set(engine: Engine, org: str | None, controls: Sequence[Control]) -> TrainingSet:
    """The labels pointing into ``controls`` that ``org`` may learn from (``None``: shared only)."""
    store = MappingStore(engine)
    labelled = [(s.mapping, True) for s in store.mappings(None)]  # published and operator's
    if org:
        labelled += [(s.mapping, False) for s in store.mappings(org)]  # this organisation's only
    pairs = labelled_pairs(
        labelled, [c.key for c in controls], parents={c.key: c.parent for c in controls if c.parent}
    )
    return TrainingSet.build(pairs, _texts(Archive(engine), pairs))


def learned_mapper(
    engine: Engine,
    org: str | None,
    controls: Sequence[Control],
    embedder: Embedder | None,
    *,
    target_set: str,
    query_set: str = "",
) -> Mapper:
    """The mapper for ``controls``, with the learned ranker when labels allow (module docstring).

    ``query_set`` names the set (``slug@label``) of the requirements about to be ranked, so a
    reviewer's decision on exactly that pair is honoured first."""
    mapper = Mapper(controls, embedder)
    training = training_set(engine, org, controls)
    if training.positives == 0:
        return mapper
    fingerprint = training.fingerprint([u.key for u in mapper.units])
    # Without labels of its own an organisation learns from shared ones only: the model is
    # stored as shared (keyed by the pairs and the controls), so a fan-out to many
    # organisations running the same catalog trains it once.
    owner = org if any(p.origin == "reviewer" for p in training.pairs) else None
    slot = target_set if owner else ""
    store = RankerModelStore(engine)
    found = store.find(owner, slot, fingerprint)
    ranker = LearnedRanker.fit(mapper, training, weights=found[0] if found else None)
    if ranker is None:
        return mapper
    if found is None:
        store.save(owner, slot, ranker.weights, ranker.provenance)
    mapper.ranker = ranker.scoped(query_set, found[1] if found else None)
    return mapper
