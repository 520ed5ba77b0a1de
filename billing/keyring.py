"""The server's signing keys and published trust anchors, loaded from settings.

Read at call time (never at import), cached per distinct key configuration so a
settings override in tests takes effect at once.

Retired keys (``VDI_BILLING_RETIRED_KEYS``, written by ``manage.py billing_keys
rotate``) are a JSON list of public keys only::

    [{"role": "meter" | "issuer" | "log_operator", "kid": "<RFC 7638>",
      "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "..."},
      "not_before": "<RFC 3339 UTC>" | null, "not_after": "<RFC 3339 UTC>"}]

They are published with ``status: retired`` so that what they signed inside
their window still verifies; the server never signs with them. A retired
log-operator key is also published as a C2SP note verifier key (name = the log
origin). Witnesses: ``VDI_BILLING_LOG_WITNESS_KEYS`` (C2SP 0x04 vkeys) and
``VDI_BILLING_LOG_WITNESS_THRESHOLD`` (k). The ``circuits`` member comes from the
shipped ``circuits/apiBillingV2/{ARTIFACT_MANIFEST.json,verification_key.json}``
when present.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from billing.protocol.timefmt import parse_rfc3339_utc
from billing.protocol.trust import (
    CircuitAnchors,
    TrustAnchors,
    TrustedKey,
    note_verifier_for,
)
from billing.protocol.verify import manifest_vkey_hashes
from circuits.protocol.errors import ManifestMalformed
from circuits.protocol.manifest import authority_keys_from_json
from transparency.protocol.errors import JsonInputError, ProtocolError
from transparency.protocol.note import COSIGNATURE_TYPE, NoteSigner, NoteVerifier
from transparency.protocol.strictjson import loads as strict_loads

#: Roles a retired key may have (``log-operator`` is accepted as a spelling).
RETIRED_ROLES = ("meter", "issuer", "log_operator")


@dataclass(frozen=True)
class Keyring:
    """The issuer, server-side meter and log-operator keys of this server."""

    issuer: KeyPair
    meter: KeyPair
    log_operator: KeyPair
    log_signer: NoteSigner
    log_origin: str
    manifest_authority: TrustedKey | None
    retired: tuple[TrustedKey, ...] = ()
    witnesses: tuple[str, ...] = ()
    witness_threshold: int = 0
    circuits: CircuitAnchors | None = None
    extra_manifest_authorities: tuple[TrustedKey, ...] = ()

    def trust_anchors(self, extra_keys: tuple[TrustedKey, ...] = ()) -> TrustAnchors:
        """Return the trust anchors to publish: our active and retired keys,
        the manifest authority, witnesses, circuits, plus ``extra_keys``
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
        keys.extend(self.retired)
        if self.manifest_authority is not None:
            keys.append(self.manifest_authority)
        keys.extend(self.extra_manifest_authorities)
        retired_log = tuple(
            note_verifier_for(self.log_origin, key.verify_key)
            for key in self.retired
            if key.role == "log_operator"
        )
        return TrustAnchors(
            keys=tuple(keys) + tuple(extra_keys),
            log_origin=self.log_origin,
            log_verifier_keys=(self.log_signer.verifier_key(), *retired_log),
            log_witnesses=self.witnesses,
            witness_threshold=self.witness_threshold,
            circuits=self.circuits,
        )


def parse_retired_keys(text: str) -> tuple[TrustedKey, ...]:
    """Parse ``VDI_BILLING_RETIRED_KEYS`` (see the module docstring).

    Raises:
        SigningKeysUnconfigured: malformed JSON, unknown role, a kid that is
            not the JWK's RFC 7638 thumbprint, or a bad timestamp.
    """
    if not text.strip():
        return ()
    try:
        entries = strict_loads(text)
    except JsonInputError as exc:
        raise SigningKeysUnconfigured(
            f"VDI_BILLING_RETIRED_KEYS is not JSON: {exc}"
        ) from exc
    if not isinstance(entries, list):
        raise SigningKeysUnconfigured("VDI_BILLING_RETIRED_KEYS must be a JSON list")
    keys = []
    for index, entry in enumerate(entries):
        where = f"VDI_BILLING_RETIRED_KEYS[{index}]"
        if not isinstance(entry, dict):
            raise SigningKeysUnconfigured(f"{where} must be an object")
        role = str(entry.get("role", "")).replace("-", "_")
        if role not in RETIRED_ROLES:
            raise SigningKeysUnconfigured(
                f"{where}.role must be one of {RETIRED_ROLES}"
            )
        try:
            verify_key = verify_key_from_jwk(entry.get("jwk"))
            bounds = [
                parse_rfc3339_utc(entry[name]) if entry.get(name) else None
                for name in ("not_before", "not_after")
            ]
        except (KeyFormatError, ValueError) as exc:
            raise SigningKeysUnconfigured(f"{where}: {exc}") from exc
        if entry.get("kid") != key_id(verify_key):
            raise SigningKeysUnconfigured(
                f"{where}.kid is not the RFC 7638 thumbprint of its jwk"
            )
        keys.append(
            TrustedKey(
                kid=key_id(verify_key),
                role=role,
                verify_key=verify_key,
                not_before=bounds[0],
                not_after=bounds[1],
                status="retired",
            )
        )
    return tuple(keys)


