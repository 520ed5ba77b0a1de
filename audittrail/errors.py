"""Service-level errors of the audit app (Django side).

They share the protocol root :class:`MeterproofError` (``code``, ``message``,
``field``); ``config/exception_handler.py`` maps each class to an HTTP status.
"""

from __future__ import annotations

from kernel.protocol.errors import MeterproofError


class AuditServiceError(MeterproofError):
    """Root of the audit service errors."""

    code = "audit_service_error"


class AuditAppendOnly(AuditServiceError):
    """An audit record was to be changed or deleted: the trail is
    append-only (model ``save`` of a stored row, ``delete``, queryset
    ``update``/``delete``/``bulk_create``; on PostgreSQL a trigger refuses
    ``UPDATE`` and ``DELETE`` too)."""

    code = "audit_append_only"


class AuditInputInvalid(AuditServiceError):
    """An audit record's action, object or before/after is out of shape
    (``field`` names it): a caller bug, raised before anything is stored."""

    code = "audit_input_invalid"
