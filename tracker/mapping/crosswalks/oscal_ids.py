"""What every OSCAL document the tracker writes shares: version, identifiers, UUIDs, times.

OSCAL references catalog controls by their ``id`` (``cm-8``, enhancement ``ac-2.1``), never
by the label NIST prints (``CM-8``, ``AC-2(1)``); the tracker stores labels. These helpers
convert both ways, only for identifiers that have the SP 800-53 shape and only for
standards' sets: an organisation's own control ids (``org:...`` sets) are kept verbatim,
because they belong to no catalog whose id rules we could apply.

Document UUIDs are UUIDv5 over the document's content (everything except
``last-modified``). OSCAL asks for a new UUID whenever a document is revised; a content hash
gives exactly that (changed content, changed UUID) while two exports of unchanged content
carry the same UUID, so a consumer can tell a re-export from a revision.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from tracker.sources.parsing.oscal_text import label_from_id

# The OSCAL release the documents are written against: compliance-trestle's models (the
# reference Python implementation the tests validate with) are of OSCAL 1.2.1.
OSCAL_VERSION = "1.2.1"
NAMESPACE = uuid.UUID("6f1d0d52-2a43-5d0e-9d3a-8f3c1b1c7e11")

_LABEL = re.compile(r"([A-Z]{2,3})-([1-9]\d*)((?:\([1-9]\d*\))*)")
_CATALOG_ID = re.compile(r"[a-z]{2,3}-\d+(?:\.\d+)*")
_ENHANCEMENT = re.compile(r"\((\d+)\)")


def is_org_set(name: str) -> bool:
    return name.startswith("org:")


def catalog_id(label: str, set_name: str = "") -> str:
    """``CM-8`` -> ``cm-8``, ``AC-2(1)`` -> ``ac-2.1``; anything else (and org ids) unchanged."""
    match = _LABEL.fullmatch(label)
    if match is None or is_org_set(set_name):
        return label
    family, number, enhancements = match.groups()
    subs = "".join(f".{n}" for n in _ENHANCEMENT.findall(enhancements))
    return f"{family.lower()}-{number}{subs}"


def label_of(id_ref: str, set_name: str = "") -> str:
    """The inverse of :func:`catalog_id`: ``ac-2.1`` -> ``AC-2(1)``; statement ids stay as they are."""
    if is_org_set(set_name) or _CATALOG_ID.fullmatch(id_ref) is None:
        return id_ref
    return label_from_id(id_ref)


def content_uuid(kind: str, content: Any) -> str:
    """UUIDv5 of canonical JSON: the same content always gives the same UUID."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(uuid.uuid5(NAMESPACE, f"{kind}|{canonical}"))


def name_uuid(*parts: str) -> str:
    """UUIDv5 naming one thing inside a document (a map, a resource) by what it is."""
    return str(uuid.uuid5(NAMESPACE, "|".join(parts)))


def timestamp(moment: datetime | None = None) -> str:
    """An OSCAL date-time with time zone (RFC 3339, UTC), to the second; now by default."""
    when = moment or datetime.now(UTC)
    when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).replace(microsecond=0)
    return when.isoformat().replace("+00:00", "Z")
