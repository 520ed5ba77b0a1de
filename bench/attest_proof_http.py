#!/usr/bin/env python
"""Attest with Groth16 proofs over HTTP: gunicorn process and thread layouts.

Usage (repository root, project venv with the bench extras, a PostgreSQL role
with CREATEDB)::

    .venv/bin/python bench/attest_proof_http.py [--pg-url URL] [--n 200]
        [--mode sync|parallel|async] [--layouts 2x1 1x4 2x2] [--concurrency 4]

A fresh PostgreSQL database, fresh keys, the demo tenant and tariff and an API
key; for each layout ``WxT`` gunicorn runs W workers with T threads each
(``gthread`` when T > 1, else ``sync``) with ``MP_BILLING_INCIRCUIT_BINDING``
on, warmed up with one request per thread (each worker loads the cached
proving key once), then ``--concurrency`` client threads send ``--n``
single-event ``POST /api/vdi/billing/attest`` requests. Every answer must be
201 with a proof in the mode's place. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from attest_proof import _event, _keys  # noqa: E402
from run import PY, base_env, free_port, http_load  # noqa: E402


def _has_proof(mode: str) -> Any:
    """Return ``check(data) -> 1|0`` for ``http_load``: the bundle carries its
    proof where ``mode`` puts it (``async`` answers are ``pending``)."""

    def check(data: bytes) -> int:
        bundle = json.loads(data)
        if mode == "sync":
            return int("billing_proof" in bundle["attestation"])
        if mode == "parallel":
            return int("billing_proof" in bundle)
        return int("log" in bundle)

    return check


def _gunicorn(
    env: dict[str, str], workers: int, threads: int, log: Path
) -> tuple[Any, int]:
    port = free_port()
    worker_class = (
        ["--worker-class", "gthread", "--threads", str(threads)]
        if threads > 1
        else [
            "--worker-class",
            "sync",
        ]
    )
    proc = subprocess.Popen(
        [
            str(Path(PY).parent / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            *worker_class,
            "--backlog",
            "256",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/.well-known/vdi-billing-trust.json")
            if conn.getresponse().status == 200:
                conn.close()
                return proc, port
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"gunicorn did not come up; see {log}")


def main() -> None:
    """Run every layout and print the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--pg-url",
        default=os.environ.get(
            "BENCH_PG_URL", "postgres://bench:bench@127.0.0.1:5432/bench"
        ),
    )
    p.add_argument("--n", type=int, default=200, help="timed requests per layout")
    p.add_argument("--mode", choices=["sync", "parallel", "async"], default="sync")
    p.add_argument("--layouts", nargs="+", default=["2x1", "1x4", "2x2"])
    p.add_argument("--concurrency", type=int, default=4)
    args = p.parse_args()

    import psycopg

    name = f"mp_proof_http_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(args.pg_url)._replace(path=f"/{name}"))
    workdir = Path("/tmp") / name
    workdir.mkdir()
    rows = []
    try:
        keys = _keys()
        env = base_env(keys, url)
        env.update(
            {
                "MP_BILLING_INCIRCUIT_BINDING": "true",
                "MP_BILLING_PROOF_MODE": args.mode,
                "CELERY_TASK_ALWAYS_EAGER": "false",
            }
        )
        setup = (
            "from billing.services.demo import demo_seed; demo_seed()\n"
            "from billing.models import Tenant\n"
            "from billing.services.tenants import api_key_issue\n"
            "print(api_key_issue(tenant=Tenant.objects.get(slug='demo'), name='bench').secret)"
        )
        subprocess.run(
            [PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
        )
        secret = (
            subprocess.run(
                [PY, "manage.py", "shell", "-c", setup],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        headers = {
            "Authorization": f"Bearer {secret}",
            "Content-Type": "application/json",
        }
        counter = [0]

        def bodies(k: int) -> list[bytes]:
            out = []
            for _ in range(k):
                counter[0] += 1
                out.append(json.dumps(_event(counter[0])).encode())
            return out

        for layout in args.layouts:
            workers, threads = (int(x) for x in layout.split("x"))
            proc, port = _gunicorn(
                env, workers, threads, workdir / f"gunicorn-{layout}.log"
            )
            try:
                warm, _ = http_load(
                    port,
                    "/api/vdi/billing/attest",
                    bodies(workers * threads * 3),
                    headers,
                    workers * threads,
                    120,
                    201,
                )
                assert not warm["errors"], warm["errors"]
                res, _ = http_load(
                    port,
                    "/api/vdi/billing/attest",
                    bodies(args.n),
                    headers,
                    args.concurrency,
                    600,
                    201,
                    check=_has_proof(args.mode),
                )
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(30)
            assert not res["errors"], res["errors"]
            rows.append(
                f"| {args.mode} | {workers} × {threads} | {args.concurrency} | {res['n']} | "
                f"{res['p50_ms']:.0f} | {res['p95_ms']:.0f} | {res['throughput']:.1f} |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    finally:
        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(
        "| mode | gunicorn workers × threads | clients | requests | p50 ms | p95 ms | attests/s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
