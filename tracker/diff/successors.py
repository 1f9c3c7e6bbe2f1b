"""Stage (e): successors of withdrawn requirements that the publisher did not name.

A reorganised framework (CSF 1.1 -> 2.0 moved whole categories to a new function and folded
several subcategories into one) withdraws identifiers without saying where their content
went. After every other stage, an old requirement still unmatched whose identifier is gone
from the new version (absent, or only a withdrawn placeholder) is *withdrawn*; its content
usually lives on, rewritten, in one or more new requirements. We score every active new
requirement as its successor from four pieces of evidence, each one a reason a reviewer can
check:

- meaning: dense similarity of the old requirement *read in its context* (its parent's title:
  "Business Environment: priorities for organizational mission ... are established") with
  the new requirement's title, statement and the start of its guidance;
- the best passage of the new guidance: implementation examples name concrete activities
  that the old statement often names too, while the rewritten statement is more abstract;
- shared wording (lexical TF-IDF cosine, as in the similarity stage);
- room for it: a new requirement with no predecessor, or one its own predecessor explains
  poorly, has content from somewhere; one that merely restates its predecessor is a less
  likely home (``novelty``, one minus that pair's similarity).

The candidates within ``SPLIT_BAND`` of the best are all successors (one-to-many: ``split``);
several withdrawn requirements whose successor is the same new requirement, or a successor
that already had its own predecessor, are ``merged`` into it; one withdrawn requirement into
one new requirement with no predecessor is ``moved``. The link's confidence grows with the
margin over the best candidate left out; below ``LINK_FLOOR`` the engine does not link but
attaches up to three *suggestions* to the ``removed`` change for a person to confirm.
Publisher-declared lineage (stage b) has already taken the requirements it names; nothing
here overrides it, and identifiers still in use are never touched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tracker.diff.align import KEY, LINEAGE_MERGED, LINEAGE_MOVED, LINEAGE_SPLIT, SIMILAR, Aligner, Match
from tracker.diff.features import Item
from tracker.diff.similarity import Matrix
from tracker.diff.types import MAX_SUGGESTIONS, Suggestion

# Weights of the evidence (meaning counts in full); chosen on CSF 1.1 -> 2.0's ID and DE
# functions, see docs/benchmarks.md.
W_PASSAGE = 0.5
W_LEXICAL = 0.5
W_NOVELTY = 0.2
# Without an embedder only wording and novelty remain; they rank less sharply.
LEXICAL_ONLY_SCALE = 2.5
SPLIT_BAND = 0.03  # candidates this close to the best are successors too
MAX_SUCCESSORS = 3
LINK_FLOOR = 0.6  # confidence below which a candidate is only suggested
MIN_SCORE = 0.55  # a best candidate scoring below this is no successor at all
MIN_SCORE_LEXICAL = 0.9  # the same without an embedder: a lexical cosine of about 0.3 or more
ALTERNATIVES_BELOW = 0.8  # a similarity-stage link less confident than this gets runners-up
# Large catalogs: only this many candidates per withdrawn requirement, by shared wording,
# are embedded (a CSF-sized pool is scored whole).
POOL_ALL_MAX = 300
CANDIDATES_PER_ITEM = 10
_PASSAGE_MIN_CHARS = 25
_PASSAGES_PER_ITEM = 8
_LABEL = re.compile(r"^\s*(?:[A-Za-z]{0,3}\d+[.:)]|[-*\u2022])\s*")
PASSAGE_CANDIDATES = 6  # per withdrawn requirement, the best this many get their passages read


@dataclass(frozen=True)
class _Evidence:
    dense: float
    passage: float
    lexical: float
    novelty: float
    total: float


def withdrawn_orphans(al: Aligner) -> list[int]:
    """Old requirements left unmatched whose identifier the new version no longer uses.

    A publisher that names successors in most of its withdrawal placeholders (SP 800-53
    does for 86 of Rev 5's 87) means it when a placeholder names none: "SC-19 Voice over
    Internet Protocol, withdrawn: technology-specific" has no successor, and we do not
    invent one. Only where the new version names successors for fewer than half of them
    (CSF 2.0 names none) is silence taken as missing data.
    """
    placeholders = [
        j for o in al.old if o.active and (j := al.new_by_key.get(o.key)) is not None and not al.new[j].active
    ]
    declares = sum(1 for j in placeholders if al.new[j].req.successors) * 2 >= len(placeholders) > 0
    return [
        i
        for i in sorted(al.unmatched_old)
        if _withdrawn(al, al.old[i]) and not (declares and al.old[i].key in al.new_by_key)
    ]


def _withdrawn(al: Aligner, o: Item) -> bool:
    if not o.active or o.is_group:
        return False
    j = al.new_by_key.get(o.key)
    return j is None or not al.new[j].active


def _context(al: Aligner, o: Item) -> str:
    """The old requirement as a reader sees it: under its parent's title."""
    parent = al.old_by_key.get(o.req.parent or "")
    title = al.old[parent].title if parent is not None else ""
    return f"{title}. {o.core_text}" if title and title not in o.core_text else o.core_text


def _passages(item: Item) -> list[str]:
    """Guidance cut into its lines (implementation examples, list items), labels dropped."""
    lines = (_LABEL.sub("", line).strip() for line in item.req.guidance.splitlines())
    keep = [line for line in dict.fromkeys(lines) if len(line) >= _PASSAGE_MIN_CHARS]
    return keep[:_PASSAGES_PER_ITEM]


class _Scorer:
    """Evidence for every (withdrawn old requirement, candidate new requirement) pair."""

    def __init__(self, al: Aligner, rows: Sequence[int], pool: Sequence[int]) -> None:
        self.al = al
        self.rows = list(rows)
        self.predecessor: dict[int, int] = {}
        for m in al.matches:
            if m.how in (KEY, SIMILAR, LINEAGE_MOVED) and len(m.old) == 1 and len(m.new) == 1:
                self.predecessor[m.new[0]] = m.old[0]
        lex = al.sim.lexical(self.rows, list(pool))
        if len(pool) > POOL_ALL_MAX:  # large catalogs: the lexical top per row only
            top = np.argsort(-lex, axis=1)[:, :CANDIDATES_PER_ITEM]
            keep = sorted({int(c) for c in top.ravel()})
        else:
            keep = list(range(len(pool)))
        self.cols = [pool[c] for c in keep]
        self.lex: Matrix = lex[:, keep]

    def evidence(self) -> list[list[_Evidence]]:
        al, cols = self.al, self.cols
        novelty = np.ones(len(cols))
        with_pred = [(k, self.predecessor[j]) for k, j in enumerate(cols) if j in self.predecessor]
        dense = np.zeros_like(self.lex)
        passage = np.zeros_like(self.lex)
        embedder = al.sim.embedder
        if with_pred:
            own = al.sim.lexical_pairs([(p, cols[k]) for k, p in with_pred])
            for (k, _), value in zip(with_pred, own, strict=True):
                novelty[k] = 1.0 - float(value)
        if embedder is None:
            total = LEXICAL_ONLY_SCALE * (W_LEXICAL * self.lex + W_NOVELTY * novelty[None, :])
        else:
            texts = [_context(al, al.old[i]) for i in self.rows] + [al.new[j].match_text for j in cols]
            vec = np.asarray(embedder.encode(texts), dtype=np.float64)
            n_r, n_c = len(self.rows), len(cols)
            q, c = vec[:n_r], vec[n_r : n_r + n_c]
            dense = q @ c.T
            first = dense + W_LEXICAL * self.lex + W_NOVELTY * novelty[None, :]
            passage = self._passages(q, first)
            total = first + W_PASSAGE * passage
        return [
            [
                _Evidence(
                    float(dense[r, k]),
                    float(passage[r, k]),
                    float(self.lex[r, k]),
                    float(novelty[k]),
                    float(total[r, k]),
                )
                for k in range(len(cols))
            ]
            for r in range(len(self.rows))
        ]

    def _passages(self, q: Matrix, first: Matrix) -> Matrix:
        """Best single guidance passage of each row's leading candidates (others score 0).

        Only the leaders are read: a passage can reorder close candidates, not lift a
        distant one, and reading every example of a large catalog would cost too much.
        """
        assert self.al.sim.embedder is not None
        out = np.zeros_like(first)
        lead = np.argsort(-first, axis=1)[:, :PASSAGE_CANDIDATES]
        wanted = sorted({int(k) for k in lead.ravel()})
        pieces = [(k, p) for k in wanted for p in _passages(self.al.new[self.cols[k]])]
        if not pieces:
            return out
        vec = np.asarray(self.al.sim.embedder.encode([p for _, p in pieces]), dtype=np.float64)
        per = q @ vec.T
        for col, (k, _) in enumerate(pieces):
            out[:, k] = np.maximum(out[:, k], per[:, col])
        # A candidate nobody's leader was never read: it gets the row's weakest read passage,
        # so it is neither lifted nor pushed down for not having been read.
        unread = np.setdiff1d(np.arange(first.shape[1]), wanted)
        if unread.size:
            weakest = np.take_along_axis(out, lead, axis=1).min(axis=1)
            out[:, unread] = weakest[:, None]
        return out


def _why(ev: _Evidence, has_predecessor: bool) -> str:
    parts = [f"meaning {ev.dense:.2f}"]
    if ev.passage:
        parts.append(f"best guidance passage {ev.passage:.2f}")
    parts.append(f"shared wording {ev.lexical:.2f}")
    parts.append(
        f"its own predecessor explains {1 - ev.novelty:.0%} of it"
        if has_predecessor
        else "it has no predecessor"
    )
    return ", ".join(parts)


def _confidence(best: float, margin: float) -> float:
    return round(min(0.9, 0.35 + 0.2 * min(1.0, best / 1.5) + 2.0 * margin), 3)


def infer(al: Aligner) -> dict[int, tuple[Suggestion, ...]]:
    """Link withdrawn orphans to successors where confident; suggestions by old item index.

    Suggestions are also given, as alternatives, for a withdrawn requirement the similarity
    stage already moved one-to-one, so a reviewer sees the runners-up of every inferred link.
    """
    orphans = withdrawn_orphans(al)
    # Withdrawn requirements the similarity stage moved one-to-one but unsurely: their
    # runners-up are worth showing (sure links are left alone and cost nothing).
    similar = [
        m.old[0]
        for m in al.matches
        if m.how == SIMILAR
        and len(m.old) == 1
        and m.confidence < ALTERNATIVES_BELOW
        and _withdrawn(al, al.old[m.old[0]])
    ]
    pool = [n.index for n in al.new if n.active and not n.is_group]
    if not (orphans or similar) or not pool:
        return {}
    scorer = _Scorer(al, [*orphans, *similar], pool)
    cols = scorer.cols
    suggestions: dict[int, tuple[Suggestion, ...]] = {}
    single: dict[int, list[tuple[int, float, str]]] = {}
    linked_to = {m.old[0]: set(m.new) for m in al.matches if m.old and m.old[0] in similar}
    floor = MIN_SCORE if al.sim.embedder is not None else MIN_SCORE_LEXICAL
    for i, row in zip(scorer.rows, scorer.evidence(), strict=True):
        order = sorted(range(len(row)), key=lambda k: -row[k].total)
        o = al.old[i]

        def suggest(ks: Sequence[int], row: list[_Evidence] = row, o: Item = o) -> tuple[Suggestion, ...]:
            return tuple(
                Suggestion(
                    new_id=al.new[cols[k]].ident,
                    score=row[k].total,
                    reason=_why(row[k], cols[k] in scorer.predecessor),
                    old_id=o.ident,
                    new_key=al.new[cols[k]].key,
                )
                for k in ks
                if row[k].total >= floor  # nothing implausible is worth a reviewer's time
            )

        if i in linked_to:  # runners-up of the similarity stage's own link
            already = linked_to[i]
            room = MAX_SUGGESTIONS - len(already)
            alternatives = [k for k in order if cols[k] not in already][: max(0, room)]
            if suggest(alternatives):
                suggestions[i] = suggest(alternatives)
            continue
        best = row[order[0]].total
        if best < floor:
            continue
        chosen = [k for k in order[:MAX_SUCCESSORS] if row[k].total >= best - SPLIT_BAND]
        rest = order[len(chosen)] if len(order) > len(chosen) else None
        # Margin over the best candidate left out, or over "nothing" (MIN_SCORE) if it is weaker.
        margin = best - max(row[rest].total if rest is not None else 0.0, floor)
        conf = _confidence(best, margin)
        if conf < LINK_FLOOR:
            suggestions[i] = suggest(order[:MAX_SUGGESTIONS])
            continue
        if suggest(order[len(chosen) : MAX_SUGGESTIONS]):
            suggestions[i] = suggest(order[len(chosen) : MAX_SUGGESTIONS])
        names = ", ".join(al.new[cols[k]].ident for k in chosen)
        runner = f" over {al.new[cols[rest]].ident}" if rest is not None else ""
        reason = (
            f"{o.ident} withdrawn without a declared successor; its content continues in {names} "
            f"(score {best:.2f}, margin {margin:.2f}{runner}: "
            f"{_why(row[chosen[0]], cols[chosen[0]] in scorer.predecessor)})"
        )
        al.unmatched_old.pop(i, None)
        if len(chosen) > 1:
            targets = tuple(cols[k] for k in chosen)
            for j in targets:
                al.unmatched_new.pop(j, None)
            al.add(Match((i,), targets, LINEAGE_SPLIT, conf, [reason]))
        else:
            single.setdefault(cols[chosen[0]], []).append((i, conf, reason))
    _place_singles(al, single)
    return suggestions


def _place_singles(al: Aligner, single: dict[int, list[tuple[int, float, str]]]) -> None:
    """One successor each: ``moved`` into a new requirement, else ``merged`` with what is there."""
    for j, sources in single.items():
        olds = tuple(i for i, _, _ in sources)
        conf = min(c for _, c, _ in sources)
        reasons = [r for _, _, r in sources]
        al.unmatched_new.pop(j, None)
        holder = next((m for m in al.matches if j in m.new and m.how in (LINEAGE_MERGED,)), None)
        if holder is not None and len(holder.new) == 1:
            holder.old = (*holder.old, *olds)
            holder.reasons = [*holder.reasons, *reasons]
            holder.confidence = min(holder.confidence, conf)
            al.used_old.update(olds)
            continue
        twin = next(
            (
                m
                for m in al.matches
                if m.new == (j,) and len(m.old) == 1 and m.how in (KEY, SIMILAR, LINEAGE_MOVED)
            ),
            None,
        )
        if twin is None and len(olds) == 1:
            al.add(Match(olds, (j,), LINEAGE_MOVED, conf, reasons))
            continue
        survivor = None
        if twin is not None:
            al.matches.remove(twin)
            survivor = (twin.old[0], j)
            olds = (twin.old[0], *olds)
            reasons = [*twin.reasons, *reasons]
        al.add(Match(olds, (j,), LINEAGE_MERGED, conf, reasons, survivor=survivor))
