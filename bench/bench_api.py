"""Benchmark: the impact query through a running server (``python -m bench.bench_api``).

Seeds a database with an organisation holding 1,000 controls and a stored impact (a diff
of 400 changed requirements, about 1,600 worklist lines), starts uvicorn on loopback, and
drives ``GET /v1/orgs/{org}/impact`` at concurrency 32 with a bounded load generator (a
fixed number of requests after a warm-up, over keep-alive connections). Prints p50, p99 and
requests per second, and whether the target (p99 under 50 ms) was met.

The load generator runs in this process, on the same machine as the server, so the CPU it
uses is taken from the server and shows up in the measured latency. The default client
(``--client raw``) is a minimal HTTP/1.1 client on asyncio streams that reads each response
in full and checks its status; ``--client httpx`` is the httpx AsyncClient, which costs
several times the server's own CPU per 35 KB response and so mostly measures itself on a
2-core machine. ``--workers`` sets uvicorn's worker processes; ``--server-cpus`` and
``--client-cpus`` pin the two sides (taskset syntax). If ``wrk`` is installed (``apt-get
install wrk``) the same query is also driven with it for a fixed time. The load average is
printed too: other processes on the machine share its CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

from tracker.diff.types import ENGINE_VERSION, Change, DiffResult, Kind, Tag
from tracker.domain.keys import normalise_key
from tracker.domain.model import ParsedVersion, Requirement, Source
from tracker.impact.model import Action, AffectedControl, ImpactItem, StoredImpact
from tracker.impact.service import store_impact
from tracker.mapping.types import Control
from tracker.storage.api_keys import ApiKeys, Scope
from tracker.storage.archive import Archive
from tracker.storage.controls import ControlStore
from tracker.storage.db import make_engine, upgrade
from tracker.storage.diffs import DiffStore
from tracker.storage.orgs import OrgStore

ORG = "bench-org"
CONTROLS = 1000
REQUIREMENTS = 600
CHANGED = 400


def _req(i: int, text: str) -> Requirement:
    ident = f"B-{i}"
    return Requirement(ident=ident, key=normalise_key(ident), title=f"Requirement {i}", statement=text)


def seed(url: str) -> str:
    """Archive two versions, store their diff and the organisation's impact; return a read key."""
    engine = make_engine(url)
    upgrade(engine)
    source = Source(slug="bench-std", title="Benchmark standard")
    archive = Archive(engine)
    for label, published, verb in (("v1", date(2024, 1, 1), "should"), ("v2", date(2025, 1, 1), "shall")):
        reqs = tuple(_req(i, f"Operators {verb} do thing {i}.") for i in range(REQUIREMENTS))
        archive.add_version(
            source,
            label,
            [(f"{label}.txt", label.encode())],
            ParsedVersion(parser="bench", parser_version="1", title="Bench", requirements=reqs),
            published=published,
        )
    rng = random.Random(7)
    changes = tuple(
        Change(
            Kind.MODIFIED,
            (f"B-{i}",),
            (f"B-{i}",),
            substantive=True,
            tags=(Tag.OBLIGATION_STRENGTHENED,),
        )
        for i in range(CHANGED)
    )
    diff = DiffStore(engine).save(DiffResult("bench-std", "v1", "v2", ENGINE_VERSION, None, changes))
    orgs = OrgStore(engine)
    org = orgs.create(ORG, "Benchmark organisation")
    ControlStore(engine).import_controls(
        ORG,
        [Control(id=f"CTL-{n}", title=f"Control {n}", tags=("bench",)) for n in range(CONTROLS)],
        origin="bench",
    )
    items = []
    for seq, change in enumerate(changes):
        picked = rng.sample(range(CONTROLS), 4)
        controls = tuple(
            AffectedControl(f"CTL-{n}", Action.REASSESS, round(rng.random(), 4), "mapped") for n in picked
        )
        items.append(ImpactItem(seq, change, Action.REASSESS, "obligation strengthened", controls))
    store_impact(engine, StoredImpact.of(ORG, diff.id, diff.result, items))
    token = ApiKeys(engine).create(Scope.READ, org.id, "bench")[1]
    engine.dispose()
    return token


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int, workers: int, cpus: str = "") -> subprocess.Popen[bytes]:
    env = dict(os.environ, TRACKER_DATABASE_URL=url)
    pin = ["taskset", "-c", cpus] if cpus else []
    command = [*pin,
        sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
        # a loaded machine can delay a worker's answer to the supervisor's ping; do not let
        # the supervisor kill and restart it mid-run
        "--timeout-worker-healthcheck", "120",
    ]  # fmt: skip
    proc = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise SystemExit(f"uvicorn exited with {proc.returncode}")
    proc.terminate()
    raise SystemExit("uvicorn did not start within 60 s")


PATHS = (
    f"/v1/orgs/{ORG}/impact?since=2020-01-01&limit=100",
    f"/v1/orgs/{ORG}/impact?action=reassess&limit=50",
    f"/v1/orgs/{ORG}/impact?control=CTL-17",
)


