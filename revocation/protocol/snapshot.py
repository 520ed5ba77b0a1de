"""The signed revocation snapshot served at ``/.well-known/vdi-billing-revocation.json``.

Shape (``docs/PROTOCOL.md``, "Revocation snapshot")::

    {"revokedAttestations": ["<receipt id or bundle hash>", ...],   # sorted, unique
     "revokedKids": ["<RFC 7638 kid>", ...],                        # sorted, unique
     "snapshotTime": <unix seconds, integer>,
     "sequence": <integer >= 0, +1 per published snapshot>,
     "sig": {"kid": "<issuer kid>", "alg": "EdDSA", "sig": "<base64url, 64 bytes>"}}

The issuer signs the document without ``sig`` under the context
:data:`CONTEXT_REVOCATION`: ``"meterproof/revocation-snapshot/v1" || 0x00 ||
JCS(document without "sig")`` (RFC 8785; DESIGN.md "Keys"). ``revokedAttestations``
holds receipt ids (``rcpt_...``) and/or *bundle hashes*: the SHA-256 (lowercase
hex) of the JCS bytes of a bundle's signed ``attestation`` object (see
:func:`attestation_bundle_hash`), which equals the SHA-256 of the bundle's
transparency-log leaf data.

Nothing here reads settings, the clock or the network: keys, ``now`` and the
previous snapshot are arguments, so the server and an offline auditor run the
same code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import nacl.signing

from kernel.protocol.ed25519 import key_id, sign_object, verify_object
from kernel.protocol.errors import CanonicalizationError, JsonInputError, SignatureError
from kernel.protocol.jcs import canonical_hash, canonical_json
from kernel.protocol.shape import MAX_SAFE_INTEGER, require_integer
from kernel.protocol.strictjson import loads as strict_loads

from .errors import (
    RevocationFeedMalformedError,
    RevocationFeedTooLargeError,
    RevocationRollbackError,
    RevocationSignatureError,
    RevocationStaleError,
    RevocationUnknownIssuerError,
)

__all__ = [
    "CONTEXT_REVOCATION",
    "DEFAULT_MAX_BYTES",
    "VerifiedRevocationSnapshot",
    "attestation_bundle_hash",
    "snapshot_check_fresh",
    "snapshot_open",
    "snapshot_sign",
]

#: Domain-separation context of the issuer's snapshot signature.
CONTEXT_REVOCATION = "meterproof/revocation-snapshot/v1"

#: Default size limit of a snapshot document, in bytes (1 MiB: about 15,000
#: entries of 64 characters).
DEFAULT_MAX_BYTES = 1024 * 1024

#: The only signature algorithm (JWS name, RFC 8037 §3.1).
ALG = "EdDSA"

_BODY_KEYS = frozenset(
    {"revokedAttestations", "revokedKids", "snapshotTime", "sequence"}
)
_SIG_KEYS = frozenset({"kid", "alg", "sig"})
# Entries are identifiers (kids, receipt ids, hex digests): printable ASCII
# without spaces, 1..128 characters.
_ENTRY_RE = re.compile(r"[\x21-\x7e]{1,128}")


@dataclass(frozen=True)
class VerifiedRevocationSnapshot:
    """A revocation snapshot whose signature was verified (PROTOCOL.md §8).

    Only :func:`snapshot_open` builds one, after checking the issuer's
    signature and the rollback rule. Not the Django row
    :class:`revocation.models.RevocationSnapshot`, which keeps the exact
    signed document this server published.

    Attributes:
        sequence: monotonic sequence number (integer >= 0).
        snapshot_time: when the issuer signed it, unix seconds.
        revoked_kids: revoked key IDs (RFC 7638 thumbprints).
        revoked_attestations: revoked receipt ids and/or bundle hashes
            (SHA-256 hex of JCS of the signed attestation object).
        issuer_kid: the kid of the issuer key that signed it.
    """

    sequence: int
    snapshot_time: int
    revoked_kids: frozenset[str]
    revoked_attestations: frozenset[str]
    issuer_kid: str

    def is_kid_revoked(self, kid: str) -> bool:
        """Return whether ``kid`` is listed in ``revokedKids``."""
        return kid in self.revoked_kids

    def is_attestation_revoked(
        self, receipt_id: str, bundle_hash: str | None = None
    ) -> bool:
        """Return whether the attestation is revoked by receipt id or bundle hash.

        Args:
            receipt_id: the bundle's ``attestation.receipt.receipt_id``.
            bundle_hash: optional SHA-256 lowercase hex of JCS of the signed
                ``attestation`` object (:func:`attestation_bundle_hash`).
        """
        if receipt_id in self.revoked_attestations:
            return True
        return bundle_hash is not None and bundle_hash in self.revoked_attestations

    def age_seconds(self, now: int) -> int:
        """Return ``now - snapshot_time`` in seconds (negative if signed in the
        future of ``now``)."""
        return now - self.snapshot_time

    def same_content(self, other: VerifiedRevocationSnapshot) -> bool:
        """Return whether both list the same revocations at the same time
        (the signature and signer are not compared)."""
        return (
            self.revoked_kids == other.revoked_kids
            and self.revoked_attestations == other.revoked_attestations
            and self.snapshot_time == other.snapshot_time
        )


# deprecated alias, removed in a later release
RevocationSnapshot = VerifiedRevocationSnapshot


def attestation_bundle_hash(attestation: Mapping[str, Any]) -> str:
    """Return the *bundle hash* of a signed attestation: SHA-256(JCS(attestation)).

    ``attestation`` is the bundle's ``attestation`` object including its
    ``sig``; the result is 64 lowercase hex characters.

    Raises:
        CanonicalizationError: if the object is not canonicalisable.
    """
    return canonical_hash(dict(attestation))


def _entries(values: Iterable[str], field: str) -> list[str]:
    items = list(values)
    for index, item in enumerate(items):
        if not isinstance(item, str) or not _ENTRY_RE.fullmatch(item):
            raise RevocationFeedMalformedError(
                f"{field}[{index}] must be 1..128 printable ASCII characters "
                f"without spaces, found {item!r:.80}",
                field=f"{field}[{index}]",
            )
    return sorted(set(items))


def _integer(value: Any, field: str) -> int:
    return require_integer(
        value,
        error=RevocationFeedMalformedError,
        field=field,
        maximum=MAX_SAFE_INTEGER,
        message="{field} must be an integer, found {type}",
        range_message="{field} must lie in [0, 2**53 - 1], found {value}",
    )


def snapshot_sign(
    *,
    revoked_kids: Iterable[str],
    revoked_attestations: Iterable[str],
    snapshot_time: int,
    sequence: int,
    signing_key: nacl.signing.SigningKey,
) -> dict[str, Any]:
    """Return the signed snapshot document (the exact feed body, as a dict).

    Lists are de-duplicated and sorted; the signature is by ``signing_key``
    over ``CONTEXT_REVOCATION || 0x00 || JCS(document without "sig")``.

    Args:
        revoked_kids: key IDs to list in ``revokedKids``.
        revoked_attestations: receipt ids and/or bundle hashes.
        snapshot_time: signing time, unix seconds (integer >= 0).
        sequence: sequence number (integer >= 0), one more than the previous.
        signing_key: the issuer's Ed25519 key (PyNaCl).

    Raises:
        RevocationFeedMalformedError: if an entry or integer is out of shape.
    """
    body: dict[str, Any] = {
        "revokedAttestations": _entries(revoked_attestations, "revokedAttestations"),
        "revokedKids": _entries(revoked_kids, "revokedKids"),
        "snapshotTime": _integer(snapshot_time, "snapshotTime"),
        "sequence": _integer(sequence, "sequence"),
    }
    signature = sign_object(signing_key, CONTEXT_REVOCATION, body)
    return {
        **body,
        "sig": {"kid": key_id(signing_key.verify_key), "alg": ALG, "sig": signature},
    }


def _malformed(message: str, field: str | None = None) -> NoReturn:
    raise RevocationFeedMalformedError(message, field=field)


#: Deepest nesting accepted in a feed body (the snapshot itself has depth 2).
_MAX_DEPTH = 8


def _no_floats(value: Any) -> None:
    """Refuse non-integer numbers (protocol numbers are integers)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            _malformed("non-integer number (protocol numbers are integers)")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _load(document: Any, max_bytes: int) -> dict[str, Any]:
    """Return the document as a dict, enforcing the size limit (bytes)."""
    if isinstance(document, (bytes, bytearray, str)):
        raw = document.encode("utf-8") if isinstance(document, str) else bytes(document)
        if len(raw) > max_bytes:
            raise RevocationFeedTooLargeError(
                f"revocation feed is {len(raw)} bytes, the limit is {max_bytes}"
            )
        try:
            parsed = strict_loads(raw, max_depth=_MAX_DEPTH)
        except JsonInputError as exc:
            # One code for every unreadable feed; the reader's code is kept
            # in the message (duplicate_member, json_too_deep, ...).
            raise RevocationFeedMalformedError(
                f"revocation feed is not I-JSON ({exc.code}): {exc.message}",
                field=exc.field,
            ) from exc
        _no_floats(parsed)
    else:
        parsed = document
        if isinstance(parsed, dict):
            try:
                size = len(canonical_json(parsed))
            except CanonicalizationError as exc:
                raise RevocationFeedMalformedError(
                    f"revocation feed is not canonicalisable JSON: {exc.message}",
                    field=exc.field,
                ) from exc
            if size > max_bytes:
                raise RevocationFeedTooLargeError(
                    f"revocation feed is {size} bytes (JCS), the limit is {max_bytes}"
                )
    if not isinstance(parsed, dict):
        _malformed(
            f"revocation feed must be a JSON object, found {type(parsed).__name__}"
        )
    return parsed


