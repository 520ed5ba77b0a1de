"""The log's C2SP note signer, built from the kernel's log-operator key.

Checkpoints are signed notes (C2SP signed-note) whose first line is the log's
origin (``VDI_BILLING_LOG_ORIGIN``); the Ed25519 key is the server's
log-operator key from :func:`kernel.keyring.server_keys_get`.
"""

from __future__ import annotations

from kernel.keyring import ServerKeys, server_keys_get
from transparency.protocol.note import NoteSigner

__all__ = ["log_signer_for", "log_signer_get"]


def log_signer_for(keys: ServerKeys) -> NoteSigner:
    """Return the note signer of ``keys``: name = ``keys.log_origin``, key =
    ``keys.log_operator`` (Ed25519, C2SP signed-note key type 0x01)."""
    return NoteSigner(keys.log_origin, keys.log_operator.signing_key)


def log_signer_get() -> NoteSigner:
    """Return this server's log note signer for the current settings.

    Raises:
        SigningKeysUnconfigured: the server's keys are missing or malformed
            (:func:`kernel.keyring.server_keys_get`).
    """
    return log_signer_for(server_keys_get())
