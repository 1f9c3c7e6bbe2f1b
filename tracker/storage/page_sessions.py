"""Review-page sessions: a row per signed-in browser, so signing out or revoking the key ends
the session on the server whoever holds a copy of its cookie (the cookie alone proves nothing
once its row is ended)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from tracker.storage.api_keys import ApiKey, Scope
from tracker.storage.tables.api import ApiKeyRow, PageSessionRow
from tracker.storage.tables.orgs import OrganisationRow


class PageSessions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open(self, sid: str, key_id: str, *, max_age: float) -> datetime:
        """Record the session ``sid`` of ``key_id`` as live (pruning sessions past ``max_age``
        seconds on the way); returns when it was opened."""
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            session.execute(
                delete(PageSessionRow).where(PageSessionRow.created_at < now - timedelta(seconds=max_age))
            )
            session.add(PageSessionRow(sid=sid, key_id=key_id, created_at=now))
        return now

    def end(self, sid: str) -> None:
        """Sign out: the session ``sid`` stops working, whoever holds its cookie."""
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(PageSessionRow)
                .where(PageSessionRow.sid == sid, PageSessionRow.ended_at.is_(None))
                .values(ended_at=datetime.now(UTC))
            )

    def live_key(self, key_id: str, sid: str) -> tuple[ApiKey, str | None] | None:
        """The key behind a live session, with its organisation's slug; ``None`` when the key
        was revoked or the session ended."""
        with Session(self.engine) as session:
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id))
            if row is None or row.revoked_at is not None:
                return None
            live = session.scalar(
                select(PageSessionRow.sid).where(
                    PageSessionRow.sid == sid,
                    PageSessionRow.key_id == key_id,
                    PageSessionRow.ended_at.is_(None),
                )
            )
            if live is None:
                return None
            org = session.scalar(select(OrganisationRow.slug).where(OrganisationRow.id == row.org_id))
            key = ApiKey(row.id, row.key_id, row.org_id, Scope(row.scope), row.name, row.created_at)
            return key, org
