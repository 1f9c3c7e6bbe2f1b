"""Semantic diff: align two versions' requirements and classify every change, with reasons.

Pure core: requirements in, :class:`DiffResult` out; storage and the CLI call it::

    from embeddings.cache import CachedEmbedder
    from embeddings.sentence_transformer import SentenceTransformerEmbedder
    from tracker.diff import diff_versions, render_html, render_text

    embedder = CachedEmbedder(SentenceTransformerEmbedder(), vector_store)  # or None: lexical only
    result = diff_versions(old_version, new_version, embedder,
                           source="nist-sp-800-53", old_version="rev4", new_version="rev5")
    result.to_json_dict()           # the diff JSON; DiffResult.from_json_dict reads it back
    render_text(result)             # unchanged requirements hidden unless include_unchanged=True
    render_html(result)

``old_version``/``new_version`` accept a :class:`~tracker.domain.model.ParsedVersion` or any sequence
of :class:`~tracker.domain.model.Requirement`. Modules: :mod:`~tracker.diff.features` (normalised
fields and signals), :mod:`~tracker.diff.similarity`, :mod:`~tracker.diff.align` (stages a
and c), :mod:`~tracker.diff.lineage` (b), :mod:`~tracker.diff.splits` (d),
:mod:`~tracker.diff.classify` (editorial or substantive), :mod:`~tracker.diff.engine`,
:mod:`~tracker.diff.render`, :mod:`~tracker.diff.types`.
"""

from tracker.diff.engine import diff_versions
from tracker.diff.render import render_html, render_text
from tracker.diff.types import ENGINE_VERSION, Change, DiffResult, Kind, Suggestion, Tag

__all__ = [
    "ENGINE_VERSION",
    "Change",
    "DiffResult",
    "Kind",
    "Suggestion",
    "Tag",
    "diff_versions",
    "render_html",
    "render_text",
]
