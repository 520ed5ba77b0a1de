#!/usr/bin/env python
"""meterproof benchmarks: attest and verify, in-process and over HTTP, on SQLite
and PostgreSQL. See bench/README.md for the method; BENCHMARKS.md holds results.

Usage (from the repository root, with the project venv)::

    .venv/bin/python bench/run.py [--db sqlite|postgres|both] [--n N]
                                  [--concurrency C] [--out BENCHMARKS.md]

Each database gets a *fresh* bench database (a temp SQLite file, or a new
PostgreSQL database created and dropped with the role of ``--pg-url``), fresh
keys (``manage.py billing_keys --env-file``), ``manage.py migrate``, the demo
tariff/tenant and a new API key. The repository's ``.env`` is never read
(``MP_READ_DOT_ENV=0``) and ``DJANGO_DEBUG=false`` everywhere.

The script is its own worker: ``--_worker`` runs the in-process part inside a
child process whose environment selects the database (Django settings are read
once per process).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import http.client
import io
import json
import os
import platform
import pstats
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DEFAULT_PG_URL = "postgres://bench:bench@127.0.0.1:5432/bench"


# --------------------------------------------------------------------------- stats
def pct(samples: list[float], q: float) -> float:
    """Percentile ``q`` (0..100) of *all* samples, linear interpolation
    between closest ranks (numpy's default 'linear' method)."""
    if not samples:
        return float("nan")
    s = sorted(samples)
    if len(s) == 1:
        return s[0]
    pos = (len(s) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summarize(
    lat_s: list[float], wall_s: float, units: int | None = None
) -> dict[str, Any]:
    """Latency percentiles in ms and throughput in units/s over the wall time."""
    units = len(lat_s) if units is None else units
    return {
        "n": len(lat_s),
        "units": units,
        "wall_s": wall_s,
        "throughput": units / wall_s if wall_s > 0 else float("nan"),
        "p50_ms": pct(lat_s, 50) * 1e3,
        "p95_ms": pct(lat_s, 95) * 1e3,
        "p99_ms": pct(lat_s, 99) * 1e3,
        "mean_ms": statistics.fmean(lat_s) * 1e3 if lat_s else float("nan"),
        "max_ms": max(lat_s) * 1e3 if lat_s else float("nan"),
    }


# ------------------------------------------------------------------ event payloads
def make_event(quantity: int = 1) -> dict[str, Any]:
    """A bare meter event for tenant demo, occurred a few seconds ago (UTC),
    unique event_id, window = the occurred_at month."""
    occurred = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=3)
    return {
        "tenant": "demo",
        "event_id": "bench-" + uuid.uuid4().hex,
        "window": occurred.strftime("%Y-%m"),
        "metric": "api_requests",
        "quantity": quantity,
        "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "attributes": {
            "route": "/v1/bench",
            "method": "POST",
            "status": 200,
            "bytes": 512,
        },
    }


