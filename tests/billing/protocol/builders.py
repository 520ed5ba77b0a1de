"""Build real ``vdi-billing/2`` bundles end to end without Django.

Everything here uses the production code paths (PyNaCl keys, RFC 8785, the
tariff engine, Poseidon commitments, the RFC 9162 Merkle store and C2SP notes);
nothing is mocked. Reused by the bundle, verifier and CLI tests.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from billing.protocol.bundle import (
    attestation_leaf_data,
    build_attestation,
    build_bundle,
    unsigned,
)
from billing.protocol.events import MeterEnvelope
from billing.protocol.keys import (
    CONTEXT_ATTESTATION,
    CONTEXT_METER_ENVELOPE,
    KeyPair,
    b64url_decode,
    b64url_encode,
    sign_object,
)
from billing.protocol.tariff import Tariff, compute_charge
from billing.protocol.trust import TrustAnchors, TrustedKey
from transparency.protocol.checkpoint import Checkpoint
from transparency.protocol.merkle import MemoryNodeStore, leaf_hash
from transparency.protocol.note import NoteSigner, sign_note

LOG_ORIGIN = "meterproof.test/billing-log"
ISSUED_AT = datetime(2026, 11, 21, 10, 5, 4, tzinfo=UTC)

#: Stripe's graduated example (docs.stripe.com/products-prices/pricing-models):
#: 6 units cost 5 x 7.00 + 1 x 6.50 = 41.50 USD = 4150 minor units.
STRIPE_TIERS: list[dict[str, Any]] = [
    {"up_to": 5, "unit_amount_decimal": "700", "flat_amount": 0},
    {"up_to": 10, "unit_amount_decimal": "650", "flat_amount": 0},
    {"up_to": None, "unit_amount_decimal": "600", "flat_amount": 0},
]


def tariff_json(**overrides: Any) -> dict[str, Any]:
    """Return DESIGN.md's example tariff (graduated, USD), with overrides."""
    obj: dict[str, Any] = {
        "tariff_id": "api-requests",
        "version": 3,
        "currency": "USD",
        "metric": "api_requests",
        "pricing": {"model": "tiered_graduated", "tiers": copy.deepcopy(STRIPE_TIERS)},
        "rounding": "half_up",
        "effective_from": "2026-11-01T00:00:00Z",
        "effective_to": None,
    }
    obj.update(overrides)
    return obj


def volume_tariff_json() -> dict[str, Any]:
    """Return the Stripe volume table: 6 units cost 6 x 6.50 = 3900 minor units."""
    return tariff_json(
        pricing={"model": "tiered_volume", "tiers": copy.deepcopy(STRIPE_TIERS)}
    )


def event_json(**overrides: Any) -> dict[str, Any]:
    """Return a valid meter event (quantity 6, November 2026), with overrides."""
    obj: dict[str, Any] = {
        "tenant": "acme",
        "event_id": "evt_123",
        "window": "2026-11",
        "metric": "api_requests",
        "quantity": 6,
        "occurred_at": "2026-11-21T10:05:03Z",
        "attributes": {
            "route": "/v1/search",
            "method": "GET",
            "status": 200,
            "bytes": 5120,
        },
    }
    obj.update(overrides)
    return obj


@dataclass(frozen=True)
class Keys:
    """Issuer, meter and log-operator keys plus the log's note signer."""

    issuer: KeyPair
    meter: KeyPair
    log_operator: KeyPair
    origin: str = LOG_ORIGIN

    @classmethod
    def generate(cls, origin: str = LOG_ORIGIN) -> Keys:
        """Return fresh random keys."""
        return cls(KeyPair.generate(), KeyPair.generate(), KeyPair.generate(), origin)

    @property
    def signer(self) -> NoteSigner:
        """The C2SP note signer of the log (name = origin)."""
        return NoteSigner(self.origin, self.log_operator.signing_key)

    def trust(self, *, meter_tenant: str | None = None) -> TrustAnchors:
        """Return trust anchors listing these keys and the log verifier key."""
        return TrustAnchors(
            keys=(
                TrustedKey(
                    self.meter.kid, "meter", self.meter.verify_key, tenant=meter_tenant
                ),
                TrustedKey(self.issuer.kid, "issuer", self.issuer.verify_key),
                TrustedKey(
                    self.log_operator.kid,
                    "log_operator",
                    self.log_operator.verify_key,
                ),
            ),
            log_origin=self.origin,
            log_verifier_keys=(self.signer.verifier_key(),),
        )


