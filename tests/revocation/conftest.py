"""Fixtures of the revocation tests: configured keys, a staff user, a clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from revocation.services.snapshots import issuer_keys

#: A fixed instant the service tests run at (unix 1795000000).
NOW = datetime.fromtimestamp(1_795_000_000, UTC)


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
