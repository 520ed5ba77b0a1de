"""Trust anchors: the public keys an auditor trusts (``vdi-billing-trust.json``).

Shape (``format: vdi-billing-trust/1``)::

    {"format": "vdi-billing-trust/1",
     "keys": [{"kid": "<RFC 7638 thumbprint>", "role": "meter",
               "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "..."},
               "tenant": null, "not_before": null, "not_after": null}],
     "log": {"origin": "meterproof.dev/billing-log",
             "verifier_keys": ["<C2SP note verifier key name+hex+base64>"],
             "witnesses": ["<C2SP 0x04 cosignature verifier key>"],
             "witness_threshold": 0},
     "circuits": {"manifests": [<signed ARTIFACT_MANIFEST.json documents>],
                  "verification_keys": {"<vkey_hash>": <verification_key.json>}}}

Roles: ``meter`` (meter envelopes; ``tenant`` restricts a key to one tenant,
``null`` means the server-side meter that may sign for any tenant), ``issuer``
(attestations, revocation snapshots), ``log_operator`` (checkpoints) and
``manifest_authority`` (the artifact manifest). ``not_before``/``not_after``
(RFC 3339 UTC or null) bound a key's validity; the strict profile enforces
them, the standard profile only requires the kid to be listed. ``status``
(``active`` | ``retired`` | ``revoked``, default ``active``) says whether the
server still signs with the key (``active``), keeps it only to verify what it
signed inside its window (``retired``), or withdrew it (``revoked``: the strict
profile's ``not_revoked`` check refuses it).

``log.verifier_keys`` lists the current and retired log-operator note keys; the
matching ``log_operator`` key entries carry their windows. ``log.witnesses``
(C2SP tlog-cosignature 0x04 vkeys) and ``log.witness_threshold`` (k) require,
in every profile, at least k distinct verified witness cosignatures on the
checkpoint. ``circuits`` lists signed artifact manifests and verification keys
by ``vkey_hash`` (strict ``authority_binding``). All three members are optional;
the format stays ``vdi-billing-trust/1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import nacl.signing

from kernel.protocol.ed25519 import key_id, verify_key_from_jwk
from kernel.protocol.errors import ProtocolError
from kernel.protocol.shape import require_integer
from kernel.protocol.timefmt import parse_rfc3339_utc
from kernel.protocol.trustedkey import TrustedKey
from transparency.protocol.note import (
    COSIGNATURE_TYPE,
    ED25519_TYPE,
    NoteVerifier,
)
from transparency.protocol.note import key_id as note_key_id

from .errors import TrustAnchorError

TRUST_FORMAT = "vdi-billing-trust/1"
ROLES = ("meter", "issuer", "log_operator", "manifest_authority")
STATUSES = ("active", "retired", "revoked")


@dataclass(frozen=True)
class CircuitAnchors:
    """The ``circuits`` member: signed artifact manifests and verification keys.

    ``manifests`` are signed ``ARTIFACT_MANIFEST.json`` documents (checked with
    ``circuits.protocol.manifest.verify_manifest_signature`` against the
    ``manifest_authority`` keys); ``verification_keys`` maps ``vkey_hash``
    (lowercase hex) to a snarkjs ``verification_key.json`` object.
    """

    manifests: tuple[dict[str, Any], ...] = ()
    verification_keys: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the published ``circuits`` member."""
        return {
            "manifests": list(self.manifests),
            "verification_keys": dict(self.verification_keys),
        }

    @classmethod
    def from_json(cls, obj: Any) -> CircuitAnchors:
        """Parse the ``circuits`` member (shapes only; signatures are checked
        by the strict ``authority_binding`` check).

        Raises:
            TrustAnchorError: naming the offending field.
        """
        if not isinstance(obj, dict):
            raise TrustAnchorError("circuits must be an object", field="circuits")
        _refuse_null(obj, ("manifests", "verification_keys"), "circuits.")
        manifests = obj.get("manifests", [])
        if not isinstance(manifests, list) or not all(
            isinstance(m, dict) for m in manifests
        ):
            raise TrustAnchorError(
                "circuits.manifests must be a list of objects",
                field="circuits.manifests",
            )
        vkeys = obj.get("verification_keys", {})
        if not isinstance(vkeys, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) for k, v in vkeys.items()
        ):
            raise TrustAnchorError(
                "circuits.verification_keys must map vkey_hash to an object",
                field="circuits.verification_keys",
            )
        return cls(manifests=tuple(manifests), verification_keys=dict(vkeys))


