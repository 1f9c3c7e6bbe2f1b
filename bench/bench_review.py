"""Review page benchmark on the largest diff of the corpus: SP 800-53 Rev 4 -> Rev 5.0.0.

Run: ``.venv/bin/python -m bench.bench_review`` (corpus from ``TRACKER_CORPUS_DIR``, default
``../shared/corpus`` next to the repository).

Both catalogs are ingested into a fresh SQLite file and diffed with the lexical engine (no
model load). An organisation runs one control per Rev 4 base control (256), mapped from it
(half published and accepted, half machine suggestions awaiting review), with its impact
computed by the impact engine and stored. The review page is then requested through the
app (in process) and the server's own time is read from its ``Server-Timing`` header: the
median of several renders, and the page's size in bytes, signed out and signed in, at
several page sizes. The last line renders every changed requirement on one page, which the
app never serves, to show why the page is paged.

Then bulk review (tracker.review.bulk) for the organisation: a dry run of "every changed
requirement", confirming them all in one batch (one decision each and the stored impact
recomputed, in one transaction), the default page after it, and undoing the batch.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bench.bench_diff_common import corpus_dir

SOURCE = "nist-sp-800-53"
OLD, NEW = "rev4", "rev5.0.0-2020-09"
RENDERS = 7
LIMIT = 64 * 1024 * 1024


def _prepare(engine: Engine, root: Path) -> tuple[int, float, float]:
    from tracker.diff.service import diff_archived
    from tracker.sources.ingest import corpus_entries, ingest_files
    from tracker.storage.archive import Archive
    from tracker.storage.diffs import DiffStore

    archive = Archive(engine)
    entries = {e.label: e for e in corpus_entries(root) if e.source.slug == SOURCE}
    started = time.perf_counter()
    for label in (OLD, NEW):
        e = entries[label]
        ingest_files(
            archive, e.source, label, [e.folder], max_bytes=LIMIT, published=e.published, ordinal=e.ordinal
        )
    ingested = time.perf_counter() - started
    started = time.perf_counter()
    stored = diff_archived(archive, DiffStore(engine), SOURCE, OLD, NEW, None)
    return stored.id, ingested, time.perf_counter() - started


def _organisation(engine: Engine, diff_id: int) -> str:
    """256 controls mapped from the Rev 4 base controls; the impact stored as the pipeline would."""
    from tracker.impact.model import StoredImpact
    from tracker.impact.rules import impact
    from tracker.impact.service import store_impact
    from tracker.mapping.types import Control, Mapping, Provenance, Relationship, ReviewState
    from tracker.review.decisions import split_mappings
    from tracker.storage.api_keys import ApiKeys, Scope
    from tracker.storage.archive import Archive
    from tracker.storage.controls import ControlStore
    from tracker.storage.diffs import DiffStore
    from tracker.storage.mappings import MappingStore
    from tracker.storage.orgs import OrgStore

    bases = [r for r in Archive(engine).requirements(SOURCE, OLD) if r.kind == "control"]
    store = OrgStore(engine)
    org = store.create("bench", "Bench Org")
    ControlStore(engine).import_controls(
        "bench", [Control(id=f"ORG-{r.ident}", title=f"Our {r.title}") for r in bases], origin="bench"
    )
    mappings = [
        Mapping(
            r.ident,
            f"ORG-{r.ident}",
            Relationship.EQUAL,
            Provenance.PUBLISHED if i % 2 else Provenance.MACHINE,
            1.0 if i % 2 else 0.7,
            ReviewState.ACCEPTED if i % 2 else ReviewState.PROPOSED,
            source_set=f"{SOURCE}@{OLD}",
            target_set="org:bench",
        )
        for i, r in enumerate(bases)
    ]
    MappingStore(engine).add_mappings("bench", mappings, origin="bench")
    diff = DiffStore(engine).get(diff_id).result
    old_maps, new_maps = split_mappings(
        [m.mapping for m in MappingStore(engine).mappings("bench")], SOURCE, NEW
    )
    items = impact(diff.changes, old_maps, new_mappings=new_maps)
    store_impact(engine, StoredImpact.of("bench", diff_id, diff, items))
    return ApiKeys(engine).create(Scope.WRITE, org.id, "bench reviewer")[1]


def _sign_in(client: TestClient, token: str) -> None:
    form = client.get("/ui/sign-in").text
    presession = re.search(r'name="presession" value="([^"]+)"', form)
    assert presession is not None
    done = client.post(
        "/ui/sign-in", data={"api_key": token, "presession": presession.group(1)}, follow_redirects=False
    )
    assert done.status_code == 303, done.text


def _measure(client: TestClient, url: str) -> tuple[float, int, str]:
    """Median server time (ms, from Server-Timing) of RENDERS renders, page bytes, page header."""
    times, size, head = [], 0, ""
    client.get(url)  # warm-up: templates compiled, caches filled
    for _ in range(RENDERS):
        response = client.get(url)
        assert response.status_code == 200, response.text[:500]
        dur = re.search(r"dur=([0-9.]+)", response.headers["server-timing"])
        assert dur is not None
        times.append(float(dur.group(1)))
        size = len(response.content)
        found = re.search(r"(\d+) matching changes?(, page \d+ of \d+)?", response.text)
        head = found.group(0) if found else ""
    return statistics.median(times), size, head


def _unpaginated(engine: Engine) -> tuple[float, int, int]:
    """Every changed requirement on one page, rendered directly (the app caps a page at 200)."""
    from starlette.requests import Request

    from api.pages import review_data
    from api.pages.org_view import attach_org, unreviewed_suggestions
    from api.pages.render import render
    from api.pages.session import Viewer
    from tracker.storage.api_keys import ApiKeys
    from tracker.storage.archive import Archive
    from tracker.storage.orgs import OrgStore

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    key = ApiKeys(engine).list(OrgStore(engine).get("bench").id)[0]
    who = Viewer(key=key, name="bench reviewer", org="bench", sid="bench", csrf="bench")
    times, size, count = [], 0, 0
    for _ in range(3):
        started = time.perf_counter()
        filters = review_data.Filters(per=100_000)
        model = review_data.load(engine, SOURCE, OLD, NEW, filters)
        assert model is not None
        attach_org(engine, model, "bench")
        html = render(
            "review.html",
            request=Request(scope),
            viewer=who,
            notice="",
            path="/",
            source=Archive(engine).source(SOURCE),
            model=model,
            consultation=False,
            return_to="/",
            suggestions=unreviewed_suggestions,
        )
        times.append((time.perf_counter() - started) * 1000)
        size, count = len(html.encode()), len(model.changes)
    return statistics.median(times), size, count


def main() -> int:
    from api.app import create_app
    from tracker.settings import Settings
    from tracker.storage.db import make_engine, upgrade

    root = corpus_dir()
    if not (root / SOURCE / OLD).is_dir():
        print(f"corpus not found at {root}; set TRACKER_CORPUS_DIR", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        upgrade(engine)
        diff_id, ingested, diffed = _prepare(engine, root)
        token = _organisation(engine, diff_id)
        app = create_app(Settings(data_dir=Path(tmp), session_secret="bench"), engine=engine)
        anonymous, signed = TestClient(app), TestClient(app)
        _sign_in(signed, token)
        path = f"/ui/sources/{SOURCE}/review/{OLD}/{NEW}"
        print(f"corpus: {root}")
        print(f"ingest {OLD} + {NEW}: {ingested:.1f} s; diff (lexical engine): {diffed:.1f} s")
        print(f"review page {path} (server time: median of {RENDERS} renders, from Server-Timing)")
        cases = [
            ("signed out, default page (50 changes)", anonymous, path),
            ("signed in with 256 mapped controls, default page", signed, path),
            ("signed in, 200 changes a page (largest allowed)", signed, path + "?per=200"),
            ("signed in, last page", signed, path + "?page=23"),
            ("signed in, filtered: substantive, text 'audit'", signed, path + "?substantive=yes&q=audit"),
        ]
        for label, client, url in cases:
            ms, size, head = _measure(client, url)
            print(f"  {label:<52} {ms:8.1f} ms {size:>11,} bytes  [{head}]")
        ms, size, count = _unpaginated(engine)
        print(
            f"  {'unpaginated, signed in (not served; why pages)':<52} {ms:8.1f} ms {size:>11,} bytes"
            f"  [{count} changes, median of 3]"
        )
        _bulk(engine, diff_id, signed, path)
        anonymous.close()
        signed.close()
        engine.dispose()
    return 0


def _bulk(engine: Engine, diff_id: int, signed: TestClient, path: str) -> None:
    from tracker.review.bulk import apply_bulk, preview, undo_bulk
    from tracker.review.selection import ChangeFilter
    from tracker.storage.decisions import Reviewer
    from tracker.storage.orgs import OrgStore

    org = OrgStore(engine).get("bench")
    who = Reviewer("bench reviewer", "bench", "bench", org.id)
    everything = ChangeFilter()
    started = time.perf_counter()
    seen = preview(engine, diff_id, who, everything)
    previewed = time.perf_counter() - started
    started = time.perf_counter()
    done = apply_bulk(engine, diff_id, who, everything, action="confirm", as_of=seen.as_of)
    applied = time.perf_counter() - started
    ms, size, head = _measure(signed, path)
    started = time.perf_counter()
    undone = undo_bulk(engine, done.batch_id, who)
    took = time.perf_counter() - started
    print("bulk review (every changed requirement, one organisation; wall time, one run)")
    print(f"  {'dry run':<52} {previewed * 1000:8.1f} ms  [{len(seen.change_ids)} changes]")
    print(
        f"  {'confirm all in one batch, impact recomputed':<52} {applied * 1000:8.1f} ms"
        f"  [{len(done.decided)} decided]"
    )
    print(f"  {'default page after it (server time)':<52} {ms:8.1f} ms {size:>11,} bytes  [{head}]")
    print(
        f"  {'undo the batch, impact recomputed':<52} {took * 1000:8.1f} ms"
        f"  [{len(undone.restored)} restored]"
    )


if __name__ == "__main__":
    raise SystemExit(main())
