"""``0002_append_only_trigger`` is reversible: on PostgreSQL it installs the
trigger and its reverse drops it; on other databases both directions are
no-ops."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("audittrail", "0001_initial")]
AFTER = [("audittrail", "0002_append_only_trigger")]


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


def _trigger_installed() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_record_append_only'"
        )
        return bool(cursor.fetchone()[0])


@pytest.fixture
def migrated_back_and_forth(transactional_db: None) -> Iterator[None]:
    """Leave the database fully migrated whatever the test does."""
    yield
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_trigger_forward_and_back(migrated_back_and_forth: None) -> None:
    """Forward: the trigger exists on PostgreSQL; back: it is gone; forward
    again: it is back. Elsewhere nothing is installed either way."""
    postgres = connection.vendor == "postgresql"
    _migrate(AFTER)
    assert _trigger_installed() is postgres
    _migrate(BEFORE)
    assert _trigger_installed() is False
    _migrate(AFTER)
    assert _trigger_installed() is postgres
