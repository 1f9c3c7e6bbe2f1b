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


class ReviewBatchRow(Base):
    """One bulk review action: the filter that chose the changes of one diff, what was done
    to them (``action`` ``confirm`` or ``correct``, with the ``verdict`` applied by a
    correction), who and when, and how many decisions it wrote (each a
    :class:`ReviewDecisionRow` naming the batch). ``undone_at``/``undone_by`` are set once when
    the batch is undone; that is the only update this table sees (see
    :mod:`tracker.review.bulk`)."""

    __tablename__ = "review_batches"
    __table_args__ = (Index("ix_review_batches_org_diff", "org_id", "diff_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), nullable=True
    )
    diff_id: Mapped[int] = mapped_column(ForeignKey("diffs.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    filter: Mapped[Any] = mapped_column(JSON)
    verdict: Mapped[Any] = mapped_column(JSON, nullable=True)
    reviewer: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(32), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    decided: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    undone_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class ReviewDecisionRow(Base):
    """``subject`` is ``verdict`` or ``mapping``; ``action`` one of ``confirm``, ``correct``,
    ``undo`` (verdicts) or ``accepted``, ``rejected``, ``proposed`` (mappings). ``before``/``after``
    hold the verdict (kind, substantive, tags, confidence) or the mapping's review state.
    ``org_id`` is null for decisions taken with the operator key. ``batch_id`` names the bulk
    action that wrote the decision (an ``undo`` decision names the batch it undid)."""

    __tablename__ = "review_decisions"
    __table_args__ = (
        Index("ix_review_decisions_org", "org_id", "id"),
        Index("ix_review_decisions_change", "change_id"),
        Index("ix_review_decisions_diff", "diff_id"),
        Index("ix_review_decisions_batch", "batch_id"),
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
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("review_batches.id", ondelete="CASCADE", name="fk_review_decisions_batch"), nullable=True
    )
