#!/usr/bin/env python
"""Statement benchmark: close, export and verify one tenant-period of N
``vdi-billing/3`` bundles on PostgreSQL (issue 12, "Closing a period of
1,000,000 events on PostgreSQL takes under a minute and ``verify-statement``
checks it in under two, on 2 cores").

Usage (repository root, project venv, a PostgreSQL role with CREATEDB)::

    .venv/bin/python bench/statement.py [--n 1000000] [--jobs 2]
        [--pg-url postgres://meterproof:meterproof@127.0.0.1:5432/meterproof]
        [--cache /tmp/mp-statement-cache] [--json FILE] [--out FILE] [--keep]

A fresh database ``mp_stmt_<hex>`` is created (and dropped at the end unless
``--keep``), with fresh server keys (``manage.py billing_keys --env-file``),
``migrate`` and ``demo_seed()`` (tenant ``demo``, tariff ``api-requests``,
per unit, USD). Then N bundles of tenant ``demo``, period ``--period``
(default 2026-10), numbered 1..N, are **generated** — not attested through
the API, which is far too slow for 10^6, but built by the protocol's own
code exactly as attest builds them: each meter event signed by the server's
meter key (Ed25519 over JCS), priced by ``compute_charge``, its digests and
Poseidon commitments computed, its ``vdi-billing/3`` attestation signed by
the issuer key with its sequence number (``build_attestation``), the stored
bundle built by ``build_bundle``. No Groth16 proofs (proof mode ``off``,
as the server's default). Generation runs on ``--gen-jobs`` processes
(default 2); the parent writes each batch of ``--batch`` rows with
``COPY`` (meter events and bundles), queues the attestations' leaves with
``transparency.services.log_enqueue`` in the same transaction and sequences
them with ``log_sequence`` (a real RFC 9162 tree, node rows and a signed
checkpoint per batch) after it commits. Finally the period's
``BillingPeriod`` gets ``last_number`` = N, as attest leaves it.

The generated database is dumped (``pg_dump -Fc``) with its keys under
``--cache`` and restored on a re-run with the same N and period
(``--no-cache`` regenerates).

Timed, each as a separate process (wall time and the largest resident set,
from ``wait4``):

1. ``manage.py statement_close --tenant demo --period P --out FILE``;
2. ``manage.py export_bundles --tenant demo --period P --jsonl --out DIR``
   (one ``bundles.jsonl`` in number order, with current log evidence);
3. ``python -m billing.protocol verify-statement DIR/statement.json
   --bundles DIR/bundles.jsonl --trust DIR/trust.json --jobs J --json``
   (every bundle under the standard profile; the bundles carry no proof,
   so no Groth16 check runs). The run must report ``ok``.

The report is Markdown (``--out`` or stdout); ``--json`` writes the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
DEFAULT_PG_URL = "postgres://meterproof:meterproof@127.0.0.1:5432/meterproof"
TENANT = "demo"
METRIC = "api_requests"


def log(message: str) -> None:
    """Print a progress line to stderr."""
    print(f"[statement {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr)
    sys.stderr.flush()


# ------------------------------------------------------------------ database
def create_database(pg_url: str) -> tuple[str, str]:
    """Create a fresh database with the role of ``pg_url``; return (url, name)."""
    import psycopg

    name = f"mp_stmt_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(pg_url)
    return urlunsplit(parts._replace(path=f"/{name}")), name


def drop_database(pg_url: str, name: str) -> None:
    """Drop the bench database."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def read_env_file(path: Path) -> dict[str, str]:
    """Return the ``KEY=value`` lines of a ``billing_keys --env-file``."""
    values = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def pg_cli_env(url: str) -> dict[str, str]:
    """Environment for ``pg_dump``/``pg_restore`` (password from the URL)."""
    parts = urlsplit(url)
    return {**os.environ, "PGPASSWORD": parts.password or ""}


# ---------------------------------------------------------------- generation
_GEN: dict[str, Any] = {}


def _gen_init(period: str, seed: int, tariff: dict[str, Any]) -> None:
    """Worker initialiser: the keyring (keys from the settings, no database)
    and the parsed demo tariff."""
    from billing.keyring import get_keyring
    from billing.protocol.tariff import TariffDocument

    _GEN.update(
        keyring=get_keyring(),
        tariff=TariffDocument.from_json(tariff),
        period=period,
        seed=seed,
    )


