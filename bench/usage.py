#!/usr/bin/env python
"""Usage-query benchmark: ``GET /api/vdi/billing/usage`` at a million events
of one tenant on PostgreSQL (issue 12, "Usage for tenants").

Usage (repository root, project venv, a PostgreSQL role with CREATEDB)::

    .venv/bin/python bench/usage.py [--pg-url postgres://meterproof:meterproof@127.0.0.1:5432/meterproof]
                                    [--n 1000000] [--other 100000] [--runs 5] [--out FILE]

A fresh database ``mp_usage_<hex>`` is created, migrated and dropped at the
end (``--keep`` keeps it). The demo tenant and tariff come from
``demo_seed()``; then ``--n`` meter events of tenant ``demo``, metric
``api_requests``, spread evenly over the twelve billing windows of 2025, and
their bundles are written with ``bulk_create`` (not through attest: the
bench measures the read). Rows are realistic: attributes as the access-log
import writes them, a 64-hex ``meter_hash``/``leaf_hash``/``fingerprint``,
and a bundle ``document`` of about 2,000 bytes of which a third is random
(base64 signatures and hashes do not compress). ``--other`` events of a
second tenant and ``--other`` events of a second metric of ``demo`` share
the tables, so the index must select. ``VACUUM ANALYZE`` follows the load,
as autovacuum would.

Timed: ``billing.selectors_usage.usage_summary_get`` (the API's whole
database work and grouping; the view adds parsing and JSON) for each
``group_by`` over one month (2025-06) and over the whole year (``hour`` is
capped at 31 days, so only the month), ``--runs`` times after one warm-up,
median and max. The plan is ``EXPLAIN (ANALYZE, BUFFERS)`` of the captured
SQL. Finally, with ``--compare`` (default on), both usage indexes are
dropped and the day queries timed again: what the indexes buy.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2026, 1, 1, tzinfo=UTC)
MONTH = (datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC))
BATCH = 5_000


def create_database(pg_url: str) -> tuple[str, str]:
    """Create a fresh database with the role of ``pg_url``; return (url, name)."""
    import psycopg

    name = f"mp_usage_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(pg_url)
    return urlunsplit(parts._replace(path=f"/{name}")), name


def drop_database(pg_url: str, name: str) -> None:
    """Drop the bench database."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    """Seed, measure and print a Markdown report."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--pg-url",
        default=os.environ.get(
            "BENCH_PG_URL",
            "postgres://meterproof:meterproof@127.0.0.1:5432/meterproof",
        ),
    )
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--other", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--out", default=None)
    p.add_argument("--keep", action="store_true")
    p.add_argument("--no-compare", dest="compare", action="store_false")
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


def _document(rng: random.Random, receipt_id: str, quantity: int) -> str:
    """A bundle-sized JSON text (about 2,000 bytes; a third incompressible)."""
    noise = base64.urlsafe_b64encode(rng.randbytes(480)).decode()
    pad = "x" * 1000
    return (
        f'{{"attestation":{{"format":"vdi-billing/2","receipt_id":"{receipt_id}",'
        f'"meter_event":{{"tenant":"demo","metric":"api_requests",'
        f'"quantity":{quantity},"attributes":{{"route":"/v1/search"}}}},'
        f'"tariff":{{"tariff_id":"api-requests","version":1}},'
        f'"charge":{{"amount_minor":{quantity * 2},"currency":"USD"}},'
        f'"sig":"{noise}"}},"log":{{"origin":"bench.example/log","pad":"{pad}"}}}}'
    )


def seed(
    *, tenant: Any, version: Any, metric: str, count: int, rng: random.Random
) -> None:
    """``bulk_create`` ``count`` events of ``tenant``/``metric`` over 2025 and
    their bundles, in batches of :data:`BATCH`."""
    from django.db import transaction

    from billing.models import Bundle, MeterEvent

    span = (YEAR_END - YEAR_START).total_seconds()
    step = span / count
    for first in range(0, count, BATCH):
        events = []
        for i in range(first, min(first + BATCH, count)):
            at = YEAR_START + timedelta(seconds=int(i * step + rng.random() * step))
            events.append(
                MeterEvent(
                    tenant=tenant,
                    event_id=uuid.UUID(int=rng.getrandbits(128)).hex,
                    window=at.strftime("%Y-%m"),
                    metric=metric,
                    quantity=rng.randint(1, 10),
                    occurred_at=at,
                    attributes={"route": "/v1/search", "method": "GET", "status": 200},
                    meter_kid=rng.randbytes(32).hex()[:43],
                    meter_hash=rng.randbytes(32).hex(),
                )
            )
        with transaction.atomic():
            MeterEvent.objects.bulk_create(events)
            Bundle.objects.bulk_create(
                [
                    Bundle(
                        receipt_id=(rid := uuid.UUID(int=rng.getrandbits(128)).hex),
                        tenant=tenant,
                        meter_event=e,
                        tariff_version=version,
                        leaf_hash=rng.randbytes(32).hex(),
                        amount_minor=e.quantity * 2,
                        currency="USD",
                        fingerprint=rng.randbytes(32).hex(),
                        document=_document(rng, rid, e.quantity),
                        issued_at=e.occurred_at,
                    )
                    for e in events
                ]
            )


