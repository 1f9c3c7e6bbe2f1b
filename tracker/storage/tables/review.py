"""Reviewer decisions on change verdicts and mapping suggestions.

One append-only row per decision: nothing is updated or deleted, so the history of who
decided what, when and why is the table itself. The effect of a decision (the corrected
verdict on the stored change, the mapping's review state, the recomputed impact) is
applied elsewhere by :mod:`tracker.review.decisions`; this row is the record and the audit trail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tracker.storage.tables.base import Base


class ReviewDecisionRow(Base):
    """``subject`` is ``verdict`` or ``mapping``; ``action`` one of ``confirm``, ``correct``
    (verdicts) or ``accepted``, ``rejected``, ``proposed`` (mappings). ``before``/``after``
    hold the verdict (kind, substantive, tags, confidence) or the mapping's review state.
    ``org_id`` is null for decisions taken with the operator key."""

    __tablename__ = "review_decisions"
    __table_args__ = (
        Index("ix_review_decisions_org", "org_id", "id"),
        Index("ix_review_decisions_change", "change_id"),
        Index("ix_review_decisions_diff", "diff_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), nullable=True
    )
    diff_id: Mapped[int | None] = mapped_column(ForeignKey("diffs.id", ondelete="CASCADE"), nullable=True)
    change_id: Mapped[int | None] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"), nullable=True)
    mapping_id: Mapped[int | None] = mapped_column(
        ForeignKey("mappings.id", ondelete="SET NULL"), nullable=True
    )
    subject: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    before: Mapped[Any] = mapped_column(JSON)
    after: Mapped[Any] = mapped_column(JSON)
    reviewer: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(32), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
