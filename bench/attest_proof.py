#!/usr/bin/env python
"""Attest with the in-circuit binding on: latency and throughput with Groth16
proofs, by number of worker processes (issue 4's performance section).

Usage (repository root, project venv, a PostgreSQL role with CREATEDB)::

    .venv/bin/python bench/attest_proof.py [--pg-url URL] [--n 60] [--workers 1 2]

A fresh PostgreSQL database, fresh keys and the demo tenant/tariff; each
worker process runs ``meter_event_attest`` (the API's service: replay guard,
pricing, proving, signing, queueing, group-commit sequencing, evidence) on
its own events. The prover is warmed (proving key loaded from its cache)
before timing. Latency is per attest; throughput is all workers' attests over
the wall time of the timed phase.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup_env(url: str, keys: dict[str, str]) -> None:
    os.environ.update(keys)
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "MP_READ_DOT_ENV": "0",
            "DJANGO_DEBUG": "false",
            "VDI_BILLING_INCIRCUIT_BINDING": "true",
        }
    )
    import django

    django.setup()


def _event(i: int) -> dict[str, Any]:
    from datetime import UTC, datetime

    now = datetime.now(UTC).replace(microsecond=0)
    return {
        "tenant": "demo",
        "event_id": f"bench-{uuid.uuid4().hex}-{i}",
        "window": now.strftime("%Y-%m"),
        "metric": "api_requests",
        "quantity": 1,
        "occurred_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "attributes": {"route": "/v1/bench"},
    }


def worker(url: str, keys: dict[str, str], n: int, start: Any, out: Any) -> None:
    """Warm up, wait for the start signal, attest ``n`` events, report latencies."""
    _setup_env(url, keys)
    from billing.models import Tenant
    from billing.services.attest import meter_event_attest
    from circuits.prover import get_prover

    get_prover()
    tenant = Tenant.objects.get(slug="demo")
    meter_event_attest(payload=_event(-1), tenant=tenant)  # warm-up
    start.wait()
    lat = []
    for i in range(n):
        t0 = time.perf_counter()
        outcome = meter_event_attest(payload=_event(i), tenant=tenant)
        lat.append(time.perf_counter() - t0)
        assert "billing_proof" in outcome.bundle["attestation"]
        assert "log" in outcome.bundle
    out.put(lat)


def main() -> None:
    """Run the scenarios and print a Markdown table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgres://bench:bench@127.0.0.1:5432/bench"),
    )
    p.add_argument("--n", type=int, default=60, help="attests per worker")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = p.parse_args()

    import psycopg

    name = f"mp_proof_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(args.pg_url)._replace(path=f"/{name}"))
    try:
        keys = _keys()
        _setup_env(url, keys)
        from django.core.management import call_command
        from django.db import connections

        from billing.services.demo import demo_seed

        call_command("migrate", verbosity=0)
        demo_seed()
        connections.close_all()
        rows = []
        ctx = mp.get_context("spawn")
        for count in args.workers:
            start = ctx.Event()
            out = ctx.Queue()
            procs = [
                ctx.Process(target=worker, args=(url, keys, args.n, start, out))
                for _ in range(count)
            ]
            for proc in procs:
                proc.start()
            time.sleep(8)  # let every worker load its proving key and warm up
            t0 = time.perf_counter()
            start.set()
            lat: list[float] = []
            for _ in procs:
                lat += out.get(timeout=600)
            wall = time.perf_counter() - t0
            for proc in procs:
                proc.join()
            lat.sort()
            rows.append(
                f"| {count} | {len(lat)} | {lat[len(lat) // 2] * 1e3:.0f} | "
                f"{lat[int(len(lat) * 0.95)] * 1e3:.0f} | {statistics.fmean(lat) * 1e3:.0f} | "
                f"{len(lat) / wall:.1f} |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    finally:
        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print("| worker processes | attests | p50 ms | p95 ms | mean ms | attests/s |")
    print("|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


def _keys() -> dict[str, str]:
    """Generate fresh keys with ``manage.py billing_keys`` into a temp env file."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        env_file = Path(tmp) / "keys.env"
        subprocess.run(
            [sys.executable, "manage.py", "billing_keys", "--env-file", str(env_file)],
            cwd=ROOT,
            check=True,
            capture_output=True,
            env={**os.environ, "MP_READ_DOT_ENV": "0"},
        )
        keys = {}
        for line in env_file.read_text().splitlines():
            if not line.strip() or line.lstrip().startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                v = v[1:-1]
            keys[k.strip()] = v
        return keys


if __name__ == "__main__":
    main()
