"""Build a mirror folder from the shared corpus and the project's samples.

The corpus's ``MANIFEST.json`` names, for every file, the GitHub repository, commit and path
it was copied from, so files can be put back where the publishers serve them:

* ``github-release-file`` sources (MITRE ATLAS): the file at ``raw.githubusercontent.com/
  REPO/TAG/PATH`` for each version folder (the folder name is the tag), and the tags API
  listing exactly the tags revealed, newest first;
* ``github-folder`` sources (OWASP Top 10): the newest revealed version's files at its commit,
  the contents API listing them, and the commits API naming that commit and its date;
* ``nist-oscal`` sources: the newest revealed version holding the registry's path, on the
  registry's branch.

Every other publisher (GOV.UK, ETSI, NIST PDFs, EUR-Lex, NCSC) comes from ``data/mirror/``.
``upto`` reveals versions up to a label per source, so a demo can show ATLAS v5.5.0, rebuild
with v5.6.0 and watch the next crawl discover it. Files are rewritten only when their bytes
change, so unchanged files keep their Last-Modified and ETag.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tracker.demo.mirror import store_path
from tracker.domain.errors import InvalidInputError
from tracker.sources.registry import Registry, SourceSpec, raw_url


def default_samples() -> Path:
    return Path(__file__).resolve().parents[2] / "data" / "mirror"


@dataclass
class BuildReport:
    out: Path
    written: int = 0
    unchanged: int = 0
    revealed: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "written": self.written,
            "unchanged": self.unchanged,
            "revealed": self.revealed,
        }


@dataclass(frozen=True)
class _CorpusFile:
    path: Path
    repository: str
    commit: str
    path_in_repo: str
    commit_date: str


class _Writer:
    def __init__(self, report: BuildReport) -> None:
        self.report = report

    def put(self, target: Path, data: bytes) -> None:
        if target.is_file() and target.read_bytes() == data:
            self.report.unchanged += 1
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
        self.report.written += 1

    def put_json(self, target: Path, value: Any) -> None:
        self.put(target, (json.dumps(value, indent=2) + "\n").encode())


def build_mirror(
    out: Path,
    registry: Registry,
    corpus: Path | None = None,
    *,
    samples: Path | None = None,
    upto: dict[str, str] | None = None,
    clean: bool = False,
) -> BuildReport:
    """Lay out ``out`` so that crawls in mirror mode find the corpus's versions.

    ``samples`` is a folder already laid out per host (``data/mirror/``, see
    :func:`default_samples`), copied in as it is; None leaves samples out.
    """
    if clean and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    report = BuildReport(out=out)
    writer = _Writer(report)
    if samples is not None and samples.is_dir():
        for path in sorted(p for p in samples.rglob("*") if p.is_file()):
            relative = path.relative_to(samples)
            if "." in relative.parts[0] and len(relative.parts) > 1:  # host folders only
                writer.put(out / relative, path.read_bytes())
    if corpus is None:
        return report
    versions = _corpus_versions(corpus)
    unknown = set(upto or {}) - set(registry.slugs)
    if unknown:
        raise InvalidInputError(f"--upto names unknown source(s): {sorted(unknown)}", "use registry slugs")
    for spec in registry.sources:
        layout = {"github-release-file": _release_file, "github-folder": _folder, "nist-oscal": _oscal}.get(
            spec.kind
        )
        if layout is None:
            continue
        matching = [(label, files) for label, files in versions.get(spec.slug, []) if _matches(spec, files)]
        limit = (upto or {}).get(spec.slug)
        if limit is not None:
            labels = [label for label, _ in matching]
            if limit not in labels:
                raise InvalidInputError(
                    f"{spec.slug} has no corpus version {limit!r}", f"versions: {', '.join(labels)}"
                )
            matching = matching[: labels.index(limit) + 1]
        if matching:
            layout(writer, out, spec, matching)
            report.revealed[spec.slug] = [label for label, _ in matching]
    return report


def _corpus_versions(corpus: Path) -> dict[str, list[tuple[str, list[_CorpusFile]]]]:
    """Per source slug, its version folders in the publisher's order, with their files."""
    manifest_path = corpus / "MANIFEST.json"
    if not manifest_path.is_file():
        raise InvalidInputError(
            f"{corpus}: no MANIFEST.json", "point --from-corpus at the shared corpus folder"
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    order = {
        (s["source_slug"], v["version"]): int(v.get("order", 0))
        for s in manifest.get("sources", [])
        for v in s.get("versions", [])
    }
    grouped: dict[tuple[str, str], list[_CorpusFile]] = defaultdict(list)
    for entry in manifest.get("files", []):
        grouped[(entry["source_slug"], entry["version"])].append(
            _CorpusFile(
                path=corpus / entry["file"],
                repository=entry["repository"],
                commit=entry["commit"],
                path_in_repo=entry["path_in_repo"],
                commit_date=str(entry.get("commit_date") or ""),
            )
        )
    result: dict[str, list[tuple[str, list[_CorpusFile]]]] = defaultdict(list)
    for (slug, label), files in sorted(
        grouped.items(), key=lambda kv: (kv[0][0], order.get(kv[0], 0), kv[0][1])
    ):
        result[slug].append((label, files))
    return result


def _matches(spec: SourceSpec, files: list[_CorpusFile]) -> bool:
    ours = [f for f in files if f.repository == spec.repo]
    if spec.kind == "github-folder":
        return any(f.path_in_repo.rsplit("/", 1)[0] == spec.path for f in ours)
    return any(f.path_in_repo == spec.path for f in ours)


def _release_file(
    writer: _Writer, out: Path, spec: SourceSpec, versions: list[tuple[str, list[_CorpusFile]]]
) -> None:
    tags = []
    for tag, files in versions:
        found = next(f for f in files if f.repository == spec.repo and f.path_in_repo == spec.path)
        writer.put(store_path(out, raw_url(spec.repo, tag, spec.path)), found.path.read_bytes())
        tags.append(
            {
                "name": tag,
                "zipball_url": f"https://api.github.com/repos/{spec.repo}/zipball/refs/tags/{tag}",
                "tarball_url": f"https://api.github.com/repos/{spec.repo}/tarball/refs/tags/{tag}",
                "commit": {
                    "sha": found.commit,
                    "url": f"https://api.github.com/repos/{spec.repo}/commits/{found.commit}",
                },
            }
        )
    writer.put_json(store_path(out, spec.entry_url, ".json"), list(reversed(tags)))


def _folder(
    writer: _Writer, out: Path, spec: SourceSpec, versions: list[tuple[str, list[_CorpusFile]]]
) -> None:
    _, files = versions[-1]
    ours = [f for f in files if f.repository == spec.repo and f.path_in_repo.rsplit("/", 1)[0] == spec.path]
    sha = ours[0].commit
    stamp = (ours[0].commit_date or "1970-01-01")[:10] + "T00:00:00Z"
    person = {"name": "mirror", "email": "mirror@localhost", "date": stamp}
    writer.put_json(
        store_path(out, spec.entry_url, ".json"),
        [
            {
                "sha": sha,
                "commit": {"author": person, "committer": person, "message": "(mirrored from the corpus)"},
            }
        ],
    )
    listing = []
    for f in sorted(ours, key=lambda f: f.path_in_repo):
        data = f.path.read_bytes()
        download = raw_url(spec.repo, sha, f.path_in_repo)
        writer.put(store_path(out, download), data)
        listing.append(
            {
                "name": f.path_in_repo.rsplit("/", 1)[-1],
                "path": f.path_in_repo,
                "sha": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(),  # git's blob id
                "size": len(data),
                "type": "file",
                "download_url": download,
            }
        )
    contents = f"https://api.github.com/repos/{spec.repo}/contents/{quote(spec.path)}?ref={sha}"
    writer.put_json(store_path(out, contents, ".json"), listing)


def _oscal(
    writer: _Writer, out: Path, spec: SourceSpec, versions: list[tuple[str, list[_CorpusFile]]]
) -> None:
    _, files = versions[-1]
    found = next(f for f in files if f.repository == spec.repo and f.path_in_repo == spec.path)
    writer.put(store_path(out, raw_url(spec.repo, spec.ref, spec.path)), found.path.read_bytes())
