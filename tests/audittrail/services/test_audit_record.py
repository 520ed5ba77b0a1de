"""``audit_record``: appends linked, hashed records with gap-free sequence
numbers, inside the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import transaction

from audittrail.errors import AuditInputInvalid
from audittrail.models import AuditRecord
from audittrail.protocol.chain import GENESIS_HASH, record_hash
from audittrail.selectors import audit_head_get, audit_record_json, audit_trail_verify
from audittrail.services import audit_record, audit_snapshot
from tests.audittrail.factories import AuditRecordFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 4, 18, 0, 0, 123400, tzinfo=UTC)


def _append(**overrides: Any) -> AuditRecord:
    fields: dict[str, Any] = {
        "actor": "system:test",
        "action": "api_key.revoke",
        "obj_type": "api_key",
        "obj_id": "abc123",
        "before": {"revoked_at": None},
        "after": {"revoked_at": "2026-12-04T18:00:00Z"},
        **overrides,
    }
    return audit_record(**fields)


def test_the_first_record_starts_the_chain() -> None:
    """Record 1 has ``prev_hash`` 64 zeros and a hash of its JSON form with
    ``at`` as a Timestamp (fraction without trailing zeros)."""
    record = _append(now=NOW)
    assert (record.seq, record.prev_hash) == (1, GENESIS_HASH)
    document = audit_record_json(AuditRecord.objects.get(pk=record.pk))
    assert document["at"] == "2026-12-04T18:00:00.1234Z"
    assert record_hash(document) == record.record_hash == document["record_hash"]


def test_each_record_links_to_the_previous_one() -> None:
    """Three appends: seq 1, 2, 3, each ``prev_hash`` the previous hash; the
    head is the last; the stored chain verifies."""
    rows = [_append(obj_id=str(i)) for i in range(3)]
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[1].prev_hash == rows[0].record_hash
    assert rows[2].prev_hash == rows[1].record_hash
    head = audit_head_get()
    assert head is not None and (head.seq, head.record_hash) == (3, rows[2].record_hash)
    assert audit_trail_verify().ok


def test_a_rolled_back_action_leaves_no_record_and_no_gap() -> None:
    """The record commits with the action: a rollback removes it, and the
    next append reuses the number."""
    AuditRecordFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        _append()
        raise RuntimeError("the staff action failed")
    assert AuditRecord.objects.count() == 1
    assert _append().seq == 2
    assert audit_trail_verify().ok


def test_a_user_actor_keeps_id_and_name_after_the_user_is_deleted(
    django_user_model: Any,
) -> None:
    """A user is recorded by id and user name, as plain values: deleting
    the user keeps the record as it was."""
    user = django_user_model.objects.create_user(username="alice", password="x")
    record = _append(actor=user)
    user_id = user.pk
    user.delete()
    stored = AuditRecord.objects.get(pk=record.pk)
    assert (stored.actor_user_id, stored.actor) == (user_id, "alice")
    assert audit_trail_verify().ok


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        (None, (None, "system")),
        ("system:tariff_import", (None, "system:tariff_import")),
    ],
)
def test_a_label_or_no_actor(actor: Any, expected: tuple[Any, str]) -> None:
    """A label is recorded as the actor without a user id; none is
    ``system``."""
    record = _append(actor=actor)
    assert (record.actor_user_id, record.actor) == expected


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"action": "Revoke"}, "action"),
        ({"action": "revoke"}, "action"),
        ({"obj_type": ""}, "object_type"),
        ({"after": {"ratio": 0.5}}, "after.ratio"),
        ({"before": {"n": 2**60}}, "before"),
        ({"actor": "  "}, "actor"),
    ],
)
def test_malformed_input_is_refused_before_anything_is_stored(
    overrides: dict[str, Any], field: str
) -> None:
    """A bad action, an empty object type, a float, an integer beyond
    I-JSON, an empty label: ``audit_input_invalid``, nothing stored."""
    with pytest.raises(AuditInputInvalid) as info:
        _append(**overrides)
    assert info.value.code == "audit_input_invalid"
    assert info.value.field == field
    assert not AuditRecord.objects.exists()


def test_audit_snapshot_turns_fields_into_json() -> None:
    """Datetimes become Timestamps, related rows their primary key."""
    record = AuditRecordFactory()
    state = audit_snapshot(record, ("seq", "at", "before"))
    assert state is not None
    assert state["seq"] == 1 and state["at"].endswith("Z")
    assert state["before"] == {"status": "draft"}
    assert audit_snapshot(None, ("seq",)) is None
