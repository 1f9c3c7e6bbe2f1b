"""ETSI deliver folders: one sub-folder per version ("01.01.01_60/") holding the PDF.

The folder name is the version: ``01.02.01_60`` is V1.2.1 as published (``_60``); other
suffixes are drafts at an earlier stage (``_20`` public enquiry, ``_30``/``_40``/``_50``
voting) and are labelled ``V1.2.1-draft20``. Only folders whose label is not archived yet
are opened, oldest first, so a daily check of a quiet standard is one conditional GET.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

from scrapy.http import Request, Response

from spiders.base import TrackerSpider, filename_of
from spiders.pipelines import VersionItem
from tracker.crawl.archiving import FetchedVersion, describe_bytes
from tracker.domain.model import Lifecycle

_FOLDER = re.compile(r"/(\d{2})\.(\d{2})\.(\d{2})_(\d{2})/?$")


def folder_label(url: str) -> tuple[str, Lifecycle] | None:
    """``.../01.02.01_60/`` -> ``("V1.2.1", FINAL)``; None for other links."""
    match = _FOLDER.search(url.split("?", 1)[0])
    if not match:
        return None
    major, minor, patch, stage = (int(g) for g in match.groups())
    label = f"V{major}.{minor}.{patch}"
    if stage == 60:
        return label, Lifecycle.FINAL
    return f"{label}-draft{stage:02d}", Lifecycle.DRAFT


def _links(response: Response, origin: str) -> list[str]:
    if not hasattr(response, "css"):
        return []
    return [urljoin(origin, href) for href in response.css("a::attr(href)").getall()]


class EtsiSpider(TrackerSpider):
    name = "etsi"

    async def start(self) -> Any:
        yield self.get(self.spec.url, self.parse_listing)

    def parse_listing(self, response: Response) -> Iterator[Request]:
        if self.not_modified(response):
            return
        origin = response.meta["origin"]
        folders: dict[str, tuple[str, Lifecycle]] = {}
        for link in _links(response, origin):
            found = folder_label(link)
            if found and link.startswith(origin):
                folders[link if link.endswith("/") else link + "/"] = found
        if not folders:
            self.fail(
                f"no version folders (NN.NN.NN_NN/) in the listing at {origin}; has the layout changed?"
            )
            return
        archived = self.archived_labels()
        pending = sorted(
            (url for url, (label, _) in folders.items() if label not in archived), key=_folder_key
        )
        if not pending:
            self.ctx.report.note(f"all {len(folders)} version folder(s) already archived")
            return
        plan = [(url, *folders[url]) for url in pending]
        yield from self.chain(plan, self.folder_request)

    def folder_request(self, entry: tuple[str, str, Lifecycle], rest: list[Any]) -> Request:
        url, label, status = entry
        return self.get(
            url, self.parse_folder, conditional=False, meta={"label": label, "status": status, "rest": rest}
        )

    def parse_folder(self, response: Response) -> Iterator[Request]:
        origin = response.meta["origin"]
        pdfs = [link for link in _links(response, origin) if link.lower().split("?", 1)[0].endswith(".pdf")]
        if not pdfs:
            self.fail(f"no PDF in the version folder {origin}")
            return
        meta = {k: response.meta[k] for k in ("label", "status", "rest")}
        yield self.get(pdfs[0], self.parse_pdf, conditional=False, meta=meta)

    def parse_pdf(self, response: Response) -> Iterator[VersionItem]:
        origin = response.meta["origin"]
        body = response.body
        if b"%PDF-" not in body[:1024] or body.lstrip()[:1] == b"<":
            ctype = (response.headers.get(b"Content-Type") or b"?").decode("latin-1")
            self.fail(f"expected a PDF at {origin} but got {ctype}: {describe_bytes(body)}")
            return
        rest = response.meta["rest"]
        yield VersionItem(
            FetchedVersion(
                label=response.meta["label"],
                files=((filename_of(origin), body),),
                url=origin,
                format=self.spec.format,
                status=response.meta["status"],
            ),
            then=next(self.chain(rest, self.folder_request), None),
        )


def _folder_key(url: str) -> tuple[int, ...]:
    match = _FOLDER.search(url)
    return tuple(int(g) for g in match.groups()) if match else ()
