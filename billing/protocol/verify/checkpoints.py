"""Opening a bundle's signed checkpoint against the trust anchors.

A checkpoint (C2SP tlog-checkpoint, a signed note) is accepted when it carries
a verified Ed25519 (0x01) signature by a listed log verifier key, names the
trusted origin, and, when the trust anchors set ``log.witness_threshold`` k >
0, carries k distinct verified C2SP tlog-cosignatures (0x04) by listed witness
keys. Spec: docs/PROTOCOL.md §4.11 and §5.2 (``checkpoint_signature``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from kernel.protocol.errors import SignatureError
from kernel.protocol.trustedkey import TrustedKey
from transparency.protocol.checkpoint import CheckpointBody, parse_checkpoint
from transparency.protocol.note import (
    COSIGNATURE_TYPE,
    ED25519_TYPE,
    Note,
    NoteVerifier,
    open_note,
)

from ..errors import CheckFailed
from ..trust import TrustAnchors

__all__ = ["CheckpointOpener", "checkpoint_time"]

_TIMESTAMP_PREFIX: Final = "Timestamp: "
#: Most opened checkpoints kept per verifier before the cache is emptied.
_MAX_CACHED_CHECKPOINTS: Final = 4096


class CheckpointOpener:
    """Opens signed checkpoints against fixed trust anchors, with a cache.

    Verified checkpoints are cached by their exact note text, so a bulk audit
    of bundles that share a checkpoint checks its signature once.
    """

    def __init__(self, trust: TrustAnchors) -> None:
        """Bind the opener to ``trust`` (log verifier and witness keys)."""
        self.trust = trust
        self._opened: dict[str, tuple[CheckpointBody, Note]] = {}

    def note_verifiers(self) -> dict[tuple[str, bytes], NoteVerifier]:
        """Return the trusted log verifier keys by ``(name, key_id)``."""
        parsed = [NoteVerifier.from_vkey(v) for v in self.trust.log_verifier_keys]
        return {(v.name, v.key_id): v for v in parsed}

    def log_operator_keys(self, note: Note) -> list[TrustedKey]:
        """Return the ``log_operator`` key entries behind the note's verified
        Ed25519 (0x01) signatures."""
        verifiers = self.note_verifiers()
        found: list[TrustedKey] = []
        for sig in note.sigs:
            verifier = verifiers.get((sig.name, sig.key_id))
            if sig.key_type != ED25519_TYPE or verifier is None:
                continue
            key = self.trust.key_by_public_bytes("log_operator", verifier.public_key)
            if key is not None:
                found.append(key)
        return found

    def open(self, text: str) -> tuple[CheckpointBody, Note]:
        """Open the signed checkpoint ``text``: a verified log signature (a
        listed 0x01 vkey), the trusted origin, and ``witness_threshold``
        distinct verified witness cosignatures. Cached by exact text.

        Raises:
            SignatureError, NoteError, CheckpointError, CheckFailed
            (``checkpoint_origin_mismatch``,
            ``witness_cosignatures_insufficient``).
        """
        cached = self._opened.get(text)
        if cached is not None:
            return cached
        trust = self.trust
        if not trust.log_verifier_keys:
            raise SignatureError("trust anchors list no log verifier key", field="log")
        log_keys = self.note_verifiers()
        witnesses = [NoteVerifier.from_vkey(v) for v in trust.log_witnesses]
        note = open_note(text, [*log_keys.values(), *witnesses])
        if not any(
            sig.key_type == ED25519_TYPE and (sig.name, sig.key_id) in log_keys
            for sig in note.sigs
        ):
            raise SignatureError(
                "checkpoint has no verified signature by a log verifier key "
                "(only witness cosignatures)",
                field="log.checkpoint",
            )
        checkpoint = parse_checkpoint(note.text)
        if trust.log_origin is not None and checkpoint.origin != trust.log_origin:
            raise CheckFailed(
                "checkpoint_origin_mismatch",
                f"checkpoint origin {checkpoint.origin!r} is not the trusted log "
                f"{trust.log_origin!r}",
            )
        if trust.witness_threshold > 0:
            witness_ids = {(w.name, w.key_id) for w in witnesses}
            cosigners = {
                (sig.name, sig.key_id)
                for sig in note.sigs
                if sig.key_type == COSIGNATURE_TYPE
                and (sig.name, sig.key_id) in witness_ids
            }
            if len(cosigners) < trust.witness_threshold:
                raise CheckFailed(
                    "witness_cosignatures_insufficient",
                    f"checkpoint has {len(cosigners)} verified witness "
                    f"cosignature(s), the trust anchors require "
                    f"{trust.witness_threshold}",
                    field="log.checkpoint",
                )
        if len(self._opened) > _MAX_CACHED_CHECKPOINTS:
            self._opened.clear()
        self._opened[text] = (checkpoint, note)
        return checkpoint, note


def checkpoint_time(checkpoint: CheckpointBody) -> datetime | None:
    """Return the checkpoint's ``Timestamp: <unix seconds>`` extension as an
    aware UTC datetime, or ``None`` without one.

    Raises:
        CheckFailed: ``checkpoint_timestamp_invalid`` when the line is not a
            plain non-negative decimal or appears twice.
    """
    values = [
        line[len(_TIMESTAMP_PREFIX) :]
        for line in checkpoint.extensions
        if line.startswith(_TIMESTAMP_PREFIX)
    ]
    if not values:
        return None
    value = values[0]
    if len(values) > 1 or not value.isascii() or not value.isdigit():
        raise CheckFailed(
            "checkpoint_timestamp_invalid",
            f"checkpoint Timestamp extension must appear once as unix seconds, "
            f"found {values!r}",
            field="log.checkpoint",
        )
    return datetime.fromtimestamp(int(value), UTC)
