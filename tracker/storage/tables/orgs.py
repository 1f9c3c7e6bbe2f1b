"""Organisations, their controls (with history), mappings and stored impact."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tracker.storage.tables.base import Base


class OrganisationRow(Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ControlRow(Base):
    __tablename__ = "controls"
    __table_args__ = (UniqueConstraint("org_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(256))
    ident: Mapped[str] = mapped_column(String(256))
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(256), default="")
    tags: Mapped[Any] = mapped_column(JSON, default=list)
    family: Mapped[str] = mapped_column(String(256), default="")
    parent_key: Mapped[str | None] = mapped_column(String(256), nullable=True)
    guidance: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[Any] = mapped_column(JSON, default=list)
    origin: Mapped[str] = mapped_column(Text, default="")  # "csv:file.csv", "catalog:nist-sp-800-53@rev5"
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ControlHistoryRow(Base):
    """Every earlier state of a control, so re-imports update in place and keep history."""

    __tablename__ = "control_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    control_id: Mapped[int] = mapped_column(ForeignKey("controls.id", ondelete="CASCADE"), index=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    change: Mapped[str] = mapped_column(String(32))  # created, updated, deactivated
    snapshot: Mapped[Any] = mapped_column(JSON)


class MappingRow(Base):
    """A requirement-to-requirement or requirement-to-control mapping (NIST IR 8477 vocabulary).

    ``org_id`` is null for crosswalks between standards, set for an organisation's own
    mappings onto its controls. Sets are ``source@version`` or ``org:<slug>``.
    """

    __tablename__ = "mappings"
    __table_args__ = (
        Index("ix_mappings_lookup", "org_id", "source_set", "source_key"),
        Index("ix_mappings_target", "org_id", "target_set", "target_key"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), nullable=True
    )
    source_set: Mapped[str] = mapped_column(String(256))
    source_id: Mapped[str] = mapped_column(String(256))
    source_key: Mapped[str] = mapped_column(String(256))
    target_set: Mapped[str] = mapped_column(String(256))
    target_id: Mapped[str] = mapped_column(String(256))
    target_key: Mapped[str] = mapped_column(String(256))
    relationship: Mapped[str] = mapped_column(String(32))
    provenance: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    review: Mapped[str] = mapped_column(String(32))
    versions: Mapped[Any] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    via: Mapped[Any] = mapped_column(JSON, default=list)
    origin: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str] = mapped_column(String(256), default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ImpactRow(Base):
    """One stored impact worklist: a diff seen through one organisation's controls."""

    __tablename__ = "impacts"
    __table_args__ = (UniqueConstraint("org_id", "diff_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    diff_id: Mapped[int] = mapped_column(ForeignKey("diffs.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    result: Mapped[Any] = mapped_column(JSON)


class ImpactItemRow(Base):
    """One (change, control, action) line of an impact, denormalised for queries by control and date."""

    __tablename__ = "impact_items"
    __table_args__ = (Index("ix_impact_items_org_created", "org_id", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    impact_id: Mapped[int] = mapped_column(ForeignKey("impacts.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    change_seq: Mapped[int] = mapped_column(Integer)
    change_kind: Mapped[str] = mapped_column(String(32))
    control_key: Mapped[str | None] = mapped_column(String(256), nullable=True)
    control_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    reason: Mapped[str] = mapped_column(Text, default="")
