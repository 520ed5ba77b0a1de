"""Billing fixtures: a demo tenant with an API key and a published tariff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import Tenant
from billing.services.tenants import api_key_issue
from tests.billing.factories import TariffFactory, TariffVersionFactory, TenantFactory


@dataclass
class TenantSetup:
    """A tenant, its API key secret and an authenticated API client."""

    tenant: Tenant
    secret: str
    client: APIClient


@pytest.fixture
def tariff_version(db: Any) -> Any:
    """The published default tariff ``api-requests``: 2 cents per request."""
    return TariffVersionFactory(tariff=TariffFactory(), version=1, published=True)


@pytest.fixture
def tenant_setup(db: Any, signing_keys: Any, tariff_version: Any) -> TenantSetup:
    """Tenant ``acme`` on the default tariff with an API key."""
    tenant = TenantFactory(slug="acme")
    issued = api_key_issue(tenant=tenant, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    return TenantSetup(tenant=tenant, secret=issued.secret, client=client)


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
