"""The ``vdi-billing/2`` and ``vdi-billing/3`` bundles: building, parsing and
their derived digests.

Shape (all digests SHA-256 lowercase hex over RFC 8785 JCS bytes)::

    {"format": "vdi-billing/3",                   # or "vdi-billing/2"
     "attestation": {
        "format": "vdi-billing/3",                # the bundle's format
        "sequence": {"period": "YYYY-MM", "number": 1},   # v3 only, required
        "meter_envelope": {"event": {...}, "kid": "<meter kid>", "sig": "<b64url>"},
        "tariff": {...},                          # the published tariff version
        "charge": {"quantity", "amount_minor", "currency", "tariff_hash"},
        "receipt": {"receipt_id": "rcpt_" + 24 hex of
                        SHA-256(JCS([tenant, window, event_id])),
                    "issued_at", "kid": "<issuer kid>", "backfilled": false},
        "meter_hash": SHA-256(JCS(event)),
        "charge_hash": SHA-256(JCS(charge)),
        "billing_verify_fingerprint":
            SHA-256(JCS({"meter_hash", "tariff_hash", "charge"})),
        "billing_commitments": {"binding_version": "bn128-poseidon8-v1",
                                "elements": [8 decimal strings],
                                "public_signals": [1 decimal string]},
        "billing_proof": {...},                   # optional (Groth16, later)
        "sig": "<issuer Ed25519, context meterproof/attestation/v1>"},
     "billing_proof": {...},                      # optional: detached proof
     "log": {"leaf_index", "tree_size", "leaf_hash", "inclusion_proof": [hex],
             "checkpoint": "<C2SP signed note>"}}

``billing_proof`` sits inside the signed attestation when the server proves
before signing (sync proving) or at the bundle's top level, outside the
signature, when a worker attaches it after the attestation was signed and
logged (async proving). A detached proof needs no signature: a Groth16 proof
verifies only against its public signal, which the verifier recomputes from the
signed ``billing_commitments``, under a verification key the signed artifact
manifest authorises. A bundle carries at most one of the two.

The issuer signs the attestation without ``sig``. The transparency-log leaf is
the JCS bytes of the whole signed attestation, so the leaf hash
(RFC 9162 §2.1.1, SHA-256(0x00 || data)) commits to every field above.
Commitment elements are the high and low 128-bit halves of ``meter_hash``,
``tariff_hash``, ``charge_hash`` and the fingerprint, in that order; the public
signal is circomlib Poseidon over the eight (binding ``bn128-poseidon8-v1``).

Null is never absent: an optional member (``log``, the top-level or embedded
``billing_proof``) is either left out or an object; ``null`` fails
``bundle_format``.

``vdi-billing/3`` adds one required signed member, ``sequence``, with exactly
``period`` (``YYYY-MM``, equal to the event's ``window``) and ``number`` (an
integer 1..2^53-1): the bundle's place in the tenant's period, numbered 1, 2,
3, ... without gaps across metrics (docs/PROTOCOL.md §10). It is under the
issuer signature and in the log leaf, but not in ``billing_commitments``, the
fingerprint or the proof. ``vdi-billing/2`` bundles carry no ``sequence`` and
keep verifying under the same rules. Bundle files and bodies are read with the strict I-JSON
reader (:func:`Bundle.from_bytes`), which refuses duplicate member names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from billing.protocol.contexts import CONTEXT_ATTESTATION
from circuits.protocol.commitments import (
    BINDING_VERSION,
    billing_public_signal,
    digest_to_field_pair,
)
from kernel.protocol.ed25519 import KeyPair, sign_object
from kernel.protocol.jcs import canonical_hash, canonical_json
from kernel.protocol.shape import require_hex, require_integer
from kernel.protocol.strictjson import loads as strict_loads
from kernel.protocol.timefmt import format_rfc3339_utc, parse_rfc3339_utc
from transparency.protocol.merkle import leaf_hash

from .errors import BundleFormatError, LogEvidenceError, MeterEventError, TariffError
from .events import MeterEnvelope, parse_window
from .tariff import Charge, TariffDocument

FORMAT_V2 = "vdi-billing/2"
FORMAT_V3 = "vdi-billing/3"
#: The format the server issues (``vdi-billing/3`` since issue 12).
BUNDLE_FORMAT = FORMAT_V3
#: Formats a verifier accepts.
BUNDLE_FORMATS = (FORMAT_V2, FORMAT_V3)
#: The largest sequence number (2^53 - 1, exact in every JSON number reader);
#: also the placeholder of the oversize check before the number is known.
SEQUENCE_NUMBER_MAX = 2**53 - 1
_SEQUENCE_KEYS = {"period", "number"}
_ATTESTATION_KEYS = {
    "format",
    "meter_envelope",
    "tariff",
    "charge",
    "receipt",
    "meter_hash",
    "charge_hash",
    "billing_verify_fingerprint",
    "billing_commitments",
    "sig",
}
_OPTIONAL_ATTESTATION_KEYS = {"billing_proof"}
_RECEIPT_KEYS = {"receipt_id", "issued_at", "kid", "backfilled"}
_LOG_KEYS = {"leaf_index", "tree_size", "leaf_hash", "inclusion_proof", "checkpoint"}


def receipt_id_for(tenant: str, window: str, event_id: str) -> str:
    """Return the receipt id of an event: ``rcpt_`` + the first 24 lowercase
    hex characters of SHA-256(JCS([tenant, window, event_id])).

    Deterministic, so a retried event keeps its receipt id; the verifier's
    ``meter_hash`` check recomputes it from the signed event
    (``receipt_id_mismatch`` otherwise).
    """
    return "rcpt_" + canonical_hash([tenant, window, event_id])[:24]


def _subfield(prefix: str, field: str | None) -> str:
    return f"{prefix}.{field}" if field else prefix


def billing_fingerprint(
    meter_hash: str, tariff_hash: str, charge: dict[str, Any]
) -> str:
    """Return ``billing_verify_fingerprint`` = SHA-256(JCS({meter_hash, tariff_hash,
    charge})), lowercase hex. Same event and tariff give the same value anywhere.
    """
    return canonical_hash(
        {"meter_hash": meter_hash, "tariff_hash": tariff_hash, "charge": charge}
    )


def billing_commitments(
    meter_hash: str, tariff_hash: str, charge_hash: str, fingerprint: str
) -> dict[str, Any]:
    """Return ``billing_commitments``: eight BN254 field elements and the public
    signal ``Poseidon(elements)`` as decimal strings (binding ``bn128-poseidon8-v1``).

    Raises:
        PoseidonError: if a digest is not 64 lowercase hex characters.
    """
    elements: list[int] = []
    for digest in (meter_hash, tariff_hash, charge_hash, fingerprint):
        elements.extend(digest_to_field_pair(digest))
    return {
        "binding_version": BINDING_VERSION,
        "elements": [str(e) for e in elements],
        "public_signals": [str(billing_public_signal(elements))],
    }


def attestation_leaf_data(attestation: dict[str, Any]) -> bytes:
    """Return the transparency-log leaf data of a signed attestation (JCS bytes)."""
    return canonical_json(attestation)


def attestation_leaf_hash(attestation: dict[str, Any]) -> bytes:
    """Return the RFC 9162 leaf hash (32 bytes) of a signed attestation."""
    return leaf_hash(attestation_leaf_data(attestation))


def unsigned(attestation: dict[str, Any]) -> dict[str, Any]:
    """Return the attestation without its ``sig``: the object the issuer signs."""
    return {k: v for k, v in attestation.items() if k != "sig"}


def attestation_digests(
    envelope: MeterEnvelope, tariff: TariffDocument, charge: Charge
) -> dict[str, Any]:
    """Return the derived members of an attestation for (event, tariff, charge):
    ``{"meter_hash", "charge", "charge_hash", "billing_verify_fingerprint",
    "billing_commitments"}`` (digests lowercase hex, ``charge`` its JSON).

    The commitments (hence the Groth16 statement) are known before anything is
    signed, so a caller can start proving early and pass the result to
    :func:`build_attestation` with these ``digests``.
    """
    meter_hash = envelope.event.meter_hash
    charge_json = charge.to_json()
    charge_hash = canonical_hash(charge_json)
    fingerprint = billing_fingerprint(meter_hash, tariff.tariff_hash, charge_json)
    return {
        "meter_hash": meter_hash,
        "charge": charge_json,
        "charge_hash": charge_hash,
        "billing_verify_fingerprint": fingerprint,
        "billing_commitments": billing_commitments(
            meter_hash, tariff.tariff_hash, charge_hash, fingerprint
        ),
    }


def build_attestation(
    *,
    envelope: MeterEnvelope,
    tariff: TariffDocument,
    charge: Charge,
    receipt_id: str,
    issued_at: datetime,
    issuer: KeyPair,
    backfilled: bool = False,
    billing_proof: dict[str, Any] | None = None,
    prove: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    digests: dict[str, Any] | None = None,
    sequence: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a signed attestation (the ``attestation`` member of a bundle):
    ``vdi-billing/3`` with ``sequence`` given, ``vdi-billing/2`` without.

    Args:
        envelope: the verified meter envelope.
        tariff: the published tariff version in force at ``occurred_at``.
        charge: ``compute_charge(tariff, event.quantity)``.
        receipt_id: the receipt identifier (``rcpt_...``).
        issued_at: aware datetime, written as RFC 3339 UTC.
        issuer: the issuer key pair; its kid goes in ``receipt.kid``.
        backfilled: True for staff backfills that bypass the late-event window.
        billing_proof: optional Groth16 binding (snarkjs JSON layout).
        prove: optional prover called with the computed ``billing_commitments``;
            returns the ``billing_proof`` member (overrides ``billing_proof``).
            Errors it raises propagate (nothing is signed).
        digests: ``attestation_digests(envelope, tariff, charge)`` if the
            caller already computed it (computed here otherwise).
        sequence: ``{"period": "YYYY-MM", "number": int}``, the bundle's
            number in the tenant's period (``period`` is the event's
            ``window``); ``None`` builds a ``vdi-billing/2`` attestation.

    Raises:
        BundleFormatError: ``sequence`` is not exactly ``{period, number}``
            with the event's window and a number in 1..2^53-1.
    """
    if digests is None:
        digests = attestation_digests(envelope, tariff, charge)
    body: dict[str, Any] = {
        "format": FORMAT_V2 if sequence is None else FORMAT_V3,
        "meter_envelope": envelope.to_json(),
        "tariff": tariff.to_json(),
        "charge": digests["charge"],
        "receipt": {
            "receipt_id": receipt_id,
            "issued_at": format_rfc3339_utc(issued_at),
            "kid": issuer.kid,
            "backfilled": backfilled,
        },
        "meter_hash": digests["meter_hash"],
        "charge_hash": digests["charge_hash"],
        "billing_verify_fingerprint": digests["billing_verify_fingerprint"],
        "billing_commitments": digests["billing_commitments"],
    }
    if sequence is not None:
        body["sequence"] = {"period": sequence["period"], "number": sequence["number"]}
        parse_sequence(body["sequence"], window=envelope.event.window)
    if prove is not None:
        billing_proof = prove(body["billing_commitments"])
    if billing_proof is not None:
        body["billing_proof"] = billing_proof
    body["sig"] = sign_object(issuer.signing_key, CONTEXT_ATTESTATION, body)
    return body