def generate_batch(first: int, count: int) -> dict[str, Any]:
    """Build bundles ``first``..``first + count - 1`` (sequence numbers) of the
    period; return their rows as COPY text and their leaf data.

    Runs in a worker: signs the meter envelope (meter key), prices, computes
    digests and commitments and signs the ``vdi-billing/3`` attestation
    (issuer key) exactly as ``billing.services.issuance`` does.
    """
    from billing.protocol.bundle import build_attestation, build_bundle, receipt_id_for
    from billing.protocol.contexts import CONTEXT_METER_ENVELOPE
    from billing.protocol.events import MeterEnvelope
    from billing.protocol.tariff import compute_charge
    from kernel.protocol.ed25519 import sign_object
    from kernel.protocol.jcs import canonical_json

    keyring, tariff, period = _GEN["keyring"], _GEN["tariff"], _GEN["period"]
    rng = random.Random(_GEN["seed"] * 1_000_003 + first)
    year, month = int(period[:4]), int(period[5:])
    start = datetime(year, month, 1, tzinfo=UTC)
    span = 27 * 86400
    issued_at = start + timedelta(days=28)
    events = io.StringIO()
    bundles = io.StringIO()
    leaves: list[bytes] = []
    for number in range(first, first + count):
        occurred = start + timedelta(seconds=rng.randrange(span))
        event = {
            "tenant": TENANT,
            "event_id": f"stmt-{number:08d}-{rng.getrandbits(48):012x}",
            "window": period,
            "metric": METRIC,
            "quantity": rng.randint(1, 5),
            "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "attributes": {
                "route": rng.choice(("/v1/search", "/v1/items", "/v1/users/{id}")),
                "method": rng.choice(("GET", "POST")),
                "status": 200,
                "bytes": rng.randrange(100, 20_000),
            },
        }
        envelope = MeterEnvelope.from_json(
            {
                "event": event,
                "kid": keyring.meter.kid,
                "sig": sign_object(
                    keyring.meter.signing_key, CONTEXT_METER_ENVELOPE, event
                ),
            }
        )
        charge = compute_charge(tariff, event["quantity"])
        receipt_id = receipt_id_for(TENANT, period, event["event_id"])
        attestation = build_attestation(
            envelope=envelope,
            tariff=tariff,
            charge=charge,
            receipt_id=receipt_id,
            issued_at=issued_at,
            issuer=keyring.issuer,
            sequence={"period": period, "number": number},
        )
        leaf = canonical_json(attestation)
        leaves.append(leaf)
        leaf_hash = hashlib.sha256(b"\x00" + leaf).hexdigest()
        document = json.dumps(
            build_bundle(attestation),
            separators=(",", ":"),
            sort_keys=True,
            ensure_ascii=False,
        )
        events.write(
            "\t".join(
                (
                    str(number),
                    event["event_id"],
                    period,
                    METRIC,
                    str(event["quantity"]),
                    event["occurred_at"],
                    _copy_text(json.dumps(event["attributes"])),
                    keyring.meter.kid,
                    envelope.event.meter_hash,
                    "f",
                    issued_at.isoformat(),
                )
            )
            + "\n"
        )
        bundles.write(
            "\t".join(
                (
                    receipt_id,
                    str(number),
                    leaf_hash,
                    str(charge.amount_minor),
                    charge.currency,
                    attestation["billing_verify_fingerprint"],
                    _copy_text(document),
                    issued_at.isoformat(),
                    period,
                    str(number),
                )
            )
            + "\n"
        )
    return {
        "events": events.getvalue(),
        "bundles": bundles.getvalue(),
        "leaves": leaves,
    }


