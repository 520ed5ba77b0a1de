"""Trust anchors: the public keys an auditor trusts (``vdi-billing-trust.json``).

Shape (``format: vdi-billing-trust/1``)::

    {"format": "vdi-billing-trust/1",
     "keys": [{"kid": "<RFC 7638 thumbprint>", "role": "meter",
               "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "..."},
               "tenant": null, "not_before": null, "not_after": null}],
     "log": {"origin": "meterproof.dev/billing-log",
             "verifier_keys": ["<C2SP note verifier key name+hex+base64>"]}}

Roles: ``meter`` (meter envelopes; ``tenant`` restricts a key to one tenant,
``null`` means the server-side meter that may sign for any tenant), ``issuer``
(attestations, revocation snapshots), ``log_operator`` (checkpoints) and
``manifest_authority`` (the artifact manifest). ``not_before``/``not_after``
(RFC 3339 UTC or null) bound a key's validity; the strict profile enforces
them, the standard profile only requires the kid to be listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import nacl.signing

from .errors import TrustAnchorError
from .keys import key_id, public_jwk, verify_key_from_jwk
from .timefmt import format_rfc3339_utc, parse_rfc3339_utc

TRUST_FORMAT = "vdi-billing-trust/1"
ROLES = ("meter", "issuer", "log_operator", "manifest_authority")


@dataclass(frozen=True)
class TrustedKey:
    """One trusted Ed25519 public key with its role and validity window."""

    kid: str
    role: str
    verify_key: nacl.signing.VerifyKey
    tenant: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None

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
        }


@dataclass(frozen=True)
class TrustAnchors:
    """Parsed trust anchors; the only input an offline verifier must trust."""

    keys: tuple[TrustedKey, ...]
    log_origin: str | None = None
    log_verifier_keys: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def key(self, role: str, kid: str) -> TrustedKey | None:
        """Return the trusted key with ``kid`` for ``role``, or ``None``."""
        for item in self.keys:
            if item.role == role and item.kid == kid:
                return item
        return None

    def keys_for(self, role: str) -> list[TrustedKey]:
        """Return every trusted key of ``role``."""
        return [item for item in self.keys if item.role == role]

    def to_json(self) -> dict[str, Any]:
        """Return the published document."""
        return {
            "format": TRUST_FORMAT,
            "keys": [item.to_json() for item in self.keys],
            "log": {
                "origin": self.log_origin,
                "verifier_keys": list(self.log_verifier_keys),
            },
            **self.extra,
        }

    @classmethod
    def from_json(cls, obj: Any) -> TrustAnchors:
        """Parse and validate a trust-anchor document.

        Each key's ``kid`` must equal the RFC 7638 thumbprint of its JWK, so a
        document cannot bind a trusted kid to a different key.

        Raises:
            TrustAnchorError: naming the offending field.
        """
        if not isinstance(obj, dict) or obj.get("format") != TRUST_FORMAT:
            raise TrustAnchorError(f"expected format {TRUST_FORMAT!r}", field="format")
        raw_keys = obj.get("keys")
        if not isinstance(raw_keys, list):
            raise TrustAnchorError("keys must be a list", field="keys")
        keys = []
        for index, entry in enumerate(raw_keys):
            path = f"keys[{index}]"
            if not isinstance(entry, dict):
                raise TrustAnchorError("key entry must be an object", field=path)
            role = entry.get("role")
            if role not in ROLES:
                raise TrustAnchorError(
                    f"role must be one of {ROLES}", field=f"{path}.role"
                )
            try:
                verify_key = verify_key_from_jwk(entry.get("jwk"), field=f"{path}.jwk")
            except Exception as exc:  # KeyFormatError carries the detail
                raise TrustAnchorError(str(exc), field=f"{path}.jwk") from exc
            if entry.get("kid") != key_id(verify_key):
                raise TrustAnchorError(
                    "kid is not the RFC 7638 thumbprint of jwk", field=f"{path}.kid"
                )
            tenant = entry.get("tenant")
            if tenant is not None and not isinstance(tenant, str):
                raise TrustAnchorError(
                    "tenant must be a string or null", field=f"{path}.tenant"
                )
            bounds = []
            for name in ("not_before", "not_after"):
                value = entry.get(name)
                try:
                    bounds.append(
                        parse_rfc3339_utc(value) if value is not None else None
                    )
                except ValueError as exc:
                    raise TrustAnchorError(str(exc), field=f"{path}.{name}") from exc
            keys.append(
                TrustedKey(
                    kid=entry["kid"],
                    role=role,
                    verify_key=verify_key,
                    tenant=tenant,
                    not_before=bounds[0],
                    not_after=bounds[1],
                )
            )
        log = obj.get("log") or {}
        if not isinstance(log, dict):
            raise TrustAnchorError("log must be an object", field="log")
        origin = log.get("origin")
        vkeys = log.get("verifier_keys") or []
        if origin is not None and not isinstance(origin, str):
            raise TrustAnchorError("log.origin must be a string", field="log.origin")
        if not isinstance(vkeys, list) or not all(isinstance(v, str) for v in vkeys):
            raise TrustAnchorError(
                "log.verifier_keys must be a list of strings", field="log.verifier_keys"
            )
        extra = {k: v for k, v in obj.items() if k not in ("format", "keys", "log")}
        return cls(
            keys=tuple(keys),
            log_origin=origin,
            log_verifier_keys=tuple(vkeys),
            extra=extra,
        )
