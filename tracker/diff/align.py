"""Alignment: which requirements of the old version are which of the new one.

Stages, in order, each seeing only what the earlier ones left:

a. **Same key.** The publisher's identifier (normalised, so ``AC-01`` is ``AC-1``) is the
   strongest evidence, but an identifier can be *reused* for a different requirement
   (OWASP LLM03 was "Training Data Poisoning" in 2023 and is "Supply Chain" in 2025). A
   same-key pair whose text changed a lot is therefore only *suspected* and goes on to (c)
   with a bonus for its shared key: it survives unless the global assignment finds better
   partners for its members, or it is dissimilar in both title and text.
b. **Declared lineage.** A requirement the new version marks withdrawn with
   ``incorporated-into``/``moved-to`` links goes where the publisher says (see
   :mod:`tracker.diff.lineage`).
c. **Similarity** for the rest: dense + lexical scores with a bonus for an aligned parent,
   one global one-to-one assignment (Hungarian, ``scipy.optimize.linear_sum_assignment``),
   and a pair is kept only if it is strong, or clearly better than the second-best
   candidate in its row and column (a margin test, not a bare cosine cut).
d. **Splits and merges** (see :mod:`tracker.diff.splits`).

Grouping nodes (families, functions) align by key or by identical title only; they never
take part in similarity matching, so a renamed family cannot pull requirements around.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from tracker.diff.features import Item
from tracker.diff.similarity import Matrix, Similarity, title_similarity

# How a match was made; the engine turns it into a change kind.
KEY, SIMILAR, LINEAGE_MOVED, LINEAGE_MERGED, LINEAGE_SPLIT = "key", "similar", "moved", "merged", "split"
SPLIT, MERGED, GROUP_TITLE, TOMBSTONE, REINSTATED = (
    "split-sim",
    "merged-sim",
    "group-title",
    "tombstone",
    "reinstated",
)

# A same-key pair is suspected of identifier reuse, and checked in (c), when its title and
# its text both changed beyond these (or its text alone beyond SUSPECT_TEXT_ONLY).
SUSPECT_LEXICAL = 0.3
SUSPECT_TITLE = 0.5
SUSPECT_TEXT_ONLY = 0.12


@dataclass
class Match:
    """Old item indices aligned with new item indices, and the evidence for it."""

    old: tuple[int, ...]
    new: tuple[int, ...]
    how: str
    confidence: float
    reasons: list[str] = field(default_factory=list)
    score: float | None = None
    survivor: tuple[int, int] | None = None  # (old, new) pair folded into a split or merge


@dataclass
class Alignment:
    matches: list[Match]
    unmatched_old: dict[int, tuple[float, list[str]]]  # index -> (confidence, reasons)
    unmatched_new: dict[int, tuple[float, list[str]]]
    withdrawn_old: dict[int, str]  # old items withdrawn without successor -> the reason
    reused_old: set[int]
    reused_new: set[int]


def _fmt(score: float) -> str:
    return f"{score:.2f}"


class Aligner:
    """Runs the stages over two item lists; ``sim`` supplies every similarity."""

    def __init__(self, old: Sequence[Item], new: Sequence[Item], sim: Similarity) -> None:
        self.old = old
        self.new = new
        self.sim = sim
        self.th = sim.thresholds
        self.old_by_key = {it.key: it.index for it in old}
        self.new_by_key = {it.key: it.index for it in new}
        self.used_old: set[int] = set()
        self.used_new: set[int] = set()
        self.matches: list[Match] = []
        self.unmatched_old: dict[int, tuple[float, list[str]]] = {}
        self.unmatched_new: dict[int, tuple[float, list[str]]] = {}
        self.withdrawn_old: dict[int, str] = {}
        self.reused_old: set[int] = set()
        self.reused_new: set[int] = set()
        self.suspects: list[tuple[int, int]] = []

    def add(self, match: Match) -> None:
        self.matches.append(match)
        self.used_old.update(match.old)
        self.used_new.update(match.new)

    # -- stage 0 and a ---------------------------------------------------------------------
    def tombstones(self) -> None:
        """Requirements already withdrawn in the old version are placeholders, not requirements."""
        for o in self.old:
            if o.active:
                continue
            j = self.new_by_key.get(o.key)
            if j is None:
                self.used_old.add(o.index)
                self.unmatched_old[o.index] = (1.0, ["withdrawn placeholder dropped from the new version"])
            elif not self.new[j].active:
                self.add(Match((o.index,), (j,), TOMBSTONE, 1.0, [f"withdrawn in both versions ({o.ident})"]))
            else:
                self.add(
                    Match(
                        (o.index,),
                        (j,),
                        REINSTATED,
                        0.95,
                        [f"same key {o.ident}; withdrawn before, active now"],
                    )
                )

    def same_key(self) -> None:
        candidates: list[tuple[int, int]] = []
        for o in self.old:
            j = self.new_by_key.get(o.key)
            if o.index in self.used_old or j is None or not self.new[j].active:
                continue
            n = self.new[j]
            if o.is_group or n.is_group or (o.title, o.statement) == (n.title, n.statement):
                self.add(Match((o.index,), (j,), KEY, 1.0, [f"same key {o.ident}"]))
            else:
                candidates.append((o.index, j))
        lex = self.sim.lexical_pairs(candidates)
        for (i, j), score in zip(candidates, lex, strict=True):
            o, n = self.old[i], self.new[j]
            title_kept = title_similarity(o.title, n.title) >= SUSPECT_TITLE
            if score >= SUSPECT_TEXT_ONLY and (title_kept or score >= SUSPECT_LEXICAL):
                self.add(Match((i,), (j,), KEY, 0.95, [f"same key {o.ident}"], score=float(score)))
            else:
                self.suspects.append((i, j))

    # -- stage c ---------------------------------------------------------------------------
    def parent_map(self) -> dict[str, str]:
        """Old key -> new key for every 1:1 alignment so far (parents are mostly groups)."""
        out: dict[str, str] = {}
        for m in self.matches:
            if len(m.old) == 1 and len(m.new) == 1:
                out[self.old[m.old[0]].key] = self.new[m.new[0]].key
        return out

    def similarity_stage(self) -> None:
        # A suspect whose new member is a declared successor keeps its key: the merge folds it in.
        for i, j in [
            pair for pair in self.suspects if pair[1] in self.used_new and pair[0] not in self.used_old
        ]:
            self.suspects.remove((i, j))
            self.add(Match((i,), (j,), KEY, 0.9, [f"same key {self.old[i].ident}"]))
        pool_old = [o.index for o in self.old if o.active and not o.is_group and o.index not in self.used_old]
        pool_new = [n.index for n in self.new if n.active and not n.is_group and n.index not in self.used_new]
        suspect_of_old = {i: j for i, j in self.suspects}
        if not pool_old or not pool_new:
            self._leftovers(pool_old, pool_new, None)
            return
        score = self.sim.combined(pool_old, pool_new)
        parents = self.parent_map()
        codes: dict[str, int] = {}
        mapped = np.array(
            [codes.setdefault(parents.get(self.old[i].req.parent or "", "\0"), len(codes)) for i in pool_old]
        )
        actual = np.array([codes.setdefault(self.new[j].req.parent or "\0\0", len(codes)) for j in pool_new])
        row_of = {i: r for r, i in enumerate(pool_old)}
        boosted = score + self.th.parent_bonus * (mapped[:, None] == actual[None, :])
        col_of = {j: c for c, j in enumerate(pool_new)}
        broken: set[tuple[int, int]] = set()
        for r, i in enumerate(pool_old):
            partner = suspect_of_old.get(i)
            if partner is None or partner not in col_of:
                continue
            j, c = partner, col_of[partner]
            tsim = title_similarity(self.old[i].title, self.new[j].title)
            if score[r, c] < self.th.reuse and tsim < SUSPECT_TITLE:
                broken.add((i, j))
            else:
                # The shared key counts in full while the titles still agree; a pair whose title
                # was replaced outright keeps the key only if nothing else fits better.
                boosted[r, c] += self.th.key_bonus * min(1.0, tsim / SUSPECT_TITLE)
        weight = np.where(boosted >= self.th.floor, boosted - self.th.floor + 1e-6, 0.0)
        for i, j in self.suspects:  # an unbroken same-key pair is always allowed
            if (i, j) not in broken and j in col_of:
                r, c = row_of[i], col_of[j]
                weight[r, c] = max(weight[r, c], 1e-3)
        rows, cols = linear_sum_assignment(weight, maximize=True)
        assigned = [(r, c) for r, c in zip(rows.tolist(), cols.tolist(), strict=True) if weight[r, c] > 0]
        # What each row and column got from the assignment: a rival only counts against a pair
        # if it is not better served by its own partner (it would rather have this one).
        got_row = np.zeros(len(pool_old))
        got_col = np.zeros(len(pool_new))
        for r, c in assigned:
            got_row[r] = got_col[c] = boosted[r, c]
        accepted: list[tuple[int, int, float, float]] = []
        for r, c in assigned:
            i, j = pool_old[r], pool_new[c]
            value = float(boosted[r, c])
            row_rivals = np.where(boosted[r] >= got_col, boosted[r], 0.0)
            col_rivals = np.where(boosted[:, c] >= got_row, boosted[:, c], 0.0)
            row_rivals[c] = 0.0
            col_rivals[r] = 0.0
            second = float(max(row_rivals.max(initial=0.0), col_rivals.max(initial=0.0)))
            margin = value - second
            same_key = suspect_of_old.get(i) == j
            if same_key or value >= self.th.strong or margin >= self.th.margin:
                accepted.append((i, j, float(score[r, c]), margin))
        taken_old = {a[0] for a in accepted}
        taken_new = {a[1] for a in accepted}
        for i, j in self.suspects:
            if i in taken_old or j in taken_new:
                if (i, j) not in {(a[0], a[1]) for a in accepted}:
                    self.reused_old.add(i)
                    self.reused_new.add(j)
            elif (i, j) not in broken:  # nothing better found for either: keep the key
                accepted.append((i, j, float(score[row_of[i], col_of[j]]), 0.0))
            else:
                self.reused_old.add(i)
                self.reused_new.add(j)
        for i, j, s, margin in accepted:
            self._accept(i, j, s, margin, suspect_of_old.get(i) == j)
        self._near_ties(pool_old, pool_new, score, boosted)
        self._leftovers(pool_old, pool_new, score)

    def _near_ties(self, pool_old: list[int], pool_new: list[int], score: Matrix, boosted: Matrix) -> None:
        """An unaligned requirement as close to an aligned one as that one's own partner is.

        Old X left over, whose best new candidate Y (above the floor) is aligned to an old
        partner that resembles Y no better than X does (within the margin): Y took both, a
        merge. The mirror case, a new requirement as close to an aligned old one as its
        partner is, is a split. (OWASP 2025 LLM10 Unbounded Consumption took in both 2023
        Model Denial of Service and Model Theft.)
        """
        partner_of_new: dict[int, Match] = {}
        partner_of_old: dict[int, Match] = {}
        for m in self.matches:
            if m.how in (KEY, SIMILAR) and len(m.old) == 1 and len(m.new) == 1:
                partner_of_new[m.new[0]] = m
                partner_of_old[m.old[0]] = m
        row_of = {i: r for r, i in enumerate(pool_old)}
        col_of = {j: c for c, j in enumerate(pool_new)}
        grow: dict[tuple[int, int], list[tuple[int, float]]] = {}  # (id of match, side) -> items
        by_id = {id(m): m for m in self.matches}
        for side, members in ((0, pool_old), (1, pool_new)):
            used = self.used_old if side == 0 else self.used_new
            for k, item in enumerate(members):
                if item in used:
                    continue
                line = score[k] if side == 0 else score[:, k]
                best = int(np.argmax(line))
                value = float(line[best])
                partners = partner_of_new if side == 0 else partner_of_old
                found = partners.get((pool_new if side == 0 else pool_old)[best])
                if found is None:
                    continue
                m = found
                if value < self.th.floor or m.old[0] not in row_of or m.new[0] not in col_of:
                    continue
                if float(boosted[row_of[m.old[0]], col_of[m.new[0]]]) - value < self.th.margin:
                    grow.setdefault((id(m), side), []).append((item, value))
        for (key, side), extra in sorted(grow.items(), key=lambda kv: (kv[0][1], kv[1][0][0])):
            m = by_id[key]
            if m not in self.matches:
                continue  # already grown on the other side
            self.matches.remove(m)
            items = tuple(i for i, _ in extra)
            scores = ", ".join(_fmt(v) for _, v in extra)
            survivor = (m.old[0], m.new[0])
            if side == 0:
                names = ", ".join(self.old[i].ident for i in items)
                reason = f"{names} as similar to {self.new[m.new[0]].ident} ({scores}) as its counterpart is"
                self.add(
                    Match((m.old[0], *items), m.new, MERGED, 0.6, [*m.reasons, reason], survivor=survivor)
                )
            else:
                names = ", ".join(self.new[j].ident for j in items)
                reason = f"{names} as similar to {self.old[m.old[0]].ident} ({scores}) as its counterpart is"
                self.add(
                    Match(m.old, (m.new[0], *items), SPLIT, 0.6, [*m.reasons, reason], survivor=survivor)
                )

    def _accept(self, i: int, j: int, s: float, margin: float, same_key: bool) -> None:
        o, n = self.old[i], self.new[j]
        floor = self.th.floor
        if same_key:
            conf = 0.6 + 0.35 * min(1.0, max(0.0, (s - self.th.reuse) / (1 - self.th.reuse)))
            reason = (
                f"same key {o.ident}; text changed a lot (similarity {_fmt(s)}) but no better match elsewhere"
            )
            self.add(Match((i,), (j,), KEY, conf, [reason], score=s))
            return
        strength = min(1.0, max(0.0, (s - floor) / (1 - floor)))
        conf = min(0.95, 0.45 + 0.3 * strength + 0.2 * min(1.0, margin / 0.15))
        how = f"best match by similarity {_fmt(s)} (margin {_fmt(min(margin, 1.0))} over the next candidate)"
        if o.key in self.new_by_key:
            how += f"; identifier {o.ident} is used for another requirement in the new version"
        if n.key in self.old_by_key:
            how += f"; identifier {n.ident} was another requirement in the old version"
        self.add(Match((i,), (j,), SIMILAR, conf, [how], score=s))

    def _leftovers(self, pool_old: list[int], pool_new: list[int], score: Matrix | None) -> None:
        """Confidence of "no counterpart" falls as the best *available* candidate nears the floor.

        A candidate already aligned to a partner it resembles more is not available.
        """
        best_row: dict[int, float] = {}
        best_col: dict[int, float] = {}
        if score is not None:
            row_of = {i: r for r, i in enumerate(pool_old)}
            col_of = {j: c for c, j in enumerate(pool_new)}
            got_row = np.zeros(len(pool_old))
            got_col = np.zeros(len(pool_new))
            for m in self.matches:
                if len(m.old) == 1 and len(m.new) == 1 and m.old[0] in row_of and m.new[0] in col_of:
                    r, c = row_of[m.old[0]], col_of[m.new[0]]
                    got_row[r] = got_col[c] = score[r, c]
            for r, i in enumerate(pool_old):
                best_row[i] = float(np.where(score[r] > got_col, score[r], 0.0).max(initial=0.0))
            for c, j in enumerate(pool_new):
                best_col[j] = float(np.where(score[:, c] > got_row, score[:, c], 0.0).max(initial=0.0))
        for i in pool_old:
            if i not in self.used_old:
                self.unmatched_old[i] = self._absent(best_row.get(i, 0.0), "new")
        for j in pool_new:
            if j not in self.used_new:
                self.unmatched_new[j] = self._absent(best_col.get(j, 0.0), "old")

    def _absent(self, best: float, other: str) -> tuple[float, list[str]]:
        if best >= self.th.floor:
            return 0.6, [f"no unambiguous counterpart in the {other} version (best similarity {_fmt(best)})"]
        conf = 0.75 + 0.25 * min(1.0, (self.th.floor - best) / self.th.floor)
        return conf, [f"no counterpart in the {other} version (best similarity {_fmt(best)})"]

    # -- groups -------------------------------------------------------------------------------
    def groups(self) -> None:
        """Unmatched grouping nodes pair up by identical title (a renumbered family)."""
        old_groups = [o for o in self.old if o.is_group and o.index not in self.used_old]
        new_groups: dict[str, list[int]] = {}
        for n in self.new:
            if n.is_group and n.index not in self.used_new:
                new_groups.setdefault(n.title.lower(), []).append(n.index)
        for o in old_groups:
            candidates = new_groups.get(o.title.lower(), [])
            if len(candidates) == 1 and o.title:
                j = candidates.pop()
                reason = f"group renumbered: same title {o.title!r}"
                self.add(Match((o.index,), (j,), GROUP_TITLE, 0.9, [reason]))
        for o in self.old:
            if o.is_group and o.index not in self.used_old:
                self.unmatched_old[o.index] = (1.0, ["grouping node absent from the new version"])
                self.used_old.add(o.index)
        for n in self.new:
            if n.is_group and n.index not in self.used_new:
                self.unmatched_new[n.index] = (1.0, ["grouping node new in this version"])
                self.used_new.add(n.index)

    def result(self) -> Alignment:
        return Alignment(
            matches=self.matches,
            unmatched_old=self.unmatched_old,
            unmatched_new=self.unmatched_new,
            withdrawn_old=self.withdrawn_old,
            reused_old=self.reused_old,
            reused_new=self.reused_new,
        )
