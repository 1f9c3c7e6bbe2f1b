"""Stored learned-ranker models, looked up by the fingerprint of the pairs they learned from."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tracker.mapping.ranker import Provenance, Weights
from tracker.storage.orgs import org_row, utcnow
from tracker.storage.tables.ranker import RankerModelRow


class RankerModelStore:
    """One row per model; a model is written once and never changed."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def find(self, org: str | None, target_set: str, fingerprint: str) -> tuple[Weights, Provenance] | None:
        """The model trained on exactly these pairs for this target, if one was stored."""
        with Session(self.engine) as session:
            org_id = org_row(session, org).id if org else None
            query = select(RankerModelRow).where(
                RankerModelRow.org_id.is_(None) if org_id is None else RankerModelRow.org_id == org_id,
                RankerModelRow.target_set == target_set,
                RankerModelRow.fingerprint == fingerprint,
            )
            row = session.scalars(query.order_by(RankerModelRow.id.desc()).limit(1)).first()
            if row is None:
                return None
            return Weights.from_json(dict(row.weights)), Provenance.from_json(dict(row.provenance))

    def save(self, org: str | None, target_set: str, weights: Weights, provenance: Provenance) -> int:
        with Session(self.engine) as session, session.begin():
            row = RankerModelRow(
                org_id=org_row(session, org).id if org else None,
                target_set=target_set,
                fingerprint=provenance.fingerprint,
                provenance=provenance.to_json(),
                weights=weights.to_json(),
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return row.id

    def models(self, org: str | None, target_set: str) -> list[Provenance]:
        """Every model stored for this target, oldest first (what each learned from)."""
        with Session(self.engine) as session:
            org_id = org_row(session, org).id if org else None
            query = select(RankerModelRow).where(
                RankerModelRow.org_id.is_(None) if org_id is None else RankerModelRow.org_id == org_id,
                RankerModelRow.target_set == target_set,
            )
            return [
                Provenance.from_json(dict(r.provenance))
                for r in session.scalars(query.order_by(RankerModelRow.id))
            ]
