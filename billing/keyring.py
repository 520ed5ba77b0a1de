"""The server's signing keys and published trust anchors, loaded from settings.

Read at call time (never at import), cached per distinct key configuration so a
settings override in tests takes effect at once.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from django.conf import settings

from billing.errors import SigningKeysUnconfigured
from billing.protocol.errors import KeyFormatError
from billing.protocol.keys import (
    KeyPair,
    key_id,
    signing_key_from_pem,
    signing_key_from_seed_hex,
    verify_key_from_jwk,
)
from billing.protocol.trust import TrustAnchors, TrustedKey
from transparency.protocol.note import NoteSigner


@dataclass(frozen=True)
class Keyring:
    """The issuer, server-side meter and log-operator keys of this server."""

    issuer: KeyPair
    meter: KeyPair
    log_operator: KeyPair
    log_signer: NoteSigner
    log_origin: str
    manifest_authority: TrustedKey | None

    def trust_anchors(self, extra_keys: tuple[TrustedKey, ...] = ()) -> TrustAnchors:
        """Return the trust anchors to publish: our keys plus ``extra_keys``
        (tenant gateway meter keys)."""
        keys = [
            TrustedKey(
                kid=self.meter.kid, role="meter", verify_key=self.meter.verify_key
            ),
            TrustedKey(
                kid=self.issuer.kid, role="issuer", verify_key=self.issuer.verify_key
            ),
            TrustedKey(
                kid=self.log_operator.kid,
                role="log_operator",
                verify_key=self.log_operator.verify_key,
            ),
        ]
        if self.manifest_authority is not None:
            keys.append(self.manifest_authority)
        return TrustAnchors(
            keys=tuple(keys) + tuple(extra_keys),
            log_origin=self.log_origin,
            log_verifier_keys=(self.log_signer.verifier_key(),),
        )


def _config() -> tuple[str, ...]:
    return (
        settings.VDI_SIGNING_KEY,
        settings.VDI_BILLING_METER_PRIVATE_KEY_PEM,
        settings.VDI_BILLING_METER_KID,
        settings.VDI_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM,
        settings.VDI_BILLING_LOG_OPERATOR_KID,
        settings.VDI_BILLING_LOG_ORIGIN,
        settings.VDI_MANIFEST_AUTHORITY_SIGNING_KEY,
        settings.VDI_MANIFEST_AUTHORITY_PUBLIC_JWK,
    )


def get_keyring() -> Keyring:
    """Return the keyring for the current settings.

    Raises:
        SigningKeysUnconfigured: if a key is missing, malformed, or its
            configured kid is not its RFC 7638 thumbprint (run
            ``manage.py billing_keys``).
    """
    return _load(_config())


@functools.lru_cache(maxsize=8)
def _load(config: tuple[str, ...]) -> Keyring:
    (
        issuer_hex,
        meter_pem,
        meter_kid,
        log_pem,
        log_kid,
        origin,
        authority_hex,
        authority_jwk,
    ) = config
    missing = [
        name
        for name, value in (
            ("VDI_SIGNING_KEY", issuer_hex),
            ("VDI_BILLING_METER_PRIVATE_KEY_PEM", meter_pem),
            ("VDI_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM", log_pem),
        )
        if not value
    ]
    if missing:
        raise SigningKeysUnconfigured(
            f"missing {', '.join(missing)}: run 'python manage.py billing_keys'"
        )
    try:
        issuer = KeyPair.from_signing_key(signing_key_from_seed_hex(issuer_hex))
        meter = KeyPair.from_signing_key(signing_key_from_pem(meter_pem))
        log_operator = KeyPair.from_signing_key(signing_key_from_pem(log_pem))
        authority = None
        if authority_hex:
            pair = KeyPair.from_signing_key(signing_key_from_seed_hex(authority_hex))
            authority = TrustedKey(pair.kid, "manifest_authority", pair.verify_key)
        elif authority_jwk:
            vk = verify_key_from_jwk(json.loads(authority_jwk))
            authority = TrustedKey(key_id(vk), "manifest_authority", vk)
    except (KeyFormatError, ValueError) as exc:
        raise SigningKeysUnconfigured(f"malformed key: {exc}") from exc
    for name, configured, actual in (
        ("VDI_BILLING_METER_KID", meter_kid, meter.kid),
        ("VDI_BILLING_LOG_OPERATOR_KID", log_kid, log_operator.kid),
    ):
        if configured and configured != actual:
            raise SigningKeysUnconfigured(
                f"{name} is {configured} but the key's RFC 7638 thumbprint is {actual}"
            )
    return Keyring(
        issuer=issuer,
        meter=meter,
        log_operator=log_operator,
        log_signer=NoteSigner(origin, log_operator.signing_key),
        log_origin=origin,
        manifest_authority=authority,
    )
