"""Models of the archive: sources, versions, requirements, diffs and changes."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.timeutil import Utc
from tracker.domain.inputs import SLUG_PATTERN
from tracker.domain.model import Lifecycle, Requirement, Source, Version, VersionRole
from tracker.review.readings import revision_of

SLUG = SLUG_PATTERN


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: str = Field(pattern=SLUG, examples=["nist-sp-800-53"])
    title: str = Field(default="", max_length=500, examples=["NIST SP 800-53"])
    publisher: str = Field(default="", max_length=256, examples=["NIST"])
    homepage: str = Field(
        default="", max_length=2000, examples=["https://csrc.nist.gov/pubs/sp/800/53/r5/upd1/final"]
    )
    kind: str = Field(default="", max_length=64, examples=["catalog"])
    licence: str = Field(default="", max_length=500, examples=["public domain"])


class SourceOut(BaseModel):
    id: int = Field(examples=[1])
    slug: str = Field(examples=["nist-sp-800-53"])
    title: str = Field(examples=["NIST SP 800-53"])
    publisher: str = Field(examples=["NIST"])
    homepage: str = ""
    kind: str = ""
    licence: str = ""
    versions: int = Field(examples=[2])

    @classmethod
    def of(cls, id_: int, src: Source, versions: int) -> SourceOut:
        return cls(
            id=id_,
            slug=src.slug,
            title=src.title,
            publisher=src.publisher,
            homepage=src.homepage,
            kind=src.kind,
            licence=src.licence,
            versions=versions,
        )


class ArtefactOut(BaseModel):
    filename: str = Field(examples=["NIST_SP-800-53_rev5_catalog.json"])
    sha256: str
    size: int
    media_type: str


class VersionOut(BaseModel):
    id: int = Field(examples=[7])
    source: str = Field(examples=["nist-sp-800-53"])
    label: str = Field(examples=["rev5"])
    status: Lifecycle = Field(examples=["final"], description="lifecycle status")
    published: date | None = Field(default=None, examples=["2020-09-23"])
    observed_at: Utc | None = None
    content_hash: str
    parser: str
    parser_version: str
    ordinal: int
    requirement_count: int
    artefacts: list[ArtefactOut] = []
    role: VersionRole = Field(
        default=VersionRole.EDITION,
        description="edition; rendition (the same text as `rendition_of` in another format); companion",
    )
    rendition_of: str = Field(default="", examples=["2.0"])
    partial: str = Field(default="", description="why the version holds only part of the publication")
    revision: str = Field(default="", description="the file's own revision", examples=["1.0.0"])

    @classmethod
    def of(cls, id_: int, v: Version) -> VersionOut:
        return cls(
            id=id_,
            source=v.source,
            label=v.label,
            status=v.status,
            published=v.published,
            observed_at=v.observed_at,
            content_hash=v.content_hash,
            parser=v.parser,
            parser_version=v.parser_version,
            ordinal=v.ordinal,
            requirement_count=v.requirement_count,
            role=v.role,
            rendition_of=v.rendition_of,
            partial=v.partial,
            revision=v.revision,
            artefacts=[
                ArtefactOut(filename=a.filename, sha256=a.sha256, size=a.size, media_type=a.media_type)
                for a in v.artefacts
            ],
        )


class RequirementSummary(BaseModel):
    id: str = Field(examples=["AC-2(1)"], description="identifier as the publisher prints it")
    key: str = Field(examples=["AC-2.1"], description="normalised key")
    kind: str = Field(examples=["enhancement"])
    title: str = Field(examples=["Automated System Account Management"])
    parent: str | None = Field(default=None, examples=["AC-2"])
    withdrawn: bool = False


class ObligationOut(BaseModel):
    modal: str = Field(examples=["shall"])
    strength: str = Field(examples=["must"])
    negated: bool = False


class RequirementOut(RequirementSummary):
    statement: str = ""
    guidance: str = ""
    successors: list[str] = []
    obligations: list[ObligationOut] = []
    properties: dict[str, str] = {}

    @classmethod
    def of(cls, req: Requirement) -> RequirementOut:
        return cls(
            id=req.ident,
            key=req.key,
            kind=req.kind,
            title=req.title,
            parent=req.parent,
            withdrawn=req.withdrawn,
            statement=req.statement,
            guidance=req.guidance,
            successors=list(req.successors),
            obligations=[
                ObligationOut(modal=o.modal, strength=o.strength.name.lower(), negated=o.negated)
                for o in req.obligations
            ],
            properties=dict(req.properties),
        )


class VersionRef(BaseModel):
    label: str = Field(examples=["rev5"])
    status: Lifecycle
    published: date | None = None
    observed_at: Utc | None = None
    effective: date = Field(description="the date the version counts from: published, else observed")


class RequirementAt(BaseModel):
    """A requirement as it read on a date, naming the version it was read from."""

    source: str = Field(examples=["nist-sp-800-53"])
    at: date | None = Field(default=None, examples=["2021-01-01"])
    version: VersionRef
    requirement: RequirementOut
    fallback: str = Field(
        default="",
        description="set when the newest version on that date is partial and does not hold the "
        "requirement: says which version the answer was read from instead, and why",
    )


class DiffOut(BaseModel):
    id: int = Field(examples=[3])
    source: str = Field(examples=["nist-csf"])
    old_version: str = Field(examples=["1.1"])
    new_version: str = Field(examples=["2.0"])
    engine: str = Field(examples=["tracker.diff/1.0.0"])
    model_id: str = ""
    created_at: Utc
    summary: dict[str, Any] = Field(examples=[{"added": 3, "modified": 10, "unchanged": 90}])


class ReviewOut(BaseModel):
    """Where a change stands with reviewers. ``revision`` counts the decisions behind the
    verdict shown; send it back as ``expected_revision`` so a decision made on a stale view is
    refused. ``scope`` says whose verdict it is: ``shared`` (the engine's, or the operator's
    correction) or ``organisation`` (your organisation's own; see
    ``GET /v1/orgs/{org}/review/changes/{change_id}``)."""

    status: Literal["unreviewed", "confirmed", "corrected"] = "unreviewed"
    revision: int = 0
    scope: Literal["shared", "organisation"] = "shared"
    decided_at: Utc | None = None
    original: dict[str, Any] | None = Field(
        default=None, description="the engine's verdict, when a reviewer has decided"
    )

    @classmethod
    def of(cls, review: dict[str, Any] | None) -> ReviewOut:
        if not review:
            return cls()
        return cls(
            status=review.get("status") or "confirmed",
            revision=int(review["revision"]) if "revision" in review else revision_of({"review": review}),
            scope=review.get("scope") or "shared",
            decided_at=review.get("decided_at"),
            original=review.get("original"),
        )


class SuggestionOut(BaseModel):
    """A successor the engine suggests for a withdrawn requirement, below its confidence to link."""

    old_id: str = Field(examples=["ID.BE-3"])
    new_id: str = Field(examples=["GV.OC-01"])
    score: float = Field(examples=[1.08])
    reason: str = Field(examples=["meaning 0.55, shared wording 0.21, it has no predecessor"])


class ChangeOut(BaseModel):
    id: int = Field(examples=[42])
    diff_id: int = Field(examples=[3])
    source: str = Field(examples=["nist-csf"])
    old_version: str = Field(examples=["1.1"])
    new_version: str = Field(examples=["2.0"])
    engine: str = Field(
        default="", examples=["1.4.0"], description="version of the engine that made the diff"
    )
    older_engine: bool = Field(
        default=False,
        description="made by an older engine than the one running; diffing the pair again recomputes it",
    )
    seq: int
    kind: str = Field(examples=["modified"])
    substantive: bool | None = Field(default=None, examples=[True])
    tags: list[str] = Field(default=[], examples=[["obligation_strengthened"]])
    old_ids: list[str] = Field(default=[], examples=[["PR.AC-1"]])
    new_ids: list[str] = Field(default=[], examples=[["PR.AA-01"]])
    confidence: float = 1.0
    reasons: list[str] = []
    redline: dict[str, str] | None = Field(
        default=None, examples=[{"statement": "Identities [-are-]{+shall be+} managed"}]
    )
    suggestions: list[SuggestionOut] = Field(
        default=[], description="candidate successors of a withdrawn requirement, for a reviewer to confirm"
    )
    created_at: Utc = Field(description="when the diff was stored")
    review: ReviewOut = Field(default_factory=ReviewOut)
