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
    receipt_id_for,
    unsigned,
)
from billing.protocol.contexts import CONTEXT_ATTESTATION, CONTEXT_METER_ENVELOPE
from billing.protocol.events import MeterEnvelope
from billing.protocol.tariff import TariffDocument, compute_charge
from billing.protocol.trust import TrustAnchors
from kernel.protocol.ed25519 import KeyPair, b64url_decode, b64url_encode, sign_object
from kernel.protocol.jcs import canonical_hash
from kernel.protocol.trustedkey import TrustedKey
from transparency.protocol.checkpoint import CheckpointBody
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
    receipt_id: str | None = None,
    billing_proof: dict[str, Any] | None = None,
    issued_at: datetime = ISSUED_AT,
    sequence: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return an attestation signed by ``keys.issuer`` over a signed envelope
    (``vdi-billing/2``; ``vdi-billing/3`` with ``sequence``
    ``{"period", "number"}``).

    The charge is ``compute_charge(tariff, quantity)``; the issuer does not
    check the tariff's metric or window here, so callers can build honestly
    signed bundles that are wrong in one respect only. ``receipt_id``
    defaults to the server's derivation from the event (``receipt_id_for``).
    """
    envelope = sign_envelope(keys.meter, event or event_json())
    if receipt_id is None:
        doc = envelope.event
        receipt_id = receipt_id_for(doc.tenant, doc.window, doc.event_id)
    parsed = TariffDocument.from_json(tariff or tariff_json())
    return build_attestation(
        envelope=envelope,
        tariff=parsed,
        charge=compute_charge(parsed, envelope.event.quantity),
        receipt_id=receipt_id,
        issued_at=issued_at,
        issuer=keys.issuer,
        billing_proof=billing_proof,
        sequence=sequence,
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
    text = CheckpointBody(origin or signer.name, tree_size, root).to_text()
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


# -- strict profile (VDI_VERIFY_STRICT_V1) ------------------------------------

#: ``now`` of the strict tests (unix seconds): 10 minutes after ISSUED_AT.
STRICT_NOW = int(ISSUED_AT.timestamp()) + 600
CIRCUIT_HASH = "c1" * 32


def signed_test_manifest(vkey: dict[str, Any], authority: KeyPair) -> dict[str, Any]:
    """Return a ``vdi-artifact-manifest/1`` authorising ``vkey``, signed by
    ``authority`` (artifact hashes are placeholders: only the signature,
    ``vkey_hash`` and ``circuit_hash`` matter to ``authority_binding``)."""
    from circuits.protocol.manifest import sign_manifest, vkey_hash

    files = {
        "apiBillingV2.r1cs": CIRCUIT_HASH,
        "apiBillingV2_final.zkey": "22" * 32,
        "verification_key.json": vkey_hash(vkey),
        "transcript.json": "44" * 32,
    }
    manifest = {
        "format": "vdi-artifact-manifest/1",
        "circuit": "apiBillingV2",
        "binding_version": "bn128-poseidon8-v1",
        "protocol": "groth16",
        "curve": "bn128",
        "artifacts": files,
        "roles": {
            "r1cs": "apiBillingV2.r1cs",
            "zkey": "apiBillingV2_final.zkey",
            "verification_key": "verification_key.json",
            "transcript": "transcript.json",
        },
        "circuit_hash": CIRCUIT_HASH,
        "vkey_hash": vkey_hash(vkey),
        "transcript_hash": "44" * 32,
        "r1cs": {
            "constraints": 1,
            "wires": 10,
            "public_outputs": 1,
            "public_inputs": 0,
            "private_inputs": 8,
            "labels": 10,
        },
    }
    return sign_manifest(manifest, authority.signing_key)


@dataclass
class StrictKit:
    """Everything a bundle needs to pass the strict profile: keys, a manifest
    authority, a (trapdoor) Groth16 key with its signed manifest, optional
    witnesses, and a revocation snapshot signed by the issuer.

    Each strict test breaks exactly one of these.
    """

    keys: Keys
    authority: KeyPair
    circuit: Any  # groth16_trapdoor.TrapdoorKey
    witnesses: tuple[Any, ...] = ()  # CosignatureSigner
    witness_threshold: int = 0

    @classmethod
    def generate(cls, *, witnesses: int = 0, threshold: int = 0) -> StrictKit:
        """Return a kit with fresh keys (and ``witnesses`` 0x04 cosigners)."""
        import nacl.signing

        from transparency.protocol.note import CosignatureSigner

        from .groth16_trapdoor import TrapdoorKey

        cosigners = tuple(
            CosignatureSigner(f"witness-{i}.test", nacl.signing.SigningKey.generate())
            for i in range(witnesses)
        )
        return cls(
            Keys.generate(),
            KeyPair.generate(),
            TrapdoorKey.generate(),
            cosigners,
            threshold,
        )

    @property
    def vkey(self) -> dict[str, Any]:
        """The snarkjs verification key of the trapdoor circuit."""
        return self.circuit.verification_key()

    def manifest(self, authority: KeyPair | None = None) -> dict[str, Any]:
        """The artifact manifest for :attr:`vkey`, signed by ``authority``."""
        return signed_test_manifest(self.vkey, authority or self.authority)

    def trust(
        self,
        *,
        keys: tuple[TrustedKey, ...] | None = None,
        manifests: list[dict[str, Any]] | None = None,
        verification_keys: dict[str, dict[str, Any]] | None = None,
    ) -> TrustAnchors:
        """Return trust anchors for the kit (overridable parts)."""
        from billing.protocol.trust import CircuitAnchors
        from circuits.protocol.manifest import vkey_hash

        base = self.keys.trust()
        anchors = (
            keys
            if keys is not None
            else (
                *base.keys,
                TrustedKey(
                    self.authority.kid, "manifest_authority", self.authority.verify_key
                ),
            )
        )
        vkey = self.vkey
        return TrustAnchors(
            keys=anchors,
            log_origin=base.log_origin,
            log_verifier_keys=base.log_verifier_keys,
            log_witnesses=tuple(w.verifier_key() for w in self.witnesses),
            witness_threshold=self.witness_threshold,
            circuits=CircuitAnchors(
                manifests=tuple(
                    manifests if manifests is not None else [self.manifest()]
                ),
                verification_keys=verification_keys
                if verification_keys is not None
                else {vkey_hash(vkey): vkey},
            ),
        )

    def billing_proof(
        self, public_signal: str, *, vkey_hash_override: str | None = None
    ) -> dict[str, Any]:
        """Return a ``billing_proof`` member proving ``public_signal``."""
        from circuits.protocol.manifest import vkey_hash

        return {
            "protocol": "groth16",
            "curve": "bn128",
            "binding_version": "bn128-poseidon8-v1",
            "proof": self.circuit.prove(int(public_signal)),
            "public_signals": [public_signal],
            "vkey_hash": vkey_hash_override or vkey_hash(self.vkey),
            "circuit_hash": CIRCUIT_HASH,
            "manifest": {
                "sha256": canonical_hash(self.manifest()),
                "kid": self.authority.kid,
            },
        }

    def attestation(
        self,
        *,
        with_proof: bool = True,
        issuer: KeyPair | None = None,
        meter: KeyPair | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Return a signed attestation carrying a valid ``billing_proof``."""
        keys = Keys(
            issuer or self.keys.issuer,
            meter or self.keys.meter,
            self.keys.log_operator,
            self.keys.origin,
        )
        plain = make_attestation(keys, **kwargs)
        if not with_proof:
            return plain
        signal = plain["billing_commitments"]["public_signals"][0]
        return make_attestation(
            keys, billing_proof=self.billing_proof(signal), **kwargs
        )

    def bundle(
        self,
        *,
        attestation: dict[str, Any] | None = None,
        log_operator: KeyPair | None = None,
        timestamp: int | None = STRICT_NOW - 300,
        cosigners: tuple[Any, ...] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Return a logged bundle: checkpoint with a ``Timestamp:`` line signed
        by ``log_operator`` (default the kit's) and cosigned by ``cosigners``
        (default every witness of the kit)."""
        from transparency.protocol.note import sign_cosignature

        att = attestation or self.attestation(**kwargs)
        store = MemoryNodeStore()
        store.extend(leaf_hash(b"filler-%d" % i) for i in range(2))
        index = store.append(leaf_hash(attestation_leaf_data(att)))
        store.extend(leaf_hash(b"filler-after-%d" % i) for i in range(3))
        size = store.tree_size
        extensions = (f"Timestamp: {timestamp}",) if timestamp is not None else ()
        body = CheckpointBody(
            self.keys.origin, size, store.root(), extensions
        ).to_text()
        signer = NoteSigner(
            self.keys.origin, (log_operator or self.keys.log_operator).signing_key
        )
        note = sign_note(body, signer)
        for witness in self.witnesses if cosigners is None else cosigners:
            note = note + sign_cosignature(body, witness, STRICT_NOW - 200)
        return build_bundle(
            att,
            leaf_index=index,
            tree_size=size,
            inclusion_proof=store.inclusion_proof(index),
            checkpoint=note,
        )

    def snapshot(
        self,
        *,
        revoked_kids: tuple[str, ...] = (),
        revoked_attestations: tuple[str, ...] = (),
        snapshot_time: int = STRICT_NOW - 60,
        sequence: int = 1,
        signer: KeyPair | None = None,
    ) -> dict[str, Any]:
        """Return a signed revocation snapshot document (issuer by default)."""
        from revocation.protocol.snapshot import snapshot_sign

        return snapshot_sign(
            revoked_kids=revoked_kids,
            revoked_attestations=revoked_attestations,
            snapshot_time=snapshot_time,
            sequence=sequence,
            signing_key=(signer or self.keys.issuer).signing_key,
        )

    def opened(self, document: dict[str, Any], signer: KeyPair | None = None) -> Any:
        """Return ``snapshot_open(document)`` with the signer's key trusted."""
        from revocation.protocol.snapshot import snapshot_open

        key = signer or self.keys.issuer
        return snapshot_open(document, {key.kid: key.verify_key})
