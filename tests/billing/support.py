"""Billing test helpers: meter events and envelopes, the attest route, a
tenant set-up and API clients of other tenants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rest_framework.test import APIClient

from billing.models import Bundle, Tenant
from billing.protocol.contexts import CONTEXT_METER_ENVELOPE
from billing.services.attest import meter_events_attest
from billing.services.demo import demo_seed
from kernel.protocol.ed25519 import KeyPair, sign_object
from tests.billing.factories import ApiKeyFactory, TenantFactory

#: The attest API route (single event or ``{"events": [...]}`` batch).
ATTEST = "/api/vdi/billing/attest"


@dataclass
class TenantSetup:
    """A tenant, its API key secret and an authenticated API client."""

    tenant: Tenant
    secret: str
    client: APIClient


def make_event(
    tenant: str = "acme",
    event_id: str = "evt_1",
    quantity: int = 3,
    *,
    age_seconds: int = 10,
    **extra: Any,
) -> dict[str, Any]:
    """Return a bare meter event that occurred ``age_seconds`` ago."""
    occurred = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=age_seconds)
    event = {
        "tenant": tenant,
        "event_id": event_id,
        "window": occurred.strftime("%Y-%m"),
        "metric": "api_requests",
        "quantity": quantity,
        "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "attributes": {
            "route": "/v1/search",
            "method": "GET",
            "status": 200,
            "bytes": 512,
        },
    }
    event.update(extra)
    return event


def meter_envelope(key: KeyPair, event: dict[str, Any]) -> dict[str, Any]:
    """Return a meter envelope (PROTOCOL.md §4.3) of ``event`` signed by
    ``key`` (a tenant's gateway or the server's meter key): ``{"event",
    "kid", "sig"}`` with the domain-separated Ed25519 signature over the
    canonical event."""
    return {
        "event": event,
        "kid": key.kid,
        "sig": sign_object(key.signing_key, CONTEXT_METER_ENVELOPE, event),
    }


def tenant_client(slug: str) -> APIClient:
    """Return an API client authenticated with a fresh API key of tenant
    ``slug`` (the tenant is made by the factory when it does not exist)."""
    api_key = ApiKeyFactory(tenant=TenantFactory(slug=slug))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.secret}")
    return client


def bare_event(event_id: str, quantity: int = 3, day: int = 17) -> dict[str, Any]:
    """Return a bare meter event of tenant ``demo`` in window 2015-05."""
    return {
        "tenant": "demo",
        "event_id": event_id,
        "window": "2015-05",
        "metric": "api_requests",
        "quantity": quantity,
        "occurred_at": f"2015-05-{day:02d}T10:00:00Z",
        "attributes": {"path": "/v1/things"},
    }


def attest_demo_events() -> list[Bundle]:
    """Seed the demo tenant and tariff and attest three backfilled events of
    window 2015-05; return their bundles in log order (needs signing keys)."""
    demo_seed()
    outcomes = meter_events_attest(
        payloads=[bare_event(f"evt-{i}", quantity=i + 1) for i in range(3)],
        backfill=True,
    )
    assert [o.status for o in outcomes] == ["attested"] * 3
    return list(Bundle.objects.order_by("id"))
