"""Audit-trail test helpers: chains built with the protocol's own hash (no
database), and tampering with stored records the way only a database owner
can (raw SQL past the model; on PostgreSQL with the append-only trigger
disabled for the statement)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

from audittrail.protocol.chain import GENESIS_HASH, record_hash

#: The table of ``AuditRecord``.
TABLE = "audittrail_auditrecord"


def chain_of(count: int) -> list[dict[str, Any]]:
    """Return ``count`` valid records (``seq`` 1 .. count), each a
    ``tariff.publish`` by ``alice`` with ``before`` / ``after`` states."""
    records: list[dict[str, Any]] = []
    previous = GENESIS_HASH
    for seq in range(1, count + 1):
        record: dict[str, Any] = {
            "seq": seq,
            "at": f"2026-12-04T18:00:{seq % 60:02d}.5Z",
            "actor_user_id": 7,
            "actor": "alice",
            "action": "tariff.publish",
            "object_type": "tariff_version",
            "object_id": f"api-requests@{seq}",
            "before": {"status": "draft", "version": seq},
            "after": {"status": "published", "version": seq},
            "prev_hash": previous,
        }
        record["record_hash"] = record_hash(record)
        previous = record["record_hash"]
        records.append(record)
    return records


def rehash_from(records: list[dict[str, Any]], index: int) -> list[dict[str, Any]]:
    """Return a copy of ``records`` with hashes and links recomputed from
    position ``index`` on (what a forger who rewrites the tail does)."""
    out = copy.deepcopy(records)
    for i in range(index, len(out)):
        out[i]["prev_hash"] = out[i - 1]["record_hash"] if i else GENESIS_HASH
        out[i]["record_hash"] = record_hash(out[i])
    return out


@contextmanager
def owner_sql() -> Iterator[Any]:
    """Yield a cursor that may change audit rows: raw SQL, past the model;
    on PostgreSQL the append-only trigger is disabled for the block (as the
    table owner can)."""
    with connection.cursor() as cursor:
        postgres = connection.vendor == "postgresql"
        if postgres:
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
        try:
            yield cursor
        finally:
            if postgres:
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")


def tamper(seq: int, **columns: Any) -> None:
    """Overwrite columns of stored record ``seq`` with raw SQL."""
    assignments = ", ".join(f"{name} = %s" for name in columns)
    with owner_sql() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET {assignments} WHERE seq = %s",
            [*columns.values(), seq],
        )


def delete_record(seq: int) -> None:
    """Delete stored record ``seq`` with raw SQL."""
    with owner_sql() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE seq = %s", [seq])


def swap_records(first: int, second: int) -> None:
    """Swap the ``seq`` of two stored records with raw SQL (a reordering)."""
    with owner_sql() as cursor:
        parked = 10**12  # a free number while the two trade places
        cursor.execute(f"UPDATE {TABLE} SET seq = %s WHERE seq = %s", [parked, first])
        cursor.execute(f"UPDATE {TABLE} SET seq = %s WHERE seq = %s", [first, second])
        cursor.execute(f"UPDATE {TABLE} SET seq = %s WHERE seq = %s", [second, parked])
