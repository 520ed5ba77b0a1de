"""The standard profile's checks on the signed attestation itself.

Signatures (``meter_signature``, ``issuer_signature``), the meter key's tenant
(``tenant_binding``), the tariff (``tariff_hash``, ``tariff_in_force``), the
charge (``charge_recompute``) and the digests the attestation commits to
(``meter_hash``, ``charge_hash``, ``fingerprint``, ``commitments``). Spec:
docs/PROTOCOL.md §5.2. Each function is one named check: it passes by
returning and fails by raising a :class:`~kernel.protocol.errors.ProtocolError`
whose ``code`` the report shows.
"""

from __future__ import annotations

from kernel.protocol.ed25519 import verify_object
from kernel.protocol.jcs import canonical_hash

from ..bundle import (
    billing_commitments,
    billing_fingerprint,
    receipt_id_for,
    unsigned,
)
from ..contexts import CONTEXT_ATTESTATION
from ..errors import CheckFailed, UnknownKeyError
from ..events import meter_envelope_verify
from ..tariff import compute_charge
from .context import CheckContext

__all__ = [
    "charge_hash",
    "charge_recompute",
    "commitments",
    "fingerprint",
    "issuer_signature",
    "meter_hash",
    "meter_signature",
    "tariff_hash",
    "tariff_in_force",
    "tenant_binding",
]


def meter_signature(ctx: CheckContext) -> None:
    """Check the meter envelope's signature with the trusted meter key.

    The one meter-signature rule, shared with attest:
    :func:`billing.protocol.events.meter_envelope_verify` over the event JSON
    exactly as signed in the bundle (docs/PROTOCOL.md §3, §4.3).

    Raises:
        UnknownKeyError: (``unknown_kid``) the envelope's kid is not a trusted
            meter key.
        SignatureError: (``signature_invalid``) the signature does not verify.
    """
    envelope = ctx.bundle.envelope
    key = ctx.trust.key("meter", envelope.kid)
    if key is None:
        raise UnknownKeyError(
            f"meter kid {envelope.kid} is not a trusted meter key",
            field="attestation.meter_envelope.kid",
        )
    meter_envelope_verify(
        envelope,
        key.verify_key,
        signed=ctx.attestation["meter_envelope"]["event"],
        field="attestation.meter_envelope.sig",
    )


def issuer_signature(ctx: CheckContext) -> None:
    """Check the issuer's signature over the attestation without ``sig``
    (context ``CONTEXT_ATTESTATION``, docs/PROTOCOL.md §3, §4.2).

    Raises:
        UnknownKeyError: (``unknown_kid``) the receipt's kid is not a trusted
            issuer key.
        SignatureError: (``signature_invalid``) the signature does not verify.
    """
    bundle = ctx.bundle
    key = ctx.trust.key("issuer", bundle.issuer_kid)
    if key is None:
        raise UnknownKeyError(
            f"issuer kid {bundle.issuer_kid} is not a trusted issuer key",
            field="attestation.receipt.kid",
        )
    att = ctx.attestation
    verify_object(
        key.verify_key,
        CONTEXT_ATTESTATION,
        unsigned(att),
        att["sig"],
        field="attestation.sig",
    )


def tenant_binding(ctx: CheckContext) -> None:
    """Check a tenant-bound meter key signs only for its tenant.

    Raises:
        UnknownKeyError: (``unknown_kid``) the meter kid is not trusted.
        CheckFailed: ``meter_tenant_mismatch``.
    """
    key = ctx.trust.key("meter", ctx.bundle.envelope.kid)
    if key is None:
        raise UnknownKeyError(
            "meter kid is not trusted", field="attestation.meter_envelope.kid"
        )
    event = ctx.event
    if key.tenant is not None and key.tenant != event.tenant:
        raise CheckFailed(
            "meter_tenant_mismatch",
            f"meter key is bound to tenant {key.tenant!r}, event is for "
            f"{event.tenant!r}",
        )


def tariff_hash(ctx: CheckContext) -> None:
    """Check ``charge.tariff_hash`` is SHA-256(JCS(tariff)) and the tariff
    prices the event's metric.

    Raises:
        CheckFailed: ``tariff_hash_mismatch``, ``tariff_metric_mismatch``.
    """
    bundle = ctx.bundle
    if bundle.charge.tariff_hash != bundle.tariff.tariff_hash:
        raise CheckFailed(
            "tariff_hash_mismatch",
            f"charge.tariff_hash {bundle.charge.tariff_hash} != SHA-256(JCS("
            f"tariff)) {bundle.tariff.tariff_hash}",
        )
    if bundle.tariff.metric != ctx.event.metric:
        raise CheckFailed(
            "tariff_metric_mismatch",
            f"tariff prices {bundle.tariff.metric!r}, event metric is "
            f"{ctx.event.metric!r}",
        )


