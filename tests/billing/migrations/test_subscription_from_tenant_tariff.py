"""``Tenant.tariff`` became subscriptions: ``0009`` backfills them (and its
reverse puts the tariff back), ``0010`` drops the field from the model state
only, so the column stays for the previous release (CONVENTIONS §8)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from billing.models import Tenant
from tests.billing.factories import TenantFactory

BEFORE = [("billing", "0008_subscription")]
AFTER = [("billing", "0010_remove_tenant_tariff_state")]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


@pytest.fixture
def at_0008(transactional_db: None) -> Iterator[MigrationExecutor]:
    """The database at ``0008_subscription``; back at the latest state after."""
    executor = _migrate(BEFORE)
    yield executor
    _migrate(executor.loader.graph.leaf_nodes())


def test_backfill_forward_and_back(at_0008: MigrationExecutor) -> None:
    """Forward: a tenant with a tariff gets one open-ended subscription to it
    from the epoch; a tenant without one gets none (the default plan).
    Backward: the tariff is back on the tenant and the subscription gone."""
    apps = at_0008.loader.project_state(BEFORE).apps
    tariff_model = apps.get_model("billing", "Tariff")
    tenant_model = apps.get_model("billing", "Tenant")
    tariff = tariff_model.objects.create(
        tariff_id="gold", metric="api_requests", currency="USD"
    )
    subscribed = tenant_model.objects.create(slug="acme", name="acme", tariff=tariff)
    tenant_model.objects.create(slug="plain", name="plain")

    apps = _migrate(AFTER).loader.project_state(AFTER).apps
    rows = list(
        apps.get_model("billing", "Subscription").objects.values_list(
            "tenant__slug", "tariff__tariff_id", "starts_at", "ends_at"
        )
    )
    assert rows == [("acme", "gold", EPOCH, None)]

    apps = _migrate(BEFORE).loader.project_state(BEFORE).apps
    assert not apps.get_model("billing", "Subscription").objects.exists()
    tenants = apps.get_model("billing", "Tenant").objects
    assert tenants.get(pk=subscribed.pk).tariff_id == tariff.pk
    assert tenants.get(slug="plain").tariff_id is None


@pytest.mark.django_db
def test_tariff_column_stays_nullable_and_new_tenants_leave_it_null() -> None:
    """The model has no ``tariff`` any more, but the ``tariff_id`` column is
    still there, nullable, so the previous release keeps serving; a tenant
    created now inserts without it (NULL)."""
    assert "tariff" not in {f.name for f in Tenant._meta.get_fields()}
    table = Tenant._meta.db_table
    with connection.cursor() as cursor:
        columns = {
            c.name: c
            for c in connection.introspection.get_table_description(cursor, table)
        }
    assert columns["tariff_id"].null_ok is True
    TenantFactory(slug="acme")
    quoted = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quoted('tariff_id')} FROM {quoted(table)}")  # noqa: S608
        assert cursor.fetchall() == [(None,)]


@pytest.mark.django_db(transaction=True)
def test_remove_tenant_tariff_state_emits_no_sql() -> None:
    """0010 changes the model state only."""
    out = StringIO()
    call_command("sqlmigrate", "billing", "0010", stdout=out)
    statements = [
        line
        for line in out.getvalue().splitlines()
        if line.strip() and not line.startswith("--")
    ]
    assert statements in ([], ["BEGIN;", "COMMIT;"])
