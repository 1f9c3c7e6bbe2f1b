"""The durable jobs after archiving, as the operator sees them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.timeutil import Utc
from tracker.storage.jobs import Job


class JobOut(BaseModel):
    id: int
    key: str = Field(examples=["impact:12:acme"], description="the job's idempotency key")
    kind: str = Field(examples=["impact"], description="diff, impact, digest or deliver")
    args: dict[str, Any]
    status: str = Field(examples=["dead"], description="queued, running, done or dead")
    attempts: int
    last_error: str = ""
    created_at: Utc
    updated_at: Utc
    run_after: Utc
    worker: str = ""

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            key=job.key,
            kind=job.kind,
            args=job.args,
            status=job.status,
            attempts=job.attempts,
            last_error=job.last_error,
            created_at=job.created_at,
            updated_at=job.updated_at,
            run_after=job.run_after,
            worker=job.worker,
        )
