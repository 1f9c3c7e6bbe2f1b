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
    # request bodies larger than this are refused (413) as they stream in; CSV imports
    # carry files and get the larger upload limit
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 11 * 1024 * 1024
    # failed authentications per client address allowed within the window (seconds)
    # before the API answers 429; 0 turns the limit off
    auth_failure_limit: int = 10
    auth_failure_window: int = 60
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
            max_body_bytes=int(_env("MAX_BODY_BYTES", str(1024 * 1024))),
            max_upload_bytes=int(_env("MAX_UPLOAD_BYTES", str(11 * 1024 * 1024))),
            auth_failure_limit=int(_env("AUTH_FAILURE_LIMIT", "10")),
            auth_failure_window=int(_env("AUTH_FAILURE_WINDOW", "60")),
        )
