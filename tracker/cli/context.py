"""What every command needs: settings, and the archive opened on first use."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from tracker.settings import Settings
from tracker.storage.archive import Archive


@dataclass
class Context:
    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls) -> Context:
        return cls(Settings.from_env())

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from tracker.storage.db import open_engine

            self._engine = open_engine(self.settings)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @property
    def archive(self) -> Archive:
        return Archive(self.engine)