def note_verifier_for(origin: str, verify_key: nacl.signing.VerifyKey) -> str:
    """Return the C2SP signed-note vkey (type 0x01) of a log-operator key.

    The key name is the log ``origin`` (C2SP tlog-checkpoint), so a rotated
    log-operator key keeps the name and gets a new 4-byte key ID.
    """
    public = bytes(verify_key)
    return NoteVerifier(
        name=origin,
        key_id=_note_key_id(origin, public),
        key_type=ED25519_TYPE,
        public_key=public,
    ).vkey


def _note_key_id(origin: str, public: bytes) -> bytes:
    return note_key_id(origin, ED25519_TYPE, public)


@dataclass(frozen=True)
class TrustAnchors:
    """Parsed trust anchors; the only input an offline verifier must trust.

    Attributes:
        keys: every trusted Ed25519 key with role, window and status.
        log_origin: the log's origin line (``None``: any origin).
        log_verifier_keys: C2SP 0x01 vkeys of current and retired log keys.
        log_witnesses: C2SP 0x04 cosignature vkeys of the witnesses.
        witness_threshold: cosignatures required on a checkpoint (k >= 0).
        circuits: manifests and verification keys, or ``None``.
    """

    keys: tuple[TrustedKey, ...]
    log_origin: str | None = None
    log_verifier_keys: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    log_witnesses: tuple[str, ...] = ()
    witness_threshold: int = 0
    circuits: CircuitAnchors | None = None

    def key(self, role: str, kid: str) -> TrustedKey | None:
        """Return the trusted key with ``kid`` for ``role``, or ``None``."""
        for item in self.keys:
            if item.role == role and item.kid == kid:
                return item
        return None

    def keys_for(self, role: str) -> list[TrustedKey]:
        """Return every trusted key of ``role``."""
        return [item for item in self.keys if item.role == role]

    def key_by_public_bytes(self, role: str, public_key: bytes) -> TrustedKey | None:
        """Return the ``role`` key whose 32-byte Ed25519 public key is
        ``public_key`` (maps a verified note signature to its key entry)."""
        for item in self.keys:
            if item.role == role and bytes(item.verify_key) == public_key:
                return item
        return None

    def to_json(self) -> dict[str, Any]:
        """Return the published document."""
        doc: dict[str, Any] = {
            "format": TRUST_FORMAT,
            "keys": [item.to_json() for item in self.keys],
            "log": {
                "origin": self.log_origin,
                "verifier_keys": list(self.log_verifier_keys),
                "witnesses": list(self.log_witnesses),
                "witness_threshold": self.witness_threshold,
            },
            **self.extra,
        }
        if self.circuits is not None:
            doc["circuits"] = self.circuits.to_json()
        return doc

    @classmethod
    def from_json(cls, obj: Any) -> TrustAnchors:
        """Parse and validate a trust-anchor document.

        Each key's ``kid`` must equal the RFC 7638 thumbprint of its JWK, so a
        document cannot bind a trusted kid to a different key. Witness keys
        must be C2SP 0x04 cosignature vkeys and ``0 <= witness_threshold <=
        len(witnesses)``.

        Raises:
            TrustAnchorError: naming the offending field.
        """
        if not isinstance(obj, dict) or obj.get("format") != TRUST_FORMAT:
            raise TrustAnchorError(f"expected format {TRUST_FORMAT!r}", field="format")
        raw_keys = obj.get("keys")
        if not isinstance(raw_keys, list):
            raise TrustAnchorError("keys must be a list", field="keys")
        keys = [_parse_key(entry, f"keys[{i}]") for i, entry in enumerate(raw_keys)]
        _refuse_null(obj, ("log", "circuits"), "")
        log = obj.get("log", {})
        if not isinstance(log, dict):
            raise TrustAnchorError("log must be an object", field="log")
        _refuse_null(log, ("verifier_keys", "witnesses", "witness_threshold"), "log.")
        origin = log.get("origin")
        vkeys = log.get("verifier_keys", [])
        if origin is not None and not isinstance(origin, str):
            raise TrustAnchorError("log.origin must be a string", field="log.origin")
        if not isinstance(vkeys, list) or not all(isinstance(v, str) for v in vkeys):
            raise TrustAnchorError(
                "log.verifier_keys must be a list of strings", field="log.verifier_keys"
            )
        witnesses = log.get("witnesses", [])
        if not isinstance(witnesses, list) or not all(
            isinstance(v, str) for v in witnesses
        ):
            raise TrustAnchorError(
                "log.witnesses must be a list of strings", field="log.witnesses"
            )
        for index, vkey in enumerate(witnesses):
            try:
                parsed = NoteVerifier.from_vkey(vkey)
            except ProtocolError as exc:
                raise TrustAnchorError(
                    exc.message, field=f"log.witnesses[{index}]"
                ) from exc
            if parsed.key_type != COSIGNATURE_TYPE:
                raise TrustAnchorError(
                    "witness keys must be C2SP tlog-cosignature (0x04) vkeys",
                    field=f"log.witnesses[{index}]",
                )
        threshold = require_integer(
            log.get("witness_threshold", 0),
            error=TrustAnchorError,
            field="log.witness_threshold",
            maximum=len(witnesses),
            message="{field} must be an integer in 0..{count}",
            count=len(witnesses),
        )
        circuits = (
            CircuitAnchors.from_json(obj["circuits"]) if "circuits" in obj else None
        )
        extra = {
            k: v
            for k, v in obj.items()
            if k not in ("format", "keys", "log", "circuits")
        }
        return cls(
            keys=tuple(keys),
            log_origin=origin,
            log_verifier_keys=tuple(vkeys),
            extra=extra,
            log_witnesses=tuple(witnesses),
            witness_threshold=threshold,
            circuits=circuits,
        )


