"""NIST: OSCAL catalogs in usnistgov/oscal-content, and publication PDFs on nvlpubs.

*OSCAL.* The raw catalog (JSON or XML) on its branch is fetched conditionally. A new body is a
new version labelled as NIST names the publication: the CPRT ``framework-version-identifier``
where the catalog has one (CSF ``2.0``; its ``metadata.version`` ``1.0.0`` is the file's
revision, kept as such), else ``metadata.version`` (800-53 release ``5.2.0``), or
``VERSION-LAST-MODIFIED`` when NIST re-issues the same version number with other bytes.

*PDF.* The publication is fetched conditionally; new bytes are a new version labelled with
the server's Last-Modified date. An HTML page where the PDF should be is a failure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from scrapy.http import Response

from spiders.base import TrackerSpider, filename_of, header_date, today
from spiders.pipelines import VersionItem
from tracker.crawl.archiving import FetchedVersion, describe_bytes

_XML_FIELD = r"<metadata\b.*?<{name}>\s*([^<]+?)\s*</{name}>"
# NIST's CPRT-generated catalogs (CSF 2.0) name the publication's own version in a property,
# "CSF_2_0_0", while metadata.version is the file's revision ("1.0.0").
_CPRT_VERSION = "framework-version-identifier"
_XML_PROP = r'<prop\b[^>]*\bname="{name}"[^>]*\bvalue="([^"]+)"'


def publisher_version(data: bytes) -> str:
    """The version the publisher gives the publication ("2.0" for CSF_2_0_0), '' when the
    catalog does not say (then metadata.version is the publisher's release number, as for
    800-53's "5.2.0")."""
    head = data[:200_000]
    value = ""
    if head.lstrip()[:1] == b"{":
        try:
            props = json.loads(data).get("catalog", {}).get("metadata", {}).get("props", [])
        except (ValueError, AttributeError):
            return ""
        found = [p for p in props if isinstance(p, dict) and p.get("name") == _CPRT_VERSION]
        value = str(found[0].get("value", "")) if found else ""
    else:
        match = re.search(_XML_PROP.format(name=_CPRT_VERSION), head.decode("utf-8", "replace"))
        value = match.group(1) if match else ""
    numbers = re.findall(r"\d+", value)
    while len(numbers) > 2 and numbers[-1] == "0":
        numbers.pop()  # CSF_2_0_0 is "2.0", as NIST prints it
    return ".".join(numbers)


def oscal_metadata(data: bytes) -> tuple[str, str, str]:
    """(version, last-modified, published) from an OSCAL catalog's metadata, '' when absent."""
    head = data[:200_000]
    if head.lstrip()[:1] == b"{":
        try:
            meta = json.loads(data).get("catalog", {}).get("metadata", {})
        except (ValueError, AttributeError):
            return "", "", ""
        return (
            str(meta.get("version", "")),
            str(meta.get("last-modified", "")),
            str(meta.get("published", "")),
        )
    text = head.decode("utf-8", "replace")
    found = []
    for name in ("version", "last-modified", "published"):
        match = re.search(_XML_FIELD.format(name=name), text, re.DOTALL)
        found.append(match.group(1) if match else "")
    return found[0], found[1], found[2]


def _day(stamp: str) -> date | None:
    try:
        return date.fromisoformat(stamp[:10])
    except ValueError:
        return None


class NistSpider(TrackerSpider):
    name = "nist"

    async def start(self) -> Any:
        if self.spec.kind == "nist-oscal":
            yield self.get(self.spec.entry_url, self.parse_oscal)
        else:
            yield self.get(self.spec.url, self.parse_pdf)

    def parse_oscal(self, response: Response) -> Iterator[VersionItem]:
        if self.not_modified(response):
            return
        version, modified, published = oscal_metadata(response.body)
        stamp = _day(modified) or header_date(response) or today()
        revision = re.sub(r"\s+", "-", version.strip())
        label = publisher_version(response.body) or revision or stamp.isoformat()
        yield VersionItem(
            FetchedVersion(
                label=label,
                files=((filename_of(self.spec.path), response.body),),
                url=response.meta["origin"],
                format=self.spec.format,
                published=_day(published) or _day(modified),
                fallback_label=f"{label}-{stamp.isoformat()}",
                numbered=True,
                revision=revision,
            )
        )

    def parse_pdf(self, response: Response) -> Iterator[VersionItem]:
        if self.not_modified(response):
            return
        body = response.body
        origin = response.meta["origin"]
        if b"%PDF-" not in body[:1024] or body.lstrip()[:1] == b"<":
            ctype = (response.headers.get(b"Content-Type") or b"?").decode("latin-1")
            self.fail(f"expected a PDF at {origin} but got {ctype}: {describe_bytes(body)}")
            return
        stamp = header_date(response) or today()
        yield VersionItem(
            FetchedVersion(
                label=stamp.isoformat(),
                files=((filename_of(origin), body),),
                url=origin,
                format=self.spec.format,
                numbered=True,
            )
        )
