"""Diffing archived versions: load both sides, run the engine once, keep the result.

The pure engine lives in :mod:`tracker.diff`; this module is the edge that reads the
archive, supplies the cached embedder and stores what the engine says.
"""

from __future__ import annotations

from embeddings.protocol import Embedder
from tracker.diff import ENGINE_VERSION, diff_versions
from tracker.domain.errors import InvalidInputError
from tracker.storage.archive import Archive
from tracker.storage.diffs import DiffStore, StoredDiff


def split_ref(ref: str, default_source: str) -> tuple[str, str]:
    """``label`` or ``source@label``."""
    if "@" in ref:
        source, label = ref.split("@", 1)
        return source, label
    return default_source, ref


def diff_archived(
    archive: Archive,
    store: DiffStore,
    source: str,
    old: str,
    new: str,
    embedder: Embedder | None,
    *,
    refresh: bool = False,
) -> StoredDiff:
    """The stored diff of ``old`` → ``new``, computed and stored if this engine has not yet."""
    old_source, old_label = split_ref(old, source)
    new_source, new_label = split_ref(new, source)
    if old_source != new_source or old_source != source:
        raise InvalidInputError(
            f"cannot diff versions of different sources ({old_source} and {new_source})",
            "a diff compares two versions of one standard; relate different standards with `tracker map`",
        )
    if old_label == new_label:
        raise InvalidInputError(f"{source} {old_label} compared with itself", "name two different versions")
    archive.version_id(source, old_label)  # raises NotFoundError naming the known versions
    archive.version_id(source, new_label)
    if not refresh:
        stored = store.load(source, old_label, new_label, ENGINE_VERSION)
        model = embedder.model_id if embedder is not None else None
        if stored is not None and stored.result.model_id == model:
            return stored  # nothing to read or compute: the requirements are only loaded on a miss
    result = diff_versions(
        archive.requirements(source, old_label),
        archive.requirements(source, new_label),
        embedder,
        source=source,
        old_version=old_label,
        new_version=new_label,
    )
    return store.save(result)


def previous_version(archive: Archive, source: str, label: str) -> str | None:
    """The version archived just before ``label`` in the publisher's order, if any."""
    labels = [v.label for v in archive.versions(source)]
    index = labels.index(label)
    return labels[index - 1] if index > 0 else None
