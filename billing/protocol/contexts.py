"""Domain-separation context strings of the billing signatures.

Every signature of the protocol is over ``context || 0x00 || JCS(object)``
(:func:`kernel.protocol.ed25519.signed_message`): an ASCII context string
naming what is signed, one zero byte, then the RFC 8785 canonical JSON bytes
(docs/PROTOCOL.md, "Keys"). These are the contexts of the objects billing
signs; the revocation snapshot's is in ``revocation.protocol.snapshot``.
"""

from __future__ import annotations

#: Context strings, one per signed object type (domain separation).
CONTEXT_METER_ENVELOPE = "meterproof/meter-envelope/v1"
CONTEXT_ATTESTATION = "meterproof/attestation/v1"
CONTEXT_TRUST_ANCHORS = "meterproof/trust-anchors/v1"
CONTEXT_CREDIT_NOTE = "meterproof/credit-note/v1"


CONTEXT_STATEMENT = "meterproof/statement/v1"

__all__ = [
    "CONTEXT_ATTESTATION",
    "CONTEXT_CREDIT_NOTE",
    "CONTEXT_METER_ENVELOPE",
    "CONTEXT_STATEMENT",
    "CONTEXT_TRUST_ANCHORS",
]
