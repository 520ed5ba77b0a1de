#!/usr/bin/env python
"""Crash run: SIGKILL gunicorn workers under attest load and check exactly-once.

Usage (repository root, project venv with the test extras, PostgreSQL role
with CREATEDB)::

    DATABASE_URL=postgres://USER:PASS@127.0.0.1:5432/DB \\
        .venv/bin/python scripts/crash_run.py [--quick] [--kills 30]
        [--restart-postgres "15 main"]

Creates a throw-away database next to ``DATABASE_URL`` (dropped at the end),
fresh keys in a temporary directory, the demo tenant and an API key; starts
gunicorn (sync workers) on loopback; client threads send single and batch
``POST /api/vdi/billing/attest`` requests over a fixed pool of events, retries
included, while a killer SIGKILLs a random worker at regular intervals
(gunicorn's master respawns it). With ``--restart-postgres "<ver> <cluster>"``
(root only, never in ``--quick``) the cluster is restarted once in immediate
mode half-way through. Then every event is retried until it answers with a
bundle, and the database is checked:

* **lost**: events without a bundle (0 expected);
* **doubled**: events with more than one meter event / bundle, or log leaves
  (logged or queued) not cited by exactly one bundle (0 expected);
* **unsequenced**: leaves still queued after the retries (0 expected);
* **longest in progress**: the longest time any event kept answering 409
  ``attest_in_progress`` / ``reservation_lost`` (30 s at most).

Prints a JSON summary; exits 1 if a check fails. ``--quick`` (a few kills, no
PostgreSQL restart, well under a minute) is CI's variant. Everything runs on
127.0.0.1; every loop is bounded by a deadline.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
ATTEST = "/api/vdi/billing/attest"
BATCH = "/api/vdi/billing/attest/batch"
IN_PROGRESS = {"attest_in_progress", "reservation_lost"}
MAX_IN_PROGRESS_SECONDS = 30.0


def log(message: str) -> None:
    """Print a timestamped progress line to stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def make_events(count: int) -> list[dict[str, Any]]:
    """Return ``count`` bare meter events of the demo tenant (unique ids)."""
    now = datetime.now(UTC).replace(microsecond=0)
    run = uuid.uuid4().hex[:8]
    return [
        {
            "tenant": "demo",
            "event_id": f"crash-{run}-{i}",
            "window": now.strftime("%Y-%m"),
            "metric": "api_requests",
            "quantity": 1 + i % 5,
            "occurred_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "attributes": {"route": "/v1/crash"},
        }
        for i in range(count)
    ]


class Tracker:
    """Per-event outcomes: settled (has a bundle) and in-progress streaks."""

    def __init__(self, count: int) -> None:
        """Track ``count`` events by index."""
        self.lock = threading.Lock()
        self.settled = [False] * count
        self.streak_start: list[float | None] = [None] * count
        self.longest = 0.0
        self.longest_event = -1
        self.statuses: Counter[str] = Counter()
        self.failures: list[tuple[float, str]] = []  # (monotonic, outcome)

    def record(self, index: int, outcome: str) -> None:
        """Record one answer for event ``index``: ``ok`` (a bundle), an error
        code, or ``transport`` (no answer: the worker died)."""
        now = time.monotonic()
        with self.lock:
            self.statuses[outcome] += 1
            if outcome != "ok" and outcome not in IN_PROGRESS:
                self.failures.append((now, outcome))
            start = self.streak_start[index]
            if outcome in IN_PROGRESS:
                if start is None:
                    self.streak_start[index] = now
                return
            if outcome == "ok":
                self.settled[index] = True
            if start is not None and outcome != "transport":
                self._close(index, now - start)

    def _close(self, index: int, seconds: float) -> None:
        self.streak_start[index] = None
        if seconds > self.longest:
            self.longest, self.longest_event = seconds, index

    def finish(self) -> None:
        """Close streaks still open (an event that never settled)."""
        now = time.monotonic()
        with self.lock:
            for index, start in enumerate(self.streak_start):
                if start is not None:
                    self._close(index, now - start)


