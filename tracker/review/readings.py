"""How an organisation reads a change: its own verdict where its reviewers decided, else the
shared one (the engine's, or the operator's correction), and the revision that reading is at.

See :mod:`tracker.review.decisions` for who may decide what; this module only reads.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tracker.diff.types import DiffResult, Kind, Tag
from tracker.domain.errors import NotFoundError
from tracker.storage.decisions import OrgVerdict, org_verdicts
from tracker.storage.tables.archive import ChangeRow


def shared_verdict(data: dict[str, Any]) -> dict[str, Any]:
    """The verdict stored on the change itself (the engine's, or the operator's correction)."""
    return {
        "kind": data.get("kind"),
        "substantive": data.get("substantive"),
        "tags": list(data.get("tags") or ()),
        "confidence": data.get("confidence", 1.0),
    }


def own_reading(engine: Engine, org_id: int | None, diff_id: int, result: DiffResult) -> DiffResult:
    """The stored diff as this organisation reads it: its own verdicts on its changes applied."""
    with Session(engine) as session:
        return read_own(session, org_id, diff_id, result)


def read_own(session: Session, org_id: int | None, diff_id: int, result: DiffResult) -> DiffResult:
    """:func:`own_reading` as the caller's transaction sees it (a decision not yet committed)."""
    own = org_verdicts(session, org_id, diff_id=diff_id)
    if not own:
        return result
    query = select(ChangeRow.id, ChangeRow.seq).where(ChangeRow.diff_id == diff_id, ChangeRow.id.in_(own))
    seqs = {change_id: seq for change_id, seq in session.execute(query)}
    changes = list(result.changes)
    for change_id, reading in own.items():
        seq = seqs.get(change_id)
        if reading.verdict is None or seq is None or not 0 <= seq < len(changes):
            continue
        verdict = reading.verdict
        changes[seq] = replace(
            changes[seq],
            kind=Kind(verdict["kind"]),
            substantive=verdict.get("substantive"),
            tags=tuple(Tag(t) for t in verdict.get("tags") or ()),
            confidence=float(verdict.get("confidence", 1.0)),
        )
    return replace(result, changes=tuple(changes))


def reading_of(engine: Engine, change_id: int, org_id: int | None) -> dict[str, Any]:
    """The verdict of a change as an organisation (or, with ``None``, the operator) sees it,
    with where it stands: ``status``, the ``revision`` to send back, the engine's ``original``
    once someone decided, and ``scope`` (``shared`` or ``organisation``)."""
    with Session(engine) as session:
        row = session.get(ChangeRow, change_id)
        if row is None:
            raise NotFoundError(f"no change {change_id}", "list changes with GET /v1/changes")
        data = dict(row.data or {})
        own = org_verdicts(session, org_id, change_ids=[change_id]).get(change_id)
    shared = dict(data.get("review") or {})
    if own is None or own.verdict is None:  # never decided, or only in bulk actions since undone
        verdict = shared_verdict(data)
        review = {
            "status": shared.get("status") or "unreviewed",
            "revision": seen_revision(data, own),
            "decided_at": shared.get("decided_at"),
            "original": shared.get("original"),
            "scope": "shared",
        }
    else:
        verdict = {**shared_verdict(data), **own.verdict}
        review = own_review(data, own)
    return {"change_id": change_id, **verdict, "review": review}


def own_review(data: dict[str, Any], own: OrgVerdict) -> dict[str, Any]:
    """Where an organisation's own decision leaves a change (``data`` is the stored change:
    its shared verdict and ``review``): confirmed or corrected against the engine's verdict."""
    original = (data.get("review") or {}).get("original") or shared_verdict(data)
    verdict = own.verdict or {}
    same = all(original.get(k) == verdict.get(k) for k in ("kind", "substantive", "tags"))
    return {
        "status": "confirmed" if same else "corrected",
        "revision": seen_revision(data, own),
        "decided_at": own.decided_at.isoformat(),
        "original": original,
        "scope": "organisation",
    }


def seen_revision(data: dict[str, Any], own: OrgVerdict | None) -> int:
    """The revision a reviewer sees: the shared one plus their organisation's own decisions
    (undo records included, so a revision once seen never comes back after an undo)."""
    return revision_of(data) + (own.decisions if own is not None else 0)


def revision_of(data: dict[str, Any]) -> int:
    """How many decisions a stored change has had (0 for the engine's own verdict)."""
    review = data.get("review") or {}
    if "revision" in review:
        return int(review["revision"])
    return 1 if review else 0  # decided before revisions were counted
