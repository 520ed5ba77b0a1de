"""A trusted Ed25519 public key with its role, RFC 7638 kid, status and window.

One entry of the published trust anchors' ``keys`` list (docs/PROTOCOL.md,
"Trust anchors", ``vdi-billing-trust/1``)::

    {"kid": "<RFC 7638 thumbprint>", "role": "meter",
     "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "..."},
     "tenant": null, "not_before": null, "not_after": null,
     "status": "active" | "retired" | "revoked"}

It lives in the kernel because the server's keyring (``kernel.keyring``)
builds its retired keys from it; parsing and validating whole trust-anchor
documents stays in ``billing.protocol.trust``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nacl.signing

from .ed25519 import public_jwk
from .timefmt import format_rfc3339_utc

__all__ = ["TrustedKey"]


@dataclass(frozen=True)
class TrustedKey:
    """One trusted Ed25519 public key with its role and validity window.

    Attributes:
        kid: RFC 7638 thumbprint of ``verify_key`` (base64url, 43 characters).
        role: ``meter``, ``issuer``, ``log_operator`` or
            ``manifest_authority``.
        verify_key: the 32-byte Ed25519 public key (PyNaCl).
        tenant: the tenant slug a meter key is restricted to, or ``None``.
        not_before: start of validity (aware UTC datetime), or ``None``.
        not_after: end of validity, exclusive, or ``None``.
        status: ``active``, ``retired`` or ``revoked``.
    """

    kid: str
    role: str
    verify_key: nacl.signing.VerifyKey
    tenant: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None
    status: str = "active"

    def is_valid_at(self, moment: datetime) -> bool:
        """Return whether ``moment`` lies in ``[not_before, not_after)``."""
        if self.not_before is not None and moment < self.not_before:
            return False
        return not (self.not_after is not None and moment >= self.not_after)

    def to_json(self) -> dict[str, Any]:
        """Return the key entry as published."""
        return {
            "kid": self.kid,
            "role": self.role,
            "jwk": public_jwk(self.verify_key),
            "tenant": self.tenant,
            "not_before": format_rfc3339_utc(self.not_before)
            if self.not_before
            else None,
            "not_after": format_rfc3339_utc(self.not_after) if self.not_after else None,
            "status": self.status,
        }