async def drive_httpx(
    base: str, token: str, requests: int, concurrency: int, warmup: int
) -> tuple[list[float], float]:
    """``requests`` timed requests from ``concurrency`` workers over keep-alive connections."""
    paths = PATHS
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:

        async def warm(i: int) -> None:
            (await client.get(paths[i % len(paths)])).raise_for_status()

        await asyncio.gather(*(warm(i) for i in range(warmup)))  # concurrent: reaches every worker
        latencies: list[float] = []
        counter = iter(range(requests))

        async def worker() -> None:
            for i in counter:
                started = time.perf_counter()
                response = await client.get(paths[i % len(paths)])
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"unexpected {response.status_code}: {response.text[:200]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, time.perf_counter() - started


async def drive_raw(
    base: str, token: str, requests: int, concurrency: int, warmup: int
) -> tuple[list[float], float]:
    """The same load as :func:`drive_httpx` from a minimal HTTP/1.1 keep-alive client on
    asyncio streams: one connection per worker, each response read in full (by its
    Content-Length) and its status checked. httpx spends several times the server's own CPU
    per 35 KB response, and on a 2-core machine that CPU is taken from the server."""
    host, port = base.removeprefix("http://").split(":")
    wire = [
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
        ).encode()
        for path in PATHS
    ]

    async def get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, i: int) -> None:
        writer.write(wire[i % len(wire)])
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = -1
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length < 0:
            raise SystemExit(f"response without Content-Length: {head[:200]!r}")
        body = await reader.readexactly(length)
        if status != 200:
            raise SystemExit(f"unexpected {status}: {body[:200]!r}")

    connections = [await asyncio.open_connection(host, int(port)) for _ in range(concurrency)]
    warm_counter = iter(range(warmup))
    latencies: list[float] = []
    counter = iter(range(requests))

    async def warm(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for i in warm_counter:
            await get(reader, writer, i)

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for i in counter:
            started = time.perf_counter()
            await get(reader, writer, i)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(warm(r, w) for r, w in connections))
    started = time.perf_counter()
    await asyncio.gather(*(worker(r, w) for r, w in connections))
    elapsed = time.perf_counter() - started
    for _, writer in connections:
        writer.close()
    return latencies, elapsed


def run_wrk(base: str, token: str, concurrency: int, seconds: int) -> list[str]:
    """The same query with wrk (C, far lighter than the Python client), when it is installed."""
    url = f"{base}/v1/orgs/{ORG}/impact?since=2020-01-01&limit=100"
    command = [
        "wrk",
        "-t2",
        f"-c{concurrency}",
        f"-d{seconds}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    # by line start: "50%" also occurs inside the thread-statistics line ("72.50%")
    keep = ("50%", "99%", "Requests/sec", "Non-2xx", "Socket errors")
    lines = [line.strip() for line in out.splitlines()]
    return [line for line in lines if line.startswith(keep) or " requests in " in line]


def _cpu_list(spec: str) -> set[int]:
    """``"0,2-3"`` -> ``{0, 2, 3}`` (the taskset -c syntax)."""
    cpus: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: a minimal asyncio HTTP/1.1 client (default) or httpx",
    )
    parser.add_argument("--server-cpus", default="", help="pin uvicorn to these CPUs (taskset -c list)")
    parser.add_argument("--client-cpus", default="", help="pin the load generator to these CPUs")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument(
        "--wrk-seconds", type=int, default=10, help="also run wrk this long if installed (0: no)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        t0 = time.perf_counter()
        token = seed(url)
        took = time.perf_counter() - t0
        print(f"seeded {CONTROLS} controls, {CHANGED} changes, {CHANGED * 4} impact lines in {took:.1f} s")
        port = _free_port()
        server = start_server(url, port, args.workers, args.server_cpus)
        if args.client_cpus:
            os.sched_setaffinity(0, _cpu_list(args.client_cpus))
        drive = drive_raw if args.client == "raw" else drive_httpx
        try:
            base = f"http://127.0.0.1:{port}"
            latencies, elapsed = asyncio.run(drive(base, token, args.requests, args.concurrency, warmup=200))
            wrk = (
                run_wrk(base, token, args.concurrency, args.wrk_seconds)
                if args.wrk_seconds and shutil.which("wrk")
                else []
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    rps = len(latencies) / elapsed
    pinned = (
        f", server on CPU {args.server_cpus or 'any'}, client on CPU {args.client_cpus or 'any'}"
        if args.server_cpus or args.client_cpus
        else ""
    )
    print(
        f"impact query, {len(latencies)} requests, concurrency {args.concurrency}, "
        f"{args.workers} uvicorn worker(s), {os.cpu_count()} CPU(s){pinned}"
    )
    met = "met" if p99 < 50 else "NOT met"
    print(
        f"{args.client}: p50 {p50:.1f} ms  p99 {p99:.1f} ms  {rps:.0f} requests/s  "
        f"(target p99 < 50 ms: {met})"
    )
    if wrk:
        print(f"wrk, {args.wrk_seconds} s, same query: " + " | ".join(wrk))
    load = os.getloadavg()
    print(f"machine load average during the run: {load[0]:.1f} (other processes share these CPUs)")


if __name__ == "__main__":
    main()
