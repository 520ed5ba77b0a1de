"""Storage of the append-only transparency log (RFC 9162 tree, C2SP checkpoints).

Invariants held by the database itself:

* ``LogEntry.leaf_index`` is the primary key and every entry but leaf 0 points to
  its predecessor (``previous``, a unique foreign key checked to be
  ``leaf_index - 1``): indices are contiguous, gap-free and duplicate-free.
* ``LogNode`` stores each full subtree hash once (``(level, index)`` unique), so
  proofs are O(log n) reads (a later issue groups them as C2SP tiles).
* ``LogState`` is the single head row that appends lock to sequence writers.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class LogState(models.Model):
    """The log head: one row (id=1), locked by every append (the sequencer)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    tree_size = models.BigIntegerField(default=0)
    root_hash = models.CharField(max_length=64, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(id=1),
                name="logstate_singleton",
                violation_error_code="singleton",
            ),
            models.CheckConstraint(
                condition=Q(tree_size__gte=0), name="logstate_tree_size_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"log head: size {self.tree_size}"


class LogEntry(models.Model):
    """One leaf: ``data`` is the JCS of a signed attestation; ``leaf_hash`` is
    SHA-256(0x00 || data) as lowercase hex (RFC 9162 §2.1.1)."""

    leaf_index = models.BigIntegerField(primary_key=True)
    previous = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="next_entry",
        db_column="previous_index",
    )
    leaf_hash = models.CharField(max_length=64, db_index=True)
    data = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "log entries"
        constraints = [
            models.CheckConstraint(
                condition=(Q(leaf_index=0) & Q(previous__isnull=True))
                | (Q(leaf_index__gt=0) & Q(previous_id=F("leaf_index") - 1)),
                name="logentry_contiguous",
                violation_error_code="log_not_contiguous",
                violation_error_message="leaf_index must follow its predecessor by one",
            ),
        ]

    def __str__(self) -> str:
        return f"leaf {self.leaf_index} ({self.leaf_hash[:12]}…)"


class LogNode(models.Model):
    """Hash of the full subtree of ``2**level`` leaves starting at
    ``index * 2**level`` (32 raw bytes)."""

    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["level", "index"], name="lognode_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(index__gte=0), name="lognode_index_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"node L{self.level} #{self.index}"


class Checkpoint(models.Model):
    """A signed checkpoint (C2SP tlog-checkpoint body in a C2SP signed note).

    Every checkpoint the log signs is kept, never rewritten.
    """

    origin = models.CharField(max_length=255)
    tree_size = models.BigIntegerField(db_index=True)
    root_hash = models.CharField(max_length=64)
    note = models.TextField()
    signed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-tree_size", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(tree_size__gte=0), name="checkpoint_tree_size_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"checkpoint {self.origin} @ {self.tree_size}"