class Client:
    """Sends attests to gunicorn and records each event's outcome."""

    def __init__(self, port: int, secret: str, events: list[dict[str, Any]]) -> None:
        """Target ``127.0.0.1:port`` with API key ``secret``."""
        self.port = port
        self.headers = {
            "Authorization": f"Bearer {secret}",
            "Content-Type": "application/json",
        }
        self.events = events

    def _post(self, path: str, body: Any) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("POST", path, json.dumps(body), self.headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(data)
        except ValueError:
            return response.status, None

    @staticmethod
    def _outcome(status: int, body: Any) -> str:
        if status in (200, 201) and isinstance(body, dict) and "attestation" in body:
            return "ok"
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return str(body["error"].get("code"))
        return f"http_{status}"

    def attest(self, indices: list[int], tracker: Tracker) -> None:
        """Attest events ``indices``: alone if one, else as one batch."""
        try:
            if len(indices) == 1:
                status, body = self._post(ATTEST, self.events[indices[0]])
                tracker.record(indices[0], self._outcome(status, body))
                return
            status, body = self._post(
                BATCH, {"events": [self.events[i] for i in indices]}
            )
        except (OSError, http.client.HTTPException):
            for i in indices:
                tracker.record(i, "transport")
            return
        results = body.get("results") if isinstance(body, dict) else None
        if status != 200 or not isinstance(results, list):
            outcome = self._outcome(status, body)
            for i in indices:
                tracker.record(i, outcome)
            return
        for i, result in zip(indices, results, strict=True):
            if result.get("bundle") is not None:
                tracker.record(i, "ok")
            else:
                tracker.record(i, str((result.get("error") or {}).get("code")))


def worker_pids(master: int) -> list[int]:
    """Return the pids of ``master``'s child processes (Linux ``/proc``)."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[1]) == master:
            children.append(int(entry))
    return children


def wait_http(port: int, seconds: float) -> None:
    """Wait until the server answers the trust-anchor document."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/.well-known/vdi-billing-trust.json")
            ok = conn.getresponse().status == 200
            conn.close()
            if ok:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not come up")


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def generate_keys(tmp: Path) -> dict[str, str]:
    """Return fresh server keys (``manage.py billing_keys`` into a temp file)."""
    env_file = tmp / "keys.env"
    subprocess.run(
        [PY, "manage.py", "billing_keys", "--env-file", str(env_file)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        env={**os.environ, "MP_READ_DOT_ENV": "0"},
    )
    keys = {}
    for line in env_file.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        keys[name.strip()] = value
    return keys


def check_database(url: str, events: list[dict[str, Any]]) -> dict[str, int]:
    """Return the exactly-once figures read from the database."""
    import psycopg

    ids = [e["event_id"] for e in events]
    with psycopg.connect(url) as conn:
        per_event = dict(
            conn.execute(
                "SELECT e.event_id, count(b.id) FROM billing_meterevent e "
                "LEFT JOIN billing_bundle b ON b.meter_event_id = e.id "
                "WHERE e.event_id = ANY(%s) GROUP BY e.event_id",
                [ids],
            ).fetchall()
        )
        events_rows = conn.execute(
            "SELECT count(*) FROM billing_meterevent WHERE event_id = ANY(%s)", [ids]
        ).fetchone()[0]
        bundles = conn.execute("SELECT count(*) FROM billing_bundle").fetchone()[0]
        logged = conn.execute("SELECT count(*) FROM transparency_logentry").fetchone()[
            0
        ]
        queued = conn.execute(
            "SELECT count(*) FROM transparency_queuedentry"
        ).fetchone()[0]
        cited = conn.execute(
            "SELECT count(*) FROM billing_bundle b WHERE b.leaf_hash IN "
            "(SELECT leaf_hash FROM transparency_logentry UNION ALL "
            " SELECT leaf_hash FROM transparency_queuedentry)"
        ).fetchone()[0]
        reserved = conn.execute(
            "SELECT count(*) FROM billing_replayreservation WHERE status = 'reserved'"
        ).fetchone()[0]
    lost = sum(1 for i in ids if per_event.get(i, 0) == 0)
    doubled_bundles = sum(1 for n in per_event.values() if n > 1)
    return {
        "events": len(ids),
        "bundles": bundles,
        "lost": lost,
        "doubled": doubled_bundles
        + (events_rows - len(per_event))
        + (logged + queued - cited),
        "log_leaves": logged,
        "unsequenced": queued,
        "uncited_leaves": logged + queued - cited,
        "reservations_left": reserved,
    }


def restart_postgres(cluster: str) -> None:
    """Restart ``<version> <name>`` in immediate mode (a crash, no checkpoint)."""
    version, name = cluster.split()
    subprocess.run(
        ["pg_ctlcluster", version, name, "restart", "-m", "immediate"],
        check=True,
        timeout=120,
    )


def main() -> int:  # noqa: C901 - one linear scenario
    """Run the scenario; return the exit status (0: every check passed)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI variant (< 60 s)")
    parser.add_argument("--kills", type=int, help="worker SIGKILLs (30; quick 4)")
    parser.add_argument("--events", type=int, help="event pool (300; quick 60)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=6, help="client threads")
    parser.add_argument(
        "--kill-interval", type=float, default=0.8, help="seconds between kills"
    )
    parser.add_argument(
        "--restart-postgres",
        metavar="'VERSION CLUSTER'",
        help="restart this cluster once, immediately (root only; not with --quick)",
    )
    parser.add_argument("--settle-seconds", type=float, default=120.0)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("needs a PostgreSQL DATABASE_URL (or --database-url)")
    kills = args.kills if args.kills is not None else (4 if args.quick else 30)
    count = args.events if args.events is not None else (60 if args.quick else 300)
    restart = None if args.quick else args.restart_postgres
    if restart and os.geteuid() != 0:
        parser.error("--restart-postgres needs root (pg_ctlcluster)")

    import psycopg

    name = f"mp_crash_run_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(args.database_url)._replace(path=f"/{name}"))
    master: subprocess.Popen[bytes] | None = None
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="mp-crash-") as tmp_name:
            tmp = Path(tmp_name)
            env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("MP_", "VDI_", "DJANGO_"))
            }
            env.update(generate_keys(tmp))
            env.update(
                {
                    "DATABASE_URL": url,
                    "MP_READ_DOT_ENV": "0",
                    "DJANGO_DEBUG": "false",
                    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                    "DJANGO_SETTINGS_MODULE": "config.settings",
                    "MP_BILLING_INCIRCUIT_BINDING": "false",
                    "LOG_LEVEL": "CRITICAL",
                    "PYTHONPATH": str(ROOT),
                }
            )
            subprocess.run(
                [PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
            )
            setup = (
                "from billing.services.demo import demo_seed\n"
                "from billing.services.tenants import api_key_issue\n"
                "tenant, _ = demo_seed()\n"
                "print(api_key_issue(tenant=tenant, name='crash').secret)"
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
            port = free_port()
            gunicorn = str(Path(PY).parent / "gunicorn")
            master = subprocess.Popen(  # noqa: S603 - fixed argv, loopback
                [
                    gunicorn,
                    "config.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(args.workers),
                    "--worker-class",
                    "sync",
                    "--timeout",
                    "60",
                    "--graceful-timeout",
                    "5",
                    "--log-level",
                    "critical",
                ],
                cwd=ROOT,
                env=env,
                stdout=(tmp / "gunicorn.log").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            wait_http(port, 90)
            log(f"gunicorn up on 127.0.0.1:{port}, {args.workers} workers")

            events = make_events(count)
            tracker = Tracker(count)
            client = Client(port, secret, events)
            rng = random.Random()  # noqa: S311 - load shape, not security
            stop = threading.Event()

            def load() -> None:
                while not stop.is_set():
                    before = len(tracker.failures)
                    if rng.random() < 0.6:
                        client.attest([rng.randrange(count)], tracker)
                    else:
                        picks = rng.sample(range(count), rng.randint(2, 8))
                        client.attest(picks, tracker)
                    if len(tracker.failures) > before:
                        time.sleep(0.2)  # back off like a real client

            threads = [
                threading.Thread(target=load, daemon=True) for _ in range(args.clients)
            ]
            for t in threads:
                t.start()
            killed = 0
            restarted = False
            restart_at = restart_done = 0.0
            deadline = time.monotonic() + max(30.0, kills * args.kill_interval * 4)
            while killed < kills and time.monotonic() < deadline:
                time.sleep(args.kill_interval * rng.uniform(0.5, 1.5))
                pids = worker_pids(master.pid)
                if not pids:
                    continue
                os.kill(rng.choice(pids), signal.SIGKILL)
                killed += 1
                if restart and not restarted and killed >= kills // 2:
                    log(f"restarting PostgreSQL {restart} (immediate)")
                    restart_at = time.monotonic()
                    restart_postgres(restart)
                    restart_done = time.monotonic()
                    restarted = True
            time.sleep(1.0)
            stop.set()
            for t in threads:
                t.join(timeout=90)
            log(f"load done: {killed} workers killed; settling every event")

            # Settle: retry every unsettled event until each has its bundle.
            settle_deadline = time.monotonic() + args.settle_seconds
            while time.monotonic() < settle_deadline:
                todo = [i for i in range(count) if not tracker.settled[i]]
                if not todo:
                    break
                for start in range(0, len(todo), 20):
                    client.attest(todo[start : start + 20], tracker)
                if any(not s for s in tracker.settled):
                    time.sleep(0.5)
            # A read heals any leaf whose sequencing was interrupted; retries
            # above are replays and heal too. One more pass covers the rest.
            for start in range(0, count, 20):
                client.attest(list(range(start, min(count, start + 20))), tracker)
            tracker.finish()
            figures = check_database(url, events)
    finally:
        if master is not None and master.poll() is None:
            os.killpg(master.pid, signal.SIGTERM)
            try:
                master.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(master.pid, signal.SIGKILL)
                master.wait(timeout=30)
        for _ in range(30):  # PostgreSQL may still be coming back up
            try:
                with psycopg.connect(args.database_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except psycopg.OperationalError:
                time.sleep(1)
    summary = {
        "mode": "quick" if args.quick else "full",
        "workers": args.workers,
        "clients": args.clients,
        "kills": killed,
        "postgres_restarted": restarted,
        **figures,
        "longest_in_progress_s": round(tracker.longest, 1),
        "answers": dict(sorted(tracker.statuses.items())),
        # failed answers (5xx, transport) outside the PostgreSQL restart
        # (from its start to 10 s after it is back) are worker kills only
        "failed_answers_during_restart": sum(
            1 for at, _ in tracker.failures if restart_at <= at <= restart_done + 10
        )
        if restarted
        else 0,
        "postgres_restart_s": round(restart_done - restart_at, 1) if restarted else 0,
        "wall_s": round(time.monotonic() - started, 1),
    }
    print(json.dumps(summary, indent=2))
    failures = [
        name
        for name, bad in (
            ("lost", summary["lost"] != 0),
            ("doubled", summary["doubled"] != 0),
            ("unsequenced", summary["unsequenced"] != 0),
            ("kills", killed < kills),
            ("in_progress", tracker.longest > MAX_IN_PROGRESS_SECONDS),
            ("restart", bool(restart) and not restarted),
        )
        if bad
    ]
    if failures:
        log(f"FAILED: {', '.join(failures)}")
        return 1
    log("passed: 0 lost, 0 doubled, all sequenced")
    return 0


if __name__ == "__main__":
    sys.exit(main())