# =========================================================================== worker
def worker_main(args: argparse.Namespace) -> None:
    """In-process part; runs with the bench DB selected by the environment."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from billing.protocol.trust import TrustAnchors
    from billing.protocol.verify import verify_bundle
    from billing.selectors import trust_anchors_get
    from billing.services.attest import meter_event_attest, meter_events_attest
    from billing.services.demo import demo_seed
    from billing.services.tenants import api_key_issue

    n, warm = args.n, args.warmup
    out: dict[str, Any] = {"vendor": connection.vendor}
    tenant, _ = demo_seed()
    out["api_key"] = api_key_issue(tenant=tenant, name="bench").secret

    def attest_one() -> dict[str, Any]:
        outcome = meter_event_attest(payload=make_event(), tenant=tenant)
        assert outcome.status == "attested", outcome
        return outcome.bundle

    # (a1) single-event service calls ---------------------------------------
    for _ in range(warm):
        attest_one()
    lat: list[float] = []
    bundles: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for _ in range(n):
        payload = make_event()  # built outside the timed call
        s = time.perf_counter()
        outcome = meter_event_attest(payload=payload, tenant=tenant)
        lat.append(time.perf_counter() - s)
        assert outcome.status == "attested", outcome
        bundles.append(outcome.bundle)
    out["single"] = summarize(lat, time.perf_counter() - t0)
    # note: wall includes make_event() (~20 us/event); latency samples do not.

    # (a2) batches ----------------------------------------------------------
    out["batch"] = {}
    for size, count in ((100, args.batches_100), (500, args.batches_500)):
        payloads = [make_event() for _ in range(size)]
        assert all(
            o.status == "attested"
            for o in meter_events_attest(payloads=payloads, tenant=tenant)
        )  # warm-up
        lat = []
        for _ in range(count):
            payloads = [make_event() for _ in range(size)]
            s = time.perf_counter()
            outcomes = meter_events_attest(payloads=payloads, tenant=tenant)
            lat.append(time.perf_counter() - s)
            assert all(o.status == "attested" for o in outcomes)
        out["batch"][str(size)] = summarize(lat, sum(lat), units=size * count)

    # (q) SQL queries per attest -------------------------------------------
    # CaptureQueriesContext counts the statements; an execute_wrapper times
    # them with perf_counter (Django's own "time" field is rounded to 1 ms).
    sql_times: list[float] = []

    def timer(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        s = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_times.append(time.perf_counter() - s)

    from django.db import connections

    wrapper_cls = type(connections["default"])
    plain_commit = wrapper_cls._commit

    def commit_timer(self):  # type: ignore[no-untyped-def]
        s = time.perf_counter()
        try:
            return plain_commit(self)
        finally:
            sql_times.append(time.perf_counter() - s)

    counts, sql_ms, walls = [], [], []
    for i in range(args.query_runs):
        sql_times.clear()
        wrapper_cls._commit = commit_timer  # type: ignore[method-assign]
        try:
            with (
                CaptureQueriesContext(connection) as ctx,
                connection.execute_wrapper(timer),
            ):
                s = time.perf_counter()
                attest_one()
                walls.append(time.perf_counter() - s)
        finally:
            wrapper_cls._commit = plain_commit  # type: ignore[method-assign]
        counts.append(len(ctx.captured_queries))
        sql_ms.append(sum(sql_times) * 1e3)
        if i == 0:
            first_sql = [q["sql"][:160] for q in ctx.captured_queries]
    out["queries_single"] = {
        "runs": args.query_runs,
        "count": first_sql and len(first_sql),
        "count_min": min(counts),
        "count_max": max(counts),
        "count_mean": statistics.fmean(counts),
        "wall_ms": statistics.median([w * 1e3 for w in walls]),
        "sql_ms": statistics.median(sql_ms),
        "sql": first_sql,
    }
    payloads = [make_event() for _ in range(100)]
    with CaptureQueriesContext(connection) as ctx:
        meter_events_attest(payloads=payloads, tenant=tenant)
    out["queries_batch100"] = {"count": len(ctx.captured_queries)}
    # the whole view path (auth + DRF + service), in-process with the test client
    from django.test import Client

    client = Client()
    hdr = {"HTTP_AUTHORIZATION": f"Bearer {out['api_key']}"}
    for _ in range(3):
        r = client.post(
            "/api/vdi/billing/attest",
            data=json.dumps(make_event()),
            content_type="application/json",
            **hdr,
        )
        assert r.status_code == 201, r.content
    with CaptureQueriesContext(connection) as ctx:
        r = client.post(
            "/api/vdi/billing/attest",
            data=json.dumps(make_event()),
            content_type="application/json",
            **hdr,
        )
    assert r.status_code == 201
    out["queries_view"] = {
        "count": len(ctx.captured_queries),
        "sql": [q["sql"][:160] for q in ctx.captured_queries],
    }
    reset_queries()

    # (l) how long one single-event attest holds the log head lock: from the
    # SELECT ... FOR UPDATE on LogState (PostgreSQL; SQLite takes its write
    # lock at BEGIN IMMEDIATE) to the end of COMMIT. Every attest on every
    # worker serialises on it, so 1 / hold time bounds single-event throughput.
    from django.db import connections

    cls = type(connections["default"])
    mark: dict[str, float] = {}
    holds: list[float] = []
    sqlite = connection.vendor == "sqlite"
    original_commit = cls._commit
    original_begin = getattr(cls, "_start_transaction_under_autocommit", None)

    def timed_commit(self):  # type: ignore[no-untyped-def]
        try:
            return original_commit(self)
        finally:
            if "t" in mark and mark.pop("in_log", None):
                holds.append(time.perf_counter() - mark["t"])
            mark.clear()

    def begin(self):  # type: ignore[no-untyped-def]
        mark["t"] = time.perf_counter()  # BEGIN IMMEDIATE takes SQLite's write lock
        return original_begin(self)

    def log_marker(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if (
            "transparency_logstate" in sql
            and "FOR UPDATE" in sql
            or (sqlite and "transparency_logstate" in sql)
        ):
            mark["in_log"] = 1.0
            if not sqlite:
                mark.setdefault("t", time.perf_counter())
        return execute(sql, params, many, context)

    cls._commit = timed_commit  # type: ignore[method-assign]
    if sqlite and original_begin is not None:
        cls._start_transaction_under_autocommit = begin  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(log_marker):
            for _ in range(args.query_runs):
                attest_one()
            single_holds = holds
            holds = []
            for _ in range(args.batches_100):  # the same for one 100-event append
                batch = [make_event() for _ in range(100)]
                assert all(
                    o.status == "attested"
                    for o in meter_events_attest(payloads=batch, tenant=tenant)
                )
            batch_holds = holds
    finally:
        cls._commit = original_commit  # type: ignore[method-assign]
        if original_begin is not None:
            cls._start_transaction_under_autocommit = original_begin  # type: ignore[method-assign]
    out["lock_hold"] = {
        "n": len(single_holds),
        "p50_ms": pct(single_holds, 50) * 1e3,
        "p95_ms": pct(single_holds, 95) * 1e3,
    }
    out["lock_hold_batch100"] = {
        "n": len(batch_holds),
        "p50_ms": pct(batch_holds, 50) * 1e3,
        "max_ms": max(batch_holds) * 1e3 if batch_holds else float("nan"),
    }

    # (p) cProfile of single attests -----------------------------------------
    prof_n = args.profile_n
    payloads = [make_event() for _ in range(prof_n)]
    prof = cProfile.Profile()
    s = time.perf_counter()
    prof.enable()
    for p in payloads:
        meter_event_attest(payload=p, tenant=tenant)
    prof.disable()
    prof_wall = time.perf_counter() - s
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("cumulative")
    stats.print_stats(args.profile_top + 10)
    rows = []
    for func, (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((ct, tt, nc, f"{func[0]}:{func[1]}({func[2]})"))
    rows.sort(reverse=True)
    own = sorted(rows, key=lambda r: r[1], reverse=True)[:10]
    out["profile"] = {
        "own_top": [
            {
                "tot_ms_per_attest": tt / prof_n * 1e3,
                "ncalls_per_attest": nc / prof_n,
                "func": name,
            }
            for ct, tt, nc, name in own
        ],
        "calls": prof_n,
        "wall_ms_per_attest_profiled": prof_wall / prof_n * 1e3,
        "top": [
            {
                "cum_ms_per_attest": ct / prof_n * 1e3,
                "tot_ms_per_attest": tt / prof_n * 1e3,
                "ncalls_per_attest": nc / prof_n,
                "func": name,
            }
            for ct, tt, nc, name in rows[: args.profile_top + 15]
        ],
        "text": buf.getvalue(),
    }

    # (v) in-process verify (Django-free core) -----------------------------------
    trust = TrustAnchors.from_json(
        json.loads(json.dumps(trust_anchors_get().to_json()))
    )
    sample = [
        json.loads(json.dumps(b)) for b in bundles
    ]  # detached copies, as an auditor gets them
    for b in sample[: min(warm, len(sample))]:
        assert verify_bundle(b, trust).ok
    lat = []
    t0 = time.perf_counter()
    for b in sample:
        s = time.perf_counter()
        report = verify_bundle(b, trust)
        lat.append(time.perf_counter() - s)
        assert report.ok, report.to_json()
    out["verify_inproc"] = summarize(lat, time.perf_counter() - t0)
    out["verify_sample"] = sample[: args.http_verify_n]
    Path(args.worker_out).write_text(json.dumps(out))


# ====================================================================== orchestrator
def run(
    cmd: list[str], env: dict[str, str], **kw: Any
) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, env=env, cwd=ROOT, text=True, capture_output=True, **kw)
    if res.returncode != 0:
        sys.stderr.write(res.stdout[-3000:] + res.stderr[-3000:])
        raise SystemExit(f"command failed ({res.returncode}): {' '.join(cmd)}")
    return res


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            v = v[1:-1]
        values[k.strip()] = v
    return values


def base_env(keys: dict[str, str], db_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MP_", "VDI_", "DJANGO_"))
    }
    env.update(keys)
    env.update(
        {
            "DATABASE_URL": db_url,
            "MP_READ_DOT_ENV": "0",
            "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "MP_BILLING_INCIRCUIT_BINDING": "false",  # the target is without Groth16
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


class PgDatabase:
    """A throw-away PostgreSQL database created with the role of ``url``."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.psycopg = psycopg
        parts = urlsplit(url)
        self.name = f"meterproof_bench_{os.getpid()}_{int(time.time())}"
        self.admin_url = urlunsplit(parts._replace(path="/postgres"))
        self.url = urlunsplit(parts._replace(path="/" + self.name))
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
            self.version = conn.execute("SHOW server_version").fetchone()[0]

    def drop(self) -> None:
        with self.psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_post(
    port: int, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    # gunicorn's sync workers close the connection after every response, so a
    # new connection per request is what a client sees anyway.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def http_load(
    port: int,
    path: str,
    bodies: list[bytes],
    headers: dict[str, str],
    concurrency: int,
    max_seconds: float,
    want: int,
    check: Any = None,
    keep: int = 400,
) -> tuple[dict[str, Any], list[bytes]]:
    """Send ``bodies`` with ``concurrency`` threads (bounded by count and by
    ``max_seconds``); every request answered with status ``want`` (and, if
    given, ``check(data)`` returning the number of units it carried, 0 = bad)
    is a latency sample. Throughput counts units (1 per request by default)."""
    lock = threading.Lock()
    it = iter(bodies)
    lat: list[float] = []
    errors: dict[str, int] = {}
    responses: list[bytes] = []
    units = [0]
    deadline = time.perf_counter() + max_seconds

    def client() -> None:
        while time.perf_counter() < deadline:
            with lock:
                body = next(it, None)
            if body is None:
                return
            s = time.perf_counter()
            try:
                status, data = http_post(port, path, body, headers)
            except OSError as exc:
                status, data = -1, str(exc).encode()
            e = time.perf_counter() - s
            got = (check(data) if check else 1) if status == want else 0
            with lock:
                if got:
                    lat.append(e)
                    units[0] += got
                    if len(responses) < keep:
                        responses.append(data)
                else:
                    key = f"{status}:{data[:120].decode(errors='replace')}"
                    errors[key] = errors.get(key, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    res = summarize(lat, wall, units=units[0])
    res.update(
        {
            "concurrency": concurrency,
            "errors": errors,
            "timed_out": time.perf_counter() >= deadline,
        }
    )
    return res, responses


class Gunicorn:
    def __init__(self, env: dict[str, str], workers: int, log: Path) -> None:
        self.port = free_port()
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [
                str(Path(PY).parent / "gunicorn"),
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                "--backlog",
                "256",
                "--timeout",
                "60",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/.well-known/vdi-billing-trust.json")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"gunicorn did not come up; see {log}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # our own child only
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def bench_db(
    db: str, args: argparse.Namespace, workdir: Path, keys: dict[str, str]
) -> dict[str, Any]:
    res: dict[str, Any] = {"db": db}
    pg = None
    sqlite_path = None
    if db == "sqlite":
        fd, name = tempfile.mkstemp(prefix="bench-", suffix=".sqlite3", dir="/tmp")
        os.close(fd)
        os.unlink(name)
        sqlite_path = Path(name)
        url = f"sqlite:///{sqlite_path}"
        res["db_version"] = (
            f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL, IMMEDIATE tx)"
        )
    else:
        pg = PgDatabase(args.pg_url)
        url = pg.url
        res["db_version"] = f"PostgreSQL {pg.version}"
    env = base_env(keys, url)
    res["loadavg_start"] = os.getloadavg()
    try:
        log(f"[{db}] migrate")
        run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], env)

        log(
            f"[{db}] in-process: {args.warmup} warm-up + {args.n} single attests, batches, "
            f"queries, profile, verify"
        )
        wout = workdir / f"worker-{db}.json"
        run(
            [
                PY,
                __file__,
                "--_worker",
                "--worker-out",
                str(wout),
                "--n",
                str(args.n),
                "--warmup",
                str(args.warmup),
                "--profile-n",
                str(args.profile_n),
                "--batches-100",
                str(args.batches_100),
                "--batches-500",
                str(args.batches_500),
                "--query-runs",
                str(args.query_runs),
                "--http-verify-n",
                str(args.http_n),
            ],
            env,
        )
        w = json.loads(wout.read_text())
        res.update(
            {k: v for k, v in w.items() if k not in ("api_key", "verify_sample")}
        )
        api_key = w["api_key"]

        if args.no_http or shutil.which("gunicorn", path=str(Path(PY).parent)) is None:
            res["http"] = None
            log(
                f"[{db}] HTTP skipped (gunicorn not installed: .venv/bin/pip install gunicorn)"
            )
        else:
            res["http"] = bench_http(
                db, args, env, api_key, w["verify_sample"], workdir
            )

        log(f"[{db}] export bundles + offline CLI verify")
        export = workdir / f"export-{db}"
        run([PY, "manage.py", "export_bundles", "--out", str(export)], env)
        res["cli"] = bench_cli(export, env)
        res["loadavg_end"] = os.getloadavg()
    finally:
        if pg is not None:
            pg.drop()
        if sqlite_path is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(str(sqlite_path) + suffix).unlink(missing_ok=True)
    return res


