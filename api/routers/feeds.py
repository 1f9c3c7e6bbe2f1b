"""Atom feeds, one per subscription, opened by a secret token in the URL.

Feed readers cannot send headers, so the token is the credential; it is stored hashed and
can be rotated. Entries are immutable rows written by the dispatcher, so the feed is a
pure rendering of them, with an ETag for conditional requests.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from api.deps import EngineDep, SettingsDep
from api.problems import ApiProblem, responses
from tracker.digests.builders import atom_entry, atom_feed, tag_uri
from tracker.digests.links import authority, review_url
from tracker.digests.model import FeedMeta
from tracker.storage.db import Engine
from tracker.storage.diffs import DiffStore
from tracker.storage.orgs import OrgStore
from tracker.storage.subscriptions import SubscriptionStore, utc

router = APIRouter(prefix="/v1/feeds", tags=["subscriptions"], responses=responses(404, 422))
ATOM = "application/atom+xml"
MAX_ENTRIES = 100
_API_DIFF = re.compile(r"/v1/diffs/(\d+)$")


@router.get(
    "/{token}.atom",
    operation_id="getFeed",
    summary="A subscription's Atom feed (no header needed: the token is in the URL)",
    response_class=Response,
    responses={
        200: {"content": {ATOM: {}}, "description": "Atom 1.0 feed"},
        304: {"description": "Not Modified"},
    },
)
def get_feed(
    token: Annotated[str, Path(min_length=1, max_length=200)],
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
) -> Response:
    store = SubscriptionStore(engine)
    sub = store.by_feed_token(token)
    if sub is None:
        raise ApiProblem(404, "no feed for this token (it may have been rotated)", slug="not-found")
    entries = store.feed_entries(sub.id, MAX_ENTRIES)
    etag = (
        '"'
        + hashlib.sha256(f"{sub.id}:{sub.updated_at}:{[e.id for e in entries]}".encode()).hexdigest()[:32]
        + '"'
    )
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    org = OrgStore(engine).get_by_id(sub.org_id)
    base = settings.public_url.rstrip("/")
    meta = FeedMeta(
        feed_id=tag_uri(
            settings.tag_authority or authority(settings.public_url), sub.created_at, f"subscription:{sub.id}"
        ),
        title=f"{org.slug}: {sub.spec.name or f'subscription {sub.id}'} (AI Standards Tracker)",
        self_url=f"{base}/v1/feeds/{token}.atom",
        updated=max((utc(e.updated) for e in entries), default=sub.created_at),
    )
    links = _page_links(engine, base, [e.link for e in entries])
    body = atom_feed(
        meta,
        [
            atom_entry(
                e.entry_id,
                e.title,
                utc(e.updated),
                utc(e.published),
                links[e.link],
                e.content_html,
                e.summary,
            )
            for e in entries
        ],
    )
    return Response(body, media_type=ATOM, headers={"ETag": etag, "Cache-Control": "private, max-age=60"})


def _page_links(engine: Engine, base: str, links: list[str]) -> dict[str, str]:
    """Entries written before digests linked to pages point at the API (``/v1/diffs/N``),
    which answers 401 to a feed reader; they are served with the diff's review page."""
    old = {link: int(m.group(1)) for link in links if (m := _API_DIFF.search(link))}
    headers = DiffStore(engine).headers(set(old.values())) if old else {}
    out = {link: link for link in links}
    for link, diff_id in old.items():
        h = headers.get(diff_id)
        if h is not None:
            out[link] = review_url(base, h.source, h.old_version, h.new_version)
    return out
