"""Digest benchmark: the CSF 1.1 -> 2.0 email and Atom entry an organisation receives.

Run: ``.venv/bin/python -m bench.bench_digest [--shots DIR] [--lexical-only]``.

The organisation holds every SP 800-53 Rev 5 control, mapped from CSF 1.1 by NIST's
crosswalk (``eval/csf1.1_to_sp800-53r5.csv``); CSF 2.0 arrives, its impact is stored, and
the dispatcher sends the email to an SMTP server on loopback (aiosmtpd) and writes the
Atom entry. Printed: the subject, the size of the message as sent, of its HTML part and of
the Atom entry's summary and content. With ``--shots DIR`` the HTML part is rendered in
Chromium (Playwright) at 1100 px and 390 px wide and saved as ``email-1100.png`` and
``email-390.png`` in DIR.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

LIMIT = 64 * 1024 * 1024
ORG = "acme"


def build_world(engine: Engine, corpus: Path, *, lexical_only: bool = True) -> int:
    """Archive CSF 1.1 and 2.0 and SP 800-53 Rev 5, give organisation ``acme`` every Rev 5
    control mapped from CSF 1.1 by NIST's crosswalk, and store its impact of 1.1 -> 2.0.
    Returns the stored diff's id."""
    from tracker.domain.model import Source
    from tracker.impact.service import compute_impact
    from tracker.mapping.crosswalks.files import read_csv
    from tracker.mapping.documents import controls_from_requirements
    from tracker.sources.ingest import ingest_files
    from tracker.storage.archive import Archive
    from tracker.storage.controls import ControlStore
    from tracker.storage.mappings import MappingStore
    from tracker.storage.orgs import OrgStore

    archive = Archive(engine)
    csf = Source(slug="nist-csf", title="NIST Cybersecurity Framework")
    ingest_files(archive, csf, "1.1", [corpus / "nist-csf" / "1.1"], max_bytes=LIMIT)
    sp = Source(slug="nist-sp-800-53", title="NIST SP 800-53")
    ingest_files(archive, sp, "rev5", [corpus / "nist-sp-800-53" / "rev5-oscal-5.0.1-2021-06"], max_bytes=LIMIT)
    OrgStore(engine).create(ORG, "Acme")
    catalog = controls_from_requirements(archive.requirements("nist-sp-800-53", "rev5"))
    ControlStore(engine).import_controls(ORG, catalog, "catalog")
    crosswalk = (corpus.parent / "eval" / "csf1.1_to_sp800-53r5.csv").read_bytes()
    MappingStore(engine).add_mappings(
        ORG, read_csv(crosswalk, source_set="nist-csf@1.1", target_set="nist-sp-800-53@rev5"), "eval"
    )
    ingest_files(archive, csf, "2.0", [corpus / "nist-csf" / "2.0"], max_bytes=LIMIT)
    embedder = None
    if not lexical_only:
        from tracker.settings import Settings
        from tracker.wiring import make_embedder

        embedder = make_embedder(engine, Settings.from_env())
    return compute_impact(engine, ORG, "nist-csf", "1.1", "2.0", embedder).diff_id