def bench_http(
    db: str,
    args: argparse.Namespace,
    env: dict[str, str],
    api_key: str,
    verify_sample: list[dict[str, Any]],
    workdir: Path,
) -> dict[str, Any]:
    out: dict[str, Any] = {"workers": args.workers}
    gun = Gunicorn(env, args.workers, workdir / f"gunicorn-{db}.log")
    hdr = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    try:

        def bodies(k: int) -> list[bytes]:
            return [json.dumps(make_event()).encode() for _ in range(k)]

        warm = max(args.warmup, 2 * args.concurrency)
        log(f"[{db}] HTTP warm-up {warm} attests (excluded)")
        w, _ = http_load(
            gun.port,
            "/api/vdi/billing/attest",
            bodies(warm),
            hdr,
            args.concurrency,
            60,
            201,
        )
        if w["errors"]:
            raise SystemExit(f"HTTP warm-up errors: {w['errors']}")
        runs = []
        for c in sorted({1, args.concurrency}):
            n = args.http_n if c > 1 else max(50, args.http_n // 3)
            log(
                f"[{db}] HTTP attest: {n} requests, concurrency {c} (cap {args.http_seconds}s)"
            )
            r, resp = http_load(
                gun.port,
                "/api/vdi/billing/attest",
                bodies(n),
                hdr,
                c,
                args.http_seconds,
                201,
            )
            runs.append(r)
        out["attest"] = runs
        sample = [json.loads(b) for b in resp] or verify_sample
        out["batch"] = http_batch(db, args, gun.port, hdr)
        vb = [json.dumps(b).encode() for b in sample]
        http_load(
            gun.port,
            "/api/vdi/billing/verify",
            vb[: args.warmup],
            {"Content-Type": "application/json"},
            1,
            30,
            200,
        )
        log(f"[{db}] HTTP verify: {len(vb)} requests, concurrency 1")
        r, resp = http_load(
            gun.port,
            "/api/vdi/billing/verify",
            vb,
            {"Content-Type": "application/json"},
            1,
            args.http_seconds,
            200,
        )
        bad = [x for x in resp if not json.loads(x)["ok"]]
        r["not_ok"] = len(bad)
        out["verify"] = r
    finally:
        gun.stop()
    return out


def http_batch(
    db: str, args: argparse.Namespace, port: int, hdr: dict[str, str]
) -> list[dict[str, Any]]:
    """``POST /api/vdi/billing/attest/batch`` with ``--batch-size`` (100) bare events
    per request, at 1 client and at ``--concurrency`` clients. A request counts
    only if it returns 200 with every event ``attested``; throughput is attested
    events over the wall time, latency is per request."""
    size = args.batch_size
    path = "/api/vdi/billing/attest/batch"

    def bodies(k: int) -> list[bytes]:
        return [
            json.dumps({"events": [make_event() for _ in range(size)]}).encode()
            for _ in range(k)
        ]

    def all_attested(data: bytes) -> int:
        doc = json.loads(data)
        ok = (
            doc.get("attested") == size
            and len(doc.get("results", ())) == size
            and all(
                r.get("status") == "attested" and r.get("bundle")
                for r in doc["results"]
            )
        )
        return size if ok else 0

    warm = max(2, args.concurrency)
    log(f"[{db}] HTTP batch warm-up {warm} x {size} events (excluded)")
    w, _ = http_load(
        port, path, bodies(warm), hdr, args.concurrency, 60, 200, all_attested, keep=0
    )
    if w["errors"]:
        raise SystemExit(f"HTTP batch warm-up errors: {w['errors']}")
    runs = []
    for c in sorted({1, args.concurrency}):
        n = args.http_batches if c > 1 else max(5, args.http_batches // 3)
        log(
            f"[{db}] HTTP batch attest: {n} requests x {size} events, concurrency {c} "
            f"(cap {args.http_seconds}s)"
        )
        r, _ = http_load(
            port, path, bodies(n), hdr, c, args.http_seconds, 200, all_attested, keep=0
        )
        r["batch_size"] = size
        runs.append(r)
    return runs


def bench_cli(export: Path, env: dict[str, str]) -> dict[str, Any]:
    bundles = export / "bundles"
    trust = export / "trust.json"
    count = sum(1 for _ in bundles.glob("*.json"))
    out: dict[str, Any] = {"bundles": count, "runs": []}
    # start-up cost: the same CLI on a single bundle
    one = export / "one"
    one.mkdir(exist_ok=True)
    shutil.copy(next(bundles.glob("*.json")), one / "b.json")
    for label, extra, target in (
        ("startup (1 bundle)", ["--jobs", "1"], one),
        ("--jobs 1", ["--jobs", "1"], bundles),
        (f"default (--jobs {os.cpu_count()})", [], bundles),
    ):
        s = time.perf_counter()
        res = run(
            [
                PY,
                "-m",
                "billing.protocol",
                "verify",
                str(target),
                "--trust",
                str(trust),
                "--compact",
                "--failures-only",
                *extra,
            ],
            env,
        )
        wall = time.perf_counter() - s
        report = json.loads(res.stdout)
        assert report["ok"] and report["valid"] == report["bundles"], report
        out["runs"].append(
            {
                "label": label,
                "bundles": report["bundles"],
                "wall_s": wall,
                "bundles_per_s": report["bundles"] / wall,
            }
        )
    return out


# ------------------------------------------------------------------------ report
def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = "unknown"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    import django

    try:
        import gunicorn

        gver = gunicorn.__version__
    except ImportError:
        gver = "not installed"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
        "gunicorn": gver,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def f(x: float, d: int = 1) -> str:
    return f"{x:,.{d}f}"


def render(
    results: list[dict[str, Any]],
    m: dict[str, str],
    args: argparse.Namespace,
    argv: list[str],
) -> str:
    L: list[str] = []
    a = L.append
    a("# meterproof benchmarks\n")
    a(
        "Generated by `bench/run.py` (method: `bench/README.md`). Numbers are from one run on the "
        "machine below; rerun to compare on yours.\n"
    )
    a("## Machine\n")
    a("| | |\n|---|---|")
    for k, label in (
        ("cpu", "CPU"),
        ("cores", "Cores (os.cpu_count)"),
        ("ram", "RAM"),
        ("os", "OS"),
        ("python", "Python"),
        ("django", "Django"),
        ("sqlite", "SQLite (library)"),
        ("gunicorn", "gunicorn"),
        ("date", "Date"),
    ):
        a(f"| {label} | {m[k]} |")
    for r in results:
        a(f"| {r['db']} server | {r['db_version']} |")
    a("")
    a("## Reproduce\n")
    a(
        "```sh\n.venv/bin/pip install -e '.[test,bench]'   # gunicorn for the HTTP part; skipped with a note if absent\n"
        f".venv/bin/python bench/run.py {' '.join(argv)}\n```\n"
    )
    a(
        f"Parameters of this run: n={args.n} in-process single attests after {args.warmup} warm-up "
        f"calls; batches {args.batches_100}x100 and {args.batches_500}x500 after one warm-up batch "
        f"each; HTTP {args.http_n} attests at concurrency {args.concurrency} (and "
        f"{max(50, args.http_n // 3)} at concurrency 1) after a warm-up; HTTP batch "
        f"{args.http_batches} requests x {args.batch_size} events at concurrency {args.concurrency} (and "
        f"{max(5, args.http_batches // 3)} at concurrency 1) after {max(2, args.concurrency)} warm-up requests; gunicorn {args.workers} sync "
        f"workers on 127.0.0.1; Groth16 proofs off (MP_BILLING_INCIRCUIT_BINDING=false); "
        f"DJANGO_DEBUG=false. Warm-up calls are excluded from every figure; percentiles use all "
        f"remaining samples.\n"
    )

    a(
        "Load average (1/5/15 min) when each database section started / ended — the machine was "
        "not otherwise idle if these are well above 0:\n"
    )
    for r in results:
        st, en = r.get("loadavg_start"), r.get("loadavg_end")
        a(
            f"- {r['db']}: {' / '.join(f(x, 2) for x in st)} at start, "
            f"{' / '.join(f(x, 2) for x in en) if en else 'n/a'} at end"
        )
    a("")
    target = 300.0
    a("## Target: >= 300 attests/s on PostgreSQL, 2 cores, no Groth16\n")
    for r in results:
        if r["db"] != "postgres":
            continue
        rows = [("in-process single (`meter_event_attest`)", r["single"]["throughput"])]
        for size, b in r["batch"].items():
            rows.append(
                (f"in-process batch of {size} (`meter_events_attest`)", b["throughput"])
            )
        if r.get("http"):
            for h in r["http"]["attest"]:
                rows.append(
                    (
                        f"HTTP `POST /attest`, {h['concurrency']} client(s), {r['http']['workers']} gunicorn workers",
                        h["throughput"],
                    )
                )
            for h in r["http"].get("batch", []):
                rows.append(
                    (
                        f"HTTP `POST /attest/batch` ({h['batch_size']} events/request), {h['concurrency']} "
                        f"client(s), {r['http']['workers']} gunicorn workers",
                        h["throughput"],
                    )
                )
        a("| path | attests/s | target met? |\n|---|---:|---|")
        for label, tput in rows:
            a(f"| {label} | {f(tput)} | {'yes' if tput >= target else '**no**'} |")
        lh = r["lock_hold"]
        a(
            f"\nLog-head lock held per single-event attest (SELECT ... FOR UPDATE on LogState to end of "
            f"COMMIT): p50 {f(lh['p50_ms'], 2)} ms, p95 {f(lh['p95_ms'], 2)} ms over {lh['n']} attests, so "
            f"single-event attests cannot exceed ~{f(1e3 / lh['p50_ms'], 0)}/s on this machine whatever the "
            f"number of workers."
        )
        lb = r.get("lock_hold_batch100")
        if lb and lb["n"]:
            a(
                f"\nThe same lock for one 100-event append (`meter_events_attest`): p50 {f(lb['p50_ms'], 1)} ms, "
                f"max {f(lb['max_ms'], 1)} ms over {lb['n']} batches, i.e. {f(lb['p50_ms'] / 100, 2)} ms per event "
                f"(ceiling ~{f(100e3 / lb['p50_ms'], 0)} events/s from the lock alone)."
            )
        a("")
    if not any(r["db"] == "postgres" for r in results):
        a("PostgreSQL was not part of this run.\n")

    for r in results:
        a(f"## {r['db']} — {r['db_version']}\n")
        a("### Attest\n")
        a(
            "| path | samples | p50 ms | p95 ms | p99 ms | max ms | throughput |\n"
            "|---|---:|---:|---:|---:|---:|---:|"
        )
        s = r["single"]
        a(
            f"| in-process `meter_event_attest` (1 event/call, sequential) | {s['n']} | {f(s['p50_ms'], 2)} | "
            f"{f(s['p95_ms'], 2)} | {f(s['p99_ms'], 2)} | {f(s['max_ms'], 2)} | {f(s['throughput'])} attests/s |"
        )
        for size, b in r["batch"].items():
            a(
                f"| in-process `meter_events_attest` batch of {size} (latency per batch) | {b['n']} | "
                f"{f(b['p50_ms'], 1)} | {f(b['p95_ms'], 1)} | {f(b['p99_ms'], 1)} | {f(b['max_ms'], 1)} | "
                f"{f(b['throughput'])} attests/s |"
            )
        if r.get("http"):
            for h in r["http"]["attest"]:
                err = sum(h["errors"].values())
                a(
                    f"| HTTP `POST /api/vdi/billing/attest`, {h['concurrency']} client thread(s) | {h['n']} | "
                    f"{f(h['p50_ms'], 2)} | {f(h['p95_ms'], 2)} | {f(h['p99_ms'], 2)} | {f(h['max_ms'], 2)} | "
                    f"{f(h['throughput'])} attests/s{f' (errors: {err})' if err else ''}"
                    f"{' (time cap hit)' if h['timed_out'] else ''} |"
                )
            for h in r["http"].get("batch", []):
                err = sum(h["errors"].values())
                a(
                    f"| HTTP `POST /api/vdi/billing/attest/batch`, {h['batch_size']} events/request, "
                    f"{h['concurrency']} client thread(s) (latency per request) | {h['n']} | "
                    f"{f(h['p50_ms'], 1)} | {f(h['p95_ms'], 1)} | {f(h['p99_ms'], 1)} | {f(h['max_ms'], 1)} | "
                    f"{f(h['throughput'])} attests/s{f' (errors: {err})' if err else ''}"
                    f"{' (time cap hit)' if h['timed_out'] else ''} |"
                )
        a("")
        a("### Verify\n")
        a(
            "| path | samples | p50 ms | p95 ms | p99 ms | throughput |\n|---|---:|---:|---:|---:|---:|"
        )
        v = r["verify_inproc"]
        a(
            f"| in-process `verify_bundle` (Django-free core, standard profile) | {v['n']} | {f(v['p50_ms'], 2)} | "
            f"{f(v['p95_ms'], 2)} | {f(v['p99_ms'], 2)} | {f(v['throughput'])} bundles/s |"
        )
        if r.get("http"):
            v = r["http"]["verify"]
            a(
                f"| HTTP `POST /api/vdi/billing/verify`, 1 client | {v['n']} | {f(v['p50_ms'], 2)} | "
                f"{f(v['p95_ms'], 2)} | {f(v['p99_ms'], 2)} | {f(v['throughput'])} bundles/s |"
            )
        a("")
        c = r["cli"]
        a(
            f"Offline CLI `python -m billing.protocol verify DIR --trust trust.json` on the "
            f"{c['bundles']} bundles exported by `manage.py export_bundles` (wall time of the whole "
            f"process, interpreter start-up included):\n"
        )
        a("| run | bundles | wall s | bundles/s |\n|---|---:|---:|---:|")
        for run_ in c["runs"]:
            a(
                f"| {run_['label']} | {run_['bundles']} | {f(run_['wall_s'], 2)} | {f(run_['bundles_per_s'])} |"
            )
        a("")
        q = r["queries_single"]
        a(
            f"### SQL per attest\n\nSingle-event attest, {q['runs']} consecutive calls under "
            f"`CaptureQueriesContext`: **{q['count_min']}–{q['count_max']} queries per attest** "
            f"(mean {f(q['count_mean'])}; the spread is the Merkle `tree_root` reads, see the "
            f"analysis); median {f(q['sql_ms'], 2)} ms inside `cursor.execute` + `COMMIT` (timed with "
            f"an `execute_wrapper` and a wrapped `_commit`) of {f(q['wall_ms'], 2)} ms wall. One batch of 100 events: "
            f"{r['queries_batch100']['count']} queries.\n"
        )
        a(
            f"Through the view (`POST /api/vdi/billing/attest` with Django's test client, "
            f"in-process): {r['queries_view']['count']} queries (the API-key "
            f"authentication's queries come on top of the service's).\n"
        )
        lh = r["lock_hold"]
        a(
            f"Log-head lock hold per single-event attest ({'BEGIN IMMEDIATE' if r['db'] == 'sqlite' else 'SELECT ... FOR UPDATE on LogState'} "
            f"to end of COMMIT): p50 {f(lh['p50_ms'], 2)} ms, p95 {f(lh['p95_ms'], 2)} ms ({lh['n']} attests)"
            + (
                f"; one 100-event append: p50 {f(r['lock_hold_batch100']['p50_ms'], 1)} ms "
                f"({r['lock_hold_batch100']['n']} batches)"
                if r.get("lock_hold_batch100", {}).get("n")
                else ""
            )
            + ".\n"
        )
        a(
            f"<details><summary>statements of the first captured attest ({q['count']}; truncated to 160 chars)</summary>\n\n```sql"
        )
        for i, sql in enumerate(q["sql"], 1):
            a(f"{i:2d}. {sql}")
        a("```\n</details>\n")
        p = r["profile"]
        a(
            f"### cProfile, in-process single attest\n\n{p['calls']} consecutive single-event "
            f"`meter_event_attest` calls under cProfile ({f(p['wall_ms_per_attest_profiled'], 2)} ms/attest "
            f"with profiler overhead); figures divided by {p['calls']} = per attest. Top "
            f"{args.profile_top} by cumulative time:\n"
        )
        a(
            "| cum ms/attest | own ms/attest | calls/attest | function |\n|---:|---:|---:|---|"
        )
        for row in p["top"][: args.profile_top]:
            a(
                f"| {f(row['cum_ms_per_attest'], 3)} | {f(row['tot_ms_per_attest'], 3)} | "
                f"{f(row['ncalls_per_attest'], 1)} | `{row['func']}` |"
            )
        a("\nTop 10 by own time (tottime):\n")
        a("| own ms/attest | calls/attest | function |\n|---:|---:|---|")
        for row in p["own_top"]:
            a(
                f"| {f(row['tot_ms_per_attest'], 3)} | {f(row['ncalls_per_attest'], 1)} | `{row['func']}` |"
            )
        a("")
    analysis = ROOT / "bench" / "ANALYSIS.md"
    if analysis.exists():  # hand-written bottleneck analysis, kept across reruns
        a(analysis.read_text())
    return "\n".join(L) + "\n"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pg_reachable(url: str) -> str | None:
    try:
        import psycopg

        parts = urlsplit(url)
        with psycopg.connect(
            urlunsplit(parts._replace(path="/postgres")), connect_timeout=3
        ):
            return None
    except Exception as exc:  # noqa: BLE001 - report any reason
        return str(exc).strip().splitlines()[0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument(
        "--n",
        type=int,
        default=300,
        help="in-process single attests (and verify samples)",
    )
    p.add_argument("--concurrency", type=int, default=4, help="HTTP client threads")
    p.add_argument(
        "--out",
        default=None,
        help="write the Markdown report here (e.g. BENCHMARKS.md)",
    )
    p.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL),
        help="a role that may CREATE DATABASE; a fresh database is created and dropped",
    )
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument(
        "--http-n", type=int, default=300, help="HTTP attests at --concurrency"
    )
    p.add_argument("--http-seconds", type=float, default=40, help="cap per HTTP run")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    p.add_argument(
        "--http-batches",
        type=int,
        default=40,
        help="HTTP batch requests at --concurrency (a third, min 5, at 1 client)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=100,
        help="events per HTTP batch request (1-100)",
    )
    p.add_argument("--batches-100", type=int, default=5)
    p.add_argument("--batches-500", type=int, default=2)
    p.add_argument("--profile-n", type=int, default=100)
    p.add_argument("--profile-top", type=int, default=15)
    p.add_argument(
        "--query-runs", type=int, default=50, help="attests measured for SQL counts"
    )
    p.add_argument("--no-http", action="store_true")
    p.add_argument("--json", default=None, help="also dump raw results as JSON here")
    p.add_argument(
        "--render",
        metavar="JSON",
        default=None,
        help="no measurement: re-render the report from a --json dump (e.g. after editing "
        "bench/ANALYSIS.md)",
    )
    p.add_argument("--_worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--worker-out", help=argparse.SUPPRESS)
    p.add_argument("--http-verify-n", type=int, default=100, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args._worker:
        worker_main(args)
        return

    if args.render:
        dump = json.loads(Path(args.render).read_text())
        text = render(
            dump["results"],
            dump["machine"],
            argparse.Namespace(**dump["args"]),
            dump["argv"],
        )
        if args.out:
            Path(args.out).write_text(text)
            log(f"wrote {args.out} from {args.render}")
        else:
            sys.stdout.write(text)
        return

    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in dbs:
        why = pg_reachable(args.pg_url)
        if why:
            if args.db == "postgres":
                raise SystemExit(f"PostgreSQL not reachable at --pg-url: {why}")
            log(f"PostgreSQL not reachable ({why}); running SQLite only")
            dbs = ["sqlite"]
    started = time.time()
    results = []
    with tempfile.TemporaryDirectory(prefix="meterproof-bench-") as tmp:
        workdir = Path(tmp)
        keyfile = workdir / "bench.env"
        env0 = {
            **os.environ,
            "MP_READ_DOT_ENV": "0",
            "DATABASE_URL": f"sqlite:///{workdir / 'unused.sqlite3'}",
        }
        run([PY, "manage.py", "billing_keys", "--env-file", str(keyfile)], env0)
        keys = read_env_file(keyfile)
        for db in dbs:
            results.append(bench_db(db, args, workdir, keys))
        sys.path.insert(0, str(ROOT))
        m = machine()
    argv = sys.argv[1:]
    text = render(results, m, args, argv)
    if args.out:
        Path(args.out).write_text(text)
        log(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"machine": m, "results": results, "argv": argv, "args": vars(args)},
                indent=1,
            )
        )
    log(f"done in {time.time() - started:.0f}s")


if __name__ == "__main__":
    main()
