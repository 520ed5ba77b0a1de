"""Storage of the append-only transparency log (RFC 9162 tree, C2SP checkpoints).

Invariants held by the database itself:

* ``LogEntry.leaf_index`` is the primary key and every entry but leaf 0 points to
  its predecessor (``previous``, a unique foreign key checked to be
  ``leaf_index - 1``): indices are contiguous, gap-free and duplicate-free.
* ``LogNode`` stores each full subtree hash once (``(level, index)`` unique), so
  proofs are O(log n) reads (a later issue groups them as C2SP tiles).
* ``LogState`` is the single head row that the sequencer locks.
* ``QueuedEntry`` holds accepted leaves not yet sequenced (Trillian's
  "unsequenced" table): attest commits its leaf here without the log lock, and
  the sequencer moves queued leaves into ``LogEntry`` in batches (group commit).
* ``leaf_hash`` is unique in both tables: the log never holds a duplicate.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone


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
    leaf_hash = models.CharField(max_length=64, unique=True)
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


class QueuedEntry(models.Model):
    """An accepted leaf waiting to be sequenced (assigned a ``leaf_index``).

    ``id`` order is sequencing order. ``data`` and ``leaf_hash`` as in
    :class:`LogEntry`; the row is deleted when the leaf is sequenced.
    """

    id = models.BigAutoField(primary_key=True)
    leaf_hash = models.CharField(max_length=64, unique=True)
    data = models.TextField()
    queued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "queued entries"

    def __str__(self) -> str:
        return f"queued {self.id} ({self.leaf_hash[:12]}…)"


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
    signed_at = models.DateTimeField(
        default=timezone.now,
        help_text="When the log signed it; the note's Timestamp extension line.",
    )

    class Meta:
        ordering = ["-tree_size", "-id"]
        # The head (newest of the largest size) is read by every proof.
        indexes = [
            models.Index(fields=["-tree_size", "-id"], name="checkpoint_head_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(tree_size__gte=0), name="checkpoint_tree_size_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"checkpoint {self.origin} @ {self.tree_size}"


class Cosignature(models.Model):
    """A witness's C2SP tlog-cosignature (type 0x04) on one signed checkpoint.

    ``line`` is the exact signature line ``"— name base64(key ID[4] ||
    timestamp[8] || Ed25519 signature[64])\\n"``, verified against the
    checkpoint's note text and a key in ``VDI_BILLING_LOG_WITNESS_KEYS`` before
    it is stored; appended to the log's note it yields the cosigned checkpoint.
    One row per (checkpoint, witness key); never rewritten.
    """

    checkpoint = models.ForeignKey(
        Checkpoint, on_delete=models.PROTECT, related_name="cosignatures"
    )
    name = models.CharField(max_length=255, help_text="Witness key name.")
    key_id = models.CharField(
        max_length=8, help_text="4-byte C2SP key ID, lowercase hex."
    )
    timestamp = models.BigIntegerField(
        help_text="Unix seconds at which the witness cosigned."
    )
    line = models.TextField(help_text="The signature line, ending in a newline.")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["checkpoint_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["checkpoint", "name", "key_id"],
                name="cosignature_unique_per_witness_key",
                violation_error_code="cosignature_duplicate",
            ),
            models.CheckConstraint(
                condition=Q(timestamp__gte=0), name="cosignature_timestamp_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"cosignature {self.name}+{self.key_id} @ {self.checkpoint_id}"


class MonitorState(models.Model):
    """What the log monitor last verified, per monitored log (``log``).

    ``frontier`` is the compact range of ``[0, tree_size)`` as a JSON list of
    hex hashes (see :mod:`transparency.protocol.monitor`). ``alerts_total``
    and ``runs_total`` are monotonic counters (the monitor's metrics).
    """

    log = models.CharField(
        max_length=255,
        unique=True,
        help_text="'self' for this server's own log, else the log's base URL.",
    )
    tree_size = models.BigIntegerField(default=0)
    root_hash = models.CharField(max_length=64, default="")
    frontier = models.JSONField(default=list)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    runs_total = models.BigIntegerField(default=0)
    alerts_total = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(tree_size__gte=0),
                name="monitorstate_tree_size_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"monitor {self.log}: verified size {self.tree_size}"


class MonitorAlert(models.Model):
    """A problem the monitor found (code from ``MONITOR_CODES``).

    Shown as a banner on every admin page until staff acknowledge it.
    """

    log = models.CharField(max_length=255, default="self")
    created_at = models.DateTimeField(default=timezone.now)
    code = models.CharField(max_length=64)
    message = models.TextField()
    verified_tree_size = models.BigIntegerField(
        help_text="The last verified tree size when the problem was found."
    )
    checkpoint_tree_size = models.BigIntegerField(
        null=True, blank=True, help_text="The new checkpoint's size, if any."
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "auth.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["acknowledged_at"], name="monitoralert_ack_idx"),
        ]

    def __str__(self) -> str:
        return f"alert {self.code} @ {self.created_at:%Y-%m-%d %H:%M}"
