"""``Bundle.log_entry`` left the model in ``0006_remove_bundle_log_entry`` but
its column stays in the database until a later release (CONVENTIONS §8)."""

from __future__ import annotations

import pytest
from django.db import connection

from billing.models import Bundle
from billing.services.attest import meter_event_attest
from tests.billing.support import TenantSetup, make_event

pytestmark = pytest.mark.django_db


def test_column_stays_nullable_and_new_bundles_leave_it_null(
    tenant_setup: TenantSetup,
) -> None:
    """The old ``log_entry_id`` column is still there, nullable, so the
    previous release keeps serving; a bundle attested now inserts without it
    (NULL) on SQLite and PostgreSQL alike."""
    assert "log_entry" not in {f.name for f in Bundle._meta.get_fields()}
    table = Bundle._meta.db_table
    with connection.cursor() as cursor:
        columns = {
            c.name: c
            for c in connection.introspection.get_table_description(cursor, table)
        }
    assert columns["log_entry_id"].null_ok is True
    meter_event_attest(payload=make_event(), tenant=tenant_setup.tenant)
    quoted = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quoted('log_entry_id')} FROM {quoted(table)}"  # noqa: S608
        )
        assert cursor.fetchall() == [(None,)]