def run(args: argparse.Namespace) -> str:
    """Seed, time the usage query per grouping and range; return Markdown."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing.models import MeterEvent
    from billing.selectors_usage import usage_summary_get
    from billing.services.demo import demo_seed
    from billing.services.tenants import tenant_create

    call_command("migrate", verbosity=0)
    tenant, version = demo_seed()
    other_tenant = tenant_create(slug="other", name="Other", tariff=version.tariff)
    rng = random.Random(12)
    t0 = time.perf_counter()
    seed(tenant=tenant, version=version, metric="api_requests", count=args.n, rng=rng)
    seed(
        tenant=other_tenant,
        version=version,
        metric="api_requests",
        count=args.other,
        rng=rng,
    )
    seed(tenant=tenant, version=version, metric="storage_gb", count=args.other, rng=rng)
    seed_s = time.perf_counter() - t0
    print(f"seeded in {seed_s:.0f} s", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE billing_meterevent")
        cur.execute("VACUUM ANALYZE billing_bundle")
    vacuum_s = time.perf_counter() - t0
    assert MeterEvent.objects.filter(tenant=tenant, metric="api_requests").count() == (
        args.n
    )

    cases = [
        ("hour", "month", MONTH),
        ("day", "month", MONTH),
        ("window", "month", MONTH),
        ("day", "year", (YEAR_START, YEAR_END)),
        ("window", "year", (YEAR_START, YEAR_END)),
    ]

    def measure(group_by: str, bounds: tuple[datetime, datetime]) -> dict[str, Any]:
        def call() -> Any:
            return usage_summary_get(
                tenant=tenant,
                metric="api_requests",
                from_at=bounds[0],
                to_at=bounds[1],
                group_by=group_by,  # type: ignore[arg-type]
            )

        with CaptureQueriesContext(connection) as captured:
            summary = call()  # warm-up
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            call()
            times.append(time.perf_counter() - t)
        return {
            "sql": captured.captured_queries[-1]["sql"],
            "p50_ms": statistics.median(times) * 1e3,
            "max_ms": max(times) * 1e3,
            "events": summary.total.events,
            "groups": len(summary.groups),
        }

    results = []
    for group_by, label, bounds in cases:
        r = measure(group_by, bounds)
        results.append((group_by, label, r))
        print(
            f"  {group_by}/{label}: {r['p50_ms']:.0f} ms", file=sys.stderr, flush=True
        )

    def explain(sql: str) -> str:
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
            return "\n".join(row[0] for row in cur.fetchall())

    plan_month = explain(results[1][2]["sql"])
    plan_year = explain(results[3][2]["sql"])
    with connection.cursor() as cur:
        cur.execute(
            "SELECT relname, pg_relation_size(oid) FROM pg_class WHERE relname IN "
            "('billing_meterevent', 'billing_bundle', 'meterevent_usage_idx', "
            "'bundle_usage_idx') ORDER BY relname"
        )
        sizes = {name: size for name, size in cur.fetchall()}

    compare: list[tuple[str, str, dict[str, Any]]] = []
    if args.compare:
        with connection.cursor() as cur:
            cur.execute("DROP INDEX meterevent_usage_idx")
            cur.execute("DROP INDEX bundle_usage_idx")
            cur.execute("ANALYZE billing_meterevent")
            cur.execute("ANALYZE billing_bundle")
        for group_by, label, bounds in (cases[1], cases[3]):
            r = measure(group_by, bounds)
            compare.append((group_by, label, r))
            print(
                f"  without indexes {group_by}/{label}: {r['p50_ms']:.0f} ms",
                file=sys.stderr,
                flush=True,
            )
        plan_without = explain(compare[0][2]["sql"])

    lines = [
        f"{args.n:,} events of tenant `demo`, metric `api_requests`, over 2025 "
        f"(plus {args.other:,} of another tenant and {args.other:,} of another "
        f"metric); seeded by `bulk_create` in {seed_s:.0f} s, `VACUUM ANALYZE` "
        f"{vacuum_s:.0f} s. Median of {args.runs} runs after a warm-up, "
        "`usage_summary_get` in process (the API minus HTTP and JSON).",
        "",
        "| group_by | range | events summed | groups | median ms | max ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for group_by, label, r in results:
        lines.append(
            f"| {group_by} | {label} | {r['events']:,} | {r['groups']} | "
            f"{r['p50_ms']:,.0f} | {r['max_ms']:,.0f} |"
        )
    for group_by, label, r in compare:
        lines.append(
            f"| {group_by} (no usage indexes) | {label} | {r['events']:,} | "
            f"{r['groups']} | {r['p50_ms']:,.0f} | {r['max_ms']:,.0f} |"
        )
    lines += [
        "",
        "Relation sizes (MB): "
        + ", ".join(f"`{k}` {v / 2**20:,.0f}" for k, v in sizes.items()),
        "",
        "Plan, `group_by=day` over one month:",
        "",
        "```",
        plan_month,
        "```",
        "",
        "Plan, `group_by=day` over the year:",
        "",
        "```",
        plan_year,
        "```",
    ]
    if compare:
        lines += [
            "",
            "Plan without the usage indexes, `group_by=day` over one month:",
            "",
            "```",
            plan_without,
            "```",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
