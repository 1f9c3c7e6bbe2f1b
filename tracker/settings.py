"""One settings object, read from the environment when asked for (never at import time).

This module is the only reader of ``TRACKER_*`` variables. Every field of :class:`Settings`
is one variable, named after the field (``data_dir`` is ``TRACKER_DATA_DIR``), and its default
is written once, on the field: :meth:`Settings.from_env` only overrides what the environment
sets. Child processes (crawls, the scheduler) get their environment from
:meth:`Settings.child_env`, so nothing writes ``os.environ``.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tracker.domain.errors import InvalidInputError

_PREFIX = "TRACKER_"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Every field maps to a ``TRACKER_*`` environment variable."""

    data_dir: Path = Path("var")
    database_url: str = ""
    corpus_dir: Path = Path("../shared/corpus")
    max_document_bytes: int = 64 * 1024 * 1024
    model_name: str = "all-MiniLM-L6-v2"
    embed_batch_size: int = 16
    # bf16 runs about three times faster than fp32 on CPUs with AVX-512 BF16 (cosine 0.9999)
    embed_precision: str = "bf16"
    # torch threads for the model; 0 picks the idle cores (one when the machine is busy)
    embed_threads: int = 0
    # False runs the automatic pipeline (crawl -> diff -> impact) with the lexical engine only
    use_model: bool = True
    mirror_url: str = ""
    # the source registry; None is data/sources.toml of the source checkout
    registry: Path | None = None
    # seconds a crawl lock lives without a heartbeat before another crawl may take it over
    crawl_lock_ttl: float = 120.0
    # digests and API: where mail goes out, and the public address feeds and emails link to;
    # ``tag_authority`` names the tag: URI authority of feed entry ids, Message-IDs and
    # List-Ids; empty means the host of ``public_url`` (the operator's domain).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_sender: str = "tracker@localhost"
    public_url: str = "http://127.0.0.1:8000"
    tag_authority: str = ""
    session_secret: str = field(default="", repr=False)  # signs the review pages' sessions
    # webhooks to loopback/private addresses are refused (SSRF guard) unless an operator
    # running in-house receivers turns this on
    webhook_allow_private: bool = False
    # plaintext http:// webhook receivers (loopback is always allowed); off: https only
    webhook_allow_http: bool = False
    # send webhooks through this HTTP(S) proxy (networks whose egress needs one)
    webhook_proxy: str = ""
    # who runs this instance, shown to publishers in the crawler's user agent (URL or email)
    crawl_contact: str = ""
    # the CLI lets an unexpected error's traceback through instead of a one-line message
    debug: bool = False
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
    # request bodies larger than this are refused (413) as they stream in; CSV imports
    # carry files and get the larger upload limit
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 11 * 1024 * 1024
    # failed authentications per client address allowed within the window (seconds)
    # before the API answers 429; 0 turns the limit off
    auth_failure_limit: int = 10
    auth_failure_window: int = 60

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or a SQLite file inside ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tracker.sqlite3').as_posix()}"

    @staticmethod
    def variable(name: str) -> str:
        """The environment variable of the field ``name``."""
        return _PREFIX + name.upper()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The defaults, overridden by every ``TRACKER_*`` variable that is set and not empty."""
        source = os.environ if environ is None else environ
        hints = typing.get_type_hints(cls)
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            var = cls.variable(f.name)
            raw = source.get(var, "")
            # an empty string keeps the default for every type (the text fields' default is "")
            if raw != "":
                values[f.name] = _parse(var, raw, hints[f.name])
        return cls(**values)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """These settings as ``TRACKER_*`` variables (``from_env`` of the result is equal)."""
        out: dict[str, str] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, bool):
                out[self.variable(f.name)] = "1" if value else "0"
            elif isinstance(value, Path):
                out[self.variable(f.name)] = value.as_posix()
            else:
                out[self.variable(f.name)] = str(value)
        return out

    def child_env(self) -> dict[str, str]:
        """The environment for a child process: this one's, with every setting as ``self`` has it."""
        ours = {self.variable(f.name) for f in dataclasses.fields(self)}
        base = {k: v for k, v in os.environ.items() if k not in ours}
        return base | self.to_env()


def _parse(var: str, raw: str, kind: object) -> object:
    """``raw`` as the field's type; a value that does not fit names the variable."""
    if kind == Path | None or kind is Path:
        return Path(raw)
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise InvalidInputError(f"{var}={raw!r} is not a yes/no value", f"set {var} to 1 or 0")
    try:
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError as exc:
        raise InvalidInputError(f"{var}={raw!r} is not a number", f"set {var} to a number") from exc
    return raw
