"""GitHub: release tags with a raw file (MITRE ATLAS), or a folder of files on a branch (OWASP).

*Release file.* The tags API is fetched conditionally; tags newer than the newest archived
one (numeric order: v5.10.0 after v5.9.1) are fetched at ``raw.githubusercontent.com/REPO/TAG/PATH``
oldest first, labelled with the tag. A source's first crawl takes only the newest
``backfill`` tags, so adding ATLAS does not download twenty releases.

*Folder.* The newest commit touching the folder is fetched conditionally; when it changes,
the folder is listed at that commit and every file matching ``glob`` downloaded. The set is a
new version only if its bytes are new; it is labelled with the commit date.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import quote

from scrapy.http import Request, Response

from spiders.base import TrackerSpider
from spiders.pipelines import VersionItem
from tracker.crawl.archiving import FetchedVersion, version_key
from tracker.sources.ingest import guess_status
from tracker.sources.registry import raw_url


def _json(response: Response) -> Any:
    try:
        return json.loads(response.body)
    except ValueError:
        return None


class GithubSpider(TrackerSpider):
    name = "github"

    async def start(self) -> Any:
        if self.spec.kind == "github-folder":
            yield self.get(self.spec.entry_url, self.parse_commits)
        else:
            yield self.get(self.spec.entry_url, self.parse_tags)

    # -- release tags ------------------------------------------------------------------------
    def parse_tags(self, response: Response) -> Iterator[Request]:
        if self.not_modified(response):
            return
        data = _json(response)
        if not isinstance(data, list) or not all(isinstance(t, dict) and "name" in t for t in data):
            self.fail(f"the tags API at {response.meta['origin']} did not return a list of tags")
            return
        tags = sorted({str(t["name"]) for t in data if version_key(str(t["name"]))}, key=version_key)
        if not tags:
            self.fail(f"no version tags in {self.spec.repo}")
            return
        archived = self.archived_labels()
        newest = max((version_key(label) for label in archived if version_key(label)), default=None)
        if newest is None:
            pending = tags[-self.spec.backfill :]
        else:
            pending = [t for t in tags if version_key(t) > newest and t not in archived]
        if not pending:
            self.ctx.report.note(f"no tag newer than the archived ones (newest tag {tags[-1]})")
            return
        yield from self.chain(pending, self.tag_request)

    def tag_request(self, tag: str, rest: list[str]) -> Request:
        url = raw_url(self.spec.repo, tag, self.spec.path)
        return self.get(url, self.parse_tag_file, conditional=False, meta={"tag": tag, "rest": rest})

    def parse_tag_file(self, response: Response) -> Iterator[VersionItem]:
        tag = response.meta["tag"]
        yield VersionItem(
            FetchedVersion(
                label=tag,
                files=((self.spec.path.rsplit("/", 1)[-1], response.body),),
                url=response.meta["origin"],
                format=self.spec.format,
                status=guess_status(tag),
            ),
            then=next(self.chain(response.meta["rest"], self.tag_request), None),
        )

    # -- folder on a branch ------------------------------------------------------------------
    def parse_commits(self, response: Response) -> Iterator[Request]:
        if self.not_modified(response):
            return
        data = _json(response)
        try:
            sha = str(data[0]["sha"])
            stamp = str(data[0]["commit"]["committer"]["date"])
        except (TypeError, KeyError, IndexError):
            self.fail(f"no commit touching {self.spec.path} on {self.spec.ref} in {self.spec.repo}")
            return
        url = f"https://api.github.com/repos/{self.spec.repo}/contents/{quote(self.spec.path)}?ref={sha}"
        yield self.get(url, self.parse_contents, conditional=False, meta={"sha": sha, "stamp": stamp})

    def parse_contents(self, response: Response) -> Iterator[Request]:
        data = _json(response)
        if not isinstance(data, list):
            self.fail(f"the contents API at {response.meta['origin']} did not list a folder")
            return
        entries = sorted(
            (
                e
                for e in data
                if isinstance(e, dict)
                and e.get("type") == "file"
                and fnmatch.fnmatch(str(e.get("name")), self.spec.glob)
                and e.get("download_url")
            ),
            key=lambda e: str(e["name"]),
        )
        if not entries:
            self.fail(f"no files matching {self.spec.glob!r} in {self.spec.repo}/{self.spec.path}")
            return
        meta = {"sha": response.meta["sha"], "stamp": response.meta["stamp"], "files": []}
        yield self.file_request(entries, meta)

    def file_request(self, entries: list[dict[str, Any]], meta: dict[str, Any]) -> Request:
        entry, rest = entries[0], entries[1:]
        return self.get(
            str(entry["download_url"]),
            self.parse_file,
            conditional=False,
            meta={**meta, "name": str(entry["name"]), "rest": rest},
        )

    def parse_file(self, response: Response) -> Iterator[Any]:
        meta = response.meta
        files = [*meta["files"], (meta["name"], response.body)]
        if meta["rest"]:
            yield self.file_request(
                meta["rest"], {"sha": meta["sha"], "stamp": meta["stamp"], "files": files}
            )
            return
        day = date.fromisoformat(meta["stamp"][:10])
        yield VersionItem(
            FetchedVersion(
                label=day.isoformat(),
                files=tuple(files),
                url=f"https://github.com/{self.spec.repo}/tree/{meta['sha']}/{self.spec.path}",
                format=self.spec.format,
                published=day,
                fallback_label=f"{day.isoformat()}-{meta['sha'][:7]}",
                revision=day.isoformat(),
                document_label=True,
            )
        )
