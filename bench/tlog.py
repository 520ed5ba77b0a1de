#!/usr/bin/env python
"""Transparency-log benchmark: append throughput and proof cost from 10^3 to
10^6 leaves on PostgreSQL (issue 3's performance section).

Usage (repository root, project venv, a PostgreSQL role with CREATEDB)::

    .venv/bin/python bench/tlog.py [--pg-url postgres://bench:bench@127.0.0.1:5432/bench]
                                   [--leaves 1000000] [--batch 1000] [--out FILE]

A fresh database is created (and dropped at the end unless ``--keep``), then
migrated. Leaves are attestation-sized (``--leaf-bytes``, default 1,700 bytes,
the size of a real ``vdi-billing/2`` attestation in JCS) and go the production
path: ``QueuedEntry`` rows committed in batches, then one ``log_integrate``
round per batch (sequencing, full-subtree hashes, the move into ``LogEntry``
inside the database, one signed checkpoint). At each decade the script samples
inclusion and consistency proofs through the same selectors the API uses.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pct(samples: list[float], q: float) -> float:
    """Percentile ``q`` (0..100), linear interpolation between closest ranks."""
    s = sorted(samples)
    pos = (len(s) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def create_database(pg_url: str) -> tuple[str, str]:
    """Create a fresh database with the role of ``pg_url``; return (url, name)."""
    import psycopg

    name = f"mp_tlog_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(pg_url)
    return urlunsplit(parts._replace(path=f"/{name}")), name


def drop_database(pg_url: str, name: str) -> None:
    """Drop the bench database."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def main() -> None:
    """Build the log decade by decade and print a Markdown report."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--pg-url",
        default=os.environ.get(
            "BENCH_PG_URL", "postgres://bench:bench@127.0.0.1:5432/bench"
        ),
    )
    p.add_argument("--leaves", type=int, default=1_000_000)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--leaf-bytes", type=int, default=1700)
    p.add_argument("--samples", type=int, default=300)
    p.add_argument("--out", default=None)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()

    url, name = create_database(args.pg_url)
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "MP_READ_DOT_ENV": "0",
            "DJANGO_DEBUG": "false",
        }
    )
    try:
        report = run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(args.pg_url, name)
    print(report)
    if args.out:
        Path(args.out).write_text(report + "\n")


def run(args: argparse.Namespace) -> str:
    """Do the measurements; return the Markdown report."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from transparency.models import QueuedEntry
    from transparency.protocol.merkle import leaf_hash
    from transparency.protocol.note import NoteSigner, generate_key
    from transparency.selectors import (
        checkpoint_list,
        consistency_proof_get,
        inclusion_proof_get,
        log_evidence_list,
    )
    from transparency.services import log_integrate

    call_command("migrate", verbosity=0)
    signer = NoteSigner.from_skey(generate_key("bench.example/log")[0])
    pad = "x" * max(0, args.leaf_bytes - 60)
    rng = random.Random(9162)
    decades = [10**k for k in range(3, 7) if 10**k <= args.leaves]
    rows: list[dict[str, Any]] = []
    size = 0
    segment_start = time.perf_counter()
    segment_leaves = 0
    batch_times: list[float] = []
    for target in decades:
        while size < target:
            count = min(args.batch, target - size)
            datas = [f'{{"n":{size + k},"pad":"{pad}"}}'.encode() for k in range(count)]
            t0 = time.perf_counter()
            with transaction.atomic():
                QueuedEntry.objects.bulk_create(
                    [
                        QueuedEntry(leaf_hash=leaf_hash(d).hex(), data=d.decode())
                        for d in datas
                    ]
                )
            result = log_integrate(
                signer=signer, origin="bench.example/log", max_batch=args.batch
            )
            batch_times.append(time.perf_counter() - t0)
            assert result is not None and result.tree_size == size + count
            size += count
            segment_leaves += count
        segment_wall = time.perf_counter() - segment_start
        # Proof sampling at this size (the API's selectors: SQL + hashing).
        signed = [c.tree_size for c in checkpoint_list().only("tree_size")]
        inc: list[float] = []
        con: list[float] = []
        evi: list[float] = []
        inc_len: list[int] = []
        con_len: list[int] = []
        for _ in range(args.samples):
            index = rng.randrange(size)
            t0 = time.perf_counter()
            proof, _ = inclusion_proof_get(leaf_index=index)
            inc.append(time.perf_counter() - t0)
            inc_len.append(len(proof))
            first = rng.choice(signed)
            t0 = time.perf_counter()
            cproof, _, _ = consistency_proof_get(first=first)
            con.append(time.perf_counter() - t0)
            con_len.append(len(cproof))
        with connection.cursor() as cur:
            cur.execute(
                "SELECT leaf_hash FROM transparency_logentry ORDER BY random() LIMIT 50"
            )
            sample_hashes = [r[0] for r in cur.fetchall()]
        for h in sample_hashes:
            t0 = time.perf_counter()
            log_evidence_list(leaf_hashes=[h])
            evi.append(time.perf_counter() - t0)
        with connection.cursor() as cur:
            cur.execute("SELECT pg_database_size(current_database())")
            db_bytes = cur.fetchone()[0]
        rows.append(
            {
                "size": size,
                "append_per_s": segment_leaves / segment_wall,
                "batch_p50_ms": pct(batch_times, 50) * 1e3,
                "inc_p50": pct(inc, 50) * 1e3,
                "inc_p95": pct(inc, 95) * 1e3,
                "inc_len_max": max(inc_len),
                "con_p50": pct(con, 50) * 1e3,
                "con_p95": pct(con, 95) * 1e3,
                "con_len_max": max(con_len),
                "evidence_p50": pct(evi, 50) * 1e3,
                "log2": math.ceil(math.log2(size)),
                "db_mb": db_bytes / 2**20,
            }
        )
        print(f"  {size:>9,} leaves: {rows[-1]}", file=sys.stderr, flush=True)
        segment_start = time.perf_counter()
        segment_leaves = 0
        batch_times = []

    lines = [
        f"| leaves | append leaves/s (batches of {args.batch}) | batch p50 ms | inclusion p50 / p95 ms | "
        "consistency p50 / p95 ms | proof hashes (max incl. / cons.) | ⌈log2 n⌉ | bundle evidence p50 ms | DB size MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']:,} | {r['append_per_s']:,.0f} | {r['batch_p50_ms']:.0f} | "
            f"{r['inc_p50']:.2f} / {r['inc_p95']:.2f} | {r['con_p50']:.2f} / {r['con_p95']:.2f} | "
            f"{r['inc_len_max']} / {r['con_len_max']} | {r['log2']} | {r['evidence_p50']:.2f} | "
            f"{r['db_mb']:,.0f} |"
        )
    overall = statistics.fmean(r["append_per_s"] for r in rows)
    lines.append("")
    lines.append(
        f"Leaves of {args.leaf_bytes} bytes; append rate per decade segment (mean of segments "
        f"{overall:,.0f}/s); {args.samples} random proofs per size against the latest checkpoint "
        "(consistency from a random signed size)."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