def sign_envelope(meter: KeyPair, event: dict[str, Any]) -> MeterEnvelope:
    """Return the meter envelope of ``event`` signed by ``meter``."""
    envelope = {
        "event": event,
        "kid": meter.kid,
        "sig": sign_object(meter.signing_key, CONTEXT_METER_ENVELOPE, event),
    }
    return MeterEnvelope.from_json(envelope)


def make_attestation(
    keys: Keys,
    *,
    event: dict[str, Any] | None = None,
    tariff: dict[str, Any] | None = None,
    receipt_id: str = "rcpt_1",
    billing_proof: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return an attestation signed by ``keys.issuer`` over a signed envelope.

    The charge is ``compute_charge(tariff, quantity)``; the issuer does not
    check the tariff's metric or window here, so callers can build honestly
    signed bundles that are wrong in one respect only.
    """
    envelope = sign_envelope(keys.meter, event or event_json())
    parsed = Tariff.from_json(tariff or tariff_json())
    return build_attestation(
        envelope=envelope,
        tariff=parsed,
        charge=compute_charge(parsed, envelope.event.quantity),
        receipt_id=receipt_id,
        issued_at=ISSUED_AT,
        issuer=keys.issuer,
        billing_proof=billing_proof,
    )


def resign(keys: Keys, attestation: dict[str, Any]) -> dict[str, Any]:
    """Return ``attestation`` re-signed by the issuer (a lying but trusted issuer)."""
    body = unsigned(attestation)
    body["sig"] = sign_object(keys.issuer.signing_key, CONTEXT_ATTESTATION, body)
    return body


def sign_checkpoint(
    signer: NoteSigner, tree_size: int, root: bytes, origin: str | None = None
) -> str:
    """Return the C2SP signed note of checkpoint ``(origin, tree_size, root)``."""
    text = Checkpoint(origin or signer.name, tree_size, root).to_text()
    return sign_note(text, signer)


def log_bundles(
    keys: Keys,
    attestations: list[dict[str, Any]],
    *,
    before: int = 2,
    after: int = 3,
) -> list[dict[str, Any]]:
    """Append the attestations (between filler leaves) to one log; return bundles.

    All bundles prove inclusion against the same signed checkpoint.
    """
    store = MemoryNodeStore()
    store.extend(leaf_hash(b"filler-%d" % i) for i in range(before))
    indices = [
        store.append(leaf_hash(attestation_leaf_data(att))) for att in attestations
    ]
    store.extend(leaf_hash(b"filler-after-%d" % i) for i in range(after))
    size = store.tree_size
    checkpoint = sign_checkpoint(keys.signer, size, store.root())
    return [
        build_bundle(
            att,
            leaf_index=index,
            tree_size=size,
            inclusion_proof=store.inclusion_proof(index),
            checkpoint=checkpoint,
        )
        for att, index in zip(attestations, indices, strict=True)
    ]


def make_bundle(keys: Keys, **kwargs: Any) -> dict[str, Any]:
    """Return one complete, valid bundle (see :func:`make_attestation`)."""
    return log_bundles(keys, [make_attestation(keys, **kwargs)])[0]


def flip_b64url(text: str, index: int = 0) -> str:
    """Return base64url ``text`` with one bit of byte ``index`` flipped."""
    raw = bytearray(b64url_decode(text))
    raw[index] ^= 0x01
    return b64url_encode(bytes(raw))


def flip_note_signature(note: str, index: int = 20) -> str:
    """Return the signed note with one bit of its last signature flipped.

    ``index`` counts into ``key ID[4] || signature[64]``; the default hits the
    Ed25519 signature, not the key ID.
    """
    body, _, last = note.rstrip("\n").rpartition("\n")
    prefix, _, b64 = last.rpartition(" ")
    raw = bytearray(base64.b64decode(b64))
    raw[index] ^= 0x01
    return f"{body}\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"
