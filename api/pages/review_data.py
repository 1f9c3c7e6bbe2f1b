"""Read model of the review page: one diff's changes, filtered and paged.

Filtering and counting run over the light columns of every change of the diff (kind,
verdict, tags, ids, reasons, stored redline text and requirement titles); only the changes
on the current page are enriched with parsed redlines, requirement texts, the viewer's
decisions and, for a signed-in organisation, its impact and mappings. That keeps the cost
of a page bounded by the page size, not the diff size (800-53 Rev 4 -> Rev 5 has 1,225).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from api.pages.data import CHANGED_KINDS, DiffView, stored_diff
from api.pages.models import ChangeView, FieldView, ReqView, SuggestionView
from tracker.diff.types import Kind, Tag
from tracker.domain.redline import parse_text
from tracker.review.readings import own_review, seen_revision
from tracker.review.selection import RULE_NAMES, Candidate, ChangeFilter
from tracker.storage.catalog import Catalog, RequirementText
from tracker.storage.changes import ChangeBrief, ChangeStore
from tracker.storage.db import Engine
from tracker.storage.decisions import DecisionStore

PER_PAGE = 50
MAX_PER_PAGE = 200  # 800-53 Rev 4 -> Rev 5 at 500 a page is 3.8 MB; see bench_review
SUBSTANTIVE = {"yes": True, "no": False, "na": None}
STATUSES = ("", "unreviewed", "reviewed")


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(value or default)))
    except ValueError:
        return default


@dataclass(frozen=True)
class Filters:
    """The review page's query: unknown values fall back to defaults instead of failing."""

    kind: str = "changed"  # "changed", "all" or one kind
    substantive: str = ""  # "", "yes", "no", "na"
    tag: str = ""
    q: str = ""
    status: str = ""
    rule: str = ""  # a house-style rule the engine named in its reasons
    prefix: str = ""  # identifiers starting with it (a family: "AC-")
    page: int = 1
    per: int = PER_PAGE

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Filters:
        kind = params.get("kind", "changed")
        tag = params.get("tag", "")
        return cls(
            kind=kind if kind in ("changed", "all", *(k.value for k in Kind)) else "changed",
            substantive=params.get("substantive", "") if params.get("substantive") in SUBSTANTIVE else "",
            tag=tag if tag in {t.value for t in Tag} else "",
            q=params.get("q", "").strip()[:200],
            status=params.get("status", "") if params.get("status") in STATUSES else "",
            rule=params.get("rule", "") if params.get("rule") in RULE_NAMES else "",
            prefix=params.get("prefix", "").strip()[:40],
            page=_int(params.get("page"), 1, 1, 100_000),
            per=_int(params.get("per"), PER_PAGE, 1, MAX_PER_PAGE),
        )

    def query(self, **override: Any) -> str:
        """The query string of these filters (defaults left out), with ``override`` applied."""
        values = {**self.__dict__, **override}
        defaults = Filters().__dict__
        return urlencode({k: v for k, v in values.items() if v != defaults[k]})

    def selection(self) -> ChangeFilter:
        """These filters as the bulk actions take them: "confirm all N shown" decides exactly the
        changes this page lists (one matching rule, :meth:`ChangeFilter.matches`, for both)."""
        kinds = () if self.kind == "changed" else tuple(Kind) if self.kind == "all" else (Kind(self.kind),)
        return ChangeFilter(
            kinds=kinds,
            substantive=self.substantive,
            tags=(Tag(self.tag),) if self.tag else (),
            status=self.status,
            text=self.q,
            rules=(self.rule,) if self.rule else (),
            prefixes=(self.prefix,) if self.prefix else (),
        )

    def matches(self, change: ChangeView) -> bool:
        return _matches(self.selection(), change)


def _matches(selection: ChangeFilter, change: ChangeView) -> bool:
    candidate = Candidate(
        kind=change.kind,
        substantive=change.substantive,
        tags=tuple(change.tags),
        reasons=tuple(change.reasons),
        old_ids=tuple(change.old_ids),
        new_ids=tuple(change.new_ids),
        reviewed=change.reviewed,
        text=change.haystack() if selection.text else "",
    )
    return selection.matches(candidate)


