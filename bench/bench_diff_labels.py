"""Scoring a diff against NIST's SP 800-53 Rev 4 -> Rev 5 comparison workbook (``eval/README.md``).

Pure functions from a :class:`DiffResult` and the label rows to figures, so the benchmark
and a quick iteration script print the same numbers.

- added: a Rev 5 ID labelled ``added_*`` is reported as ``added``, or as the target of a
  withdrawn Rev 4 control (``moved``/``merged``/``split`` onto a new key);
- withdrawn: a Rev 4 ID labelled ``withdrawn_*`` is reported withdrawn (tag) or removed;
  target: every ID NIST names as its destination is among the new side of that change;
- ``substantive`` against ``more_than_editorial`` over the rows that exist on both sides
  (``modified``, ``unchanged``, ``previously_withdrawn_unchanged``; the last two count as
  not substantive);
- per tag, where the workbook's ``change_elements`` say the same thing:
  ``title_changed`` vs the ``title_changed`` column, ``guidance_only`` vs a discussion
  change on a control NIST calls no more than editorial, ``parameters_changed`` vs an
  added/changed/removed parameter, and the signal tags (``obligation_*``,
  ``scope_changed``) vs ``more_than_editorial``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tracker.diff import Change, DiffResult, Kind, Tag
from tracker.domain.keys import normalise_key

BOTH_SIDES = ("modified", "unchanged", "previously_withdrawn_unchanged")
TARGET_KINDS = (Kind.MOVED, Kind.MERGED, Kind.SPLIT)


@dataclass(frozen=True)
class Row:
    key: str
    ident: str
    change_type: str
    more_than_editorial: bool
    title_changed: bool
    elements: tuple[str, ...]
    targets: tuple[str, ...]

    @property
    def discussion_only(self) -> bool:
        """The discussion changed and, in NIST's judgement, nothing an organisation must do."""
        return not self.more_than_editorial and any("discussion" in e.lower() for e in self.elements)

    @property
    def parameter_changed(self) -> bool:
        return any("parameter" in e.lower() for e in self.elements)


def read_rows(path: Path) -> list[Row]:
    with path.open(newline="") as fh:
        return [
            Row(
                key=normalise_key(r["id"]),
                ident=r["id"],
                change_type=r["change_type"],
                more_than_editorial=r["more_than_editorial"] == "Y",
                title_changed=r["title_changed"] == "Y",
                elements=tuple(e.strip() for e in r["change_elements"].split(";") if e.strip()),
                targets=tuple(normalise_key(t) for t in r["target_ids"].split(";") if t.strip()),
            )
            for r in csv.DictReader(fh)
        ]


@dataclass(frozen=True)
class PRF:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __str__(self) -> str:
        if self.tp + self.fp == 0:
            return f"never fired (gold positives {self.fn})"
        return (
            f"precision {self.precision:.3f} recall {self.recall:.3f} F1 {self.f1:.3f} "
            f"(tp {self.tp}, fp {self.fp}, fn {self.fn})"
        )


def prf(pairs: Iterable[tuple[bool, bool]]) -> PRF:
    """From (predicted, gold) pairs."""
    tp = fp = fn = 0
    for predicted, gold in pairs:
        tp += predicted and gold
        fp += predicted and not gold
        fn += gold and not predicted
    return PRF(tp, fp, fn)


@dataclass
class Scores:
    added: tuple[int, int]
    withdrawn: tuple[int, int]
    targets: tuple[int, int]
    substantive: PRF
    tags: dict[str, PRF]
    false_alarms: list[tuple[Row, Change]]
    misses: list[tuple[Row, Change | None]]


def _by_key(result: DiffResult) -> tuple[dict[str, Change], dict[str, list[Change]]]:
    new: dict[str, Change] = {}
    old: dict[str, list[Change]] = {}
    for c in result.changes:
        for k in c.new_keys:
            new.setdefault(k, c)
        for k in c.old_keys:
            old.setdefault(k, []).append(c)
    return new, old


def score(result: DiffResult, rows: list[Row]) -> Scores:
    new, old = _by_key(result)
    added = withdrawn = targets_hit = 0
    n_added = n_withdrawn = 0
    pairs: list[tuple[bool, bool]] = []
    tag_pairs: dict[str, list[tuple[bool, bool]]] = {}
    false_alarms: list[tuple[Row, Change]] = []
    misses: list[tuple[Row, Change | None]] = []
    for row in rows:
        if row.change_type.startswith("added"):
            n_added += 1
            c = new.get(row.key)
            added += c is not None and (
                c.kind is Kind.ADDED or (c.kind in TARGET_KINDS and row.key not in c.old_keys)
            )
        elif row.change_type.startswith("withdrawn"):
            n_withdrawn += 1
            changes = old.get(row.key, [])
            withdrawn += any(Tag.WITHDRAWN in c.tags or c.kind is Kind.REMOVED for c in changes)
            reached = {k for c in changes for k in c.new_keys}
            targets_hit += bool(row.targets) and set(row.targets) <= reached
        elif row.change_type in BOTH_SIDES:
            c = new.get(row.key)
            predicted = c is not None and c.substantive is True
            gold = row.change_type == "modified" and row.more_than_editorial
            pairs.append((predicted, gold))
            if predicted and not gold and c is not None:
                false_alarms.append((row, c))
            if gold and not predicted:
                misses.append((row, c))
            if row.change_type == "previously_withdrawn_unchanged" or c is None:
                continue
            has = set(c.tags)
            changed = row.change_type == "modified"
            gold_tags = {
                Tag.TITLE_CHANGED: changed and row.title_changed,
                Tag.GUIDANCE_ONLY: changed and row.discussion_only,
                Tag.PARAMETERS_CHANGED: changed and row.parameter_changed,
                Tag.OBLIGATION_STRENGTHENED: gold,
                Tag.OBLIGATION_WEAKENED: gold,
                Tag.SCOPE_CHANGED: gold,
            }
            for tag, g in gold_tags.items():
                tag_pairs.setdefault(tag.value, []).append((tag in has, g))
    n_targets = sum(1 for r in rows if r.change_type.startswith("withdrawn") and r.targets)
    return Scores(
        added=(added, n_added),
        withdrawn=(withdrawn, n_withdrawn),
        targets=(targets_hit, n_targets),
        substantive=prf(pairs),
        tags={name: prf(p) for name, p in tag_pairs.items()},
        false_alarms=false_alarms,
        misses=misses,
    )


def _ratio(hit_total: tuple[int, int]) -> str:
    hit, total = hit_total
    return f"{hit / total if total else 1.0:.3f} ({hit}/{total})"


def report(scores: Scores, *, examples: int = 0) -> list[str]:
    lines = [
        f"added {_ratio(scores.added)}, withdrawn {_ratio(scores.withdrawn)}, "
        f"targets {_ratio(scores.targets)}",
        f"substantive vs more_than_editorial: {scores.substantive}",
    ]
    for name, figures in sorted(scores.tags.items()):
        lines.append(f"  tag {name}: {figures}")
    for row, c in scores.false_alarms[:examples]:
        lines.append(f"    false alarm {row.ident} [{'; '.join(row.elements)}]: {'; '.join(c.reasons)[:300]}")
    for row, maybe in scores.misses[:examples]:
        why = "; ".join(maybe.reasons)[:300] if maybe else "not in the diff"
        lines.append(f"    missed {row.ident} [{'; '.join(row.elements)}]: {why}")
    return lines
