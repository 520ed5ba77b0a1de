"""Tenants, API keys and tenant meter keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from billing.models import ApiKey, MeterKey, Tariff, Tenant
from billing.protocol.errors import KeyFormatError
from billing.protocol.keys import b64url_decode, key_id

API_KEY_PREFIX = "mp"


def tenant_create(
    *,
    slug: str,
    name: str = "",
    tariff: Tariff | None = None,
    is_surrogate: bool = False,
) -> Tenant:
    """Create a tenant after validating it (``full_clean``).

    Raises:
        django.core.exceptions.ValidationError: on a duplicate or invalid slug.
    """
    tenant = Tenant(
        slug=slug, name=name or slug, tariff=tariff, is_surrogate=is_surrogate
    )
    tenant.full_clean()
    tenant.save()
    return tenant


@dataclass(frozen=True)
class IssuedApiKey:
    """A freshly issued key: ``secret`` is shown once and never stored."""

    api_key: ApiKey
    secret: str


def _hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@transaction.atomic
def api_key_issue(*, tenant: Tenant, name: str = "") -> IssuedApiKey:
    """Issue an API key ``mp_<prefix>_<secret>`` (prefix 12, secret 43 chars).

    Only SHA-256 of the whole key is stored; the 12-character prefix finds the
    row. The key carries 256 random bits, so a plain hash suffices (no KDF).
    """
    prefix = secrets.token_hex(6)
    secret = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(
        tenant=tenant, name=name, prefix=prefix, key_hash=_hash_key(secret)
    )
    api_key.full_clean()
    api_key.save()
    return IssuedApiKey(api_key=api_key, secret=secret)


def api_key_authenticate(*, secret: str) -> ApiKey | None:
    """Return the live API key matching ``secret`` (constant-time compare), else None."""
    parts = secret.split("_")
    if len(parts) < 3 or parts[0] != API_KEY_PREFIX:
        return None
    row = (
        ApiKey.objects.select_related("tenant")
        .filter(prefix=parts[1], revoked_at__isnull=True, tenant__is_active=True)
        .first()
    )
    if row is None or not hmac.compare_digest(row.key_hash, _hash_key(secret)):
        return None
    return row


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key from now on (idempotent)."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def meter_key_register(*, tenant: Tenant, public_key_b64url: str) -> MeterKey:
    """Register a tenant gateway's Ed25519 meter public key (base64url, 32 bytes).

    Raises:
        KeyFormatError: if the key is not 32 bytes of base64url.
    """
    import nacl.signing

    raw = b64url_decode(public_key_b64url, field="public_key_b64url")
    if len(raw) != 32:
        raise KeyFormatError(
            "Ed25519 public key must be 32 bytes", field="public_key_b64url"
        )
    row = MeterKey(
        tenant=tenant,
        kid=key_id(nacl.signing.VerifyKey(raw)),
        public_key_b64url=public_key_b64url,
    )
    row.full_clean()
    row.save()
    return row