@dataclass
class ReviewModel:
    slug: str
    diff: DiffView
    filters: Filters
    counts: dict[str, int]
    reviewed: int
    total: int
    matched: int
    changes: list[ChangeView]
    pages: int
    next_unreviewed: tuple[int, int] | None  # (page, change id) after this page
    first_unreviewed: tuple[int, int] | None
    impact_origin: str = ""  # "stored", "live" or "" (nobody signed in for an organisation)
    guidance_only: int = 0  # changes confined to guidance: shown as a group of their own
    batch_notes: dict[int, str] = field(default_factory=dict)  # bulk actions in the histories shown


def _view(brief: ChangeBrief) -> ChangeView:
    return ChangeView(
        id=brief.id,
        seq=brief.seq,
        kind=brief.kind,
        substantive=brief.substantive,
        tags=list(brief.tags),
        confidence=brief.confidence,
        reasons=list(brief.reasons),
        old_ids=list(brief.old_ids),
        new_ids=list(brief.new_ids),
        old_keys=list(brief.old_keys),
        new_keys=list(brief.new_keys),
        redline=dict(brief.redline),
        review=brief.review,
        suggestions=[
            SuggestionView(old_id=s.old_id, new_id=s.new_id, score=s.score, reason=s.reason)
            for s in brief.suggestions
        ],
    )


def _locate(items: list[ChangeView], start: int, per: int) -> tuple[int, int] | None:
    for index in range(start, len(items)):
        if not items[index].reviewed:
            return index // per + 1, items[index].id
    return None


class _ViewCache:
    """Light views of the changes of recently viewed diffs, shared by the app's threads.

    A stored diff's changes are only ever rewritten by a review decision, which adds a
    decision row in the same transaction, so (database, diff id, diff creation time, newest
    decision id of the diff) names one state of them; a new decision makes a new key.
    """

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._data: OrderedDict[tuple[Any, ...], tuple[int, int, tuple[ChangeView, ...]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[int, int, tuple[ChangeView, ...]] | None:
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], value: tuple[int, int, tuple[ChangeView, ...]]) -> None:
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.size:
                self._data.popitem(last=False)


@functools.cache
def _cache() -> _ViewCache:
    return _ViewCache()


def _views(engine: Engine, diff_id: int) -> tuple[int, int, tuple[ChangeView, ...]]:
    """Version ids and every change of the diff (in order, with titles), cached per state."""
    changes = ChangeStore(engine)
    state = changes.state(diff_id)
    key = (engine.url.render_as_string(hide_password=True), diff_id, state.created_at, state.newest_decision)
    found = _cache().get(key)
    if found is not None:
        return found
    old_vid, new_vid = state.old_version_id, state.new_version_id
    views = [_view(b) for b in changes.briefs(diff_id)]
    titles = Catalog(engine).requirement_titles([old_vid, new_vid])
    for view in views:
        view.old_titles = [titles.get((old_vid, k), "") for k in view.old_keys]
        view.new_titles = [titles.get((new_vid, k), "") for k in view.new_keys]
    value = (old_vid, new_vid, tuple(views))
    _cache().put(key, value)
    return value


