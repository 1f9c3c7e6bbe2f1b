"""Learned ranker models: one row per (organisation or shared, target, pairs fingerprint).

A model is a few numbers (a logistic regression's coefficients over standardised features,
:class:`tracker.mapping.ranker.Weights`) with its provenance: which pairs it learned from
(their fingerprint), how many, from where and when. A model is never updated in place: new
pairs give a new fingerprint and a new row. Migration: ``0010_ranker_models``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tracker.storage.tables.base import Base


class RankerModelRow(Base):
    """``org_id`` null: trained on shared labels only (published crosswalks, the operator's)."""

    __tablename__ = "ranker_models"
    __table_args__ = (Index("ix_ranker_models_lookup", "org_id", "target_set", "fingerprint"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), nullable=True
    )
    target_set: Mapped[str] = mapped_column(String(256))
    fingerprint: Mapped[str] = mapped_column(String(64))
    provenance: Mapped[Any] = mapped_column(JSON)
    weights: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