def _copy_text(value: str) -> str:
    """Escape a value for PostgreSQL's COPY text format."""
    return (
        value.replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def _batches(n: int, size: int) -> Iterator[tuple[int, int]]:
    first = 1
    while first <= n:
        count = min(size, n - first + 1)
        yield first, count
        first += count


def generate(args: argparse.Namespace) -> dict[str, Any]:
    """Seed the demo tenant and write N numbered bundles of the period (in
    this process, Django set up from the environment); return timings."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from billing.keyring import get_keyring
    from billing.models import BillingPeriod, Bundle, MeterEvent
    from billing.services.demo import demo_seed
    from transparency.services import log_enqueue, log_sequence

    call_command("migrate", verbosity=0)
    tenant, version = demo_seed()
    keyring = get_keyring()
    event_cols = (
        'id, event_id, "window", metric, quantity, occurred_at, attributes, '
        "meter_kid, event_hash, backfilled, received_at"
    )
    meter_table = MeterEvent._meta.db_table
    bundle_table = Bundle._meta.db_table
    timings = {"sign_s": 0.0, "copy_s": 0.0, "log_s": 0.0}
    started = time.perf_counter()
    done = 0
    connection.close()  # forked workers must not share its socket
    with ProcessPoolExecutor(
        max_workers=args.gen_jobs,
        initializer=_gen_init,
        initargs=(args.period, args.seed, version.document),
    ) as pool:
        pending = []
        batches = iter(_batches(args.n, args.batch))
        for first, count in batches:
            pending.append(pool.submit(generate_batch, first, count))
            if len(pending) >= args.gen_jobs * 2:
                break
        while pending:
            wait = time.perf_counter()
            rows = pending.pop(0).result()
            timings["sign_s"] += time.perf_counter() - wait
            following = next(batches, None)
            if following is not None:
                pending.append(pool.submit(generate_batch, *following))
            t = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                with cursor.copy(
                    f"COPY {meter_table} (tenant_id, {event_cols}) FROM STDIN"
                ) as copy:
                    prefix = f"{tenant.pk}\t"
                    copy.write(
                        "".join(
                            prefix + line + "\n" for line in rows["events"].splitlines()
                        )
                    )
                leaf_hashes = log_enqueue(entries=rows["leaves"])
                with cursor.copy(
                    f"COPY {bundle_table} (receipt_id, meter_event_id, leaf_hash, "
                    "amount_minor, currency, fingerprint, document, issued_at, "
                    "period, sequence_number, tenant_id, tariff_version_id, "
                    "proof_status, billing_proof, proof_attempts, proof_error) "
                    "FROM STDIN"
                ) as copy:
                    suffix = f"\t{tenant.pk}\t{version.pk}\tnone\t\\N\t0\t"
                    copy.write(
                        "".join(
                            line + suffix + "\n"
                            for line in rows["bundles"].splitlines()
                        )
                    )
            copied = time.perf_counter()
            timings["copy_s"] += copied - t
            log_sequence(
                leaf_hashes=leaf_hashes,
                signer=keyring.log_signer,
                origin=keyring.log_origin,
            )
            timings["log_s"] += time.perf_counter() - copied
            done += len(rows["leaves"])
            if done % (args.batch * 10) == 0 or done == args.n:
                rate = done / (time.perf_counter() - started)
                log(f"generated {done:,} of {args.n:,} ({rate:,.0f}/s)")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{meter_table}', 'id'), "
            f"(SELECT max(id) FROM {meter_table}))"
        )
    BillingPeriod.objects.update_or_create(
        tenant=tenant, period=args.period, defaults={"last_number": args.n}
    )
    timings["total_s"] = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {meter_table}")
        cursor.execute(f"VACUUM ANALYZE {bundle_table}")
    connection.close()
    return timings


# ------------------------------------------------------------------- timing
def _tree_rss_kb(pid: int) -> int:
    """Return the summed VmRSS (kB) of ``pid`` and its descendants."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except (OSError, ValueError):
            continue
    return total


def timed(cmd: list[str], env: dict[str, str], stdout: Any = None) -> dict[str, Any]:
    """Run ``cmd``; return its wall time (s), the peak summed resident set of
    it and its worker processes (MB, sampled every 0.2 s from ``/proc``), its
    CPU time with its waited-for children (s, ``wait4``) and its exit code."""
    import threading

    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=stdout)
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    stop.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    return {
        "cmd": " ".join(cmd).replace(PY, ".venv/bin/python"),
        "wall_s": wall,
        "max_rss_mb": peak[0] / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rc": proc.returncode,
    }