def tariff_in_force(ctx: CheckContext) -> None:
    """Check the tariff is in force at the event's ``occurred_at``.

    Raises:
        CheckFailed: ``tariff_not_in_force``.
    """
    tariff = ctx.bundle.tariff
    event = ctx.event
    if not tariff.is_effective_at(event.occurred_at_dt):
        raise CheckFailed(
            "tariff_not_in_force",
            f"tariff {tariff.tariff_id} v{tariff.version} is not in "
            f"force at occurred_at {event.occurred_at}",
        )


def charge_recompute(ctx: CheckContext) -> None:
    """Recompute the charge from (tariff, quantity) and compare; the report's
    ``billing_check`` records both amounts (minor units).

    Raises:
        CheckFailed: ``charge_mismatch``.
        QuantityError, TariffError: the charge cannot be computed.
    """
    bundle = ctx.bundle
    event = ctx.event
    expected = compute_charge(bundle.tariff, event.quantity)
    ctx.report.billing_check = {
        "ok": expected == bundle.charge,
        "quantity": event.quantity,
        "amount_minor": bundle.charge.amount_minor,
        "expected_amount_minor": expected.amount_minor,
        "currency": expected.currency,
        "tariff_id": bundle.tariff.tariff_id,
        "tariff_version": bundle.tariff.version,
        "tariff_hash": expected.tariff_hash,
        "billing_verify_fingerprint": billing_fingerprint(
            event.meter_hash, bundle.tariff.tariff_hash, expected.to_json()
        ),
    }
    if expected != bundle.charge:
        raise CheckFailed(
            "charge_mismatch",
            f"charge says {bundle.charge.to_json()}, recomputed {expected.to_json()}",
        )


def meter_hash(ctx: CheckContext) -> None:
    """Check ``meter_hash`` = SHA-256(JCS(event)) and ``receipt_id`` = ``rcpt_``
    + 24 hex of SHA-256(JCS([tenant, window, event_id])).

    Raises:
        CheckFailed: ``meter_hash_mismatch``, ``receipt_id_mismatch``.
    """
    att = ctx.attestation
    event = ctx.event
    bundle = ctx.bundle
    if att["meter_hash"] != canonical_hash(att["meter_envelope"]["event"]):
        raise CheckFailed("meter_hash_mismatch", "meter_hash != SHA-256(JCS(event))")
    expected_receipt = receipt_id_for(event.tenant, event.window, event.event_id)
    if bundle.receipt_id != expected_receipt:
        raise CheckFailed(
            "receipt_id_mismatch",
            f"receipt.receipt_id is {bundle.receipt_id!r}, expected "
            f"{expected_receipt!r} = 'rcpt_' + 24 hex of "
            "SHA-256(JCS([tenant, window, event_id]))",
            field="attestation.receipt.receipt_id",
        )


def charge_hash(ctx: CheckContext) -> None:
    """Check ``charge_hash`` = SHA-256(JCS(charge)).

    Raises:
        CheckFailed: ``charge_hash_mismatch``.
    """
    att = ctx.attestation
    if att["charge_hash"] != canonical_hash(att["charge"]):
        raise CheckFailed("charge_hash_mismatch", "charge_hash != SHA-256(JCS(charge))")


def fingerprint(ctx: CheckContext) -> None:
    """Check ``billing_verify_fingerprint`` against its recomputation from
    (``meter_hash``, ``tariff_hash``, ``charge``), docs/PROTOCOL.md §4.2.

    Raises:
        CheckFailed: ``fingerprint_mismatch``.
    """
    att = ctx.attestation
    expected = billing_fingerprint(
        att["meter_hash"], ctx.bundle.tariff.tariff_hash, att["charge"]
    )
    if att["billing_verify_fingerprint"] != expected:
        raise CheckFailed(
            "fingerprint_mismatch",
            f"billing_verify_fingerprint is {att['billing_verify_fingerprint']}, "
            f"recomputed {expected}",
        )


def commitments(ctx: CheckContext) -> None:
    """Check ``billing_commitments`` (elements and Poseidon public signal)
    against the digests, docs/PROTOCOL.md §4.8.

    Raises:
        CheckFailed: ``commitments_mismatch``.
    """
    att = ctx.attestation
    expected = billing_commitments(
        att["meter_hash"],
        ctx.bundle.tariff.tariff_hash,
        att["charge_hash"],
        att["billing_verify_fingerprint"],
    )
    if att["billing_commitments"] != expected:
        raise CheckFailed(
            "commitments_mismatch",
            "billing_commitments do not match the digests (elements or "
            "Poseidon public signal differ)",
        )
