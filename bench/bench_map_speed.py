"""Cold and warm `tracker map` (and optionally `tracker impact`) as a user runs them; prints figures.

Run: ``.venv/bin/python -m bench.bench_map_speed [--precision bf16 fp32] [--impact]``

For each precision a fresh temporary archive is made (SQLite; CSF 2.0 and SP 800-53 Rev 5
OSCAL 5.0.1 ingested, which is not timed), then the CLI runs in a subprocess:

- ``cold``: ``tracker map --from nist-csf@2.0 --to nist-sp-800-53@rev5-oscal-5.0.1-2021-06``
  on the empty vector cache (model load + every text the ranking needs);
- ``warm``: the same command again (vectors from the cache);
- with ``--impact``: CSF 1.1 is ingested too, an organisation adopts the MODERATE baseline,
  and ``tracker impact ORG nist-csf 1.1 2.0`` runs cold (diff + mapping embeddings) and warm.

Each line gives wall time, CPU time (user + system of the child, from ``wait4``), peak
resident memory (``ru_maxrss`` of the child) and the one-minute load average before and
after: the machine is shared, so wall time depends on the load and CPU time is
the steadier figure. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_diff_common import corpus_dir, log

CSF2 = ("nist-csf", "2.0")
CSF1 = ("nist-csf", "1.1")
SP = ("nist-sp-800-53", "rev5-oscal-5.0.1-2021-06")


def _run(args: list[str], env: dict[str, str], label: str) -> None:
    """Run the CLI once; print wall, CPU, peak memory and load."""
    before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracker.cli.main", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    after = os.getloadavg()[0]
    if proc.returncode != 0:
        log(err.decode("utf-8", "replace")[-2000:])
        raise SystemExit(f"{label}: exit {proc.returncode}")
    cpu = usage.ru_utime + usage.ru_stime
    print(
        f"{label:18} wall {wall:6.1f} s  cpu {cpu:6.1f} s  peak {usage.ru_maxrss / 1024:6.0f} MB"
        f"  load {before:5.2f} -> {after:5.2f}",
        flush=True,
    )


def _ingest(env: dict[str, str], source: tuple[str, str]) -> None:
    folder = corpus_dir() / source[0] / source[1]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tracker.cli.main",
            "ingest",
            str(folder),
            "--source",
            source[0],
            "--version",
            source[1],
        ],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", nargs="+", default=["bf16"], choices=["bf16", "fp32"])
    parser.add_argument("--threads", type=int, default=0, help="TRACKER_EMBED_THREADS (0: automatic)")
    parser.add_argument("--impact", action="store_true", help="also time a cold and a warm CSF impact")
    args = parser.parse_args(argv)
    if not (corpus_dir() / CSF2[0] / CSF2[1]).is_dir():
        log(f"corpus not found at {corpus_dir()}; set TRACKER_CORPUS_DIR")
        return 1
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}", flush=True)
    root = Path(__file__).resolve().parent.parent
    for precision in args.precision:
        with tempfile.TemporaryDirectory(prefix="bench-map-speed-") as tmp:
            # PYTHONDONTWRITEBYTECODE is dropped so the untimed ingests leave compiled modules,
            # as an installed package has them; otherwise every timed run recompiles the source
            env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith("TRACKER_") and k != "PYTHONDONTWRITEBYTECODE"
            }
            env |= {
                "TRACKER_DATA_DIR": tmp,
                "TRACKER_CORPUS_DIR": str(corpus_dir()),
                "TRACKER_EMBED_PRECISION": precision,
                "TRACKER_EMBED_THREADS": str(args.threads),
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH", "")])),
            }
            for source in (CSF2, SP) + ((CSF1,) if args.impact else ()):
                _ingest(env, source)
            mapping = ["map", "--from", "nist-csf@2.0", "--to", f"{SP[0]}@{SP[1]}"]
            _run(mapping, env, f"map cold {precision}")
            _run(mapping, env, f"map warm {precision}")
            if args.impact:
                subprocess.run(
                    [sys.executable, "-m", "tracker.cli.main", "org", "create", "bench"],
                    env=env,
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "tracker.cli.main",
                        "controls",
                        "import",
                        "bench",
                        "--catalog",
                        f"{SP[0]}@{SP[1]}",
                        "--profile",
                        "MODERATE",
                    ],
                    env=env,
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                impact = ["impact", "bench", "nist-csf", "1.1", "2.0"]
                _run(impact, env, f"impact cold {precision}")
                _run(impact, env, f"impact warm {precision}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
