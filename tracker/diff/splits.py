"""Stage (d): splits (1:n) and merges (n:1) the publisher did not declare.

A new requirement Y left unmatched is *split out of* old X when most of Y's content words
come from X (containment at least ``MIN_CONTAINMENT``) and X's own new version no longer
holds them (it lost at least ``MIN_LOSS`` of that containment): content moved out of X into
Y. A new requirement that merely quotes an unchanged neighbour fails the second test and
stays ``added``. Merges are the mirror image: an unmatched old X whose words now sit in new
Y, and did not before. An unmatched X (or Y) with a single candidate is left alone: one
partial overlap is not enough to call a split or a merge.
"""

from __future__ import annotations

import numpy as np

from tracker.diff.align import KEY, LINEAGE_MOVED, MERGED, SIMILAR, SPLIT, Aligner, Match

MIN_CONTAINMENT = 0.6
MIN_LOSS = 0.25
MIN_WORDS = 4
MIN_LEXICAL = 0.2
_ONE_TO_ONE = (KEY, SIMILAR, LINEAGE_MOVED)


def _pairs(al: Aligner) -> tuple[dict[int, Match], dict[int, Match]]:
    by_old: dict[int, Match] = {}
    by_new: dict[int, Match] = {}
    for m in al.matches:
        if m.how in _ONE_TO_ONE and len(m.old) == 1 and len(m.new) == 1:
            by_old[m.old[0]] = m
            by_new[m.new[0]] = m
    return by_old, by_new


def _candidates(al: Aligner, side: int) -> list[int]:
    pending = al.unmatched_new if side == 1 else al.unmatched_old
    items = al.new if side == 1 else al.old
    return sorted(
        i
        for i in pending
        if items[i].active and not items[i].is_group and al.sim.word_count(side, i) >= MIN_WORDS
    )


def _find(al: Aligner, side: int) -> dict[int, list[tuple[int, float, float]]]:
    """For unmatched items of ``side``, the item of the other side they were cut from / went into."""
    parts = _candidates(al, side)
    other = 1 - side
    other_items = al.old if side == 1 else al.new
    wholes = [it.index for it in other_items if it.active and not it.is_group]
    found: dict[int, list[tuple[int, float, float]]] = {}
    if not parts or not wholes:
        return found
    cont = al.sim.containment([(side, p) for p in parts], [(other, w) for w in wholes])
    by_old, by_new = _pairs(al)
    twins = by_old if other == 0 else by_new
    for c, p in enumerate(parts):
        r = int(np.argmax(cont[:, c]))
        share = float(cont[r, c])
        whole = wholes[r]
        if share < MIN_CONTAINMENT:
            continue
        pair = (whole, p) if other == 0 else (p, whole)
        if float(al.sim.lexical_pairs([pair])[0]) < MIN_LEXICAL:
            continue
        twin_match = twins.get(whole)
        if twin_match is None and whole in (al.used_old if other == 0 else al.used_new):
            continue  # already part of a declared split or merge
        if twin_match is not None:
            twin = (twin_match.new if other == 0 else twin_match.old)[0]
            after = float(al.sim.containment([(side, p)], [(side, twin)])[0, 0])
            if share - after < MIN_LOSS:
                continue
        else:
            after = 0.0
        found.setdefault(whole, []).append((p, share, after))
    return found


def _confidence(shares: list[tuple[int, float, float]]) -> float:
    best = min(share - after for _, share, after in shares)
    return round(min(0.9, 0.55 + 0.5 * best), 3)


def detect(al: Aligner) -> None:
    """Rewrite 1:1 matches into splits/merges, or pair unmatched requirements, where coverage says so."""
    for side, how in ((1, SPLIT), (0, MERGED)):
        by_old, by_new = _pairs(al)
        found = _find(al, side)
        for whole, shares in sorted(found.items()):
            parts = tuple(p for p, _, _ in shares)
            twin_match = (by_old if side == 1 else by_new).get(whole)
            if twin_match is None and len(parts) < 2:
                continue
            pct = ", ".join(f"{round(100 * s)}%" for _, s, _ in shares)
            if side == 1:
                names = ", ".join(al.new[p].ident for p in parts)
                reason = f"content of {al.old[whole].ident} reappears in {names} ({pct} of their words)"
            else:
                names = ", ".join(al.old[p].ident for p in parts)
                reason = f"content of {names} reappears in {al.new[whole].ident} ({pct} of their words)"
            survivor = None
            if twin_match is not None:
                al.matches.remove(twin_match)
                survivor = (twin_match.old[0], twin_match.new[0])
                reason += "; it is no longer in the counterpart of the original"
            old_ids: tuple[int, ...]
            new_ids: tuple[int, ...]
            if side == 1:
                old_ids = (whole,)
                new_ids = (survivor[1], *parts) if survivor else parts
            else:
                old_ids = (survivor[0], *parts) if survivor else parts
                new_ids = (whole,)
            reasons = ([*twin_match.reasons] if twin_match else []) + [reason]
            al.add(Match(old_ids, new_ids, how, _confidence(shares), reasons, survivor=survivor))
            for p in parts:
                (al.unmatched_new if side == 1 else al.unmatched_old).pop(p, None)
            if twin_match is None:
                (al.unmatched_old if side == 1 else al.unmatched_new).pop(whole, None)


def fold_survivors(al: Aligner, how: str) -> None:
    """A declared merge into a requirement that existed before absorbs that requirement's own pair."""
    _, by_new = _pairs(al)
    for m in [m for m in al.matches if m.how == how and len(m.new) == 1]:
        twin = by_new.get(m.new[0])
        if twin is None or twin is m:
            continue
        al.matches.remove(twin)
        m.old = (twin.old[0], *m.old)
        m.survivor = (twin.old[0], twin.new[0])
        m.reasons = [*twin.reasons, *m.reasons]
