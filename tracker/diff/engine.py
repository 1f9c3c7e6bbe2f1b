"""``diff_versions``: align two versions' requirements and classify every one of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from embeddings.protocol import Embedder
from tracker.diff import lineage, splits, successors
from tracker.diff.align import (
    GROUP_TITLE,
    KEY,
    LINEAGE_MERGED,
    LINEAGE_MOVED,
    LINEAGE_SPLIT,
    MERGED,
    REINSTATED,
    SIMILAR,
    TOMBSTONE,
    Aligner,
    Match,
)
from tracker.diff.classify import Verdict, analyse
from tracker.diff.features import Item, build_items
from tracker.diff.similarity import Similarity
from tracker.diff.types import ENGINE_VERSION, Change, DiffResult, Kind, Suggestion, Tag
from tracker.domain.errors import InvalidInputError
from tracker.domain.model import Requirement
from tracker.domain.redline import redline

_TAG_ORDER = {tag: k for k, tag in enumerate(Tag)}


class HasRequirements(Protocol):
    @property
    def requirements(self) -> tuple[Requirement, ...]: ...


Side = Sequence[Requirement] | HasRequirements


def _requirements(side: Side, name: str) -> tuple[Requirement, ...]:
    reqs = tuple(side.requirements) if hasattr(side, "requirements") else tuple(side)
    seen: dict[str, str] = {}
    for req in reqs:
        if not isinstance(req, Requirement):
            raise InvalidInputError(f"{name} version: expected Requirement values, got {type(req).__name__}")
        if req.key in seen:
            raise InvalidInputError(
                f"{name} version holds the key {req.key!r} twice ({seen[req.key]!r} and {req.ident!r})",
                "diff assembled versions (tracker.sources.formats.assemble checks this)",
            )
        seen[req.key] = req.ident
    return reqs


def diff_versions(
    old: Side,
    new: Side,
    embedder: Embedder | None = None,
    *,
    source: str = "",
    old_version: str = "",
    new_version: str = "",
) -> DiffResult:
    """Classify every requirement of ``old`` and ``new`` (sequences, or anything with ``.requirements``).

    ``embedder`` adds dense similarity to the lexical one; wrap it in
    :class:`embeddings.cache.CachedEmbedder` so repeated diffs embed nothing twice. Only
    requirements that need similarity (unmatched, or same key with much-changed text) are
    embedded, in one batch.
    """
    old_items = build_items(_requirements(old, "old"), 0)
    new_items = build_items(_requirements(new, "new"), 1)
    sim = Similarity(old_items, new_items, embedder)
    al = Aligner(old_items, new_items, sim)
    al.tombstones()
    al.same_key()
    lineage.declared_lineage(al)
    al.groups()
    al.similarity_stage()
    splits.fold_survivors(al, LINEAGE_MERGED)
    splits.detect(al)
    suggestions = successors.infer(al)
    builder = _Builder(old_items, new_items, al, suggestions)
    changes = builder.build(lineage.orphan_placeholders(al))
    return DiffResult(
        source=source,
        old_version=old_version,
        new_version=new_version,
        engine_version=ENGINE_VERSION,
        model_id=embedder.model_id if embedder is not None else None,
        changes=tuple(changes),
    )


def _noise_note(o: Item, n: Item) -> str | None:
    raw = (o.req.title, o.req.statement, o.req.guidance)
    if raw != (n.req.title, n.req.statement, n.req.guidance):
        return "differences are noise only (whitespace, typography, markup or identifier padding)"
    return None


class _Builder:
    def __init__(
        self,
        old: Sequence[Item],
        new: Sequence[Item],
        al: Aligner,
        suggestions: dict[int, tuple[Suggestion, ...]] | None = None,
    ) -> None:
        self.old = old
        self.new = new
        self.al = al
        self.suggestions = suggestions or {}

    def _ids(self, side: Sequence[Item], idx: Sequence[int]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return tuple(side[i].ident for i in idx), tuple(side[i].key for i in idx)

    def _change(
        self,
        kind: Kind,
        m_old: Sequence[int],
        m_new: Sequence[int],
        *,
        substantive: bool | None = None,
        tags: Sequence[Tag] = (),
        confidence: float = 1.0,
        reasons: Sequence[str] = (),
        verdict: Verdict | None = None,
        suggestions: Sequence[Suggestion] = (),
    ) -> Change:
        if not suggestions:
            suggestions = [s for i in m_old for s in self.suggestions.get(i, ())]
        old_ids, old_keys = self._ids(self.old, m_old)
        new_ids, new_keys = self._ids(self.new, m_new)
        all_tags = list(tags)
        reason_list = list(reasons)
        redlines: tuple[tuple[str, object], ...] = ()
        if verdict is not None:
            all_tags.extend(verdict.tags)
            reason_list.extend(verdict.reasons)
            redlines = verdict.redlines
        if any(self.old[i].is_group for i in m_old) or any(self.new[j].is_group for j in m_new):
            all_tags.append(Tag.GROUP)
        return Change(
            kind=kind,
            old_ids=old_ids,
            new_ids=new_ids,
            substantive=substantive,
            tags=tuple(sorted(dict.fromkeys(all_tags), key=_TAG_ORDER.__getitem__)),
            confidence=round(confidence, 3),
            reasons=tuple(reason_list),
            redlines=redlines,  # type: ignore[arg-type]
            old_keys=old_keys,
            new_keys=new_keys,
            suggestions=tuple(suggestions),
        )

    def _parent_moved(self, o: Item, n: Item, parents: dict[str, str]) -> bool:
        if not o.req.parent and not n.req.parent:
            return False
        return parents.get(o.req.parent or "", o.req.parent or "") != (n.req.parent or "")

    def _pair(self, m: Match, parents: dict[str, str]) -> Change:
        o, n = self.old[m.old[0]], self.new[m.new[0]]
        reused = (
            [Tag.IDENTIFIER_REUSED]
            if (o.index in self.al.reused_old or n.index in self.al.reused_new)
            else []
        )
        if m.how == TOMBSTONE:
            same = o.req.successors == n.req.successors
            kind = Kind.UNCHANGED if same else Kind.MODIFIED
            why = m.reasons if same else [*m.reasons, "declared successor changed"]
            return self._change(
                kind, m.old, m.new, substantive=None if same else False, tags=[Tag.WITHDRAWN], reasons=why
            )
        verdict = analyse(o, n)
        if m.how == REINSTATED:
            return self._change(
                Kind.MODIFIED,
                m.old,
                m.new,
                substantive=True,
                confidence=m.confidence,
                reasons=m.reasons,
                verdict=verdict,
            )
        moved = m.how in (SIMILAR, LINEAGE_MOVED, GROUP_TITLE) and o.key != n.key
        reasons = list(m.reasons)
        if not moved and self._parent_moved(o, n, parents):
            moved = True
            reasons.append(
                f"parent changed: {o.req.parent or '(top level)'} -> {n.req.parent or '(top level)'}"
            )
        withdrawn = m.how == LINEAGE_MOVED or o.index in self.al.withdrawn_old
        tags = [*reused, Tag.WITHDRAWN] if withdrawn else reused
        if o.index in self.al.withdrawn_old:
            reasons.insert(0, self.al.withdrawn_old[o.index])
        if moved:
            # A requirement folded into a whole group (SA-12 into the SR family) has no
            # counterpart text to judge: editorial or substantive does not apply.
            into_group = o.is_group != n.is_group
            return self._change(
                Kind.MOVED,
                m.old,
                m.new,
                substantive=None if into_group else verdict.substantive,
                tags=tags,
                confidence=m.confidence,
                reasons=reasons,
                verdict=verdict,
            )
        if not verdict.changed:
            note = _noise_note(o, n)
            reasons.extend(verdict.reasons)
            if note:
                reasons.append(note)
            return self._change(
                Kind.UNCHANGED,
                m.old,
                m.new,
                substantive=None,
                tags=tags,
                confidence=m.confidence,
                reasons=reasons,
            )
        return self._change(
            Kind.MODIFIED,
            m.old,
            m.new,
            substantive=verdict.substantive,
            tags=tags,
            confidence=m.confidence,
            reasons=reasons,
            verdict=verdict,
        )

    def _group(self, m: Match, kind: Kind) -> Change:
        tags: list[Tag] = [Tag.WITHDRAWN] if m.how in (LINEAGE_MERGED, LINEAGE_SPLIT) else []
        verdict: Verdict | None = None
        substantive: bool | None = None
        if m.survivor is not None:
            verdict = analyse(self.old[m.survivor[0]], self.new[m.survivor[1]])
            substantive = verdict.substantive if verdict.changed else None
        else:
            old_text = "\n".join(self.old[i].statement for i in m.old)
            new_text = "\n".join(self.new[j].statement for j in m.new)
            red = redline(old_text, new_text)
            verdict = Verdict(
                True, True, (), (), (("statement", red),) if red.changed else (), red.similarity()
            )
        return self._change(
            kind,
            m.old,
            m.new,
            substantive=substantive,
            tags=tags,
            confidence=m.confidence,
            reasons=m.reasons,
            verdict=verdict,
        )

    def build(self, orphans: list[int]) -> list[Change]:
        al = self.al
        parents = al.parent_map()
        placed: list[tuple[tuple[float, float], Change]] = []
        for m in al.matches:
            if m.how in (KEY, SIMILAR, LINEAGE_MOVED, GROUP_TITLE, TOMBSTONE, REINSTATED):
                change = self._pair(m, parents)
            elif m.how in (LINEAGE_MERGED, MERGED):
                change = self._group(m, Kind.MERGED)
            else:
                change = self._group(m, Kind.SPLIT)
            placed.append((self._position(m.old, m.new), change))
        for i, (conf, reasons) in al.unmatched_old.items():
            tags = [Tag.WITHDRAWN] if i in al.withdrawn_old else []
            if i in al.withdrawn_old:
                reasons = [al.withdrawn_old[i], *reasons]
            if i in al.reused_old:
                tags.append(Tag.IDENTIFIER_REUSED)
            if i in self.suggestions:
                reasons = [
                    *reasons,
                    "possible successors suggested for review (below the confidence to link)",
                ]
            change = self._change(Kind.REMOVED, (i,), (), tags=tags, confidence=conf, reasons=reasons)
            placed.append((self._position((i,), ()), change))
        for j, (conf, reasons) in al.unmatched_new.items():
            tags = [Tag.IDENTIFIER_REUSED] if j in al.reused_new else []
            change = self._change(Kind.ADDED, (), (j,), tags=tags, confidence=conf, reasons=reasons)
            placed.append((self._position((), (j,)), change))
        for j in orphans:
            reason = "appears only as a withdrawn placeholder"
            change = self._change(
                Kind.ADDED, (), (j,), tags=[Tag.WITHDRAWN], confidence=1.0, reasons=[reason]
            )
            placed.append((self._position((), (j,)), change))
        placed.sort(key=lambda pc: pc[0])
        return [c for _, c in placed]

    def _position(self, old_idx: Sequence[int], new_idx: Sequence[int]) -> tuple[float, float]:
        """Order changes as the new version reads; removed ones after their old predecessor."""
        if new_idx:
            return (float(min(new_idx)), float(min(old_idx)) if old_idx else -1.0)
        anchor = self._anchor(min(old_idx))
        return (anchor + 0.5, float(min(old_idx)))

    def _anchor(self, i: int) -> float:
        if not hasattr(self, "_anchors"):
            pos: dict[int, int] = {}
            for m in self.al.matches:
                for o in m.old:
                    pos[o] = min(m.new)
            self._anchors = pos
        for k in range(i, -1, -1):
            if k in self._anchors:
                return float(self._anchors[k])
        return -1.0
