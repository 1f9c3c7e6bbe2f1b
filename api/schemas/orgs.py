"""Models of organisations, API keys, controls, mappings, impact and crawl runs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.timeutil import Utc
from tracker.mapping.types import Relationship, ReviewState
from tracker.storage.api_keys import ApiKey, Scope

ORG = r"^[a-z0-9][a-z0-9._-]{0,127}$"
TEXT = 20_000


class OrgIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: str = Field(pattern=ORG, examples=["acme-bank"], description="lower-case name used in URLs")
    name: str = Field(default="", max_length=500, examples=["ACME Bank plc"])


class OrgOut(BaseModel):
    id: int = Field(examples=[1])
    slug: str = Field(examples=["acme-bank"])
    name: str = Field(examples=["ACME Bank plc"])
    created_at: Utc


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: Scope = Field(examples=["read"])
    name: str = Field(default="", max_length=200, examples=["ci pipeline"])


class ApiKeyOut(BaseModel):
    key_id: str = Field(examples=["3f9a0c1b2d4e5f60"])
    scope: Scope
    name: str = ""
    created_at: Utc
    revoked_at: Utc | None = None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            key_id=key.key_id,
            scope=key.scope,
            name=key.name,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreated(ApiKeyOut):
    token: str = Field(
        description="the secret token; shown only in this response", examples=["tsk_3f9a..._..."]
    )


class ControlIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=256, pattern=r"\S", examples=["ACME-AC-01"])
    title: str = Field(default="", max_length=2000, examples=["Access reviews"])
    description: str = Field(
        default="", max_length=TEXT, examples=["Quarterly review of privileged accounts."]
    )
    owner: str = Field(default="", max_length=256, examples=["iam-team"])
    tags: list[str] = Field(default=[], max_length=50, examples=[["iam", "quarterly"]])
    family: str = Field(default="", max_length=256, examples=["AC"])
    parent: str | None = Field(default=None, max_length=256)


class ControlUpdate(BaseModel):
    """A full replacement of a control's fields (its id stays the one in the path)."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(default="", max_length=2000)
    description: str = Field(default="", max_length=TEXT)
    owner: str = Field(default="", max_length=256)
    tags: list[str] = Field(default=[], max_length=50)
    family: str = Field(default="", max_length=256)
    parent: str | None = Field(default=None, max_length=256)


class ControlOut(BaseModel):
    id: str = Field(examples=["ACME-AC-01"])
    key: str = Field(examples=["ACME-AC-1"])
    title: str = ""
    description: str = ""
    owner: str = ""
    tags: list[str] = []
    family: str = ""
    parent: str | None = None
    origin: str = Field(default="", examples=["api"])
    active: bool = True
    created_at: Utc
    updated_at: Utc


class ControlHistoryOut(BaseModel):
    at: Utc
    change: str = Field(examples=["updated"])
    snapshot: dict[str, Any] = Field(description="the control as it was before this change (or as created)")


class ImportReportOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    deactivated: int


class MappingIn(BaseModel):
    """A reviewer's own mapping of a requirement onto one of the organisation's controls."""

    model_config = ConfigDict(extra="forbid")
    source_set: str = Field(min_length=1, max_length=256, examples=["nist-csf@2.0"])
    source: str = Field(min_length=1, max_length=256, pattern=r"\S", examples=["GV.OC-01"])
    target: str = Field(min_length=1, max_length=256, pattern=r"\S", examples=["ACME-AC-01"])
    relationship: Relationship = Field(default=Relationship.INTERSECTS)
    note: str = Field(default="", max_length=2000)


class MappingOut(BaseModel):
    id: int
    source_set: str = Field(examples=["nist-csf@2.0"])
    source: str = Field(examples=["GV.OC-01"])
    target_set: str = Field(examples=["org:acme-bank"])
    target: str = Field(examples=["ACME-AC-01"])
    relationship: Relationship
    provenance: str = Field(examples=["machine"])
    confidence: float
    review: ReviewState
    reviewer: str = ""
    reviewed_at: Utc | None = None
    note: str = ""


class MappingReview(BaseModel):
    """A reviewer's decision on a mapping; kept with who and when."""

    model_config = ConfigDict(extra="forbid")
    review: ReviewState = Field(examples=["accepted"])
    note: str = Field(default="", max_length=2000, examples=["confirmed in the Q3 control review"])
    reviewer: str = Field(default="", max_length=200, description="defaults to the API key's name or id")
    expected_review: ReviewState | None = Field(
        default=None,
        description="the mapping's `review` when you read it; if a colleague decided since, "
        "this decision is refused with 409 instead of overwriting theirs",
    )


class ImpactChange(BaseModel):
    change_id: int | None = None
    kind: str = Field(examples=["modified"])
    old_ids: list[str] = []
    new_ids: list[str] = []
    substantive: bool | None = None
    tags: list[str] = []


class ImpactLineOut(BaseModel):
    """One line of the worklist: a changed requirement, one affected control and what to do."""

    id: int
    impact_id: int
    diff_id: int
    source: str = Field(examples=["nist-csf"])
    old_version: str = Field(examples=["1.1"])
    new_version: str = Field(examples=["2.0"])
    created_at: Utc
    change: ImpactChange
    control_id: str | None = Field(default=None, examples=["ACME-AC-01"], description="null for a gap")
    action: str = Field(examples=["reassess"], description="reassess, gap, retire or none")
    score: float
    reason: str = ""
    carried_from: list[str] = Field(
        default=[],
        examples=[["ID.BE-1"]],
        description="the withdrawn requirements whose mapping of this control was carried along the "
        "diff's lineage to the changed requirement (empty: mapped to it directly)",
    )
    suggested_lineage: bool = Field(
        default=False, description="that lineage is only the diff engine's suggestion: a person confirms it"
    )


class ImpactOut(BaseModel):
    """A stored impact worklist as the impact engine produced it."""

    diff_id: int
    result: dict[str, Any]


class CrawlRunOut(BaseModel):
    id: int
    source: str
    started_at: Utc
    ended_at: Utc | None = None
    outcome: str = Field(examples=["ok"], description="running, ok, unchanged or failed")
    message: str = ""
    bytes_fetched: int = 0
    requests: int = 0
    new_version: str | None = None
    trigger: str = ""
