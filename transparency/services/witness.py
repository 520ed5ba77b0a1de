"""Log side of witnessing: accept and store C2SP tlog-cosignatures.

A witness (``manage.py tlog_witness`` on another host, or any C2SP witness)
POSTs the cosignature line it made for one of our checkpoints; the log keeps
it only if the key is configured in ``VDI_BILLING_LOG_WITNESS_KEYS`` and the
line verifies over that checkpoint's note text (with
:func:`transparency.protocol.note.open_note`, the same verifier clients use).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from transparency.errors import CheckpointUnknown, CosignatureInvalid, WitnessUnknownKey
from transparency.models import Checkpoint, Cosignature
from transparency.protocol.checkpoint import parse_checkpoint
from transparency.protocol.errors import CheckpointError, NoteError
from transparency.protocol.note import (
    COSIGNATURE_TYPE,
    KEY_ID_SIZE,
    cosignature_timestamp,
    open_note,
)
from transparency.selectors_witness import witness_verifiers

MAX_FUTURE_SKEW_SECONDS = 300
"""A cosignature timestamp may be at most this far ahead of the log's clock."""

_SIG_PREFIX = "\u2014 "


@dataclass(frozen=True)
class CosignatureSubmitResult:
    """The stored cosignature and whether this call created it."""

    cosignature: Cosignature
    created: bool


def _parse_line(line: str) -> tuple[str, bytes, str]:
    """Return ``(name, key_id, normalised line)`` of one signature line."""
    if not isinstance(line, str):
        raise CosignatureInvalid("cosignature must be a string", field="cosignature")
    text = line[:-1] if line.endswith("\n") else line
    if "\n" in text or not text.startswith(_SIG_PREFIX):
        raise CosignatureInvalid(
            "cosignature must be one line '\u2014 name base64(key ID || "
            "timestamp || signature)'",
            field="cosignature",
        )
    name, sep, b64 = text[len(_SIG_PREFIX) :].partition(" ")
    try:
        cosignature_timestamp(b64)
    except NoteError as exc:
        raise CosignatureInvalid(exc.message, field="cosignature") from None
    if not sep or not name:
        raise CosignatureInvalid("cosignature has no key name", field="cosignature")
    raw = base64.b64decode(b64)
    return name, raw[:KEY_ID_SIZE], text + "\n"


def _candidates(
    *, tree_size: int | None, root_hash: str | None, checkpoint_text: str | None
) -> list[Checkpoint]:
    """The signed checkpoints the cosignature may be for, newest first."""
    if checkpoint_text is not None:
        # Accept the body alone or a whole signed note; the body has no blank
        # line (C2SP tlog-checkpoint), so it ends at the first one.
        body = checkpoint_text.split("\n\n", 1)[0]
        body = body if body.endswith("\n") else body + "\n"
        try:
            parsed = parse_checkpoint(body)
        except CheckpointError as exc:
            raise CheckpointUnknown(
                f"checkpoint is not a C2SP checkpoint: {exc.message}",
                field="checkpoint",
            ) from None
        rows = Checkpoint.objects.filter(
            tree_size=parsed.tree_size, root_hash=parsed.root_hash.hex()
        ).order_by("-id")
        found = [c for c in rows if c.note.split("\n\n", 1)[0] + "\n" == body]
        what = f"checkpoint text for tree_size {parsed.tree_size}"
    else:
        if tree_size is None or root_hash is None:
            raise CheckpointUnknown(
                "give checkpoint, or tree_size and root_hash", field="checkpoint"
            )
        found = list(
            Checkpoint.objects.filter(
                tree_size=tree_size, root_hash=root_hash.lower()
            ).order_by("-id")
        )
        what = f"tree_size {tree_size} with root_hash {root_hash}"
    if not found:
        raise CheckpointUnknown(
            f"the log never signed a checkpoint for {what}", field="checkpoint"
        )
    return found


def cosignature_submit(
    *,
    cosignature: str,
    tree_size: int | None = None,
    root_hash: str | None = None,
    checkpoint: str | None = None,
    now: int | None = None,
) -> CosignatureSubmitResult:
    """Verify a witness cosignature on one of our checkpoints and store it.

    The checkpoint is named by its text (``checkpoint``: the body or the whole
    signed note) or by ``tree_size`` + ``root_hash`` (hex); several signed
    checkpoints may share a size and root (re-signing adds a new
    ``Timestamp`` line), and the cosignature is stored on the one whose note
    text it verifies over. Idempotent: the same witness key on the same
    checkpoint returns the stored row (``created=False``).

    Args:
        cosignature: one line ``"— name base64(key ID[4] || timestamp[8] ||
            signature[64])"`` (trailing newline optional), C2SP
            tlog-cosignature.
        tree_size, root_hash, checkpoint: see above.
        now: the log's clock in unix seconds (default: the system clock).

    Returns:
        :class:`CosignatureSubmitResult`.

    Raises:
        CosignatureInvalid: malformed line, a signature that does not verify
            over the checkpoint, or a timestamp more than
            :data:`MAX_FUTURE_SKEW_SECONDS` ahead.
        WitnessUnknownKey: the (name, key ID) is not a configured witness.
        CheckpointUnknown: no such signed checkpoint.
        ImproperlyConfigured: a malformed ``VDI_BILLING_LOG_WITNESS_KEYS``.
    """
    name, kid, line = _parse_line(cosignature)
    verifier = next(
        (v for v in witness_verifiers() if v.name == name and v.key_id == kid), None
    )
    if verifier is None:
        raise WitnessUnknownKey(
            f"no witness key {name}+{kid.hex()} is configured on this log",
            field="cosignature",
        )
    clock = int(time.time()) if now is None else now
    for row in _candidates(
        tree_size=tree_size, root_hash=root_hash, checkpoint_text=checkpoint
    ):
        try:
            note = open_note(row.note + line, [verifier])
        except NoteError:
            continue
        sig = next(
            s
            for s in note.sigs
            if s.key_id == kid and s.name == name and s.key_type == COSIGNATURE_TYPE
        )
        assert sig.timestamp is not None
        if sig.timestamp > clock + MAX_FUTURE_SKEW_SECONDS:
            raise CosignatureInvalid(
                f"cosignature timestamp {sig.timestamp} is more than "
                f"{MAX_FUTURE_SKEW_SECONDS} s ahead of the log's clock {clock}",
                field="cosignature",
            )
        return _store(row, name, kid.hex(), sig.timestamp, line)
    raise CosignatureInvalid(
        f"cosignature by {name}+{kid.hex()} does not verify over the checkpoint",
        field="cosignature",
    )


def _store(
    checkpoint: Checkpoint, name: str, key_id: str, timestamp: int, line: str
) -> CosignatureSubmitResult:
    existing = Cosignature.objects.filter(
        checkpoint=checkpoint, name=name, key_id=key_id
    ).first()
    if existing is not None:
        return CosignatureSubmitResult(existing, created=False)
    row = Cosignature(
        checkpoint=checkpoint, name=name, key_id=key_id, timestamp=timestamp, line=line
    )
    row.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        # A concurrent submit of the same witness key won the race.
        existing = Cosignature.objects.get(
            checkpoint=checkpoint, name=name, key_id=key_id
        )
        return CosignatureSubmitResult(existing, created=False)
    return CosignatureSubmitResult(row, created=True)