def build_bundle(
    attestation: dict[str, Any],
    *,
    leaf_index: int | None = None,
    tree_size: int | None = None,
    inclusion_proof: list[bytes] | None = None,
    checkpoint: str | None = None,
    leaf_hash: bytes | None = None,
) -> dict[str, Any]:
    """Return the bundle: the attestation plus, when ``leaf_index`` is given,
    its log inclusion evidence (the ``log`` member).

    Args:
        leaf_index: zero-based index of the attestation's leaf; ``None`` for a
            bundle without log evidence (e.g. still queued for sequencing).
        tree_size: size of the tree the proof is for.
        inclusion_proof: RFC 9162 §2.1.3 audit path, 32-byte hashes.
        checkpoint: the C2SP signed note of the checkpoint of ``tree_size``.
        leaf_hash: the attestation's leaf hash if the caller already has it
            (saves re-canonicalising); computed otherwise.

    The bundle's ``format`` is the attestation's (``vdi-billing/2`` or ``/3``).

    Raises:
        LogEvidenceError: (``log_evidence_incomplete``, also a
            ``ValueError``) ``leaf_index`` given without the other log
            members.
    """
    bundle: dict[str, Any] = {
        "format": attestation.get("format", FORMAT_V2),
        "attestation": attestation,
    }
    if leaf_index is None:
        return bundle
    if tree_size is None or inclusion_proof is None or checkpoint is None:
        missing = [
            name
            for name, value in (
                ("tree_size", tree_size),
                ("inclusion_proof", inclusion_proof),
                ("checkpoint", checkpoint),
            )
            if value is None
        ]
        raise LogEvidenceError(
            f"log evidence for leaf_index {leaf_index} needs tree_size, "
            f"inclusion_proof and checkpoint; missing {', '.join(missing)}",
            field="log",
        )
    bundle["log"] = {
        "leaf_index": leaf_index,
        "tree_size": tree_size,
        "leaf_hash": (leaf_hash or attestation_leaf_hash(attestation)).hex(),
        "inclusion_proof": [h.hex() for h in inclusion_proof],
        "checkpoint": checkpoint,
    }
    return bundle


