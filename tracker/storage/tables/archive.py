"""The archive's tables: sources, versions, artefacts, requirements, profiles, diffs, changes and
the vector cache (migration ``0001``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tracker.storage.tables.base import Base


class SourceRow(Base):
    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(128), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    publisher: Mapped[str] = mapped_column(String(256), default="")
    homepage: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(64), default="")
    licence: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    companions: Mapped[Any] = mapped_column(JSON, nullable=True)  # migration 0010: related slugs


class ArtefactRow(Base):
    """Raw bytes, content-addressed: the primary key is the SHA-256 of ``content``."""

    __tablename__ = "artefacts"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(128), default="application/octet-stream")
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VersionRow(Base):
    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("source_id", "label"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(32))
    published: Mapped[date | None] = mapped_column(Date, nullable=True)
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    parser: Mapped[str] = mapped_column(String(256))
    parser_version: Mapped[str] = mapped_column(Text)
    ordinal: Mapped[int] = mapped_column(Integer, default=0)
    requirement_count: Mapped[int] = mapped_column(Integer, default=0)
    # migration 0010: an edition, a rendition of the edition labelled ``rendition_of`` (the same
    # text in another format), or a companion document; ``partial`` says why the version holds
    # only part of its publication (empty when whole); ``revision`` is the file's own revision
    role: Mapped[str] = mapped_column(String(16), default="edition", server_default="edition")
    rendition_of: Mapped[str] = mapped_column(String(128), default="", server_default="")
    partial: Mapped[str] = mapped_column(Text, default="", server_default="")
    revision: Mapped[str] = mapped_column(String(128), default="", server_default="")


class VersionArtefactRow(Base):
    __tablename__ = "version_artefacts"
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True)
    filename: Mapped[str] = mapped_column(String(512), primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("artefacts.sha256"), index=True)


class RequirementRow(Base):
    __tablename__ = "requirements"
    __table_args__ = (UniqueConstraint("version_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(256))
    ident: Mapped[str] = mapped_column(String(256))
    parent_key: Mapped[str | None] = mapped_column(String(256), nullable=True)
    ord: Mapped[int] = mapped_column(Integer)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text, default="")
    statement: Mapped[str] = mapped_column(Text, default="")
    guidance: Mapped[str] = mapped_column(Text, default="")
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    links: Mapped[Any] = mapped_column(JSON, default=list)
    params: Mapped[Any] = mapped_column(JSON, default=list)
    obligations: Mapped[Any] = mapped_column(JSON, default=list)
    properties: Mapped[Any] = mapped_column(JSON, default=list)


class ProfileRow(Base):
    __tablename__ = "profiles"
    __table_args__ = (UniqueConstraint("version_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    title: Mapped[str] = mapped_column(Text, default="")
    keys: Mapped[Any] = mapped_column(JSON, default=list)


class EmbeddingRow(Base):
    """Vector cache keyed by model and the hash of the normalised text: nothing is embedded twice."""

    __tablename__ = "embeddings"
    model_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class DiffRow(Base):
    """A stored diff of two versions, with the engine and model that produced it."""

    __tablename__ = "diffs"
    __table_args__ = (UniqueConstraint("old_version_id", "new_version_id", "engine", "model_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    old_version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    new_version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    engine: Mapped[str] = mapped_column(String(64))
    model_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    summary: Mapped[Any] = mapped_column(JSON)
    result: Mapped[Any] = mapped_column(JSON)


class ChangeRow(Base):
    """One typed change of a stored diff, denormalised for filtering by kind, tag and date."""

    __tablename__ = "changes"
    __table_args__ = (Index("ix_changes_diff_seq", "diff_id", "seq", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    diff_id: Mapped[int] = mapped_column(ForeignKey("diffs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    substantive: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    tags: Mapped[Any] = mapped_column(JSON, default=list)
    old_ids: Mapped[Any] = mapped_column(JSON, default=list)
    new_ids: Mapped[Any] = mapped_column(JSON, default=list)
    old_keys: Mapped[Any] = mapped_column(JSON, default=list)
    new_keys: Mapped[Any] = mapped_column(JSON, default=list)
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    data: Mapped[Any] = mapped_column(JSON)
