"""The crosswalk a publication declares: its ``cites`` links to other tracked publications.

An OWASP Top 10 entry that lists MITRE ATLAS techniques under "Related Frameworks and
Taxonomies" is a crosswalk the publisher wrote, and it belongs to that version of the
entry: when the next release drops a technique, the crosswalk of the next version no
longer holds it (and the diff shows the changed references). So each archived version
yields its own set, ``SOURCE@VERSION`` -> the cited source (no version: the publisher names
a technique, not an ATLAS release), with provenance ``publisher``.

The relationship is ``intersects``: a risk entry and the technique it names concern the
same thing, but neither says the other covers all of it, so claiming ``equal`` or
``subset`` would put words in the publisher's mouth.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from tracker.domain.model import Requirement
from tracker.mapping.types import Candidate, Control, Mapping, Provenance, Ranking, Relationship, ReviewState

ORIGIN_PREFIX = "publisher:"


def origin(source: str, label: str) -> str:
    """The ``origin`` under which one version's declared crosswalk is stored."""
    return f"{ORIGIN_PREFIX}{source}@{label}"


def declared_crosswalk(source: str, label: str, requirements: Iterable[Requirement]) -> list[Mapping]:
    """Every ``cites`` link of ``requirements`` (one version of ``source``) as a mapping."""
    version = f"{source}@{label}"
    found: list[Mapping] = []
    for req in requirements:
        for link in req.links:
            if not link.external:
                continue
            found.append(
                Mapping(
                    source=req.ident,
                    target=link.target,
                    relationship=Relationship.INTERSECTS,
                    provenance=Provenance.PUBLISHER,
                    confidence=1.0,
                    review=ReviewState.ACCEPTED,
                    versions=(version,),
                    source_set=version,
                    target_set=link.source,
                    note=f"named by {version} in {req.ident}",
                )
            )
    return found


def lead_with_declared(
    rankings: Sequence[Ranking], declared: Iterable[Mapping], controls: Iterable[Control]
) -> list[Ranking]:
    """Put the targets a publisher names for each requirement ahead of any similarity.

    A named target present among ``controls`` is ranked first with score 1.0 and the
    ``publisher`` signal, whatever the text says; the machine's candidates follow, less any
    it already named. A named target not among ``controls`` (a case study when ranking
    techniques, a requirement the target version withdrew) is left out rather than invented.
    """
    by_key = {c.key: c for c in controls}
    named: dict[str, list[Mapping]] = {}
    for m in declared:
        if m.target_key in by_key:
            named.setdefault(m.source_key, []).append(m)
    out: list[Ranking] = []
    for ranking in rankings:
        first = named.get(ranking.key, [])
        if not first:
            out.append(ranking)
            continue
        keys = list(dict.fromkeys(m.target_key for m in first))
        versions = {m.target_key: ", ".join(m.versions) for m in first}
        lead = [
            Candidate(
                control_id=by_key[key].id,
                key=key,
                score=1.0,
                relationship=Relationship.INTERSECTS,
                rank=0,
                signals=(("publisher", 1.0),),
                reason=f"named by the publisher ({versions[key]})",
            )
            for key in keys
        ]
        rest = [c for c in ranking.candidates if c.key not in keys]
        ranked = [replace(c, rank=i + 1) for i, c in enumerate([*lead, *rest])]
        out.append(replace(ranking, candidates=tuple(ranked[: max(len(ranking.candidates), len(lead))])))
    return out
