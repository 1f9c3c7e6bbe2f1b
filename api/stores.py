"""The API's caches over the repositories' hot reads: organisation lookup, each stored
impact's change details, rendered worklist pages; and the worklist page as the impact API
serves it (the query is :func:`tracker.storage.worklist.worklist_page`).

Stored impacts are immutable (recomputing one replaces the row with a new id), so the
parsed change details of an impact are cached per app by impact id.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from api.timeutil import as_utc
from tracker.digests.events import served_changes
from tracker.domain.keys import normalise_key
from tracker.storage.db import Engine
from tracker.storage.orgs import org_ref
from tracker.storage.worklist import WorklistFilter, worklist_page


class OrgRefs:
    """``org_ref`` remembered per app. Organisations are never renamed or deleted (there is no
    operation for either), so a found ``(id, slug)`` stays right for the life of the process;
    an unknown name is not remembered and is looked up again on every request."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._data: dict[str, tuple[int, str]] = {}

    def get(self, engine: Engine, ref: str) -> tuple[int, str] | None:
        found = self._data.get(ref)
        if found is None:
            found = org_ref(engine, ref)
            if found is not None:
                if len(self._data) >= self.size:
                    self._data.clear()
                self._data[ref] = found
        return found


# Per stored impact: its change summaries by change_seq, and the lineage of its carried
# controls by (change_seq, control key): (carried_from, suggested_lineage).
_Served = tuple[dict[int, dict[str, Any]], dict[tuple[int, str], tuple[list[str], bool]]]


class ChangeCache:
    """Bounded LRU of ``impact id -> {change_seq: change summary}`` (and the lineage of its
    carried controls); safe across threads."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._data: OrderedDict[int, _Served] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, engine: Engine, impact_id: int) -> dict[int, dict[str, Any]]:
        return self._served(engine, impact_id)[0]

    def lineage(self, engine: Engine, impact_id: int) -> dict[tuple[int, str], tuple[list[str], bool]]:
        """``(change_seq, control key) -> (carried_from, suggested_lineage)`` of carried controls."""
        return self._served(engine, impact_id)[1]

    def _served(self, engine: Engine, impact_id: int) -> _Served:
        with self._lock:
            found = self._data.get(impact_id)
            if found is not None:
                self._data.move_to_end(impact_id)
                return found
        changes: dict[int, dict[str, Any]] = {}
        carried: dict[tuple[int, str], tuple[list[str], bool]] = {}
        for seq, served in served_changes(engine, impact_id).items():
            change = served.change
            changes[seq] = {
                "change_id": served.change_id,
                "kind": change.kind.value,
                "old_ids": list(change.old_ids),
                "new_ids": list(change.new_ids),
                "substantive": change.substantive,
                "tags": [t.value for t in change.tags],
            }
            for c in served.item.controls:
                if c.carried_from:
                    carried[(seq, normalise_key(c.control_id))] = (list(c.carried_from), c.suggested_lineage)
        value = (changes, carried)
        with self._lock:
            self._data[impact_id] = value
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value


def impact_lines(
    engine: Engine, cache: ChangeCache, org_id: int, flt: WorklistFilter, after: int, limit: int
) -> list[dict[str, Any]]:
    """One page of the organisation's impact worklist, in id order, with change details."""
    out: list[dict[str, Any]] = []
    for row in worklist_page(engine, org_id, flt, after=after, limit=limit):
        changes = cache.get(engine, row.impact_id)
        carried_from, suggested = cache.lineage(engine, row.impact_id).get(
            (row.change_seq, normalise_key(row.control_id or "")), ([], False)
        )
        out.append(
            {
                "id": row.id,
                "impact_id": row.impact_id,
                "diff_id": row.diff_id,
                "source": row.source,
                "old_version": row.old_version,
                "new_version": row.new_version,
                "created_at": as_utc(row.created_at),
                "change": changes.get(row.change_seq)
                or {"kind": row.change_kind, "old_ids": [], "new_ids": [], "tags": []},
                "control_id": row.control_id,
                "action": row.action,
                "score": row.score,
                "reason": row.reason,
                "carried_from": carried_from,
                "suggested_lineage": suggested,
            }
        )
    return out


class PageCache:
    """Bounded LRU of rendered worklist pages keyed by (org, impact generation, query)."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._data: OrderedDict[tuple[Any, ...], tuple[bytes, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[bytes, str] | None:
        """The rendered page and its ``Link`` header ("" on the last page)."""
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], body: bytes, link: str = "") -> None:
        with self._lock:
            self._data[key] = (body, link)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
