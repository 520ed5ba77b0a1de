"""Checkpoint verdicts of the auditor UI: signature lines, stored checkpoints
and the log head with its freshness.

Every function takes the :class:`~transparency.selectors_audit.checks.LogTrust`
to check against as an argument. Spec: C2SP tlog-checkpoint, signed-note,
tlog-cosignature.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone

from kernel.protocol.errors import MeterproofError
from kernel.protocol.verdict import CheckResult, verdict_ok
from kernel.settings import kernel_settings
from transparency.errors import CheckpointRowMismatch, PrerequisiteCheckFailed
from transparency.models import Checkpoint, LogState, QueuedEntry
from transparency.protocol.errors import UnknownVerifierError
from transparency.protocol.note import COSIGNATURE_TYPE, open_note
from transparency.selectors import checkpoint_latest, checkpoint_note
from transparency.selectors_audit.checks import (
    LogTrust,
    check_run,
    checkpoint_open_trusted,
)
from transparency.settings import transparency_settings


@dataclass(frozen=True)
class SignatureLine:
    """One signature line of a checkpoint's served note, checked alone.

    Attributes:
        name: key name on the line.
        key_id: 4-byte key ID, lowercase hex ('' if unreadable).
        role: ``log`` (0x01 by a log key), ``witness`` (0x04) or ``unknown``.
        status: ``verified``, ``unknown_key`` (no trusted key has that name
            and ID) or ``invalid`` (a trusted key, a bad signature).
        timestamp: cosignature time (UTC) when verified, else ``None``.
        message: why it is not verified.
    """

    name: str
    key_id: str
    role: str
    status: str
    timestamp: datetime | None = None
    message: str = ""


def _line_id(line: str) -> tuple[str, str]:
    """Return (name, key ID hex) written on a signature line, for display."""
    name, _, b64 = line.removeprefix("\u2014 ").partition(" ")
    try:
        raw = base64.b64decode(b64, validate=True)
    except ValueError:
        raw = b""
    return name, raw[:4].hex()


def signature_lines_check(note: str, trust: LogTrust) -> list[SignatureLine]:
    """Return every signature line of ``note`` (a signed note), each opened
    alone with the log and witness keys of ``trust``.

    One bad cosignature therefore does not hide the others. Spec: C2SP
    signed-note, tlog-cosignature.
    """
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        return []
    text, block = note[: split + 1], note[split + 2 :]
    keys = (*trust.log_keys, *trust.witness_keys)
    out = []
    for line in block[:-1].split("\n"):
        name, kid = _line_id(line)
        try:
            opened = open_note(f"{text}\n{line}\n", keys)
        except UnknownVerifierError:
            out.append(
                SignatureLine(
                    name,
                    kid,
                    "unknown",
                    "unknown_key",
                    message="no trusted key has this name and key ID",
                )
            )
            continue
        except MeterproofError as exc:
            out.append(
                SignatureLine(name, kid, "unknown", "invalid", message=exc.message)
            )
            continue
        sig = opened.sigs[0]
        witness = sig.key_type == COSIGNATURE_TYPE
        out.append(
            SignatureLine(
                sig.name,
                sig.key_id.hex(),
                "witness" if witness else "log",
                "verified",
                timestamp=datetime.fromtimestamp(sig.timestamp, UTC)
                if sig.timestamp is not None
                else None,
            )
        )
    return out


@dataclass
class CheckpointAudit:
    """A stored checkpoint as the auditor sees it.

    Attributes:
        checkpoint: the row.
        root_b64: its root hash, standard base64 (as in the note).
        note: the served signed note (log signature plus cosignatures).
        signatures: every signature line, checked alone.
        checks: ``checkpoint_signature`` (the log's own note opens with the
            trusted log keys) and ``checkpoint_matches_row`` (the signed size
            and root equal the stored columns).
    """

    checkpoint: Checkpoint
    root_b64: str
    note: str
    signatures: list[SignatureLine]
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True iff every check passed."""
        return verdict_ok(self.checks)

    @property
    def witness_count(self) -> int:
        """How many verified witness cosignatures the note carries."""
        return sum(
            1 for s in self.signatures if s.role == "witness" and s.status == "verified"
        )


