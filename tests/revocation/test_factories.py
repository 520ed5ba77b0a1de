"""The revocation factories revoke and lift through the services, each step
publishing a new signed snapshot."""

from __future__ import annotations

from typing import Any

import pytest

from revocation.models import RevocationSnapshot
from tests.revocation.factories import RevokedAttestationFactory, RevokedKeyFactory

pytestmark = pytest.mark.django_db


def test_revocations_in_force_and_lifted(signing_keys: Any) -> None:
    """Default rows are in force; ``lifted`` rows carry their lift; each
    revocation and lift publishes a snapshot (sequence numbers 1..6)."""
    key = RevokedKeyFactory()
    assert key.lifted_at is None and len(key.kid) == 43
    lifted_key = RevokedKeyFactory(lifted=True)
    assert lifted_key.lifted_at is not None
    attestation = RevokedAttestationFactory()
    assert attestation.lifted_at is None and attestation.receipt_id.startswith("rcpt_")
    assert RevokedAttestationFactory(lifted=True).lifted_at is not None
    assert RevocationSnapshot.objects.count() == 6
