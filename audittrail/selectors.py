"""Reading the staff audit trail: the list, the head, the JSON export and
the chain verdict (through :func:`audittrail.protocol.chain.verify_audit_chain`,
the one verifier)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from audittrail.models import AuditRecord
from audittrail.protocol.chain import AuditHead, AuditReport, verify_audit_chain
from kernel.protocol.timefmt import format_rfc3339_utc

__all__ = [
    "audit_head_get",
    "audit_record_json",
    "audit_record_list",
    "audit_records_iter",
    "audit_trail_verify",
]

#: Rows fetched per database round trip when streaming the trail.
CHUNK_SIZE = 2000


def audit_record_list() -> QuerySet[AuditRecord]:
    """Return every record, newest first (largest ``seq``)."""
    return AuditRecord.objects.order_by("-seq")


def audit_head_get() -> AuditHead | None:
    """Return the chain head (the record with the largest ``seq``), or
    ``None`` for an empty trail."""
    head = AuditRecord.objects.order_by("-seq").values("seq", "record_hash").first()
    return AuditHead(seq=head["seq"], record_hash=head["record_hash"]) if head else None


def audit_record_json(row: AuditRecord) -> dict[str, Any]:
    """Return a record's JSON form (docs/PROTOCOL.md §14), the export's line:
    ``seq``, ``at`` (Timestamp), ``actor_user_id``, ``actor``, ``action``,
    ``object_type``, ``object_id``, ``before``, ``after``, ``prev_hash``,
    ``record_hash``."""
    return {
        "seq": row.seq,
        "at": format_rfc3339_utc(row.at),
        "actor_user_id": row.actor_user_id,
        "actor": row.actor,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "before": row.before,
        "after": row.after,
        "prev_hash": row.prev_hash,
        "record_hash": row.record_hash,
    }


def audit_records_iter() -> Iterator[dict[str, Any]]:
    """Yield every record's JSON form in ``seq`` order (oldest first),
    streamed in chunks of :data:`CHUNK_SIZE` rows."""
    for row in AuditRecord.objects.order_by("seq").iterator(chunk_size=CHUNK_SIZE):
        yield audit_record_json(row)


def audit_trail_verify(*, expect_head: AuditHead | str | None = None) -> AuditReport:
    """Verify the stored trail (``record_hash``, ``chain_link``,
    ``sequence``, ``head``); see
    :func:`audittrail.protocol.chain.verify_audit_chain`.

    Raises:
        AuditHeadFormatError: ``expect_head`` is a malformed string.
    """
    return verify_audit_chain(audit_records_iter(), expect_head=expect_head)
