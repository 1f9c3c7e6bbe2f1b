"""The one :class:`Requirement` factory of the tests, filled in as the parsers fill one."""

from __future__ import annotations

from typing import Any

from tracker.domain import modality
from tracker.domain.keys import normalise_key
from tracker.domain.model import ParsedVersion, Profile, Requirement


def requirement(ident: str, statement: str = "", title: str = "", **fields: Any) -> Requirement:
    """A requirement keyed as parsers key it, with the obligations its statement states.

    Any other field of :class:`Requirement` may be given (``parent`` is a key, as stored);
    ``key`` and ``obligations`` may be given to override what is derived.
    """
    fields.setdefault("key", normalise_key(ident))
    fields.setdefault("obligations", modality.obligations(statement))
    return Requirement(ident=ident, title=title, statement=statement, **fields)


def parsed_version(
    *requirements: Requirement, profiles: tuple[Profile, ...] = (), title: str = "Test"
) -> ParsedVersion:
    """A parsed version of ``requirements`` as a test parser would return it."""
    return ParsedVersion(
        parser="test", parser_version="1", title=title, requirements=requirements, profiles=profiles
    )
