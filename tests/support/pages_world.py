"""Shared seed for the review-page tests (no tests here): the real OWASP Top 10 for LLM
2023 v1.1, the 2025 release candidate and the 2025 release from the corpus, the v1.1 -> 2025
diff from the lexical engine, two organisations with controls, mappings (some of them machine
suggestions awaiting review) and impacts computed by the real impact engine and stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tracker.diff.service import diff_archived
from tracker.impact import service
from tracker.impact.model import StoredImpact
from tracker.impact.rules import impact
from tracker.mapping.types import Control, Mapping, Provenance, Relationship, ReviewState
from tracker.review.decisions import split_mappings
from tracker.sources.ingest import corpus_entries, ingest_files
from tracker.storage.api_keys import ApiKeys, Scope
from tracker.storage.archive import Archive
from tracker.storage.controls import ControlStore
from tracker.storage.diffs import DiffStore
from tracker.storage.mappings import MappingStore
from tracker.storage.orgs import OrgStore

OWASP = "owasp-top10-llm"
OLD, RC, NEW = "2023-v1.1", "2025-rc-2024-11-08", "2025-release"
LIMIT = 64 * 1024 * 1024
CONTROLS = [
    Control(id="AI-01", title="Prompt and input filtering", tags=("llm",)),
    Control(id="AI-02", title="Encoding of model output", tags=("llm",)),
    Control(id="AI-03", title="Third-party model and dataset review", tags=("supply-chain",)),
    Control(id="AI-04", title="Access control for model weights", tags=("iam",)),
    Control(id="AI-05", title="Rate limits and quotas for inference", tags=("availability",)),
]
# (requirement of 2023 v1.1, control, provenance, confidence, review)
MAPPINGS = [
    ("LLM01", "AI-01", Provenance.MACHINE, 0.72, ReviewState.PROPOSED),
    ("LLM01", "AI-04", Provenance.MACHINE, 0.41, ReviewState.PROPOSED),  # a poor suggestion
    ("LLM02", "AI-02", Provenance.PUBLISHED, 1.0, ReviewState.ACCEPTED),
    ("LLM05", "AI-03", Provenance.MACHINE, 0.66, ReviewState.PROPOSED),
    ("LLM10", "AI-04", Provenance.PUBLISHED, 1.0, ReviewState.ACCEPTED),
    ("LLM04", "AI-05", Provenance.PUBLISHED, 1.0, ReviewState.ACCEPTED),
]


@dataclass
class CorpusWorld:
    engine: Engine
    diff_id: int = 0
    keys: dict[str, str] = field(default_factory=dict)  # "acme:write" -> token
    mapping_ids: dict[tuple[str, str], int] = field(default_factory=dict)  # (req, control) of acme

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    @property
    def review_path(self) -> str:
        return f"/ui/sources/{OWASP}/review/{OLD}/{NEW}"


def ingest_owasp(engine: Engine, corpus_dir: Path, labels: tuple[str, ...] = (OLD, RC, NEW)) -> None:
    archive = Archive(engine)
    entries = {e.label: e for e in corpus_entries(corpus_dir) if e.source.slug == OWASP}
    for label in labels:
        e = entries[label]
        ingest_files(
            archive, e.source, label, [e.folder], max_bytes=LIMIT, published=e.published, ordinal=e.ordinal
        )


def store_impact(engine: Engine, org: str, diff_id: int, new_label: str = NEW) -> None:
    """The real impact engine over the organisation's mappings, stored as the pipeline would."""
    diff = DiffStore(engine).get(diff_id).result
    old_maps, new_maps = split_mappings(
        [m.mapping for m in MappingStore(engine).mappings(org)], OWASP, new_label
    )
    items = impact(diff.changes, old_maps, new_mappings=new_maps)
    service.store_impact(engine, StoredImpact.of(org, diff_id, diff, items))


def build_world(engine: Engine, corpus_dir: Path) -> CorpusWorld:
    world = CorpusWorld(engine)
    ingest_owasp(engine, corpus_dir)
    archive, diffs = Archive(engine), DiffStore(engine)
    world.diff_id = diff_archived(archive, diffs, OWASP, OLD, NEW, None).id
    store = OrgStore(engine)
    keys = ApiKeys(engine)
    for slug in ("acme", "globex"):
        org = store.create(slug, slug.title())
        ControlStore(engine).import_controls(slug, CONTROLS, origin="test")
        MappingStore(engine).add_mappings(
            slug,
            [
                Mapping(
                    req,
                    ctl,
                    Relationship.INTERSECTS,
                    prov,
                    conf,
                    review,
                    (f"{OWASP}@{OLD}",),
                    source_set=f"{OWASP}@{OLD}",
                    target_set=f"org:{slug}",
                )
                for req, ctl, prov, conf, review in MAPPINGS
            ],
            origin="test",
        )
        for scope in Scope:
            world.keys[f"{slug}:{scope}"] = keys.create(scope, org.id, f"{slug} {scope} key")[1]
        store_impact(engine, slug, world.diff_id)
    world.keys["operator"] = keys.create(Scope.ADMIN)[1]
    for stored in MappingStore(engine).mappings("acme"):
        world.mapping_ids[(stored.mapping.source, stored.mapping.target)] = stored.id
    return world


def sign_in(client: TestClient, token: str, name: str = "Rita Reviewer", nxt: str = "/ui") -> str:
    """Sign a TestClient in through the form; returns the session's CSRF token."""
    form = client.get("/ui/sign-in").text
    presession = re.search(r'name="presession" value="([^"]+)"', form)
    assert presession is not None
    response = client.post(
        "/ui/sign-in",
        data={"api_key": token, "name": name, "presession": presession.group(1), "next": nxt},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = client.get("/ui").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    return csrf.group(1)
