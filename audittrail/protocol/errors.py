"""Errors of the Django-free audit-trail protocol (``audittrail.protocol``).

All derive from :class:`kernel.protocol.errors.ProtocolError`, so each has a
stable ``code``, a human ``message`` and an optional ``field``. Codes:

==============================  ==============================================
code                            meaning
==============================  ==============================================
``audit_record_invalid``        a record is not the documented JSON shape
``audit_head_invalid``          a pinned head is not ``SEQ:HASH``
==============================  ==============================================

The chain verifier's failed checks carry their own codes (``audit_*``,
listed in docs/PROTOCOL.md §14).
"""

from __future__ import annotations

from kernel.protocol.errors import ProtocolError


class AuditProtocolError(ProtocolError):
    """Root of the audit-trail protocol errors."""

    code = "audit_protocol_error"


class AuditRecordFormatError(AuditProtocolError):
    """A record is not a JSON object with exactly the documented members of
    the documented types (``field`` names the member)."""

    code = "audit_record_invalid"


class AuditHeadFormatError(AuditProtocolError):
    """A pinned head is not ``<seq>:<record_hash>`` (a positive integer, a
    colon, 64 lowercase hex characters)."""

    code = "audit_head_invalid"
