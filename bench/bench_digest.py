"""Digest benchmark: the CSF 1.1 -> 2.0 email and Atom entry an organisation receives.

Run: ``.venv/bin/python -m bench.bench_digest [--shots DIR] [--model]``.

The organisation holds every SP 800-53 Rev 5 control, mapped from CSF 1.1 by NIST's
crosswalk (``eval/csf1.1_to_sp800-53r5.csv``); CSF 2.0 arrives, its impact is stored, and
the dispatcher sends the email to an SMTP server on loopback (aiosmtpd) and writes the
Atom entry. Printed: the subject, the size of the message as sent, of its HTML part and of
the Atom entry's summary and content. With ``--shots DIR`` the HTML part is rendered in
Chromium (Playwright) at 1100 px and 390 px wide and saved as ``email-1100.png`` and
``email-390.png`` in DIR. The lexical engine is used unless ``--model`` (the embedding
model's first pass over both catalogs takes minutes on two cores).
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
CHROMIUM = "/usr/bin/chromium"  # Debian's, as the browser tests use (`.ci/run` installs it)
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
    ingest_files(
        archive, sp, "rev5", [corpus / "nist-sp-800-53" / "rev5-oscal-5.0.1-2021-06"], max_bytes=LIMIT
    )
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


def _subscribe(engine: Engine) -> tuple[int, str]:
    from tracker.digests.model import Channel, SubscriptionSpec
    from tracker.storage.orgs import OrgStore
    from tracker.storage.subscriptions import SubscriptionStore

    org = OrgStore(engine).get(ORG)
    spec = SubscriptionSpec(
        name="CSF", channels=(Channel.EMAIL, Channel.ATOM), email_to=("grc@acme.example",)
    )
    created = SubscriptionStore(engine).create(org.id, spec, since=datetime.now(UTC) - timedelta(days=1))
    return created.subscription.id, created.feed_token


def shoot(html: str, out: Path) -> None:
    """Render the email's HTML in Chromium at a desktop and a phone width (full page)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        for width in (1100, 390):
            page = browser.new_page(viewport={"width": width, "height": 700})
            page.set_content(html, wait_until="load")
            path = out / f"email-{width}.png"
            page.screenshot(path=str(path), full_page=True)
            height = page.evaluate("document.documentElement.scrollHeight")
            # the briefing is the title, the counts and the list of the most important items
            end = page.evaluate(
                "(() => { const l = document.querySelector('ol'); "
                "return l ? Math.round(l.getBoundingClientRect().bottom) : -1; })()"
            )
            print(f"  {path.name}: {width} px wide, {height} px tall; the briefing ends at {end} px")
            page.close()
        browser.close()


def main(argv: list[str] | None = None) -> int:
    from email.message import EmailMessage

    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.support.mailbox import serve_mailbox
    from tracker.digests.dispatcher import Dispatcher
    from tracker.digests.notifiers import SmtpEmailNotifier
    from tracker.settings import Settings
    from tracker.storage.db import open_engine

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shots", type=Path, default=None, help="save PNGs of the email here")
    parser.add_argument("--model", action="store_true", help="use the embedding model")
    args = parser.parse_args(argv)
    corpus = Path(os.environ.get("TRACKER_CORPUS_DIR", "../shared/corpus"))
    public = "https://tracker.example.org"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), public_url=public)
        engine = open_engine(settings)
        build_world(engine, corpus, lexical_only=not args.model)
        _, feed_token = _subscribe(engine)
        with serve_mailbox() as box:
            Dispatcher(engine, email=SmtpEmailNotifier("127.0.0.1", box.port), public_url=public).run_once()
        msg: EmailMessage = box.messages[0]
        parts = {p.get_content_type(): str(p.get_content()) for p in msg.walk() if not p.is_multipart()}
        print(f"Subject: {msg['Subject']}")
        print(
            f"email as received by SMTP: {len(box.raw[0])} bytes "
            f"(HTML part {len(parts['text/html'].encode())} bytes, "
            f"text part {len(parts['text/plain'].encode())} bytes)"
        )
        client = TestClient(create_app(settings, engine=engine), base_url=public)
        feed = client.get(f"/v1/feeds/{feed_token}.atom").content
        print(f"Atom feed with its one entry: {len(feed)} bytes")
        if args.shots:
            args.shots.mkdir(parents=True, exist_ok=True)
            (args.shots / "email.html").write_text(parts["text/html"], encoding="utf-8")
            shoot(parts["text/html"], args.shots)
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
