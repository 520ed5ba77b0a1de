"""Billing fixtures: a demo tenant with an API key and a published tariff.

Registered for the whole suite by ``pytest_plugins`` in ``tests/conftest.py``
(the API-wide tests under ``tests/config`` use them too).
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.billing.factories import (
    ApiKeyFactory,
    TariffFactory,
    TariffVersionFactory,
    TenantFactory,
)
from tests.billing.support import TenantSetup


@pytest.fixture
def tariff_version(db: Any) -> Any:
    """The published default tariff ``api-requests``: 2 cents per request."""
    return TariffVersionFactory(tariff=TariffFactory(), version=1, published=True)


@pytest.fixture
def tenant_setup(db: Any, signing_keys: Any, tariff_version: Any) -> TenantSetup:
    """Tenant ``acme`` on the default tariff with an API key."""
    tenant = TenantFactory(slug="acme")
    secret = ApiKeyFactory(tenant=tenant).secret
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return TenantSetup(tenant=tenant, secret=secret, client=client)
