"""The trust the auditor UI checks against: the published trust anchors."""

from __future__ import annotations

from dataclasses import dataclass

from billing.protocol.trust import TrustAnchors
from billing.selectors import trust_anchors_get
from kernel.settings import kernel_settings
from transparency.selectors_audit.checks import LogTrust


@dataclass(frozen=True)
class AuditTrust(LogTrust):
    """The log trust (origin, log and witness keys) plus the trust anchors
    bundles are verified against.

    Attributes:
        anchors: the published trust anchors, or ``None`` if the server has
            no keys (every verdict then fails, ``problem`` says why).
    """

    anchors: TrustAnchors | None = None


def audit_trust_get() -> AuditTrust:
    """Return the published trust anchors for the UI's verdicts.

    The witness keys are the anchors' (C2SP 0x04 vkeys) followed by those of
    ``VDI_BILLING_LOG_WITNESS_KEYS``, without duplicates. Never raises: a
    server without keys (``SigningKeysUnconfigured``) or with a bad key
    configuration yields an :class:`AuditTrust` whose ``problem`` is the
    error's message.
    """
    extra = kernel_settings.log_witness_keys
    try:
        anchors = trust_anchors_get()
    except Exception as exc:  # SigningKeysUnconfigured, bad key config
        return AuditTrust(
            witness_keys=tuple(dict.fromkeys(extra)),
            problem=getattr(exc, "message", str(exc)),
        )
    return AuditTrust(
        origin=anchors.log_origin or "",
        log_keys=anchors.log_verifier_keys,
        witness_keys=tuple(dict.fromkeys((*anchors.log_witnesses, *extra))),
        anchors=anchors,
    )


__all__ = ["AuditTrust", "audit_trust_get"]
