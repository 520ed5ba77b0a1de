"""Fuzz every JSON endpoint with thousands of hostile requests (Hypothesis).

Each request is a valid one with one part made hostile, raw non-JSON bytes,
random JSON, odd headers or odd path bytes (``tests/config/hostile_requests.py``).
The run fails if any answer is a 5xx or an error outside the documented body
``{"error": {"code", "message", "field"}}``.

In-process (default): a throw-away SQLite database in a temp dir (or
``--database-url``), fresh keys, a tenant ``fuzz`` with an API key::

    python scripts/fuzz_api.py --requests 3000

Against a running server on loopback (the tenant's API key and slug)::

    python scripts/fuzz_api.py --url http://127.0.0.1:8000 \\
        --api-key mp_... --tenant acme --requests 3000

Needs the test extras (``pip install -e '.[test]'``). Exit status 0: no
problem; 1: problems, listed with the requests that caused them.
"""

from __future__ import annotations

import argparse
import atexit
import collections
import logging
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def http_sender(base_url: str, api_key: str) -> Any:
    """Send requests over HTTP/1.1 to ``base_url`` (raw socket, so that odd
    paths and headers go out as written)."""
    from http.client import HTTPResponse

    from tests.config.hostile_requests import HostileRequest

    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    def send(request: HostileRequest) -> tuple[int, str, bytes]:
        headers = dict(request.headers)
        if request.auth:
            headers["Authorization"] = f"Bearer {api_key}"
        headers["Host"] = parts.netloc
        headers["Connection"] = "close"
        if request.body is not None or request.method in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(request.body or b""))
            if request.content_type:
                headers["Content-Type"] = request.content_type
        head = f"{request.method} {request.path} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers.items()
        )
        payload = (head + "\r\n").encode("latin-1") + (request.body or b"")
        with socket.create_connection((host, port), timeout=60) as sock:
            sock.sendall(payload)
            answer = HTTPResponse(sock)
            answer.begin()
            return answer.status, answer.getheader("Content-Type") or "", answer.read()

    return send


def in_process_sender(database_url: str | None) -> tuple[Any, str]:
    """Set up Django on a throw-away database with fresh keys and a tenant;
    return (sender, tenant slug)."""
    from kernel.protocol.ed25519 import KeyPair, signing_key_to_pem

    work = Path(tempfile.mkdtemp(prefix="mp-fuzz-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    issuer, meter, operator, authority = (KeyPair.generate() for _ in range(4))
    os.environ.update(
        {
            "MP_READ_DOT_ENV": "0",
            "MP_ENV": "development",
            "DJANGO_DEBUG": "false",
            "MP_VAR_DIR": str(work),
            "DATABASE_URL": database_url or f"sqlite:///{work / 'fuzz.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "MP_SIGNING_KEY": bytes(issuer.signing_key).hex(),
            "MP_BILLING_METER_PRIVATE_KEY_PEM": signing_key_to_pem(meter.signing_key),
            "MP_BILLING_METER_KID": meter.kid,
            "MP_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM": signing_key_to_pem(
                operator.signing_key
            ),
            "MP_BILLING_LOG_OPERATOR_KID": operator.kid,
            "MP_MANIFEST_AUTHORITY_SIGNING_KEY": bytes(authority.signing_key).hex(),
            "MP_TENANT_SURROGATE_KEY": "11" * 32,
            "MP_ATTEST_SECRET": "",
            "LOG_LEVEL": "CRITICAL",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from billing.services.tenants import api_key_issue
    from tests.billing.factories import (
        TariffFactory,
        TariffVersionFactory,
        TenantFactory,
    )
    from tests.config.hostile_requests import django_client_sender

    call_command("migrate", verbosity=0, interactive=False)
    # Django logs every 4xx answer; thousands of them would bury the report.
    logging.disable(logging.WARNING)
    TariffVersionFactory(tariff=TariffFactory(), version=1, published=True)
    tenant = TenantFactory(slug="fuzz")
    secret = api_key_issue(tenant=tenant, name="fuzz").secret
    client = Client(raise_request_exception=False)
    return django_client_sender(client, secret), tenant.slug


def main(argv: list[str] | None = None) -> int:
    """Run the fuzz; print counts by endpoint and status, and every problem."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--url", help="base URL of a running server (loopback)")
    parser.add_argument("--api-key", help="tenant API key (with --url)")
    parser.add_argument("--tenant", help="the API key's tenant slug (with --url)")
    parser.add_argument(
        "--database-url", help="in-process database (default: temp SQLite)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if args.url:
        if not (args.api_key and args.tenant):
            parser.error("--url needs --api-key and --tenant")
        send, tenant = http_sender(args.url, args.api_key), args.tenant
    else:
        send, tenant = in_process_sender(args.database_url)

    # Hypothesis caches (charmaps, constants) go to a temp dir, not the cwd.
    storage = tempfile.mkdtemp(prefix="mp-hypothesis-")
    atexit.register(shutil.rmtree, storage, ignore_errors=True)
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", storage)
    from hypothesis import HealthCheck, given, seed, settings
    from hypothesis import strategies as st

    from tests.config.hostile_requests import (
        answer_problem,
        build_templates,
        hostile_requests,
    )

    templates = build_templates(send, tenant)
    counts: collections.Counter[tuple[str, int]] = collections.Counter()
    problems: list[tuple[Any, str]] = []

    @seed(args.seed)
    @settings(
        max_examples=args.requests,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        request = data.draw(hostile_requests(templates))
        try:
            status, content_type, body = send(request)
        except OSError as exc:  # the server dropped the connection
            problems.append((request, f"no answer: {exc!r}"))
            return
        counts[(request.endpoint, status)] += 1
        problem = answer_problem(status, content_type, body)
        if problem is not None:
            problems.append((request, problem))

    started = time.monotonic()
    run()
    elapsed = time.monotonic() - started
    total = sum(counts.values())
    print(f"{total} hostile requests in {elapsed:.1f} s")
    by_status = collections.Counter()
    for (endpoint, status), n in sorted(counts.items()):
        by_status[status] += n
        print(f"  {endpoint:18} {status}  {n}")
    print("by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(by_status.items())))
    print(f"5xx answers: {sum(n for s, n in by_status.items() if s >= 500)}")
    for request, problem in problems[:50]:
        print(f"PROBLEM {problem}\n  {request!r}"[:2000])
    print(f"problems: {len(problems)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
