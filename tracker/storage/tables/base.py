"""The declarative base every table module shares.

The schema is split by area (:mod:`archive`, :mod:`crawl`, :mod:`orgs`, :mod:`api`,
:mod:`review`); changing any of it means adding an Alembic migration (see
docs/architecture.md).
"""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