def _strict_list(value: Any, field: str) -> frozenset[str]:
    if not isinstance(value, list):
        _malformed(f"{field} must be a list, found {type(value).__name__}", field)
    entries = _entries(value, field)
    if entries != value:
        _malformed(f"{field} must be sorted and free of duplicates", field)
    return frozenset(entries)


def snapshot_open(
    document: Any,
    issuer_keys: Mapping[str, nacl.signing.VerifyKey],
    *,
    previous_sequence: int | None = None,
    previous: VerifiedRevocationSnapshot | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> VerifiedRevocationSnapshot:
    """Parse, verify and return a revocation snapshot (strict; fail closed).

    Checks in order: size, JSON, shape (exactly the documented members, sorted
    unique string lists, integers in the I-JSON range), the issuer signature,
    then monotonicity against the previously accepted snapshot.

    Args:
        document: the feed body as ``bytes``/``str`` (size limit applies to the
            raw bytes) or an already parsed ``dict`` (limit on its JCS bytes).
        issuer_keys: trusted issuer keys by kid (from the trust anchors).
        previous_sequence: the sequence of the last accepted snapshot; a lower
            sequence is a rollback.
        previous: the last accepted snapshot itself; also refuses an equal
            sequence with different content. Overrides ``previous_sequence``.
        max_bytes: size limit in bytes (default 1 MiB).

    Raises:
        RevocationFeedTooLargeError: over ``max_bytes``.
        RevocationFeedMalformedError: not JSON or not the documented shape.
        RevocationSignatureError: unsigned, wrong ``alg``, or bad signature.
        RevocationUnknownIssuerError: ``sig.kid`` not in ``issuer_keys``.
        RevocationRollbackError: ``sequence`` below the previous one, or equal
            to it with different content.
    """
    obj = _load(document, max_bytes)
    if "sig" not in obj:
        raise RevocationSignatureError("revocation feed is unsigned", field="sig")
    unknown = sorted(obj.keys() - _BODY_KEYS - {"sig"})
    if unknown:
        _malformed(f"unexpected members {unknown}", unknown[0])
    missing = sorted(_BODY_KEYS - obj.keys())
    if missing:
        _malformed(f"missing members {missing}", missing[0])
    kids = _strict_list(obj["revokedKids"], "revokedKids")
    attestations = _strict_list(obj["revokedAttestations"], "revokedAttestations")
    snapshot_time = _integer(obj["snapshotTime"], "snapshotTime")
    sequence = _integer(obj["sequence"], "sequence")

    sig = obj["sig"]
    if not isinstance(sig, dict) or set(sig) != _SIG_KEYS:
        raise RevocationSignatureError('sig must be {"kid", "alg", "sig"}', field="sig")
    if sig["alg"] != ALG:
        raise RevocationSignatureError(
            f"sig.alg must be {ALG!r}, found {sig['alg']!r:.40}", field="sig.alg"
        )
    kid = sig["kid"]
    if not isinstance(kid, str) or kid not in issuer_keys:
        raise RevocationUnknownIssuerError(
            f"revocation feed is signed by kid {kid!r:.80}, which is not a trusted "
            f"issuer key ({len(issuer_keys)} trusted)",
            field="sig.kid",
        )
    if not isinstance(sig["sig"], str):
        raise RevocationSignatureError("sig.sig must be a string", field="sig.sig")
    body = {name: obj[name] for name in _BODY_KEYS}
    try:
        verify_object(
            issuer_keys[kid], CONTEXT_REVOCATION, body, sig["sig"], field="sig.sig"
        )
    except SignatureError as exc:
        raise RevocationSignatureError(
            f"revocation feed signature by {kid} does not verify: {exc.message}",
            field="sig.sig",
        ) from exc

    snapshot = VerifiedRevocationSnapshot(
        sequence=sequence,
        snapshot_time=snapshot_time,
        revoked_kids=kids,
        revoked_attestations=attestations,
        issuer_kid=kid,
    )
    floor = previous.sequence if previous is not None else previous_sequence
    if floor is not None and sequence < floor:
        raise RevocationRollbackError(
            f"revocation feed has sequence {sequence}, older than the accepted "
            f"sequence {floor}: rollback refused",
            field="sequence",
        )
    if (
        previous is not None
        and sequence == previous.sequence
        and not snapshot.same_content(previous)
    ):
        raise RevocationRollbackError(
            f"revocation feed reuses sequence {sequence} with different content: "
            "refused",
            field="sequence",
        )
    return snapshot


def snapshot_check_fresh(
    snapshot: VerifiedRevocationSnapshot, *, now: int, max_age_seconds: int
) -> None:
    """Require ``snapshot`` to be at most ``max_age_seconds`` old at ``now``.

    Args:
        snapshot: a verified snapshot.
        now: the verifier's clock, unix seconds.
        max_age_seconds: freshness maximum, seconds.

    Raises:
        RevocationStaleError: ``now - snapshotTime > max_age_seconds``; the
            message and attributes give the age and the maximum.
    """
    age = snapshot.age_seconds(now)
    if age > max_age_seconds:
        raise RevocationStaleError(
            f"revocation snapshot {snapshot.sequence} is {age} s old "
            f"(snapshotTime {snapshot.snapshot_time}), the maximum is "
            f"{max_age_seconds} s",
            field="snapshotTime",
            age_seconds=age,
            max_age_seconds=max_age_seconds,
        )
