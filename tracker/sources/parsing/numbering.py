"""Which numbered lines of a document are its clause headings.

A line "5.1.2 Threat modelling" may be a heading, a contents entry, or a sentence that
happens to start with a number ("2 Factor authentication is used ..."). Judged one line at a
time against the previous heading, a single missing number ("5.1" never printed, "5.2.2"
skipped by the publisher) rejects every later heading and hangs the rest of the document
under the last one accepted. Instead the whole document is judged at once: the headings are
the chain of numbered lines, in document order, that

* always increases (5.1.2 comes after 5.1 and before 5.2, "Annex B" after "Annex A");
* only takes plausible steps: the next sibling of any level, a first child, or either with a
  small gap (up to five numbers at one level, three for levels opened below it);
* is as long as possible, each skipped number costing a little, so that one stray "10 Mbit"
  line cannot displace clauses 6 to 9, while a real gap costs less than losing a clause.

Annex letters are numbered after every clause (Annex A = 100), so a document's annexes
continue its chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ANNEX_BASE = 100
_SIBLING_GAP = 5
_CHILD_GAP = 3
_GAP_COST = 0.3


@dataclass(frozen=True)
class Candidate:
    """A numbered line: where it is, its number, how much it looks like a heading (0-1]."""

    index: int
    number: tuple[int, ...]
    weight: float = 1.0


def _opened(parts: Sequence[int]) -> int | None:
    """Numbers skipped when opening ``parts`` below a heading (first child is 1), or None."""
    if any(p < 1 or p > _CHILD_GAP for p in parts):
        return None
    return sum(p - 1 for p in parts)


def step_cost(prev: tuple[int, ...], new: tuple[int, ...]) -> int | None:
    """How many numbers lie skipped between two consecutive headings, or None if ``new``
    cannot follow ``prev``."""
    if not prev:
        return _opened(new)
    if new <= prev:
        return None
    common = 0
    while common < min(len(prev), len(new)) and prev[common] == new[common]:
        common += 1
    if common == len(prev):
        return _opened(new[common:])
    step = new[common] - prev[common]
    if common == 0 and new[0] >= ANNEX_BASE > prev[0]:
        step = new[0] - ANNEX_BASE + 1  # the first annex follows the last clause
    deeper = _opened(new[common + 1 :])
    if step > _SIBLING_GAP or deeper is None:
        return None
    return step - 1 + deeper


def chain(candidates: Sequence[Candidate]) -> set[int]:
    """The indexes of the candidates that are headings (see the module docstring)."""
    best: list[float] = []
    back: list[int | None] = []
    for i, cand in enumerate(candidates):
        start = step_cost((), cand.number)
        score = cand.weight - _GAP_COST * start if start is not None else float("-inf")
        came: int | None = None
        for j in range(i):
            cost = step_cost(candidates[j].number, cand.number)
            if cost is None or best[j] == float("-inf"):
                continue
            value = best[j] + cand.weight - _GAP_COST * cost
            if value > score:  # strictly: the earliest of equal predecessors wins
                score, came = value, j
        best.append(score)
        back.append(came)
    if not candidates or max(best) == float("-inf"):
        return set()
    end: int | None = max(range(len(best)), key=lambda k: (best[k], -k))
    chosen: set[int] = set()
    while end is not None:
        chosen.add(candidates[end].index)
        end = back[end]
    return chosen
