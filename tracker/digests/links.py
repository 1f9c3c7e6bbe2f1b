"""Where digests point: pages a person can open, and the domain that names what we send.

Every link in an email or an Atom entry leads to the review page of the version pair
(``/ui/sources/SOURCE/review/OLD/NEW``): it is readable without a key, and a reader signed
in for an organisation sees that organisation's controls, mappings and decisions on the
same URL. API URLs (``/v1/...``) are not links for people: they answer 401 without a key.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit


def authority(public_url: str) -> str:
    """The host of the public address, which names Message-IDs, List-Ids and ``tag:`` URIs
    unless ``TRACKER_TAG_AUTHORITY`` says otherwise; ``localhost`` when there is none."""
    host = urlsplit(public_url.strip()).hostname or ""
    return host.rstrip(".").lower() or "localhost"


def review_url(
    public_url: str, source: str, old: str, new: str, *, ident: str = "", change_id: int | None = None
) -> str:
    """The review page of one version pair; with ``ident`` filtered to that requirement and,
    with ``change_id``, scrolled to the change (the page's anchors are ``change-<id>``)."""
    path = "/".join(quote(part, safe="") for part in ("sources", source, "review", old, new))
    url = f"{public_url.rstrip('/')}/ui/{path}"
    if ident:
        url += "?" + urlencode({"q": ident})
    if change_id is not None:
        url += f"#change-{change_id}"
    return url


def unsubscribe_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/ui/unsubscribe/{quote(token, safe='')}"
