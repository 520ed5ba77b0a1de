"""The audit trail's rows: :class:`AuditRecord` (append-only, hash-chained)
and :class:`AuditChainLock` (the one row appends lock to serialise).

Records are written only by :func:`audittrail.services.audit_record`. Changing or
deleting one is refused three times over: the model (``save`` of a stored
row, ``delete``), its queryset (``update``, ``delete``, ``bulk_create``,
``bulk_update``) and, on PostgreSQL, a trigger installed by migration 0002
refusing ``UPDATE`` and ``DELETE``. Whatever slips past all three (raw SQL
by the database owner) the chain shows: ``manage.py audit_verify``.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models
from django.db.models import Q

from audittrail.errors import AuditAppendOnly


def _refuse(what: str) -> NoReturn:
    raise AuditAppendOnly(
        f"the audit trail is append-only: {what} is refused; append a new "
        "record instead"
    )


class AuditRecordQuerySet(models.QuerySet["AuditRecord"]):
    """A queryset of audit records that refuses every bulk write."""

    def update(self, **kwargs: Any) -> NoReturn:
        """Refused: records are never changed.

        Raises:
            AuditAppendOnly: always.
        """
        _refuse("queryset update")

    def delete(self) -> NoReturn:  # type: ignore[override]
        """Refused: records are never deleted.

        Raises:
            AuditAppendOnly: always.
        """
        _refuse("queryset delete")

    def bulk_create(self, *args: Any, **kwargs: Any) -> NoReturn:  # type: ignore[override]
        """Refused: records are appended one at a time under the chain lock.

        Raises:
            AuditAppendOnly: always.
        """
        _refuse("bulk_create")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:  # type: ignore[override]
        """Refused: records are never changed.

        Raises:
            AuditAppendOnly: always.
        """
        _refuse("bulk_update")


class AuditRecord(models.Model):
    """One staff action: who, when, what, the object's state before and
    after, linked to the previous record by ``prev_hash``.

    The JSON form and ``record_hash`` are docs/PROTOCOL.md §14
    (:mod:`audittrail.protocol.chain`). ``actor_user_id`` is a plain integer, not
    a foreign key, so deleting a user keeps the record (with the name it
    had in ``actor``).
    """

    seq = models.PositiveBigIntegerField(
        unique=True, help_text="1, 2, 3, ... without gaps, in append order"
    )
    at = models.DateTimeField(help_text="when the action was recorded (UTC)")
    actor_user_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="the staff user's id; empty for a command"
    )
    actor = models.CharField(
        max_length=200, help_text="user name, or system:<command> / tenant:<slug>"
    )
    action = models.CharField(max_length=64, help_text="e.g. tariff.publish")
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=255, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    record_hash = models.CharField(max_length=64, unique=True)

    objects = AuditRecordQuerySet.as_manager()

    class Meta:
        verbose_name = "audit record"
        ordering = ("-seq",)
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["action", "-seq"], name="audit_action"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(seq__gte=1), name="audit_record_seq_positive"
            ),
        ]

    def __str__(self) -> str:
        """``#<seq> <action> <object_type>:<object_id> by <actor>``."""
        return (
            f"#{self.seq} {self.action} {self.object_type}:{self.object_id} "
            f"by {self.actor}"
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Insert a new record; a stored record is never saved again.

        Raises:
            AuditAppendOnly: the row is already stored.
        """
        if not self._state.adding:
            _refuse(f"changing audit record {self.seq}")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:  # type: ignore[override]
        """Refused: records are never deleted.

        Raises:
            AuditAppendOnly: always.
        """
        _refuse(f"deleting audit record {self.seq}")


class AuditChainLock(models.Model):
    """The single row (``pk`` 1) every append locks (``SELECT ... FOR
    UPDATE``) before reading the chain head, so concurrent staff actions
    append one after the other and never fork the chain. It holds no data:
    the head is the record with the largest ``seq``."""

    id = models.PositiveSmallIntegerField(primary_key=True)

    class Meta:
        verbose_name = "audit chain lock"

    def __str__(self) -> str:
        """``audit chain lock``."""
        return "audit chain lock"