def parse_sequence(obj: Any, *, window: str) -> tuple[str, int]:
    """Return ``(period, number)`` of a ``vdi-billing/3`` ``sequence`` member.

    ``obj`` must be exactly ``{"period": "YYYY-MM", "number": n}`` with
    ``period`` equal to the event's ``window`` and ``n`` an integer (not a
    boolean) in 1..2^53-1 (docs/PROTOCOL.md §4.2).

    Raises:
        BundleFormatError: naming ``attestation.sequence`` (wrong members),
            ``attestation.sequence.period`` (not ``YYYY-MM`` or not the
            window) or ``attestation.sequence.number``.
    """
    if not isinstance(obj, dict) or set(obj) != _SEQUENCE_KEYS:
        raise BundleFormatError(
            f"sequence must have exactly {sorted(_SEQUENCE_KEYS)}",
            field="attestation.sequence",
        )
    period, number = obj["period"], obj["number"]
    if not isinstance(period, str):
        raise BundleFormatError(
            "sequence.period must be a billing month YYYY-MM",
            field="attestation.sequence.period",
        )
    try:
        parse_window(period)
    except MeterEventError as exc:
        raise BundleFormatError(
            f"sequence.period must be a billing month YYYY-MM, found {period!r}",
            field="attestation.sequence.period",
        ) from exc
    if period != window:
        raise BundleFormatError(
            f"sequence.period {period!r} differs from the event window {window!r}",
            field="attestation.sequence.period",
        )
    if (
        isinstance(number, bool)
        or not isinstance(number, int)
        or not 1 <= number <= SEQUENCE_NUMBER_MAX
    ):
        raise BundleFormatError(
            f"sequence.number must be an integer in 1..{SEQUENCE_NUMBER_MAX}, "
            f"found {number!r}",
            field="attestation.sequence.number",
        )
    return period, number