def _refuse_null(obj: dict[str, Any], names: tuple[str, ...], prefix: str) -> None:
    """Null is never absent: an optional member is left out or well typed."""
    for name in names:
        if name in obj and obj[name] is None:
            raise TrustAnchorError(
                f"{prefix}{name} is null: leave an optional member out, never null",
                field=f"{prefix}{name}",
            )


def check_key_entry(key: TrustedKey, path: str = "keys[0]") -> None:
    """Check that ``key``'s published entry (:meth:`TrustedKey.to_json`)
    reads back through this module's parser as the same key, so publishing it
    can never make a trust document that verifiers refuse (e.g. a year before
    1000 has no ``YYYY`` spelling, RFC 3339 §5.6).

    Raises:
        TrustAnchorError: naming the entry's field (``<path>.not_after``,
            ``<path>.jwk``, ...) that cannot be written or read back.
    """
    try:
        entry = key.to_json()
    except (ValueError, OverflowError) as exc:
        raise TrustAnchorError(
            f"key entry cannot be published: {exc}", field=path
        ) from exc
    parsed = _parse_key(entry, path)
    for name in ("kid", "role", "tenant", "not_before", "not_after", "status"):
        if getattr(parsed, name) != getattr(key, name):
            raise TrustAnchorError(
                f"{name} does not read back as published", field=f"{path}.{name}"
            )


def _parse_key(entry: Any, path: str) -> TrustedKey:
    if not isinstance(entry, dict):
        raise TrustAnchorError("key entry must be an object", field=path)
    role = entry.get("role")
    if role not in ROLES:
        raise TrustAnchorError(f"role must be one of {ROLES}", field=f"{path}.role")
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
    status = entry.get("status", "active")
    if status not in STATUSES:
        raise TrustAnchorError(
            f"status must be one of {STATUSES}", field=f"{path}.status"
        )
    bounds = []
    for name in ("not_before", "not_after"):
        value = entry.get(name)
        try:
            bounds.append(parse_rfc3339_utc(value) if value is not None else None)
        except ValueError as exc:
            raise TrustAnchorError(str(exc), field=f"{path}.{name}") from exc
    return TrustedKey(
        kid=entry["kid"],
        role=role,
        verify_key=verify_key,
        tenant=tenant,
        not_before=bounds[0],
        not_after=bounds[1],
        status=status,
    )
