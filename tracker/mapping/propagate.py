"""Known mappings travel: along published crosswalks (multi-hop) and along a diff's lineage.

**Crosswalks.** Mappings form a graph whose nodes are ``(set, key)`` pairs: the set names the
framework or organisation (``source_set`` / ``target_set`` of a :class:`Mapping`), because
the same key can mean different things in two frameworks (CSF 1.1 ``ID.AM-1`` and CSF 2.0
``ID.AM-01`` normalise alike). :func:`propagate` walks up to ``max_hops`` edges, reading
each published edge forwards and, inverted, backwards, and composes the relationships with
:func:`tracker.mapping.relationships.compose_path`: the weakest link decides, and a
composition that set algebra does not entail halves the confidence. Among several paths
between two nodes the most confident wins (ties: the stronger relationship). Derived
mappings are machine-made and ``proposed``: they wait for a reviewer.

**Lineage.** When a diff says ``AC-2`` became ``AC-2a`` (moved), was split into two, or
merged with another, the organisation's mappings from the predecessor still say something
about the successor. :func:`carry_over` copies them, composing the lineage relation with
the mapping (a split part is a subset of its predecessor, a merged requirement a superset),
scales the confidence by how much the kind of change can alter meaning, and marks every
copy for review except those of unchanged requirements.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Sequence

from tracker.domain.keys import normalise_key
from tracker.mapping.relationships import STRENGTH, compose_path
from tracker.mapping.types import Mapping, Provenance, Relationship, ReviewState

Node = tuple[str, str]  # (set, key)


def _edges(mappings: Iterable[Mapping], bidirectional: bool) -> dict[Node, list[tuple[Node, Mapping]]]:
    graph: dict[Node, list[tuple[Node, Mapping]]] = defaultdict(list)
    for m in mappings:
        if m.review is ReviewState.REJECTED or m.relationship is Relationship.NO_RELATIONSHIP:
            continue
        src, tgt = (m.source_set, m.source_key), (m.target_set, m.target_key)
        graph[src].append((tgt, m))
        if bidirectional:
            graph[tgt].append((src, m.inverted()))
    return graph


def _path_value(path: Sequence[Mapping]) -> tuple[Relationship, float] | None:
    """Composed relationship and confidence (product of edges x certainty) of a path."""
    composed = compose_path(m.relationship for m in path)
    if composed is None:
        return None
    confidence = composed[1]
    for m in path:
        confidence *= m.confidence
    return composed[0], confidence


def propagate(
    mappings: Sequence[Mapping],
    *,
    start_set: str | None = None,
    end_set: str | None = None,
    max_hops: int = 3,
    min_confidence: float = 0.05,
    bidirectional: bool = True,
) -> list[Mapping]:
    """Mappings implied by paths of 2..``max_hops`` edges that no direct mapping states.

    ``start_set`` / ``end_set`` restrict the derived mappings to those from one framework
    to another (``None`` = any). Each derived mapping's ``via`` lists the intermediate
    nodes as ``set:key``.
    """
    graph = _edges(mappings, bidirectional)
    direct = {((m.source_set, m.source_key), (m.target_set, m.target_key)) for m in mappings}
    starts = [n for n in graph if start_set is None or n[0] == start_set]
    out: list[Mapping] = []
    for start in sorted(starts):
        best: dict[Node, tuple[float, int, Relationship, tuple[Mapping, ...]]] = {}
        # Best-first search on confidence, which only falls along a path: each node is
        # settled by its most confident path (exact for edge confidences; the composition
        # factor depends on the whole path, so rare ties may settle on a weaker relationship).
        heap: list[tuple[float, int, Node, tuple[Mapping, ...]]] = [(-1.0, 0, start, ())]
        settled: set[Node] = set()
        counter = 0
        while heap:
            neg_conf, _, node, path = heapq.heappop(heap)
            if node in settled:
                continue
            settled.add(node)
            if len(path) >= 2:
                rel_here = _path_value(path)
                if rel_here is not None:
                    best[node] = (-neg_conf, STRENGTH[rel_here[0]], rel_here[0], path)
            if len(path) >= max_hops:
                continue
            for nxt, edge in graph.get(node, ()):
                if nxt in settled or nxt == start:
                    continue
                value = _path_value((*path, edge))
                if value is None or value[1] < min_confidence:
                    continue
                counter += 1
                heapq.heappush(heap, (-value[1], counter, nxt, (*path, edge)))
        for node, (conf, _, rel, path) in sorted(best.items()):
            if end_set is not None and node[0] != end_set:
                continue
            if node[0] == start[0] or (start, node) in direct:
                continue
            first, last = path[0], path[-1]
            out.append(
                Mapping(
                    source=first.source,
                    target=last.target,
                    relationship=rel,
                    provenance=Provenance.MACHINE,
                    confidence=round(conf, 6),
                    review=ReviewState.PROPOSED,
                    source_set=start[0],
                    target_set=node[0],
                    note=f"derived through {len(path)} crosswalk hops; weakest link decides",
                    via=tuple(f"{m.target_set}:{m.target}" for m in path[:-1]),
                )
            )
    return out


# How each kind of lineage relates the successor (new) to its predecessor (old), and how far
# the predecessor's mappings can be trusted for it before a reviewer looks.
LINEAGE: dict[str, tuple[Relationship, float]] = {
    "unchanged": (Relationship.EQUAL, 1.0),
    "moved": (Relationship.EQUAL, 0.9),
    "renamed": (Relationship.EQUAL, 0.9),
    "renumbered": (Relationship.EQUAL, 0.9),
    "modified": (Relationship.EQUAL, 0.8),
    "merged": (Relationship.SUPERSET, 0.7),  # the merged requirement contains each predecessor
    "split": (Relationship.SUBSET, 0.6),  # each part holds only some of the predecessor
}


def carry_over(
    mappings: Sequence[Mapping],
    lineage: Iterable[tuple[str, str, str]],
    *,
    side: str = "source",
    version: str = "",
) -> list[Mapping]:
    """Copy mappings of predecessors onto their successors, as ``(old, new, kind)`` says.

    ``side="source"`` moves the requirement end of requirement→control mappings (a new
    version of the standard); ``side="target"`` moves the other end (a new version of the
    catalog the organisation's controls come from). ``version`` is recorded on the copies.
    Unknown kinds raise :class:`ValueError`; ``added``/``removed`` have no successor pair.
    """
    if side not in ("source", "target"):
        raise ValueError("side must be 'source' or 'target'")
    by_key: dict[str, list[Mapping]] = defaultdict(list)
    for m in mappings:
        if m.review is not ReviewState.REJECTED:
            by_key[m.source_key if side == "source" else m.target_key].append(m)
    out: list[Mapping] = []
    for old, new, kind in lineage:
        if kind not in LINEAGE:
            raise ValueError(f"unknown lineage kind {kind!r}; expected one of {', '.join(LINEAGE)}")
        link, factor = LINEAGE[kind]
        for m in by_key.get(normalise_key(old), ()):
            # source side: new -link-> old -m-> target; target side: source -m-> old -link⁻¹-> new
            steps = (link, m.relationship) if side == "source" else (m.relationship, link.inverse())
            composed = compose_path(steps)
            if composed is None:
                continue
            rel, certainty = composed
            unchanged = kind == "unchanged"
            out.append(
                Mapping(
                    source=new if side == "source" else m.source,
                    target=m.target if side == "source" else new,
                    relationship=rel,
                    provenance=m.provenance if unchanged else Provenance.MACHINE,
                    confidence=round(m.confidence * factor * certainty, 6),
                    review=m.review if unchanged else ReviewState.PROPOSED,
                    versions=(version,) if version else m.versions,
                    source_set=m.source_set,
                    target_set=m.target_set,
                    note=m.note if unchanged else f"carried over from {old} ({kind}); review",
                    via=(*m.via, old),
                )
            )
    return out
