"""Bulk review: confirm or correct every change of a diff that a filter selects, in one action,
and undo that action in one step.

A bulk action is a batch (:mod:`tracker.storage.batches`: the filter, the action, the verdict of
a correction, who, when, why) plus one ordinary verdict decision per chosen change, naming the
batch. Each decision is the organisation's own reading of its change, exactly as if the reviewer
had decided it alone (:mod:`tracker.review.decisions`), so pages, the impact API and digests need
nothing new; the organisation's stored impact of the diff is recomputed once, in the same
transaction. Bulk actions belong to an organisation: the operator's shared verdict is decided
one change at a time (a shared verdict rewrites every tenant's reading).

Stale views are *skipped, not refused*. A preview (:func:`preview`) returns ``as_of``, the newest
verdict decision the reviewer's organisation could see on the diff. Applied with it, the action
decides only the chosen changes nobody decided since (no decision of the organisation's or the
operator's, undo included, newer than ``as_of``) and reports the others as skipped: one
colleague's decision on one change should not void a confirmation of four hundred, and a change
whose verdict moved after the reviewer looked is never confirmed unseen. A change that only
started to match the filter since must have had such a decision, so it is skipped too. When
every chosen change moved, nothing is recorded (409).

Undo marks the batch undone and records an ``undo`` decision on each change whose reading the
batch still set: the organisation's reading falls back to the decision in force before the batch
(its own earlier decision, or the shared verdict). A change decided after the batch, one by one
or by a later batch, keeps that later decision: the undo takes back only what the batch did, so
it cannot clobber a later judgement, and the reply lists those changes as kept. Nothing is
deleted; the history shows the batch, its decisions and the undo. Undo records count towards a
change's revision, so a view taken before the undo is stale after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from tracker.diff.types import Kind, Tag
from tracker.domain.errors import ConflictError, InvalidInputError, NotFoundError
from tracker.review.decisions import allowed_kinds, refresh_in
from tracker.review.readings import shared_verdict
from tracker.review.selection import Candidate, ChangeFilter
from tracker.storage.batches import BatchStore
from tracker.storage.catalog import Catalog
from tracker.storage.changes import ChangeBrief, briefs_in
from tracker.storage.decisions import VERDICT, DecisionStore, OrgVerdict, Reviewer, org_verdicts
from tracker.storage.tables.archive import DiffRow
from tracker.storage.tables.review import ReviewDecisionRow

ACTIONS = ("confirm", "correct")


@dataclass(frozen=True)
class BulkVerdict:
    """What a bulk correction sets on every chosen change: ``substantive`` always (``None``: the
    question does not apply); ``kind`` and ``tags`` when given, else each change keeps its own."""

    substantive: bool | None
    kind: Kind | None = None
    tags: tuple[Tag, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value if self.kind else None,
            "substantive": self.substantive,
            "tags": None if self.tags is None else [t.value for t in self.tags],
        }


@dataclass(frozen=True)
class Chosen:
    """One change a filter selects, with the verdict the organisation reads on it now."""

    change_id: int
    label: str
    old_ids: tuple[str, ...]
    new_ids: tuple[str, ...]
    reading: dict[str, Any]


@dataclass(frozen=True)
class Preview:
    diff_id: int
    filter: ChangeFilter
    chosen: tuple[Chosen, ...]
    as_of: int  # the newest verdict decision seen; apply with it to skip changes decided since

    @property
    def change_ids(self) -> tuple[int, ...]:
        return tuple(c.change_id for c in self.chosen)


@dataclass(frozen=True)
class BulkOutcome:
    batch_id: int
    diff_id: int
    decided: tuple[int, ...]
    skipped: tuple[int, ...]  # decided by someone after ``as_of``: left as they are
    impacts_updated: tuple[str, ...]


@dataclass(frozen=True)
class UndoOutcome:
    batch_id: int
    diff_id: int
    restored: tuple[int, ...]  # the reading in force before the batch is back
    kept: tuple[int, ...]  # decided again after the batch: that later decision stands
    impacts_updated: tuple[str, ...]


def _organisation(reviewer: Reviewer) -> int:
    if reviewer.org_id is None or reviewer.org is None:
        raise InvalidInputError(
            "bulk decisions are an organisation's reading",
            "sign in with an organisation's key; the operator decides shared verdicts one change at a time",
        )
    return reviewer.org_id


def _label(brief: ChangeBrief) -> str:
    old, new = ", ".join(brief.old_ids), ", ".join(brief.new_ids)
    return new if old == new else f"{old} → {new}" if old and new else old or new


def _select(session: Session, engine: Engine, org_id: int, diff: DiffRow, flt: ChangeFilter) -> list[Chosen]:
    """The diff's changes the filter selects, read as the organisation reads them."""
    own = org_verdicts(session, org_id, diff_id=diff.id)
    titles: dict[tuple[int, str], str] = {}
    if flt.text:
        titles = Catalog(engine).requirement_titles([diff.old_version_id, diff.new_version_id])
    chosen = []
    for brief in briefs_in(session, diff.id):
        reading = own.get(brief.id)
        if reading is not None and reading.verdict is not None:
            verdict = {**shared_verdict(_shared(brief)), **reading.verdict}
        else:
            verdict = shared_verdict(_shared(brief))
        text = ""
        if flt.text:
            parts = [*brief.old_ids, *brief.new_ids, *brief.reasons, *brief.redline.values()]
            parts += [titles.get((diff.old_version_id, k), "") for k in brief.old_keys]
            parts += [titles.get((diff.new_version_id, k), "") for k in brief.new_keys]
            text = "\n".join(parts)
        candidate = Candidate(
            kind=str(verdict["kind"]),
            substantive=verdict.get("substantive"),
            tags=tuple(verdict.get("tags") or ()),
            reasons=brief.reasons,
            old_ids=brief.old_ids,
            new_ids=brief.new_ids,
            reviewed=_reviewed(brief, reading),
            text=text,
        )
        if flt.matches(candidate):
            chosen.append(Chosen(brief.id, _label(brief), brief.old_ids, brief.new_ids, verdict))
    return chosen


