"""Revoking and lifting key IDs and attestations each append one audit
record (``revocation.key_add``/``key_lift``/``attestation_add``/
``attestation_lift``) with the row's state before and after."""

from __future__ import annotations

from typing import Any

import pytest

from audittrail.models import AuditRecord
from audittrail.selectors import audit_trail_verify
from revocation.errors import AlreadyRevoked
from revocation.services.revocations import (
    revocation_attestation_add,
    revocation_attestation_lift,
    revocation_key_add,
    revocation_key_lift,
)
from tests.revocation.support import NOW

pytestmark = pytest.mark.django_db

KID = "k" * 43


def test_key_add_and_lift_are_audited(keys: Any, staff: Any) -> None:
    """Add then lift a kid: two records by alice; the lift's before is the
    revocation in force, its after the lifted one."""
    row = revocation_key_add(kid=KID, reason="leaked", actor=staff, now=NOW)
    revocation_key_lift(revoked_key=row, reason="false alarm", actor=staff, now=NOW)
    add, lift = AuditRecord.objects.order_by("seq")
    assert (add.action, add.object_type, add.object_id, add.actor) == (
        "revocation.key_add",
        "revoked_key",
        str(row.pk),
        "alice",
    )
    assert add.before is None
    assert add.after["kid"] == KID and add.after["reason"] == "leaked"
    assert lift.action == "revocation.key_lift"
    assert lift.before["lifted_at"] is None
    assert lift.after["lift_reason"] == "false alarm"
    assert audit_trail_verify().ok


def test_attestation_add_and_lift_are_audited(keys: Any, staff: Any) -> None:
    """An attestation revoked by receipt id and lifted: two records."""
    row = revocation_attestation_add(
        receipt_id="rcpt_1", reason="duplicate", actor=staff, now=NOW
    )
    revocation_attestation_lift(
        revoked_attestation=row, reason="not a duplicate", actor=staff, now=NOW
    )
    add, lift = AuditRecord.objects.order_by("seq")
    assert (add.action, lift.action) == (
        "revocation.attestation_add",
        "revocation.attestation_lift",
    )
    assert add.after["receipt_id"] == "rcpt_1"
    assert lift.after["lifted_by_label"] == "alice"


def test_a_tenant_revocation_is_audited_with_its_label(keys: Any) -> None:
    """``actor_label`` (a tenant revoking its own key) is the actor."""
    revocation_key_add(kid=KID, reason="rotated", actor_label="tenant:acme", now=NOW)
    record = AuditRecord.objects.get()
    assert (record.actor, record.actor_user_id) == ("tenant:acme", None)


def test_a_refused_revocation_records_nothing(keys: Any, staff: Any) -> None:
    """A second revocation of the same kid is refused and adds no record."""
    revocation_key_add(kid=KID, reason="leaked", actor=staff, now=NOW)
    with pytest.raises(AlreadyRevoked) as info:
        revocation_key_add(kid=KID, reason="again", actor=staff, now=NOW)
    assert info.value.code == "already_revoked"
    assert AuditRecord.objects.count() == 1
