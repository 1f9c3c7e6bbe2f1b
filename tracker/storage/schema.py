"""Every table module, imported, so ``Base.metadata`` describes the whole schema."""

from __future__ import annotations

from sqlalchemy import MetaData

from tracker.storage.tables import api, archive, base, crawl, jobs, orgs, ranker, review

TABLE_MODULES = (archive, crawl, orgs, api, review, jobs, ranker)


def metadata() -> MetaData:
    return base.Base.metadata