def _shared(brief: ChangeBrief) -> dict[str, Any]:
    return {
        "kind": brief.kind,
        "substantive": brief.substantive,
        "tags": list(brief.tags),
        "confidence": brief.confidence,
    }


def _reviewed(brief: ChangeBrief, reading: OrgVerdict | None) -> bool:
    """Reviewed as the review page counts it: the organisation decided, or the operator did."""
    return (reading is not None and reading.verdict is not None) or bool(brief.review)


def _visible(org_id: int) -> Any:
    return or_(ReviewDecisionRow.org_id.is_(None), ReviewDecisionRow.org_id == org_id)


def _newest(session: Session, org_id: int, diff_id: int) -> int:
    query = select(func.max(ReviewDecisionRow.id)).where(
        ReviewDecisionRow.diff_id == diff_id, ReviewDecisionRow.subject == VERDICT, _visible(org_id)
    )
    return int(session.scalar(query) or 0)


def _moved_since(session: Session, org_id: int, diff_id: int, as_of: int) -> set[int]:
    query = select(ReviewDecisionRow.change_id).where(
        ReviewDecisionRow.diff_id == diff_id,
        ReviewDecisionRow.subject == VERDICT,
        ReviewDecisionRow.id > as_of,
        _visible(org_id),
    )
    return {cid for cid in session.scalars(query) if cid is not None}


def _diff(session: Session, diff_id: int, *, lock: bool) -> DiffRow:
    diff = session.get(DiffRow, diff_id, with_for_update=lock)
    if diff is None:
        raise NotFoundError(f"no diff {diff_id}", "list diffs with GET /v1/diffs")
    return diff


def preview(engine: Engine, diff_id: int, reviewer: Reviewer, flt: ChangeFilter) -> Preview:
    """What :func:`apply_bulk` would decide now: the chosen changes and the ``as_of`` to send."""
    org_id = _organisation(reviewer)
    with Session(engine) as session:
        diff = _diff(session, diff_id, lock=False)
        chosen = _select(session, engine, org_id, diff, flt)
        return Preview(diff_id, flt, tuple(chosen), _newest(session, org_id, diff_id))


def apply_bulk(
    engine: Engine,
    diff_id: int,
    reviewer: Reviewer,
    flt: ChangeFilter,
    *,
    action: str,
    verdict: BulkVerdict | None = None,
    reason: str = "",
    as_of: int | None = None,
) -> BulkOutcome:
    """Confirm (or correct to ``verdict``) every change of the diff the filter selects, as one
    batch for the reviewer's organisation; with ``as_of`` (from :func:`preview`) changes decided
    since are skipped. The organisation's stored impact is recomputed in the same transaction."""
    org_id = _organisation(reviewer)
    if action not in ACTIONS:
        raise InvalidInputError(f"unknown bulk action {action!r}", "use confirm or correct")
    if action == "correct" and (verdict is None or not reason.strip()):
        raise InvalidInputError(
            "a bulk correction needs the verdict to set and a reason",
            "give substantive (and kind, tags) and why",
        )
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        diff = _diff(session, diff_id, lock=True)  # serialises with single decisions on the diff
        chosen = _select(session, engine, org_id, diff, flt)
        if not chosen:
            raise InvalidInputError(
                f"the filter ({flt.describe()}) selects no change of diff {diff_id}",
                "widen the filter; preview it with dry_run",
            )
        moved = _moved_since(session, org_id, diff_id, as_of) if as_of is not None else set()
        todo = [c for c in chosen if c.change_id not in moved]
        if not todo:
            raise ConflictError(
                f"all {len(chosen)} chosen changes were decided after you looked (as_of {as_of})",
                "preview again (dry_run) and apply with the as_of it returns",
            )
        afters = [_after(c, action, verdict) for c in todo]
        if action == "correct" and verdict is not None and verdict.kind is not None:
            _check_kinds(todo, verdict.kind)
        batch = BatchStore.add(
            session,
            reviewer,
            diff_id=diff_id,
            action=action,
            filter=flt.to_dict(),
            verdict=verdict.to_dict() if verdict is not None and action == "correct" else None,
            reason=reason,
            at=now,
        )
        for change, after in zip(todo, afters, strict=True):
            DecisionStore.add(
                session,
                reviewer,
                subject=VERDICT,
                action=action,
                before=change.reading,
                after=after,
                reason=reason,
                diff_id=diff_id,
                change_id=change.change_id,
                at=now,
                batch_id=batch.id,
                flush=False,
            )
        batch.decided = len(todo)
        session.flush()
        decided = {c.change_id for c in todo}
        updated = refresh_in(session, engine, diff_id, change_ids=decided, orgs=[str(reviewer.org)])
        batch_id = batch.id
    skipped = tuple(c.change_id for c in chosen if c.change_id in moved)
    return BulkOutcome(batch_id, diff_id, tuple(sorted(decided)), skipped, tuple(updated))