def bundle_sequence(bundle: Bundle | dict[str, Any]) -> tuple[str, int] | None:
    """Return a bundle's ``(period, number)``, or ``None`` for ``vdi-billing/2``.

    ``bundle`` is a parsed :class:`Bundle` or a bundle's JSON object (parsed
    here).

    Raises:
        BundleFormatError: the JSON object is not a valid bundle.
    """
    if not isinstance(bundle, Bundle):
        bundle = Bundle.from_json(bundle)
    return bundle.sequence


@dataclass(frozen=True)
class LogEvidence:
    """The parsed ``log`` member: where the attestation sits in the log."""

    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    inclusion_proof: tuple[bytes, ...]
    checkpoint: str


@dataclass(frozen=True)
class Bundle:
    """A structurally valid ``vdi-billing/2`` or ``/3`` bundle (signatures not
    yet checked).

    ``format`` is ``vdi-billing/2`` or ``vdi-billing/3``; ``sequence`` the
    ``(period, number)`` of a v3 bundle (``None`` for v2). ``raw`` keeps the attestation exactly as received: signatures and hashes are
    always checked over the received bytes, never over a re-serialisation.
    """

    attestation: dict[str, Any]
    envelope: MeterEnvelope
    tariff: TariffDocument
    charge: Charge
    receipt_id: str
    issued_at: datetime
    issuer_kid: str
    backfilled: bool
    log: LogEvidence | None
    detached_proof: dict[str, Any] | None = None
    format: str = FORMAT_V2
    sequence: tuple[str, int] | None = None

    @property
    def billing_proof(self) -> tuple[dict[str, Any] | None, str]:
        """Return ``(billing_proof member or None, where)``; ``where`` is
        ``"attestation.billing_proof"`` (signed, sync proving),
        ``"billing_proof"`` (detached, attached after signing) or ``""``."""
        if "billing_proof" in self.attestation:  # even null: present, checked
            return self.attestation["billing_proof"], "attestation.billing_proof"
        if self.detached_proof is not None:
            return self.detached_proof, "billing_proof"
        return None, ""

    @classmethod
    def from_bytes(cls, data: bytes | bytearray) -> Bundle:
        """Parse a bundle from its JSON text (UTF-8 bytes), strictly.

        Raises:
            JsonInputError: (``malformed_json``, ``duplicate_member``,
                ``json_too_deep``, ``invalid_unicode``) from
                :func:`kernel.protocol.strictjson.loads`.
            BundleFormatError: as :meth:`from_json`.
        """
        return cls.from_json(strict_loads(data))

    @classmethod
    def from_json(cls, obj: Any) -> Bundle:
        """Parse a bundle (already decoded JSON), validating every member's
        shape. Optional members (``log``, ``billing_proof`` at the top level or
        in the attestation) are absent or objects, never ``null``.

        Raises:
            BundleFormatError: naming the offending field (dotted path).
        """
        if not isinstance(obj, dict):
            raise BundleFormatError("bundle must be a JSON object", field="bundle")
        for name in ("log", "billing_proof"):
            if name in obj and obj[name] is None:
                raise BundleFormatError(
                    f"{name} is null: leave an optional member out, never null",
                    field=name,
                )
        fmt = obj.get("format")
        if fmt not in BUNDLE_FORMATS:
            raise BundleFormatError(
                f"format must be one of {list(BUNDLE_FORMATS)}, found {fmt!r}",
                field="format",
            )
        extra = sorted(obj.keys() - {"format", "attestation", "log", "billing_proof"})
        if extra:
            raise BundleFormatError(f"unknown field {extra[0]!r}", field=extra[0])
        att = obj.get("attestation")
        if not isinstance(att, dict):
            raise BundleFormatError(
                "attestation must be an object", field="attestation"
            )
        required = _ATTESTATION_KEYS | ({"sequence"} if fmt == FORMAT_V3 else set())
        missing = sorted(required - att.keys())
        if missing:
            raise BundleFormatError(
                f"attestation is missing {missing[0]!r}",
                field=f"attestation.{missing[0]}",
            )
        extra = sorted(att.keys() - required - _OPTIONAL_ATTESTATION_KEYS)
        if extra:
            raise BundleFormatError(
                f"unknown attestation field {extra[0]!r}",
                field=f"attestation.{extra[0]}",
            )
        if "billing_proof" in att and att["billing_proof"] is None:
            raise BundleFormatError(
                "billing_proof is null: leave an optional member out, never null",
                field="attestation.billing_proof",
            )
        if att["format"] != fmt:
            raise BundleFormatError(
                f"attestation.format must be the bundle's format {fmt!r}, "
                f"found {att['format']!r}",
                field="attestation.format",
            )
        try:
            envelope = MeterEnvelope.from_json(att["meter_envelope"])
        except MeterEventError as exc:
            raise BundleFormatError(
                exc.message, field=_subfield("attestation.meter_envelope", exc.field)
            ) from exc
        try:
            tariff = TariffDocument.from_json(att["tariff"])
        except TariffError as exc:
            raise BundleFormatError(
                exc.message, field=_subfield("attestation.tariff", exc.field)
            ) from exc
        try:
            charge = Charge.from_json(att["charge"])
        except (TariffError, ValueError, TypeError, KeyError) as exc:
            raise BundleFormatError(
                f"malformed charge: {exc}", field="attestation.charge"
            ) from exc
        for name in ("meter_hash", "charge_hash", "billing_verify_fingerprint"):
            require_hex(
                att[name],
                error=BundleFormatError,
                field=f"attestation.{name}",
                message="{name} must be {length} lowercase hex characters",
                name=name,
            )
        receipt = att["receipt"]
        if not isinstance(receipt, dict) or set(receipt) != _RECEIPT_KEYS:
            raise BundleFormatError(
                f"receipt must have exactly {sorted(_RECEIPT_KEYS)}",
                field="attestation.receipt",
            )
        if not isinstance(receipt["receipt_id"], str) or not receipt["receipt_id"]:
            raise BundleFormatError(
                "receipt_id must be a string", field="attestation.receipt.receipt_id"
            )
        if not isinstance(receipt["kid"], str) or not isinstance(
            receipt["backfilled"], bool
        ):
            raise BundleFormatError(
                "receipt.kid is a string and receipt.backfilled a boolean",
                field="attestation.receipt",
            )
        try:
            issued_at = parse_rfc3339_utc(receipt["issued_at"])
        except ValueError as exc:
            raise BundleFormatError(
                str(exc), field="attestation.receipt.issued_at"
            ) from exc
        commitments = att["billing_commitments"]
        if not isinstance(commitments, dict):
            raise BundleFormatError(
                "billing_commitments must be an object",
                field="attestation.billing_commitments",
            )
        if not isinstance(att["sig"], str):
            raise BundleFormatError("sig must be a string", field="attestation.sig")
        detached = obj.get("billing_proof")
        if "billing_proof" in obj:
            if not isinstance(detached, dict):
                raise BundleFormatError(
                    "billing_proof must be an object", field="billing_proof"
                )
            if "billing_proof" in att:
                raise BundleFormatError(
                    "billing_proof appears both inside the signed attestation and "
                    "detached; a bundle carries at most one",
                    field="billing_proof",
                )
        sequence = (
            parse_sequence(att["sequence"], window=envelope.event.window)
            if fmt == FORMAT_V3
            else None
        )
        log = cls._parse_log(obj["log"]) if "log" in obj else None
        return cls(
            attestation=att,
            envelope=envelope,
            tariff=tariff,
            charge=charge,
            receipt_id=receipt["receipt_id"],
            issued_at=issued_at,
            issuer_kid=receipt["kid"],
            backfilled=receipt["backfilled"],
            log=log,
            detached_proof=detached,
            format=fmt,
            sequence=sequence,
        )

    @staticmethod
    def _parse_log(log: Any) -> LogEvidence:
        if not isinstance(log, dict) or set(log) != _LOG_KEYS:
            raise BundleFormatError(
                f"log must have exactly {sorted(_LOG_KEYS)}", field="log"
            )
        for name in ("leaf_index", "tree_size"):
            require_integer(
                log[name],
                error=BundleFormatError,
                field=f"log.{name}",
                message="{name} must be a non-negative integer",
                name=name,
            )
        hashes = log["inclusion_proof"]
        if not isinstance(hashes, list) or len(hashes) > 64:
            raise BundleFormatError(
                "inclusion_proof must be a list of at most 64 hashes",
                field="log.inclusion_proof",
            )
        for index, item in enumerate([log["leaf_hash"], *hashes]):
            require_hex(
                item,
                error=BundleFormatError,
                field=(
                    "log.leaf_hash"
                    if index == 0
                    else f"log.inclusion_proof[{index - 1}]"
                ),
                message="hash must be {length} lowercase hex characters",
            )
        if not isinstance(log["checkpoint"], str) or not log["checkpoint"]:
            raise BundleFormatError(
                "checkpoint must be a signed note", field="log.checkpoint"
            )
        return LogEvidence(
            leaf_index=log["leaf_index"],
            tree_size=log["tree_size"],
            leaf_hash=bytes.fromhex(log["leaf_hash"]),
            inclusion_proof=tuple(bytes.fromhex(h) for h in hashes),
            checkpoint=log["checkpoint"],
        )
