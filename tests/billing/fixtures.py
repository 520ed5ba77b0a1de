"""Billing fixtures: a demo tenant with an API key and a published tariff.

Registered for the whole suite by ``pytest_plugins`` in ``tests/conftest.py``
(the API-wide tests under ``tests/config`` use them too).
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.services.tenants import api_key_issue
from tests.billing.factories import TariffFactory, TariffVersionFactory, TenantFactory
from tests.billing.support import TenantSetup


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