def parse_witnesses(keys: tuple[str, ...], threshold: int) -> tuple[str, ...]:
    """Validate the witness vkeys and threshold; return the vkeys.

    Raises:
        SigningKeysUnconfigured: a key that is not a C2SP 0x04 cosignature
            vkey, or a threshold outside ``0..len(keys)``.
    """
    for vkey in keys:
        try:
            parsed = NoteVerifier.from_vkey(vkey)
        except ProtocolError as exc:
            raise SigningKeysUnconfigured(
                f"VDI_BILLING_LOG_WITNESS_KEYS: {exc.message}"
            ) from exc
        if parsed.key_type != COSIGNATURE_TYPE:
            raise SigningKeysUnconfigured(
                "VDI_BILLING_LOG_WITNESS_KEYS must be C2SP 0x04 cosignature vkeys"
            )
    if not 0 <= threshold <= len(keys):
        raise SigningKeysUnconfigured(
            f"VDI_BILLING_LOG_WITNESS_THRESHOLD is {threshold}, expected 0..{len(keys)}"
        )
    return keys


def shipped_circuit_anchors(directory: Path) -> CircuitAnchors | None:
    """Return the ``circuits`` trust member from the shipped artifacts in
    ``directory`` (``ARTIFACT_MANIFEST.json`` and ``verification_key.json``),
    or ``None`` when the manifest is absent. The verification key is listed
    under each ``vkey_hash`` the manifest names (the verifier re-hashes it).

    Raises:
        SigningKeysUnconfigured: a file that is present but not JSON.
    """
    manifest_path = directory / "ARTIFACT_MANIFEST.json"
    vkey_path = directory / "verification_key.json"
    if not manifest_path.is_file():
        return None
    try:
        manifest = strict_loads(manifest_path.read_bytes())
        vkey = strict_loads(vkey_path.read_bytes()) if vkey_path.is_file() else None
    except (OSError, JsonInputError) as exc:
        raise SigningKeysUnconfigured(
            f"circuit artifacts in {directory}: {exc}"
        ) from exc
    if not isinstance(manifest, dict):
        raise SigningKeysUnconfigured(f"{manifest_path} is not a JSON object")
    vkeys: dict[str, dict[str, Any]] = {}
    if isinstance(vkey, dict):
        vkeys = {h: vkey for h in sorted(manifest_vkey_hashes(manifest))}
    return CircuitAnchors(manifests=(manifest,), verification_keys=vkeys)


def _config() -> tuple[Any, ...]:
    return (
        settings.VDI_SIGNING_KEY,
        settings.VDI_BILLING_METER_PRIVATE_KEY_PEM,
        settings.VDI_BILLING_METER_KID,
        settings.VDI_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM,
        settings.VDI_BILLING_LOG_OPERATOR_KID,
        settings.VDI_BILLING_LOG_ORIGIN,
        settings.VDI_MANIFEST_AUTHORITY_SIGNING_KEY,
        settings.VDI_MANIFEST_AUTHORITY_PUBLIC_JWK,
        settings.VDI_BILLING_RETIRED_KEYS,
        tuple(settings.VDI_BILLING_LOG_WITNESS_KEYS),
        int(settings.VDI_BILLING_LOG_WITNESS_THRESHOLD),
        str(settings.VDI_CIRCUIT_ARTIFACTS_DIR),
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
def _load(config: tuple[Any, ...]) -> Keyring:
    (
        issuer_hex,
        meter_pem,
        meter_kid,
        log_pem,
        log_kid,
        origin,
        authority_hex,
        authority_jwk,
        retired_text,
        witness_keys,
        witness_threshold,
        circuits_dir,
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
        # Published manifest authorities: only the public trust anchor(s) in
        # VDI_MANIFEST_AUTHORITY_PUBLIC_JWK (default: the committed
        # circuits/apiBillingV2/manifest_authority.json, which verifies the
        # shipped manifest). A VDI_MANIFEST_AUTHORITY_SIGNING_KEY in the
        # environment is for signing offline (`artifacts sign`) and never
        # becomes a trust anchor: a development key must not stand beside the
        # release's authority. Its format is still checked here.
        authorities: dict[str, TrustedKey] = {}
        if authority_jwk:
            for kid, vk in authority_keys_from_json(
                strict_loads(authority_jwk)
            ).items():
                authorities[kid] = TrustedKey(kid, "manifest_authority", vk)
        if authority_hex:
            signing_key_from_seed_hex(authority_hex)
        authority_list = list(authorities.values())
        authority = authority_list[0] if authority_list else None
    except (KeyFormatError, ManifestMalformed, ValueError) as exc:
        raise SigningKeysUnconfigured(f"malformed key: {exc}") from exc
    for name, configured, actual in (
        ("VDI_BILLING_METER_KID", meter_kid, meter.kid),
        ("VDI_BILLING_LOG_OPERATOR_KID", log_kid, log_operator.kid),
    ):
        if configured and configured != actual:
            raise SigningKeysUnconfigured(
                f"{name} is {configured} but the key's RFC 7638 thumbprint is {actual}"
            )
    retired = parse_retired_keys(retired_text)
    active = {issuer.kid, meter.kid, log_operator.kid}
    clash = [key.kid for key in retired if key.kid in active]
    if clash:
        raise SigningKeysUnconfigured(
            f"kid {clash[0]} is both active and in VDI_BILLING_RETIRED_KEYS"
        )
    return Keyring(
        issuer=issuer,
        meter=meter,
        log_operator=log_operator,
        log_signer=NoteSigner(origin, log_operator.signing_key),
        log_origin=origin,
        manifest_authority=authority,
        extra_manifest_authorities=tuple(authority_list[1:]),
        retired=retired,
        witnesses=parse_witnesses(witness_keys, witness_threshold),
        witness_threshold=witness_threshold,
        circuits=shipped_circuit_anchors(Path(circuits_dir)),
    )