def load(
    engine: Engine,
    slug: str,
    old: str,
    new: str,
    filters: Filters,
    *,
    only: int | None = None,
    org_id: int | None = None,
) -> ReviewModel | None:
    """The filtered page of the newest stored diff of ``old`` -> ``new``; ``None`` if not diffed.
    ``only`` keeps just one change (to re-render it after a decision). With ``org_id`` the
    changes show that organisation's own verdicts where its reviewers decided (filters,
    progress and "next unreviewed" follow them too)."""
    diff = stored_diff(engine, slug, old, new)
    if diff is None:
        return None
    if only is not None:  # the change may belong to an older diff of the same pair
        held = ChangeStore(engine).diff_of(only)
        if held is not None and held.id != diff.id:
            diff = DiffView(held.id, old, new, held.engine, held.model_id, held.summary)
    old_vid, new_vid, views = _views(engine, diff.id)
    views = _as_read_by(engine, org_id, diff.id, views)
    counts = {k.value: 0 for k in Kind}
    for view in views:
        counts[view.kind] = counts.get(view.kind, 0) + 1
    selection = filters.selection()
    matched = (
        [v for v in views if v.id == only]
        if only is not None
        else [v for v in views if _matches(selection, v)]
    )
    pages = max(1, -(-len(matched) // filters.per))
    if filters.page > pages:
        filters = replace(filters, page=pages)
    start = (filters.page - 1) * filters.per
    # copies: the page's changes are enriched below, the cached ones never are
    page = [
        replace(v, fields=[], reqs=[], controls=[], mappings=[], decisions=[])
        for v in matched[start : start + filters.per]
    ]
    _enrich(engine, page, old_vid, new_vid)
    return ReviewModel(
        slug=slug,
        diff=diff,
        filters=filters,
        counts=counts,
        reviewed=sum(1 for v in views if v.reviewed and v.kind in CHANGED_KINDS),
        total=sum(1 for v in views if v.kind in CHANGED_KINDS),
        matched=len(matched),
        changes=page,
        pages=pages,
        next_unreviewed=_locate(matched, start + len(page), filters.per),
        first_unreviewed=_locate(matched, 0, filters.per),
        guidance_only=sum(1 for v in views if Tag.GUIDANCE_ONLY.value in v.tags),
    )


def _as_read_by(
    engine: Engine, org_id: int | None, diff_id: int, views: tuple[ChangeView, ...]
) -> tuple[ChangeView, ...]:
    """The cached shared views with the organisation's own verdicts laid over (copies)."""
    own = DecisionStore(engine).org_verdicts(org_id, diff_id=diff_id)
    if not own:
        return views
    out = []
    for view in views:
        reading = own.get(view.id)
        if reading is None:
            out.append(view)
            continue
        if reading.verdict is None:  # its own decisions were all in bulk actions since undone
            out.append(replace(view, own_revision=seen_revision({"review": view.review}, reading)))
            continue
        stored = {
            "kind": view.kind,
            "substantive": view.substantive,
            "tags": list(view.tags),
            "confidence": view.confidence,
            "review": view.review,
        }
        verdict = reading.verdict
        review = own_review(stored, reading)
        out.append(
            replace(
                view,
                kind=str(verdict.get("kind", view.kind)),
                substantive=verdict.get("substantive"),
                tags=list(verdict.get("tags") or ()),
                confidence=float(verdict.get("confidence", 1.0)),
                review=review,
            )
        )
    return tuple(out)


def _enrich(engine: Engine, page: list[ChangeView], old_vid: int, new_vid: int) -> None:
    """Parsed redlines for every page change, and the requirement texts where no redline
    shows the statement (added, withdrawn, unchanged and moved-without-edit requirements)."""
    wanted: set[tuple[int, str]] = set()
    for change in page:
        change.fields = [FieldView(name, parse_text(text).ops) for name, text in change.redline.items()]
        if "statement" not in change.redline:
            wanted |= {(old_vid, k) for k in change.old_keys} | {(new_vid, k) for k in change.new_keys}
    if not wanted:
        return
    found: dict[tuple[int, str], RequirementText] = {}
    catalog = Catalog(engine)
    for vid in (old_vid, new_vid):
        texts = catalog.requirement_texts(vid, [k for v, k in wanted if v == vid])
        found.update(((vid, key), text) for key, text in texts.items())
    for change in page:
        if "statement" in change.redline:
            continue
        sides = [("old", old_vid, k) for k in change.old_keys] + [
            ("new", new_vid, k) for k in change.new_keys
        ]
        if change.kind in ("unchanged", "moved") and change.new_keys:
            sides = [s for s in sides if s[0] == "new"]
        for side, vid, key in sides:
            text = found.get((vid, key))
            if text is not None:
                change.reqs.append(ReqView(side, text.ident, text.title, text.statement, text.guidance))
