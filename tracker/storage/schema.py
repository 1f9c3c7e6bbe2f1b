"""Every table module, imported, so ``Base.metadata`` describes the whole schema."""

from __future__ import annotations

from sqlalchemy import MetaData

from tracker.storage import api_tables, crawl_tables, org_tables, review_tables, tables

TABLE_MODULES = (tables, crawl_tables, org_tables, api_tables, review_tables)


def metadata() -> MetaData:
    return tables.Base.metadata
