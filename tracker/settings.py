"""One settings object, read from the environment when asked for (never at import time)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

_PREFIX = "TRACKER_"


def _env(name: str, default: str) -> str:
    return os.environ.get(_PREFIX + name, default)


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Every field maps to a ``TRACKER_*`` environment variable."""

    data_dir: Path = Path("var")
    database_url: str = ""
    corpus_dir: Path = Path("../shared/corpus")
    max_document_bytes: int = 64 * 1024 * 1024
    model_name: str = "all-MiniLM-L6-v2"
    embed_batch_size: int = 64
    # "0" runs the automatic pipeline (crawl -> diff -> impact) with the lexical engine only
    use_model: bool = True
    mirror_url: str = ""
    # digests and API (issue 6): where mail goes out, and the public address feeds and
    # emails link to; ``tag_authority`` names the tag: URI authority of feed entry ids.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_sender: str = "tracker@localhost"
    public_url: str = "http://127.0.0.1:8000"
    tag_authority: str = "tracker.invalid"
    session_secret: str = field(default="", repr=False)  # signs review-page sessions (issue 7)
    # webhooks to loopback/private addresses are refused (SSRF guard) unless an operator
    # running in-house receivers turns this on
    webhook_allow_private: bool = False
    # send webhooks through this HTTP(S) proxy (networks whose egress needs one)
    webhook_proxy: str = ""
    # who runs this instance, shown to publishers in the crawler's user agent (URL or email)
    crawl_contact: str = ""
    # the job queue: "" is the embedded default (a SQLite file next to the database);
    # redis://host:port/db or postgresql://... for workers on several machines
    queue_url: str = ""
    workers: int = 1  # worker processes `tracker run` starts and restarts
    job_lease: float = 600.0  # seconds a worker holds a job before another may take it over
    job_backoff: float = 10.0  # first retry delay in seconds, doubled per attempt, with jitter
    job_max_attempts: int = 6  # attempts before a job is parked as dead
    # fault tests only: "KIND:SECONDS" pauses a worker after it claims a job of that kind,
    # "KIND.done:SECONDS" after the job's effect is stored but before the job is marked done,
    # "archived:SECONDS" a crawl just after a new version commits
    fault_pause: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or a SQLite file inside ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tracker.sqlite3').as_posix()}"

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            data_dir=Path(_env("DATA_DIR", "var")),
            database_url=_env("DATABASE_URL", ""),
            corpus_dir=Path(_env("CORPUS_DIR", "../shared/corpus")),
            max_document_bytes=int(_env("MAX_DOCUMENT_BYTES", str(64 * 1024 * 1024))),
            model_name=_env("MODEL_NAME", "all-MiniLM-L6-v2"),
            embed_batch_size=int(_env("EMBED_BATCH_SIZE", "64")),
            use_model=_env("USE_MODEL", "1") not in ("0", "false", "no"),
            mirror_url=_env("MIRROR_URL", ""),
            smtp_host=_env("SMTP_HOST", "127.0.0.1"),
            smtp_port=int(_env("SMTP_PORT", "25")),
            smtp_sender=_env("SMTP_SENDER", "tracker@localhost"),
            public_url=_env("PUBLIC_URL", "http://127.0.0.1:8000"),
            tag_authority=_env("TAG_AUTHORITY", "tracker.invalid"),
            session_secret=_env("SESSION_SECRET", ""),
            webhook_allow_private=_env("WEBHOOK_ALLOW_PRIVATE", "0") in ("1", "true", "yes"),
            webhook_proxy=_env("WEBHOOK_PROXY", ""),
            crawl_contact=_env("CRAWL_CONTACT", ""),
            queue_url=_env("QUEUE_URL", ""),
            workers=int(_env("WORKERS", "1")),
            job_lease=float(_env("JOB_LEASE", "600")),
            job_backoff=float(_env("JOB_BACKOFF", "10")),
            job_max_attempts=int(_env("JOB_MAX_ATTEMPTS", "6")),
            fault_pause=_env("FAULT_PAUSE", ""),
        )