def checkpoint_audit(checkpoint: Checkpoint, trust: LogTrust) -> CheckpointAudit:
    """Return ``checkpoint`` with its signature verdicts (never raises).

    Failed checks carry the code of the error met: ``log_trust_unavailable``,
    a signed-note code (``note_*``, ``checkpoint_invalid``),
    ``prerequisite_check_failed`` (the note did not open) or
    ``checkpoint_row_mismatch``.
    """
    note = checkpoint_note(checkpoint)
    parsed: dict[str, Any] = {}

    def signature() -> str:
        parsed["c"] = checkpoint_open_trusted(checkpoint.note, trust)
        return f"signed by the log key named {trust.origin}"

    def matches_row() -> str:
        if "c" not in parsed:
            raise PrerequisiteCheckFailed("the signed note did not open")
        c = parsed["c"]
        if (
            c.tree_size != checkpoint.tree_size
            or c.root_hash.hex() != checkpoint.root_hash
        ):
            raise CheckpointRowMismatch(
                f"the note signs size {c.tree_size}, root {c.root_hash.hex()}; the "
                f"row says size {checkpoint.tree_size}, root {checkpoint.root_hash}"
            )
        return "the note's size and root equal the stored row"

    checks = [
        check_run("checkpoint_signature", signature),
        check_run("checkpoint_matches_row", matches_row),
    ]
    try:
        root_b64 = base64.b64encode(bytes.fromhex(checkpoint.root_hash)).decode()
    except ValueError:
        root_b64 = "(not hex)"
    return CheckpointAudit(
        checkpoint=checkpoint,
        root_b64=root_b64,
        note=note,
        signatures=signature_lines_check(note, trust),
        checks=checks,
    )


@dataclass
class HeadAudit:
    """The log head page: the latest checkpoint and its freshness.

    Attributes:
        latest: the latest checkpoint's audit, ``None`` for an empty log.
        tree_size: the sequencer's head size (may run ahead of ``latest``).
        queued: leaves accepted but not yet sequenced.
        age: time since ``latest`` was signed.
        stale_after: the age beyond which the head counts as stale
            (twice ``VDI_BILLING_LOG_CHECKPOINT_INTERVAL_SEC``).
        checkpoint_count: how many checkpoints the log has signed.
        trust: what the verdicts were checked against.
        beat: whether Celery beat is expected to re-sign the head
            (``VDI_CELERY_BEAT``).
        queued_age: how long the oldest queued leaf has waited, ``None``
            when nothing is queued.
    """

    latest: CheckpointAudit | None
    tree_size: int
    queued: int
    age: timedelta | None
    stale_after: timedelta
    checkpoint_count: int
    trust: LogTrust
    beat: bool = True
    queued_age: timedelta | None = None

    @property
    def stale(self) -> bool:
        """True if the log has stopped doing its periodic work.

        With beat (production), the head is re-signed every interval even
        when idle, so a newest checkpoint older than ``stale_after`` means
        the signer stopped (RFC 6962 §3.5's maximum merge delay idea).
        Without beat (development), nothing re-signs an idle log, so age
        alone proves nothing: the head is stale only if a leaf has waited
        in the queue longer than ``stale_after``.
        """
        if self.beat:
            return self.age is not None and self.age > self.stale_after
        return self.queued_age is not None and self.queued_age > self.stale_after


def head_audit_get(*, trust: LogTrust, now: datetime | None = None) -> HeadAudit:
    """Return the log head with its verdicts against ``trust`` and its
    freshness (``now`` injectable, default the current time).

    The interval is ``VDI_BILLING_LOG_CHECKPOINT_INTERVAL_SEC`` (seconds; its
    one default lives in ``config/settings.py``).
    """
    now = now or timezone.now()
    latest = checkpoint_latest()
    state = LogState.objects.filter(id=1).first()
    interval = transparency_settings.log_checkpoint_interval_seconds
    oldest = QueuedEntry.objects.order_by("id").values_list("queued_at", flat=True)
    oldest_queued = oldest.first()
    return HeadAudit(
        latest=checkpoint_audit(latest, trust) if latest else None,
        tree_size=state.tree_size if state else 0,
        queued=QueuedEntry.objects.count(),
        age=(now - latest.signed_at) if latest else None,
        stale_after=timedelta(seconds=2 * interval),
        checkpoint_count=Checkpoint.objects.count(),
        trust=trust,
        beat=kernel_settings.celery_beat,
        queued_age=(now - oldest_queued) if oldest_queued else None,
    )


def checkpoint_history() -> QuerySet[Checkpoint]:
    """Return every checkpoint, newest first, with its cosignature count
    (``cosignature_count``)."""
    return Checkpoint.objects.annotate(
        cosignature_count=Count("cosignatures")
    ).order_by("-signed_at", "-tree_size", "-id")


def checkpoint_sizes() -> list[int]:
    """Return the distinct signed tree sizes, largest first (for pickers)."""
    return list(
        Checkpoint.objects.order_by("-tree_size")
        .values_list("tree_size", flat=True)
        .distinct()
    )


__all__ = [
    "CheckpointAudit",
    "HeadAudit",
    "SignatureLine",
    "checkpoint_audit",
    "checkpoint_history",
    "checkpoint_sizes",
    "head_audit_get",
    "signature_lines_check",
]
