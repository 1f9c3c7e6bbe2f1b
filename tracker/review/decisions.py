"""Applying reviewer decisions: corrected verdicts and mapping reviews, reflected at once.

A verdict (kind, substantive, tags) is a reading of the *text* of a standard, but what it
drives is an organisation's worklist, so whose reading counts follows who may change
whose worklist:

* a reviewer signed in with an organisation's key decides *for that organisation*: the
  decision (with who, when and why; :mod:`tracker.storage.decisions`) becomes the
  organisation's own verdict on the change, which its review pages, impact API and digests
  show, and only its stored impact is recomputed. One tenant can never change another's
  worklist;
* the operator's decision is the *shared* verdict: it is written onto the stored change
  itself (the ``changes`` row and the diff's JSON, which ``/v1/changes`` and every
  organisation without a reading of its own see), with the engine's original verdict kept
  under ``data["review"]``, and every organisation's stored impact is recomputed (an
  organisation's own reading still wins for it).

Either way the reviewer's confidence replaces the engine's (1.0): a person has looked.
Impacts are recomputed by the impact service (:func:`tracker.impact.service.refresh_impact`,
the same decisions the pipeline's :func:`~tracker.impact.service.compute_impact` makes) and
stored again, so the impact API and later digests (built from stored impacts) carry the
decision. A mapping review is recorded on the mapping and recomputes only the deciding
organisation's impacts of diffs that involve the mapping's requirement. Each decision is one
transaction: the verdict or mapping, the decision record and every refreshed impact are
committed together, so a failure part-way leaves none of them changed. Gap suggestions the
mapper made when the impact was first computed are kept, except for controls whose mapping
has since been rejected (the service decides that, see there).

Two reviewers may have the same change open. The revision a reviewer sees counts the
decisions behind the verdict shown to them: the shared ``review["revision"]`` plus their
organisation's own verdict decisions on the change. A decision that names the revision it
was taken on (``expected_revision``, which the review page always sends) is refused with a
:class:`~tracker.domain.errors.ConflictError` if a colleague or the operator decided in between,
instead of silently overwriting a verdict its author never saw.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from tracker.diff.types import Kind, Tag
from tracker.domain.errors import ConflictError, InvalidInputError, NotFoundError
from tracker.impact.service import refresh_impact
from tracker.mapping.types import Mapping, ReviewState
from tracker.review.readings import revision_of, seen_revision, shared_verdict
from tracker.storage.decisions import MAPPING, VERDICT, DecisionStore, Reviewer, org_verdicts
from tracker.storage.impacts import ImpactStore
from tracker.storage.mappings import MappingStore, StoredMapping
from tracker.storage.tables.archive import ChangeRow, DiffRow
from tracker.storage.tables.orgs import MappingRow
from tracker.storage.tables.review import ReviewDecisionRow

_BOTH_SIDES = (Kind.MODIFIED, Kind.MOVED, Kind.UNCHANGED)


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    substantive: bool | None
    tags: tuple[Tag, ...]

    @classmethod
    def of(cls, data: dict[str, Any]) -> Verdict:
        return cls(
            Kind(data["kind"]),
            data.get("substantive"),
            tuple(Tag(t) for t in data.get("tags") or ()),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "substantive": self.substantive,
            "tags": [t.value for t in self.tags],
        }


def allowed_kinds(old_ids: Iterable[str], new_ids: Iterable[str]) -> tuple[Kind, ...]:
    """Kinds a change with these identifiers can have: a correction never invents identifiers."""
    old, new = len(tuple(old_ids)), len(tuple(new_ids))
    if not old:
        return (Kind.ADDED,)
    if not new:
        return (Kind.REMOVED,)
    kinds = list(_BOTH_SIDES)
    if new > 1:
        kinds.insert(2, Kind.SPLIT)
    if old > 1:
        kinds.insert(2, Kind.MERGED)
    return tuple(kinds)


@dataclass(frozen=True)
class Outcome:
    decision_id: int
    diff_id: int
    change_id: int | None
    before: dict[str, Any]
    after: dict[str, Any]
    impacts_updated: tuple[str, ...]


def review_verdict(
    engine: Engine,
    change_id: int,
    reviewer: Reviewer,
    *,
    action: str,
    verdict: Verdict | None = None,
    reason: str = "",
    expected_revision: int | None = None,
) -> Outcome:
    """Confirm the change's verdict as the reviewer sees it, or correct it to ``verdict``; then
    refresh the impacts it drives: the reviewer's organisation's only, or, for the operator,
    those of every organisation that has not decided on the change itself.

    With ``expected_revision``, refuse (:class:`ConflictError`) unless the change is still at
    the revision the reviewer saw."""
    if action not in ("confirm", "correct"):
        raise InvalidInputError(f"unknown verdict action {action!r}", "use confirm or correct")
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        row = session.get(ChangeRow, change_id, with_for_update=True)  # serialises deciders
        if row is None:
            raise NotFoundError(f"no change {change_id}", "open the change from a review page")
        diff = session.get(DiffRow, row.diff_id, with_for_update=True)
        assert diff is not None
        data = copy.deepcopy(dict(row.data or {}))
        own = org_verdicts(session, reviewer.org_id, change_ids=[change_id]).get(change_id)
        before = dict(own.verdict) if own is not None and own.verdict is not None else shared_verdict(data)
        revision = seen_revision(data, own)
        if expected_revision is not None and expected_revision != revision:
            raise ConflictError(
                f"change {change_id} was decided by {_last_decider(session, change_id, reviewer)} after "
                f"you loaded it (revision {revision}, you saw {expected_revision}); its verdict is now "
                f"{before['kind']}, {_substance_word(before.get('substantive'))}, "
                f"tags {', '.join(before.get('tags') or ()) or 'none'}",
                f"reload the change, read its verdict and decide again (expected_revision {revision})",
            )
        if action == "confirm" or verdict is None:
            if action == "correct":
                raise InvalidInputError("a correction needs the corrected verdict", "choose kind and tags")
            verdict = Verdict.of(before)
        if verdict.kind not in allowed_kinds(row.old_ids or (), row.new_ids or ()):
            raise InvalidInputError(
                f"a change from {row.old_ids or 'nothing'} to {row.new_ids or 'nothing'} cannot be "
                f"{verdict.kind.value}",
                "allowed: " + ", ".join(k.value for k in allowed_kinds(row.old_ids or (), row.new_ids or ())),
            )
        after = {**verdict.to_dict(), "confidence": 1.0}
        if reviewer.org_id is None:
            _write_shared(row, diff, data, before, verdict, after, revision_of(data), now)
        decision = DecisionStore.add(
            session,
            reviewer,
            subject=VERDICT,
            action=action,
            before=before,
            after=after,
            reason=reason,
            diff_id=row.diff_id,
            change_id=row.id,
            at=now,
        )
        decision_id, diff_id = decision.id, row.diff_id
        session.flush()  # the refresh reads the decision and the change through this session
        orgs = None if reviewer.org is None else [reviewer.org]
        updated = _refresh(session, engine, diff_id, change_ids={change_id}, orgs=orgs)
    return Outcome(decision_id, diff_id, change_id, before, after, tuple(updated))


def _write_shared(
    row: ChangeRow,
    diff: DiffRow,
    data: dict[str, Any],
    before: dict[str, Any],
    verdict: Verdict,
    after: dict[str, Any],
    revision: int,
    now: datetime,
) -> None:
    """The operator's decision becomes the change's shared verdict (the engine's kept once)."""
    review = dict(data.get("review") or {})
    original = review.setdefault("original", before)
    same = {k: original.get(k) for k in ("kind", "substantive", "tags")} == verdict.to_dict()
    review.update(
        status="confirmed" if same else "corrected", decided_at=now.isoformat(), revision=revision + 1
    )
    data.update(after, review=review)
    row.kind, row.substantive, row.tags, row.confidence = (
        after["kind"],
        after["substantive"],
        after["tags"],
        1.0,
    )
    row.data = data
    _rewrite_diff(diff, row.seq, data)


def _last_decider(session: Session, change_id: int, reviewer: Reviewer) -> str:
    """Who took the latest decision this reviewer sees (their organisation's or the operator's)."""
    shown: list[ColumnElement[bool]] = [ReviewDecisionRow.org_id.is_(None)]
    if reviewer.org_id is not None:
        shown.append(ReviewDecisionRow.org_id == reviewer.org_id)
    last = session.scalars(
        select(ReviewDecisionRow)
        .where(ReviewDecisionRow.change_id == change_id, ReviewDecisionRow.subject == VERDICT, or_(*shown))
        .order_by(ReviewDecisionRow.id.desc())
        .limit(1)
    ).first()
    if last is None:
        return "another reviewer"
    who = repr(last.reviewer) if last.org_id == reviewer.org_id else "the operator"
    return f"{who} at {_decision_time(last.created_at)}"


def _decision_time(at: datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).strftime("%Y-%m-%d %H:%M:%S UTC")


def _substance_word(substantive: Any) -> str:
    return "substantive" if substantive else "editorial" if substantive is False else "n/a"


def _rewrite_diff(diff: DiffRow, seq: int, data: dict[str, Any]) -> None:
    """Keep the diff's JSON (what ``DiffStore.get`` returns) and its summary in step."""
    result = copy.deepcopy(dict(diff.result or {}))
    changes = list(result.get("changes") or ())
    if 0 <= seq < len(changes):
        changes[seq] = {**changes[seq], **{k: data[k] for k in ("kind", "substantive", "tags", "confidence")}}
        changes[seq]["review"] = data["review"]
    summary = {kind.value: 0 for kind in Kind}
    for change in changes:
        summary[str(change.get("kind"))] = summary.get(str(change.get("kind")), 0) + 1
    result.update(changes=changes, summary=summary)
    diff.result = result
    diff.summary = summary


def review_mapping(
    engine: Engine,
    reviewer: Reviewer,
    mapping_id: int,
    state: ReviewState,
    *,
    reason: str = "",
    diff_id: int | None = None,
    change_id: int | None = None,
    expected: ReviewState | None = None,
) -> Outcome:
    """Accept, reject or reopen one of the reviewer's organisation's mappings; refresh its impacts.

    With ``expected`` (the review state the reviewer saw), refuse (:class:`ConflictError`) if
    a colleague has decided on the mapping since."""
    if reviewer.org is None or reviewer.org_id is None:
        raise InvalidInputError("mapping decisions belong to an organisation", "sign in with its API key")
    with Session(engine) as session, session.begin():
        row = session.get(MappingRow, mapping_id, with_for_update=True)
        if row is None or row.org_id != reviewer.org_id:
            raise NotFoundError(f"{reviewer.org} has no mapping {mapping_id}", "reload the review page")
        if expected is not None and row.review != expected.value:
            raise ConflictError(
                f"mapping {mapping_id} ({row.source_id} -> {row.target_id}) was {row.review} by "
                f"{row.reviewer or 'another reviewer'!r} at {row.reviewed_at or 'an unknown time'} after "
                f"you loaded it (you saw it {expected.value})",
                f"reload it, read why and decide again (expected_review {row.review})",
            )
        before = {"review": row.review, "provenance": row.provenance, "reviewer": row.reviewer}
        source_key, source_set = row.source_key, row.source_set
        stored = MappingStore(engine).apply_mapping_review(
            session, reviewer.org, mapping_id, state, reviewer.name, reason
        )
        after = {"review": stored.mapping.review.value, "provenance": stored.mapping.provenance.value}
        decision = DecisionStore.add(
            session,
            reviewer,
            subject=MAPPING,
            action=state.value,
            before=before,
            after=after,
            reason=reason,
            diff_id=diff_id,
            change_id=change_id,
            mapping_id=mapping_id,
        )
        decision_id = decision.id
        diffs = ImpactStore.diffs_of(session, reviewer.org_id, source_set.split("@", 1)[0])
        if diff_id is not None:
            diffs.add(diff_id)
        updated: list[str] = []
        for each in sorted(diffs):
            updated += _refresh(
                session, engine, each, orgs=[reviewer.org], source_keys={source_key}, reviewed=stored
            )
    return Outcome(decision_id, diff_id or 0, change_id, before, after, tuple(sorted(set(updated))))


def split_mappings(
    maps: Iterable[Mapping], source: str, new_label: str
) -> tuple[list[Mapping], list[Mapping]]:
    """An organisation's mappings for one diff, as the impact engine takes them: those made for
    the new version, and all others of the same source (or of no stated source)."""
    new_set = f"{source}@{new_label}"
    mine = [m for m in maps if not m.source_set or m.source_set.split("@", 1)[0] == source]
    return [m for m in mine if m.source_set != new_set], [m for m in mine if m.source_set == new_set]


def refresh_impacts(
    engine: Engine,
    diff_id: int,
    *,
    change_ids: set[int] | None = None,
    source_keys: set[str] | None = None,
    orgs: list[str] | None = None,
) -> list[str]:
    """Recompute the stored impact items of the chosen changes (by id, or by a requirement key
    they involve) for every organisation (or the ones named) with a stored impact of the diff.
    Returns the organisations whose impact was stored again."""
    with Session(engine) as session, session.begin():
        return _refresh(session, engine, diff_id, change_ids=change_ids, source_keys=source_keys, orgs=orgs)


def _refresh(
    session: Session,
    engine: Engine,
    diff_id: int,
    *,
    change_ids: set[int] | None = None,
    source_keys: set[str] | None = None,
    orgs: list[str] | None = None,
    reviewed: StoredMapping | None = None,
) -> list[str]:
    """:func:`refresh_impacts` inside a decision's transaction: the decision and the impacts it
    changes are committed together, so a crash between the two cannot leave stale worklists.
    ``reviewed`` is the mapping this transaction has just reviewed (the organisation's other
    mappings are read as committed)."""
    rows = session.scalars(select(ChangeRow).where(ChangeRow.diff_id == diff_id)).all()
    if not any(
        (change_ids is not None and r.id in change_ids)
        or (source_keys is not None and source_keys & set((r.old_keys or []) + (r.new_keys or [])))
        for r in rows
    ):
        return []
    updated: list[str] = []
    for org in ImpactStore.holders(session, diff_id):
        if orgs is not None and org not in orgs:
            continue
        if refresh_impact(session, engine, org, diff_id, reviewed=reviewed):
            updated.append(org)
    return updated


refresh_in = _refresh  # for the bulk actions of :mod:`tracker.review.bulk`, in their transaction
