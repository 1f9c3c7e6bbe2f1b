"""Diffing archived versions: load both sides, run the engine once, keep the result.

The pure engine lives in :mod:`tracker.diff`; this module is the edge that reads the
archive, supplies the cached embedder and stores what the engine says.
"""

from __future__ import annotations

import dataclasses

from embeddings.protocol import Embedder
from tracker.diff import ENGINE_VERSION, diff_versions
from tracker.domain.errors import InvalidInputError
from tracker.domain.model import Requirement, Version, VersionRole
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
    old_reqs, new_reqs, scope = scoped(
        archive.version(source, old_label),
        archive.requirements(source, old_label),
        archive.version(source, new_label),
        archive.requirements(source, new_label),
    )
    result = diff_versions(
        old_reqs,
        new_reqs,
        embedder,
        source=source,
        old_version=old_label,
        new_version=new_label,
    )
    return store.save(dataclasses.replace(result, scope=scope))


def scoped(
    old: Version, old_reqs: tuple[Requirement, ...], new: Version, new_reqs: tuple[Requirement, ...]
) -> tuple[tuple[Requirement, ...], tuple[Requirement, ...], str]:
    """Both sides restricted to what a partial side holds, with a sentence saying so.

    A version that holds part of its publication (800-53 release 5.1.1: the baselines only)
    says nothing about the requirements it does not hold, so they are neither removed (partial
    new side) nor added (partial old side). What the partial side holds is compared in full.
    """
    notes = []
    if new.partial:
        keep = {r.key for r in new_reqs}
        old_reqs = tuple(r for r in old_reqs if r.key in keep)
        notes.append(f"{new.label} is partial ({new.partial})")
    if old.partial:
        keep = {r.key for r in old_reqs}
        new_reqs = tuple(r for r in new_reqs if r.key in keep)
        notes.append(f"{old.label} is partial ({old.partial})")
    if not notes:
        return old_reqs, new_reqs, ""
    scope = "; ".join(notes) + (
        "; compared over the requirements the partial side holds: one it does not hold is not "
        "reported as removed or added"
    )
    return old_reqs, new_reqs, scope


def editions(archive: Archive, source: str) -> list[Version]:
    """The source's editions in the publisher's order (no renditions, no companions)."""
    return [v for v in archive.versions(source) if v.role is VersionRole.EDITION]


def previous_version(archive: Archive, source: str, label: str) -> str | None:
    """The edition archived just before ``label`` in the publisher's order, if any; None for
    a first edition, a rendition or a companion (they have no predecessor to be diffed with)."""
    labels = [v.label for v in editions(archive, source)]
    if label not in labels:
        return None
    index = labels.index(label)
    return labels[index - 1] if index > 0 else None