def _after(change: Chosen, action: str, verdict: BulkVerdict | None) -> dict[str, Any]:
    now = change.reading
    if action == "confirm" or verdict is None:
        return {
            "kind": now["kind"],
            "substantive": now.get("substantive"),
            "tags": list(now.get("tags") or ()),
            "confidence": 1.0,
        }
    return {
        "kind": verdict.kind.value if verdict.kind else now["kind"],
        "substantive": verdict.substantive,
        "tags": list(now.get("tags") or ()) if verdict.tags is None else [t.value for t in verdict.tags],
        "confidence": 1.0,
    }


def _check_kinds(todo: list[Chosen], kind: Kind) -> None:
    """A correction never invents identifiers (see :func:`allowed_kinds`): refuse the whole batch.
    Confirmations and corrections that keep each change's kind are not checked: they restate
    a kind the engine (or a reviewer) already gave."""
    wrong = [c.label for c in todo if kind not in allowed_kinds(c.old_ids, c.new_ids)]
    if wrong:
        shown = ", ".join(wrong[:5]) + (f" and {len(wrong) - 5} more" if len(wrong) > 5 else "")
        raise InvalidInputError(
            f"{len(wrong)} chosen change(s) cannot be {kind.value}: {shown}",
            "narrow the filter by kind, or leave kind out to keep each change's own",
        )


def undo_bulk(engine: Engine, batch_id: int, reviewer: Reviewer) -> UndoOutcome:
    """Take a batch back: each change it still decides returns to the reading in force before
    it; changes decided after it keep that decision (see the module docstring)."""
    org_id = _organisation(reviewer)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        batch = BatchStore.locked(session, batch_id, org_id)
        if batch is None:
            raise NotFoundError(
                f"{reviewer.org} has no bulk action {batch_id}", "list them on the diff's review page"
            )
        if batch.undone_at is not None:
            raise ConflictError(
                f"bulk action {batch_id} was already undone by {batch.undone_by!r}",
                "nothing to undo; reload the review page",
            )
        diff_id = batch.diff_id
        _diff(session, diff_id, lock=True)
        rows = session.scalars(
            select(ReviewDecisionRow).where(
                ReviewDecisionRow.batch_id == batch_id, ReviewDecisionRow.action != "undo"
            )
        ).all()
        mine = {r.change_id: r for r in rows if r.change_id is not None}
        before = org_verdicts(session, org_id, change_ids=list(mine))
        batch.undone_at, batch.undone_by = now, reviewer.name[:200]
        session.flush()
        after = org_verdicts(session, org_id, change_ids=list(mine))
        shared = {b.id: _shared(b) for b in briefs_in(session, diff_id) if b.id in mine}
        restored = sorted(cid for cid, row in mine.items() if before[cid].decision_id == row.id)
        for cid in restored:
            now_in_force = after[cid].verdict
            DecisionStore.add(
                session,
                reviewer,
                subject=VERDICT,
                action="undo",
                before=dict(mine[cid].after or {}),
                after=dict(now_in_force) if now_in_force is not None else shared_verdict(shared[cid]),
                reason=f"undo of bulk action {batch_id}",
                diff_id=diff_id,
                change_id=cid,
                at=now,
                batch_id=batch_id,
                flush=False,
            )
        session.flush()
        updated = refresh_in(session, engine, diff_id, change_ids=set(restored), orgs=[str(reviewer.org)])
    kept = tuple(sorted(set(mine) - set(restored)))
    return UndoOutcome(batch_id, diff_id, tuple(restored), kept, tuple(updated))


def newest_seen(engine: Engine, org_id: int) -> int:
    """The ``as_of`` of a page rendered now (see :func:`preview`), read before its changes:
    the newest verdict decision the organisation can see on any diff (decision ids only grow,
    so a decision on this diff made after the page was read has a larger one)."""
    query = select(func.max(ReviewDecisionRow.id)).where(
        ReviewDecisionRow.subject == VERDICT, _visible(org_id)
    )
    with Session(engine) as session:
        return int(session.scalar(query) or 0)
