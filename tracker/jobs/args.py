"""What each job kind is given, typed, and the idempotency key derived from it.

The ledger stores a job's arguments as JSON (:class:`tracker.storage.jobs.JobSpec`); these
dataclasses are the only way the stages read and write them, so a key and the arguments it
names can never disagree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any, Self

from tracker.storage.jobs import JobSpec


class _Args:
    kind = ""

    @property
    def key(self) -> str:
        raise NotImplementedError

    def spec(self, run_after: datetime | None = None) -> JobSpec:
        return JobSpec(self.kind, self.key, asdict(self), run_after)  # type: ignore[call-overload]

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Self:
        return cls(**{f.name: raw[f.name] for f in fields(cls)})  # type: ignore[arg-type]


@dataclass(frozen=True)
class DiffArgs(_Args):
    """Diff ``label`` against the version archived before it."""

    source: str
    label: str
    kind = "diff"

    @property
    def key(self) -> str:
        return f"diff:{self.source}:{self.label}"


@dataclass(frozen=True)
class ImpactArgs(_Args):
    """One organisation's impact of one stored diff."""

    diff_id: int
    org: str
    source: str
    old: str
    new: str
    kind = "impact"

    @property
    def key(self) -> str:
        return f"impact:{self.diff_id}:{self.org}"


@dataclass(frozen=True)
class DigestArgs(_Args):
    """The digest events of one organisation's impact, for each of its subscriptions."""

    diff_id: int
    org: str
    kind = "digest"

    @property
    def key(self) -> str:
        return f"digest:{self.diff_id}:{self.org}"


@dataclass(frozen=True)
class DeliverArgs(_Args):
    """One subscription's delivery of one event on one channel."""

    subscription_id: int
    channel: str
    event_key: str
    kind = "deliver"

    @property
    def key(self) -> str:
        return f"deliver:{self.subscription_id}:{self.channel}:{self.event_key}"