def machine() -> dict[str, Any]:
    """CPU model, cores, memory, Python, PostgreSQL server version, load."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        mem = f"{int(first.split()[1]) / 2**20:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main() -> None:
    """Create, generate (or restore), close, export, verify; print a report."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--period", default="2026-10")
    p.add_argument("--batch", type=int, default=10_000)
    p.add_argument("--gen-jobs", type=int, default=2)
    p.add_argument("--jobs", type=int, default=2, help="verify-statement --jobs")
    p.add_argument("--seed", type=int, default=12)
    p.add_argument("--cache", default="/tmp/mp-statement-cache")
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--out")
    p.add_argument("--json")
    args = p.parse_args()

    cache = Path(args.cache) / f"n{args.n}-{args.period}"
    url, name = create_database(args.pg_url)
    log(f"database {name}")
    result: dict[str, Any] = {"n": args.n, "period": args.period, "jobs": args.jobs}
    work = Path(tempfile.mkdtemp(prefix="mp-statement-"))
    try:
        dump, keyfile = cache / "db.pgdump", cache / "keys.env"
        base = {
            **os.environ,
            "MP_READ_DOT_ENV": "0",
            "DJANGO_DEBUG": "false",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "MP_BILLING_INCIRCUIT_BINDING": "false",
        }
        if dump.exists() and keyfile.exists() and not args.no_cache:
            log(f"restoring {dump}")
            t = time.perf_counter()
            subprocess.run(
                ["pg_restore", "--no-owner", "-j", "2", "-d", url, str(dump)],
                check=True,
                env=pg_cli_env(url),
            )
            result["restore_s"] = time.perf_counter() - t
            result["generation"] = json.loads((cache / "generation.json").read_text())
            result["generation"]["cached"] = True
        else:
            cache.mkdir(parents=True, exist_ok=True)
            keyfile.unlink(missing_ok=True)
            dump.unlink(missing_ok=True)
            subprocess.run(
                [PY, "manage.py", "billing_keys", "--env-file", str(keyfile)],
                cwd=ROOT,
                check=True,
                env={**base, "DATABASE_URL": f"sqlite:///{work / 'unused.sqlite3'}"},
                stdout=subprocess.DEVNULL,
            )
            os.environ.update({**base, **read_env_file(keyfile), "DATABASE_URL": url})
            log(f"generating {args.n:,} bundles")
            result["generation"] = generate(args)
            (cache / "generation.json").write_text(json.dumps(result["generation"]))
            log("dumping the generated database")
            subprocess.run(
                ["pg_dump", "-Fc", "-Z", "1", "-f", str(dump), url],
                check=True,
                env=pg_cli_env(url),
            )
        env = {**base, **read_env_file(keyfile), "DATABASE_URL": url}
        out = work / "export"
        statement = work / "statement.json"
        log("statement_close")
        result["close"] = timed(
            [
                PY,
                "manage.py",
                "statement_close",
                "--tenant",
                TENANT,
                "--period",
                args.period,
                "--out",
                str(statement),
            ],
            env,
            stdout=subprocess.DEVNULL,
        )
        log(f"  {result['close']['wall_s']:.1f} s")
        log("export_bundles --period --jsonl")
        result["export"] = timed(
            [
                PY,
                "manage.py",
                "export_bundles",
                "--tenant",
                TENANT,
                "--period",
                args.period,
                "--jsonl",
                "--out",
                str(out),
            ],
            env,
            stdout=subprocess.DEVNULL,
        )
        result["export"]["bytes"] = (out / "bundles.jsonl").stat().st_size
        log(f"  {result['export']['wall_s']:.1f} s")
        log(f"verify-statement --jobs {args.jobs}")
        report_file = work / "verify.json"
        with report_file.open("wb") as handle:
            result["verify"] = timed(
                [
                    PY,
                    "-m",
                    "billing.protocol",
                    "verify-statement",
                    str(out / "statement.json"),
                    "--bundles",
                    str(out / "bundles.jsonl"),
                    "--trust",
                    str(out / "trust.json"),
                    "--jobs",
                    str(args.jobs),
                    "--json",
                ],
                {**base, "DATABASE_URL": "sqlite:///unused"},
                stdout=handle,
            )
        verdict = json.loads(report_file.read_text())
        result["verify"]["ok"] = verdict["ok"]
        result["verify"]["bundles"] = verdict["bundles"]
        result["verify"]["amount_minor"] = verdict["amount_minor"]
        log(f"  {result['verify']['wall_s']:.1f} s, ok={verdict['ok']}")
        if not verdict["ok"]:
            log(json.dumps(verdict["checks"], indent=1))
        result["machine"] = machine()
        result["load"] = os.getloadavg()
    finally:
        from django.db import connections

        try:
            connections.close_all()
        except Exception:
            pass
        if not args.keep:
            drop_database(args.pg_url, name)
        shutil.rmtree(work, ignore_errors=True)
    text = render(result)
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


def render(r: dict[str, Any]) -> str:
    """Return the Markdown summary of one run."""
    gen, n = r["generation"], r["n"]
    m = r["machine"]
    rows = [
        f"{n:,} `vdi-billing/3` bundles of tenant `demo`, period {r['period']}; "
        f"{m['cores']} cores ({m['cpu']}), {m['memory']}, Python {m['python']}; "
        f"load average at the end {r['load'][0]:.2f}.",
        "",
        "| step | wall s | per bundle µs | peak RSS MB (all processes) | CPU s |",
        "|---|---:|---:|---:|---:|",
        f"| generate (sign, COPY, log) | {gen['total_s']:,.0f} | "
        f"{gen['total_s'] / n * 1e6:,.0f} | | |",
    ]
    for key, label in (
        ("close", "`statement_close`"),
        ("export", "`export_bundles --period --jsonl`"),
        ("verify", f"`verify-statement --jobs {r['jobs']}`"),
    ):
        s = r[key]
        rows.append(
            f"| {label} | {s['wall_s']:,.1f} | {s['wall_s'] / n * 1e6:,.1f} | "
            f"{s['max_rss_mb']:,.0f} | {s['cpu_s']:,.0f} |"
        )
    rows += [
        "",
        f"Generation: waiting for signed batches {gen['sign_s']:,.0f} s, COPY and "
        f"log_enqueue {gen['copy_s']:,.0f} s, log_sequence {gen['log_s']:,.0f} s"
        + (" (from the cache; the database was restored)" if gen.get("cached") else "")
        + f". Export: {r['export']['bytes'] / 2**20:,.0f} MiB of JSON lines. "
        f"Verify: ok={r['verify']['ok']}, bundles {r['verify']['bundles']}.",
    ]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    main()
