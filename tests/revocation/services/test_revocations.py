"""Revocation services: add/lift are recorded and each publishes a signed
snapshot with sequence + 1; old snapshots are kept."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from kernel.errors import SigningKeysUnconfigured
from revocation.errors import AlreadyLifted, AlreadyRevoked, RevocationInputInvalid
from revocation.models import RevocationSnapshot, RevokedAttestation, RevokedKey
from revocation.protocol.snapshot import snapshot_open
from revocation.selectors import revocation_snapshot_latest
from revocation.services.revocations import (
    revocation_attestation_add,
    revocation_attestation_lift,
    revocation_key_add,
    revocation_key_lift,
)
from revocation.services.snapshots import (
    revocation_snapshot_ensure,
    revocation_snapshot_publish,
    revocation_snapshot_refresh,
)
from tests.revocation.support import NOW

pytestmark = pytest.mark.django_db

KID = "k" * 43
BHASH = "0f" * 32


def latest_open(keys: Any) -> Any:
    """Open (verify) the latest published snapshot."""
    row = revocation_snapshot_latest()
    assert row is not None
    return snapshot_open(row.document, keys)


def test_key_add_records_actor_and_publishes(keys: Any, staff: Any) -> None:
    """A key revocation stores who/why/when and publishes sequence 0 listing it."""
    row = revocation_key_add(kid=KID, reason="leaked", actor=staff, now=NOW)
    assert (row.revoked_by, row.revoked_by_label, row.revoked_at) == (
        staff,
        "alice",
        NOW,
    )
    snap = latest_open(keys)
    assert snap.sequence == 0 and snap.revoked_kids == {KID}
    assert snap.snapshot_time == int(NOW.timestamp())


def test_each_change_bumps_the_sequence_and_keeps_old_snapshots(
    keys: Any, staff: Any
) -> None:
    """add, add, lift, lift -> sequences 0..3; earlier documents unchanged."""
    key = revocation_key_add(kid=KID, reason="r1", actor=staff, now=NOW)
    first_doc = RevocationSnapshot.objects.get(sequence=0).document
    att = revocation_attestation_add(
        bundle_hash=BHASH, reason="r2", actor=staff, now=NOW
    )
    later = NOW + timedelta(seconds=30)
    revocation_key_lift(revoked_key=key, reason="false alarm", actor=staff, now=later)
    revocation_attestation_lift(
        revoked_attestation=att, reason="ok", actor=None, now=later
    )
    sequences = list(
        RevocationSnapshot.objects.order_by("sequence").values_list(
            "sequence", flat=True
        )
    )
    assert sequences == [0, 1, 2, 3]
    assert RevocationSnapshot.objects.get(sequence=0).document == first_doc
    listed = [
        (
            json.loads(r.document)["revokedKids"],
            json.loads(r.document)["revokedAttestations"],
        )
        for r in RevocationSnapshot.objects.order_by("sequence")
    ]
    assert listed == [([KID], []), ([KID], [BHASH]), ([], [BHASH]), ([], [])]
    key.refresh_from_db()
    assert (key.lifted_by_label, key.lift_reason, key.lifted_at) == (
        "alice",
        "false alarm",
        later,
    )
    att.refresh_from_db()
    assert att.lifted_by_label == "system" and att.lifted_by is None
    # rows are kept, lifted, never deleted
    assert RevokedKey.objects.count() == 1 and RevokedAttestation.objects.count() == 1
    for row in RevocationSnapshot.objects.all():
        snapshot_open(row.document, keys)  # every kept snapshot still verifies


def test_double_revoke_and_double_lift_are_refused(keys: Any, staff: Any) -> None:
    """already_revoked / already_lifted; nothing new published."""
    key = revocation_key_add(kid=KID, reason="r", actor=staff, now=NOW)
    with pytest.raises(AlreadyRevoked) as info:
        revocation_key_add(kid=KID, reason="again", actor=staff, now=NOW)
    assert info.value.code == "already_revoked"
    revocation_key_lift(revoked_key=key, reason="x", actor=staff, now=NOW)
    with pytest.raises(AlreadyLifted):
        revocation_key_lift(revoked_key=key, reason="y", actor=staff, now=NOW)
    assert RevocationSnapshot.objects.count() == 2
    # after a lift the kid can be revoked again: a new row
    revocation_key_add(kid=KID, reason="again", actor=staff, now=NOW)
    assert RevokedKey.objects.filter(kid=KID).count() == 2
    assert latest_open(keys).revoked_kids == {KID}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"receipt_id": "", "bundle_hash": ""},
        {"receipt_id": "rcpt_1", "bundle_hash": BHASH},
        {"bundle_hash": "ABCD" * 16},
        {"bundle_hash": "0f" * 31},
        {"receipt_id": "has space"},
        {"receipt_id": "rcpt_1", "reason": "  "},
    ],
)
def test_attestation_add_input_is_validated(signing_keys: Any, kwargs: Any) -> None:
    """Exactly one well-formed identifier and a reason, else input invalid."""
    args = {"reason": "r", **kwargs}
    with pytest.raises(RevocationInputInvalid) as info:
        revocation_attestation_add(**args)
    assert info.value.code == "revocation_input_invalid"
    assert RevocationSnapshot.objects.count() == 0


def test_attestation_by_receipt_id(keys: Any) -> None:
    """A receipt id is listed as such; the same id twice is refused."""
    revocation_attestation_add(receipt_id="rcpt_abc", reason="dispute lost", now=NOW)
    assert latest_open(keys).is_attestation_revoked("rcpt_abc")
    with pytest.raises(AlreadyRevoked):
        revocation_attestation_add(receipt_id="rcpt_abc", reason="again", now=NOW)


def test_without_keys_nothing_is_stored(settings: Any) -> None:
    """No issuer key: the add fails and the transaction leaves no row."""
    settings.VDI_SIGNING_KEY = ""
    with pytest.raises(SigningKeysUnconfigured):
        revocation_key_add(kid=KID, reason="r")
    assert not RevokedKey.objects.exists()
    assert not RevocationSnapshot.objects.exists()


def test_ensure_publishes_once_and_refresh_resigns_when_half_stale(
    keys: Any,
) -> None:
    """ensure -> sequence 0 once; refresh re-signs only after max_age/2."""
    assert revocation_snapshot_ensure().sequence == 0
    assert revocation_snapshot_ensure().sequence == 0
    first = revocation_snapshot_latest()
    assert first is not None
    base = first.created_at
    young = base + timedelta(seconds=1799)
    assert revocation_snapshot_refresh(now=young, max_age_seconds=3600) is None
    row = revocation_snapshot_refresh(
        now=base + timedelta(seconds=1900), max_age_seconds=3600
    )
    assert row is not None and row.sequence == 1
    assert latest_open(keys).snapshot_time == int(
        (base + timedelta(seconds=1900)).timestamp()
    )


def test_snapshot_time_never_goes_backwards(keys: Any) -> None:
    """A clock step back still yields snapshotTime >= the previous one."""
    revocation_snapshot_publish(now=NOW)
    revocation_snapshot_publish(now=NOW - timedelta(hours=1))
    assert latest_open(keys).snapshot_time == int(NOW.timestamp())


def test_refresh_task_publishes_when_nothing_was_published(keys: Any) -> None:
    """The beat task re-signs (here: publishes sequence 0), then waits."""
    from revocation.tasks import revocation_snapshot_refresh_task

    assert revocation_snapshot_refresh_task() == 0
    assert revocation_snapshot_refresh_task() is None
