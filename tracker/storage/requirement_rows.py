"""Requirements as rows of the ``requirements`` table, and back.

The archive writes them and every reader of a version's tree reads them through these two
functions, so the JSON columns (links, parameters, obligations, properties) have one layout.
"""

from __future__ import annotations

from typing import Any

from tracker.domain.model import Link, Obligation, Requirement, Strength
from tracker.storage.tables.archive import RequirementRow


def requirement_values(req: Requirement, version_id: int) -> dict[str, Any]:
    """The column values of one requirement row of version ``version_id``."""
    return dict(
        version_id=version_id,
        key=req.key,
        ident=req.ident,
        parent_key=req.parent,
        ord=req.order,
        depth=req.depth,
        kind=req.kind,
        title=req.title,
        statement=req.statement,
        guidance=req.guidance,
        withdrawn=req.withdrawn,
        # a link into another publication keeps that publication's slug as a third element
        links=[[link.relation, link.target, *([link.source] if link.source else [])] for link in req.links],
        params=[list(p) for p in req.params],
        obligations=[[o.modal, int(o.strength), o.negated, o.sentence] for o in req.obligations],
        properties=[list(p) for p in req.properties],
    )


def requirement_of(row: RequirementRow) -> Requirement:
    """The requirement a stored row holds (a link into another publication keeps its slug)."""
    return Requirement(
        ident=row.ident,
        key=row.key,
        title=row.title,
        statement=row.statement,
        guidance=row.guidance,
        parent=row.parent_key,
        order=row.ord,
        depth=row.depth,
        kind=row.kind,
        withdrawn=row.withdrawn,
        links=tuple(Link(*link) for link in row.links or ()),
        params=tuple((a, b) for a, b in row.params or ()),
        obligations=tuple(
            Obligation(modal=m, strength=Strength(s), negated=bool(n), sentence=t)
            for m, s, n, t in row.obligations or ()
        ),
        properties=tuple((a, b) for a, b in row.properties or ()),
    )
