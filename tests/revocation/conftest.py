"""Fixtures of the revocation tests: configured keys and a staff user."""

from __future__ import annotations

from typing import Any

import pytest

from revocation.services.snapshots import issuer_keys


@pytest.fixture
def keys(signing_keys: Any) -> dict[str, Any]:
    """The server's trusted issuer keys by kid (server configured with keys)."""
    return issuer_keys()


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    """A superuser who acts in the admin."""
    return django_user_model.objects.create_superuser(
        username="alice", email="alice@example.com", password="pw-alice-123"
    )


@pytest.fixture
def no_sources(settings: Any) -> Any:
    """Neither an inline snapshot nor a feed URL configured."""
    settings.VDI_BILLING_REVOCATION_JSON = ""
    settings.VDI_BILLING_REVOCATION_URL = ""
    return settings
