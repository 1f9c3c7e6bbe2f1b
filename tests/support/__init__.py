"""Shared test factories and fixture modules (not collected: no module here is named test_*).

- ``factories``: requirements and parsed versions, filled in as parsers fill them;
- ``golden_cases``: the hand-made diff fixtures of ``tests/fixtures/diff``;
- ``api_world``: a seeded database (two versions, organisations, keys) and an API client;
- ``pages_world``: the OWASP corpus versions behind the review pages, and page sign-in;
- ``loopback``: publisher sites on a loopback HTTP server, for spiders and the scheduler;
- ``webhook_receiver``: a real webhook receiver (and proxy) on loopback;
- ``mapping``: a small control set and a deterministic bag-of-words embedder.
"""
