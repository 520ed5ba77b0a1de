"""The audit trail on a real PostgreSQL: the trigger refuses UPDATE and
DELETE even from raw SQL, and concurrent appends never fork the chain
(skipped on SQLite)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction

from audittrail.models import AuditRecord
from audittrail.selectors import audit_trail_verify
from audittrail.services import audit_record
from tests.audittrail.factories import AuditRecordFactory
from tests.audittrail.support import TABLE

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")


@pytest.mark.parametrize(
    "sql",
    [f"UPDATE {TABLE} SET actor = 'mallory'", f"DELETE FROM {TABLE}"],
    ids=["update", "delete"],
)
def test_the_trigger_refuses_raw_update_and_delete(sql: str) -> None:
    """Raw SQL past the model is refused by the trigger (``audit_append_only``
    in the message); the record is unchanged."""
    record = AuditRecordFactory()
    with pytest.raises(DatabaseError, match="audit_append_only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    stored = AuditRecord.objects.get(pk=record.pk)
    assert (stored.actor, stored.record_hash) == ("system:test", record.record_hash)


def test_concurrent_appends_never_fork_the_chain() -> None:
    """Eight threads append at once: seq 1 .. 8, one chain, it verifies."""
    count = 8
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait()
            audit_record(
                actor=f"system:thread-{i}",
                action="tariff.publish",
                obj_type="tariff_version",
                obj_id=f"t@{i}",
                before=None,
                after={"i": i},
            )
        except BaseException as exc:  # reported by the assertions below
            errors.append(exc)
        finally:
            connections.close_all()

    threads: list[Any] = [
        threading.Thread(target=work, args=(i,)) for i in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sorted(AuditRecord.objects.values_list("seq", flat=True)) == list(
        range(1, count + 1)
    )
    report = audit_trail_verify()
    assert report.ok, report.to_json()
