"""Reads for witnesses and the monitor: cosigned notes, witness keys, alerts.

Kept beside :mod:`transparency.selectors` (the log's read path) so the two
can evolve separately; :func:`transparency.selectors.checkpoint_note`
delegates to :func:`checkpoint_note_cosigned`.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from kernel.settings import kernel_settings
from transparency.models import Checkpoint, Cosignature, MonitorAlert
from transparency.protocol.errors import VerifierKeyError
from transparency.protocol.note import COSIGNATURE_TYPE, NoteVerifier


def witness_verifiers() -> list[NoteVerifier]:
    """Return the witness keys configured in ``VDI_BILLING_LOG_WITNESS_KEYS``.

    Each entry is a C2SP 0x04 verifier key ``name+hexkeyid+base64(0x04 ||
    32-byte Ed25519 public key)`` (C2SP tlog-cosignature).

    Raises:
        ImproperlyConfigured: an entry is malformed or not a 0x04 key (the
            ``transparency.E101`` system check reports it at start-up).
    """
    out = []
    for i, vkey in enumerate(kernel_settings.log_witness_keys):
        try:
            verifier = NoteVerifier.from_vkey(vkey)
        except VerifierKeyError as exc:
            raise ImproperlyConfigured(
                f"MP_BILLING_LOG_WITNESS_KEYS[{i}]: {exc.message}"
            ) from None
        if verifier.key_type != COSIGNATURE_TYPE:
            raise ImproperlyConfigured(
                f"MP_BILLING_LOG_WITNESS_KEYS[{i}] ({verifier.name}) has type "
                f"0x{verifier.key_type:02x}, expected 0x04 (cosignature)"
            )
        out.append(verifier)
    return out


def checkpoint_cosignature_list(checkpoint: Checkpoint) -> list[Cosignature]:
    """Return the stored cosignatures of ``checkpoint`` in arrival order."""
    return list(Cosignature.objects.filter(checkpoint=checkpoint).order_by("id"))


def checkpoint_note_cosigned(checkpoint: Checkpoint) -> str:
    """Return the checkpoint's signed note with every stored cosignature line
    appended: the log's signature line(s), then one line per witness.

    The result is a C2SP signed note that
    :func:`transparency.protocol.note.open_note` accepts; every appended line
    was verified against the note text when it was stored.
    """
    lines = (
        Cosignature.objects.filter(checkpoint=checkpoint)
        .order_by("id")
        .values_list("line", flat=True)
    )
    return checkpoint.note + "".join(lines)


def monitor_alert_open_list(*, limit: int = 5) -> list[MonitorAlert]:
    """Return the newest unacknowledged monitor alerts (at most ``limit``)."""
    return list(MonitorAlert.objects.filter(acknowledged_at__isnull=True)[:limit])
