#!/usr/bin/env python
"""Attest with the in-circuit binding on: latency and throughput with Groth16
proofs, by number of worker processes (issue 4's performance section).

Usage (repository root, project venv, a PostgreSQL role with CREATEDB)::

    .venv/bin/python bench/attest_proof.py [--pg-url URL] [--n 60] [--workers 1 2]
        [--mode sync|async]

In ``async`` mode the attest processes sign and log without proving and one
extra process (the Celery worker's service, ``billing_proofs_attach``, with
the prover's thread pool) attaches the proofs concurrently; the table adds
its throughput and the issued->attached delay.

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


def _setup_env(url: str, keys: dict[str, str], mode: str = "sync") -> None:
    os.environ.update(keys)
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "MP_READ_DOT_ENV": "0",
            "DJANGO_DEBUG": "false",
            "MP_BILLING_INCIRCUIT_BINDING": "true",
            "MP_BILLING_PROOF_MODE": mode,
            # async: queued tasks go to the in-memory broker, which nobody
            # consumes; the prover process below plays the Celery worker.
            "CELERY_TASK_ALWAYS_EAGER": "false",
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


def worker(
    url: str,
    keys: dict[str, str],
    n: int,
    start: Any,
    out: Any,
    mode: str = "sync",
    batch: int = 1,
) -> None:
    """Warm up, wait for the start signal, attest ``n`` events (in calls of
    ``batch`` events), report per-event latencies (a batch's events share
    its call's latency)."""
    _setup_env(url, keys, mode)
    from billing.models import Tenant
    from billing.services.attest import meter_events_attest
    from circuits.prover import get_prover

    if mode != "async":
        get_prover()
    tenant = Tenant.objects.get(slug="demo")
    meter_events_attest(payloads=[_event(-1)], tenant=tenant)  # warm-up
    start.wait()
    lat = []
    for first in range(0, n, batch):
        payloads = [_event(i) for i in range(first, min(n, first + batch))]
        t0 = time.perf_counter()
        outcomes = meter_events_attest(payloads=payloads, tenant=tenant)
        lat.extend([time.perf_counter() - t0] * len(payloads))
        for outcome in outcomes:
            _check(outcome, mode)
    out.put(lat)


def _check(outcome: Any, mode: str) -> None:
    """Fail the run unless ``outcome`` is attested with the mode's proof state."""
    assert outcome.status == "attested", outcome.error
    assert outcome.bundle is not None and "log" in outcome.bundle
    if mode == "sync":
        assert "billing_proof" in outcome.bundle["attestation"]
    elif mode == "parallel":
        assert outcome.proof_status == "attached"
        assert "billing_proof" in outcome.bundle
    else:
        assert outcome.proof_status == "pending"


def prover_worker(
    url: str, keys: dict[str, str], expected: int, start: Any, out: Any
) -> None:
    """Async mode's Celery worker stand-in: attach proofs to pending bundles
    (``billing_proofs_attach``, the task's service) until ``expected`` bundles
    are attached; report the wall time and issued->attached latencies."""
    _setup_env(url, keys, "async")
    from billing.models import Bundle
    from billing.services.proofs import billing_proofs_attach
    from circuits.prover import get_prover

    get_prover()
    start.wait()
    t0 = time.perf_counter()
    while True:
        done = billing_proofs_attach(limit=16)["attached"]
        attached = Bundle.objects.filter(proof_status="attached").count()
        if attached >= expected:
            break
        if not done:
            time.sleep(0.005)
    wall = time.perf_counter() - t0
    lags = [
        (row.proof_attached_at - row.issued_at).total_seconds()
        for row in Bundle.objects.filter(proof_status="attached").only(
            "issued_at", "proof_attached_at"
        )
    ]
    out.put((wall, lags))


def main() -> None:
    """Run the scenarios and print a Markdown table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--pg-url",
        default=os.environ.get(
            "BENCH_PG_URL", "postgres://bench:bench@127.0.0.1:5432/bench"
        ),
    )
    p.add_argument("--n", type=int, default=60, help="attests per worker")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument(
        "--mode",
        choices=["sync", "parallel", "async"],
        default="sync",
        help="sync: proof inside the signed attestation; parallel: detached proof "
        "computed while signing and logging; async: attest without proof, one "
        "prover process attaches detached proofs concurrently",
    )
    p.add_argument(
        "--batch",
        type=int,
        default=1,
        help="events per meter_events_attest call (the batch API's path)",
    )
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
            from billing.models import Bundle

            Bundle.objects.filter(proof_status="pending").update(proof_status="none")
            connections.close_all()
            start = ctx.Event()
            out = ctx.Queue()
            proofs_out = ctx.Queue()
            procs = [
                ctx.Process(
                    target=worker,
                    args=(url, keys, args.n, start, out, args.mode, args.batch),
                )
                for _ in range(count)
            ]
            already = Bundle.objects.filter(proof_status="attached").count()
            connections.close_all()
            if args.mode == "async":
                # warm-up attests (one per worker) are attached too
                expected = already + count * (args.n + 1)
                procs.append(
                    ctx.Process(
                        target=prover_worker,
                        args=(url, keys, expected, start, proofs_out),
                    )
                )
            for proc in procs:
                proc.start()
            time.sleep(8)  # let every worker load its proving key and warm up
            t0 = time.perf_counter()
            start.set()
            lat: list[float] = []
            for _ in range(count):
                lat += out.get(timeout=600)
            wall = time.perf_counter() - t0
            proof_cols = ""
            if args.mode == "async":
                proof_wall, lags = proofs_out.get(timeout=600)
                lags.sort()
                proof_cols = (
                    f" {len(lat) / proof_wall:.1f} | {lags[len(lags) // 2] * 1e3:.0f} |"
                    f" {lags[int(len(lags) * 0.95)] * 1e3:.0f} |"
                )
            for proc in procs:
                proc.join()
            lat.sort()
            rows.append(
                f"| {args.mode} | {args.batch} | {count} | {len(lat)} | {lat[len(lat) // 2] * 1e3:.0f} | "
                f"{lat[int(len(lat) * 0.95)] * 1e3:.0f} | {statistics.fmean(lat) * 1e3:.0f} | "
                f"{len(lat) / wall:.1f} |{proof_cols}"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    finally:
        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if args.mode == "async":
        print(
            "| mode | events/call | attest processes | attests | p50 ms | p95 ms | mean ms | attests/s "
            "| proofs/s (all attached) | issued->attached p50 ms | p95 ms |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    else:
        print(
            "| mode | events/call | worker processes | attests | p50 ms (per call) "
            "| p95 ms | mean ms | attests/s |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
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
