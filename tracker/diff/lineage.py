"""Stage (b): lineage the publisher declares, which beats any similarity we could compute.

SP 800-53 and CSF keep a withdrawn requirement in the catalog as a placeholder that says
where its content went (``incorporated-into`` or ``moved-to``). We follow those links:

- ``moved-to`` one successor, or ``incorporated-into`` one successor that did not exist
  before: the same requirement under a new identifier -> ``moved``;
- several withdrawn requirements into one successor, or one into a requirement that already
  existed: ``merged`` (the successor's own old/new pair is folded into the merge later);
- one withdrawn requirement into several successors: ``split``;
- withdrawn with no successor: left to the similarity stage, tagged ``withdrawn`` whatever
  it becomes (``moved`` if its text clearly lives on elsewhere, else ``removed``).

A link may point at a statement item (``AC-2_SMT.K``) or at a requirement that is itself
withdrawn; we resolve to the nearest active requirement.
"""

from __future__ import annotations

import re

from tracker.diff.align import LINEAGE_MERGED, LINEAGE_MOVED, LINEAGE_SPLIT, Aligner, Match

_SUFFIX = re.compile(r"[._][^._]*$")
_MAX_HOPS = 5


def _resolve(al: Aligner, key: str) -> int | None:
    for _ in range(_MAX_HOPS):
        probe = key
        j: int | None = None
        while probe and j is None:
            j = al.new_by_key.get(probe)
            shorter = _SUFFIX.sub("", probe)
            probe = "" if shorter == probe else shorter
        if j is None:
            return None
        item = al.new[j]
        if item.active:
            return item.index
        if not item.req.successors:
            return None
        key = item.req.successors[0]
    return None


def declared_lineage(al: Aligner) -> None:
    """Pair old requirements that the new version withdraws with their declared successors."""
    into: dict[int, list[int]] = {}
    for o in al.old:
        j = al.new_by_key.get(o.key)
        if o.index in al.used_old or not o.active or j is None or al.new[j].active:
            continue
        tomb = al.new[j]
        al.used_new.add(j)  # the placeholder is accounted for by this change
        successors = list(
            dict.fromkeys(s for s in (_resolve(al, k) for k in tomb.req.successors) if s is not None)
        )
        relation = (
            "moved to" if any(lk.relation == "moved-to" for lk in tomb.req.links) else "incorporated into"
        )
        names = ", ".join(al.new[s].ident for s in successors)
        if not successors:
            declared = ", ".join(tomb.req.successors)
            reason = (
                f"withdrawn in the new version; declared successor {declared} not found"
                if declared
                else ("withdrawn in the new version; no successor declared")
            )
            # Left for similarity (stage c): CSF 2.0 withdraws subcategories whose text lives
            # on elsewhere without saying where; if nothing matches, it is removed.
            al.withdrawn_old[o.index] = reason
        elif len(successors) > 1:
            reason = f"withdrawn; {relation} {names} (declared by the publisher)"
            al.add(Match((o.index,), tuple(successors), LINEAGE_SPLIT, 0.95, [reason]))
        elif relation == "moved to":
            reason = f"withdrawn; moved to {names} (declared by the publisher)"
            al.add(Match((o.index,), (successors[0],), LINEAGE_MOVED, 0.95, [reason]))
        else:
            into.setdefault(successors[0], []).append(o.index)
    for s, sources in into.items():
        target = al.new[s]
        existed = target.key in al.old_by_key and al.old[al.old_by_key[target.key]].active
        names = ", ".join(al.old[i].ident for i in sources)
        if len(sources) == 1 and not existed and s not in al.used_new:
            reason = f"withdrawn; incorporated into {target.ident}, which is new (declared by the publisher)"
            al.add(Match(tuple(sources), (s,), LINEAGE_MOVED, 0.95, [reason]))
        else:
            reason = f"{names} withdrawn; incorporated into {target.ident} (declared by the publisher)"
            al.add(Match(tuple(sources), (s,), LINEAGE_MERGED, 0.95, [reason]))


def orphan_placeholders(al: Aligner) -> list[int]:
    """New withdrawn placeholders for identifiers the old version never had."""
    return [n.index for n in al.new if not n.active and n.index not in al.used_new]
