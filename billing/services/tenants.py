"""Tenants, API keys and tenant meter keys.

Every change appends one record to the staff audit trail in its own
transaction (:func:`audittrail.services.audit_record`): ``tenant.create``,
``tenant.update``, ``api_key.create``, ``api_key.revoke``,
``meter_key.create``, ``meter_key.retire`` (a meter key's revocation is
``revocation.key_add``, recorded by the revocation service). ``actor`` is
the staff user, a label (``system:<command>``, ``tenant:<slug>``) or
``None`` (``system``). API key hashes are never recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nacl.signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from audittrail.services import audit_record, audit_snapshot
from billing.errors import MeterKeyConflict, MeterKeyInvalid, MeterKeyNotFound
from billing.keyring import get_keyring
from billing.models import ApiKey, MeterKey, Tenant
from billing.protocol.errors import TrustAnchorError
from billing.protocol.trust import check_key_entry
from kernel.protocol.ed25519 import (
    b64url_decode,
    b64url_encode,
    key_id,
    verify_key_from_bytes,
    verify_key_from_jwk,
)
from kernel.protocol.errors import KeyFormatError
from kernel.protocol.trustedkey import TrustedKey
from revocation.errors import RevocationInputInvalid
from revocation.services.revocations import revocation_key_add
from transparency.protocol.note import NoteVerifier

API_KEY_PREFIX = "mp"

#: Fields of each row the audit trail records (never ``key_hash``).
TENANT_AUDIT_FIELDS = ("slug", "name", "is_active", "is_surrogate")
API_KEY_AUDIT_FIELDS = ("prefix", "tenant", "name", "created_at", "revoked_at")
METER_KEY_AUDIT_FIELDS = (
    "kid",
    "tenant",
    "public_key_b64url",
    "not_before",
    "not_after",
)


def _tenant_state(tenant: Tenant) -> dict[str, Any] | None:
    return audit_snapshot(tenant, TENANT_AUDIT_FIELDS)


def _with_slug(state: dict[str, Any] | None, tenant: Tenant) -> dict[str, Any] | None:
    # ``tenant`` is a primary key in a snapshot; the slug is what staff know.
    if state is not None:
        state["tenant"] = tenant.slug
    return state


def _api_key_state(api_key: ApiKey) -> dict[str, Any] | None:
    return _with_slug(audit_snapshot(api_key, API_KEY_AUDIT_FIELDS), api_key.tenant)


def _meter_key_state(meter_key: MeterKey) -> dict[str, Any] | None:
    return _with_slug(
        audit_snapshot(meter_key, METER_KEY_AUDIT_FIELDS), meter_key.tenant
    )


@transaction.atomic
def tenant_create(
    *,
    slug: str,
    name: str = "",
    is_surrogate: bool = False,
    actor: Any = None,
) -> Tenant:
    """Create a tenant after validating it (``full_clean``); audit
    ``tenant.create`` by ``actor``.

    The new tenant has no subscription: it is on the default plan until
    ``billing.services.subscriptions.subscription_create`` subscribes it.

    Raises:
        django.core.exceptions.ValidationError: on a duplicate or invalid slug.
    """
    tenant = Tenant(slug=slug, name=name or slug, is_surrogate=is_surrogate)
    tenant.full_clean()
    tenant.save()
    audit_record(
        actor=actor,
        action="tenant.create",
        obj_type="tenant",
        obj_id=tenant.slug,
        before=None,
        after=_tenant_state(tenant),
    )
    return tenant


#: Tenant fields :func:`tenant_update` may change. The slug is fixed (it is the
#: signed events' ``tenant``), and so is ``is_surrogate`` (set by a backfill).
#: Its tariffs are subscriptions (``billing.services.subscriptions``).
TENANT_UPDATE_FIELDS = ("name", "is_active")


@transaction.atomic
def tenant_update(
    *, tenant: Tenant, changes: Mapping[str, Any], actor: Any = None
) -> Tenant:
    """Change some of a tenant's ``name`` and ``is_active``; validate
    (``full_clean``) and save only those columns; audit ``tenant.update`` by
    ``actor`` (before: the stored row).

    ``changes`` maps field names of :data:`TENANT_UPDATE_FIELDS` to their new
    values. An empty mapping saves nothing.

    Raises:
        TypeError: a field outside :data:`TENANT_UPDATE_FIELDS` (a caller
            bug, like an unexpected keyword argument).
        django.core.exceptions.ValidationError: an invalid value.
    """
    unknown = sorted(set(changes) - set(TENANT_UPDATE_FIELDS))
    if unknown:
        raise TypeError(
            f"tenant_update cannot change {', '.join(unknown)}; it changes "
            f"{', '.join(TENANT_UPDATE_FIELDS)}"
        )
    if not changes:
        return tenant
    stored = Tenant.objects.filter(pk=tenant.pk).first()
    before = _tenant_state(stored) if stored is not None else None
    for field, value in changes.items():
        setattr(tenant, field, value)
    tenant.full_clean()
    tenant.save(update_fields=list(changes))
    audit_record(
        actor=actor,
        action="tenant.update",
        obj_type="tenant",
        obj_id=tenant.slug,
        before=before,
        after=_tenant_state(tenant),
    )
    return tenant


@dataclass(frozen=True)
class IssuedApiKey:
    """A freshly issued key: ``secret`` is shown once and never stored."""

    api_key: ApiKey
    secret: str


def _hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@transaction.atomic
def api_key_issue(*, tenant: Tenant, name: str = "", actor: Any = None) -> IssuedApiKey:
    """Issue an API key ``mp_<prefix>_<secret>`` (prefix 12, secret 43 chars).

    Only SHA-256 of the whole key is stored; the 12-character prefix finds the
    row. The key carries 256 random bits, so a plain hash suffices (no KDF).
    Audited as ``api_key.create`` by ``actor`` (prefix, tenant, name; never
    the secret or its hash).
    """
    prefix = secrets.token_hex(6)
    secret = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(
        tenant=tenant, name=name, prefix=prefix, key_hash=_hash_key(secret)
    )
    api_key.full_clean()
    api_key.save()
    audit_record(
        actor=actor,
        action="api_key.create",
        obj_type="api_key",
        obj_id=api_key.prefix,
        before=None,
        after=_api_key_state(api_key),
    )
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


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: Any = None) -> ApiKey:
    """Revoke a key from now on; audit ``api_key.revoke`` by ``actor``.
    Idempotent: revoking a revoked key changes and records nothing."""
    locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if locked.revoked_at is None:
        before = _api_key_state(locked)
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="api_key.revoke",
            obj_type="api_key",
            obj_id=locked.prefix,
            before=before,
            after=_api_key_state(locked),
        )
    api_key.revoked_at = locked.revoked_at
    return api_key


def _published_server_kids() -> set[str]:
    """Return the RFC 7638 kids of every key this server publishes under a
    server role: issuer, meter, log operator and manifest authorities
    (current and retired), and the log witnesses' Ed25519 keys.

    Raises:
        SigningKeysUnconfigured: the server has no keys (fail closed: a key
            cannot be checked against keys that are not loaded).
    """
    keyring = get_keyring()
    kids = {key.kid for key in keyring.trust_anchors().keys}
    for vkey in keyring.witnesses:
        public = NoteVerifier.from_vkey(vkey).public_key
        kids.add(key_id(nacl.signing.VerifyKey(public)))
    return kids


def _already_registered(kid: str) -> MeterKeyConflict:
    # One message whoever holds the key (the server, another tenant or this
    # one), so a 409 reveals nothing about other tenants.
    return MeterKeyConflict(f"meter key {kid} is already registered", field="jwk")


def _check_publishable(key: TrustedKey) -> None:
    """Refuse a key entry the verifiers' trust parser would not read back
    exactly (``billing.protocol.trust.check_key_entry``).

    Raises:
        MeterKeyInvalid: naming ``not_before`` or ``not_after``.
    """
    try:
        check_key_entry(key)
    except TrustAnchorError as exc:
        name = (exc.field or "").rsplit(".", 1)[-1]
        field = name if name in ("not_before", "not_after") else "not_after"
        raise MeterKeyInvalid(
            f"{field} cannot be published as an RFC 3339 UTC timestamp that "
            f"verifiers parse (YYYY-MM-DDTHH:MM:SSZ, years 1000-9999): "
            f"{exc.message}",
            field=field,
        ) from exc


@transaction.atomic
def meter_key_register(
    *,
    tenant: Tenant,
    jwk: Mapping[str, Any] | None = None,
    public_key_b64url: str | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    actor: Any = None,
) -> MeterKey:
    """Register a tenant gateway's Ed25519 meter public key; audit
    ``meter_key.create`` by ``actor`` (the public key, never a private one).

    Give the key as an OKP JWK ``{"kty": "OKP", "crv": "Ed25519", "x": ...}``
    (RFC 8037) or as ``public_key_b64url`` (32 bytes, base64url). The kid is its
    RFC 7638 thumbprint; ``[not_before, not_after)`` (aware datetimes or None)
    bounds the event times (``occurred_at``) it may sign for (strict profile).
    The key may only sign events of ``tenant``.

    The key entry this adds to ``/.well-known/vdi-billing-trust.json`` is
    first read back with the verifiers' own parser
    (``billing.protocol.trust.TrustAnchors.from_json``), so a registration can
    never make the published trust unreadable.

    Raises:
        KeyFormatError: malformed key, a small-order or non-canonical point,
            or neither/both forms given.
        MeterKeyInvalid: ``not_after`` not after ``not_before``, or a bound
            that has no RFC 3339 UTC spelling (field names it).
        MeterKeyConflict: the kid is already published: registered by any
            tenant, or one of the server's keys in any role (same message).
        SigningKeysUnconfigured: the server has no keys to compare with.
    """
    if (jwk is None) == (public_key_b64url is None):
        raise KeyFormatError(
            "give exactly one of jwk or public_key_b64url", field="jwk"
        )
    if jwk is not None:
        verify_key = verify_key_from_jwk(dict(jwk), field="jwk")
    else:
        raw = b64url_decode(public_key_b64url or "", field="public_key_b64url")
        verify_key = verify_key_from_bytes(raw, field="public_key_b64url")
    if not_before is not None and not_after is not None and not_after <= not_before:
        raise MeterKeyInvalid("not_after must be after not_before", field="not_after")
    kid = key_id(verify_key)
    _check_publishable(
        TrustedKey(
            kid=kid,
            role="meter",
            verify_key=verify_key,
            tenant=tenant.slug,
            not_before=not_before,
            not_after=not_after,
        )
    )
    if kid in _published_server_kids() or MeterKey.objects.filter(kid=kid).exists():
        raise _already_registered(kid)
    row = MeterKey(
        tenant=tenant,
        kid=kid,
        public_key_b64url=b64url_encode(bytes(verify_key)),
        not_before=not_before,
        not_after=not_after,
    )
    row.full_clean(validate_unique=False)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as exc:  # a concurrent registration won
        raise _already_registered(kid) from exc
    audit_record(
        actor=actor,
        action="meter_key.create",
        obj_type="meter_key",
        obj_id=row.kid,
        before=None,
        after=_meter_key_state(row),
    )
    return row


@transaction.atomic
def meter_key_retire(
    *, meter_key: MeterKey, at: datetime | None = None, actor: Any = None
) -> MeterKey:
    """End a meter key's window at ``at`` (default now): events that occurred
    from then on no longer verify under the strict profile; earlier ones do.
    Idempotent; never extends a window that already ends earlier. A change
    is audited as ``meter_key.retire`` by ``actor``.
    """
    moment = at or timezone.now()
    if meter_key.not_after is None or meter_key.not_after > moment:
        before = _meter_key_state(meter_key)
        meter_key.not_after = moment
        meter_key.save(update_fields=["not_after"])
        audit_record(
            actor=actor,
            action="meter_key.retire",
            obj_type="meter_key",
            obj_id=meter_key.kid,
            before=before,
            after=_meter_key_state(meter_key),
        )
    return meter_key


#: Longest revocation ``reason`` a tenant may give, in characters.
MAX_REVOCATION_REASON_CHARS = 500


def meter_key_revoke(*, tenant: Tenant, meter_key: MeterKey, reason: str = "") -> Any:
    """Revoke one of ``tenant``'s own gateway meter keys: its kid is listed in
    the next signed revocation snapshot and published with ``status:
    revoked``, and attest refuses it from now on. The revocation is recorded
    as done by ``tenant:<slug>`` (never "system").

    Returns the ``revocation.models.RevokedKey`` row.

    Raises:
        MeterKeyNotFound: ``meter_key`` is not ``tenant``'s.
        MeterKeyConflict: the kid is also one of the server's published keys
            (a row registered before that was refused); a tenant never revokes
            a server key.
        RevocationInputInvalid: ``reason`` longer than
            :data:`MAX_REVOCATION_REASON_CHARS` (field ``reason``).
        AlreadyRevoked: the kid already has a revocation in force.
    """

    if meter_key.tenant_id != tenant.pk:
        raise MeterKeyNotFound(
            f"no meter key {meter_key.kid} for this tenant", field="kid"
        )
    if meter_key.kid in _published_server_kids():
        raise MeterKeyConflict(
            f"meter key {meter_key.kid} cannot be revoked by a tenant", field="kid"
        )
    text = (reason or "").strip() or f"revoked by tenant {tenant.slug}"
    if len(text) > MAX_REVOCATION_REASON_CHARS:
        raise RevocationInputInvalid(
            f"reason is {len(text)} characters, the limit is "
            f"{MAX_REVOCATION_REASON_CHARS}",
            field="reason",
        )
    return revocation_key_add(
        kid=meter_key.kid, reason=text, actor_label=f"tenant:{tenant.slug}"
    )
