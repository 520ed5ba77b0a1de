"""The server's full keyring and published trust anchors, assembled in billing.

The server's own keys come from the kernel (:func:`kernel.keyring.server_keys_get`:
issuer, meter and log-operator keys, retired public keys); this module adds
what needs the upper protocol packages: the log's C2SP note signer
(``transparency.signer``), the witnesses (``VDI_BILLING_LOG_WITNESS_KEYS``,
C2SP 0x04 vkeys, and ``VDI_BILLING_LOG_WITNESS_THRESHOLD``, k), the manifest
authorities (``VDI_MANIFEST_AUTHORITY_PUBLIC_JWK``) and the ``circuits``
member from the shipped
``circuits/apiBillingV2/{ARTIFACT_MANIFEST.json,verification_key.json}`` when
present. A retired log-operator key is also published as a C2SP note verifier
key (name = the log origin).

Read at call time (never at import), cached per distinct key configuration so a
settings override in tests takes effect at once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from billing.protocol.trust import (
    CircuitAnchors,
    TrustAnchors,
    note_verifier_for,
)
from billing.protocol.verify import manifest_vkey_hashes
from circuits.protocol.errors import ManifestMalformed
from circuits.protocol.manifest import authority_keys_from_json
from kernel.errors import SigningKeysUnconfigured
from kernel.keyring import ServerKeys, server_keys_get
from kernel.protocol.ed25519 import KeyPair
from kernel.protocol.errors import JsonInputError, KeyFormatError, MeterproofError
from kernel.protocol.strictjson import loads as strict_loads
from kernel.protocol.trustedkey import TrustedKey
from transparency.protocol.note import COSIGNATURE_TYPE, NoteSigner, NoteVerifier
from transparency.signer import log_signer_for


@dataclass(frozen=True)
class Keyring:
    """The server's keys (from :class:`kernel.keyring.ServerKeys`) with the
    parsed log signer, witnesses, manifest authorities and circuit anchors:
    everything :meth:`trust_anchors` publishes."""

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


def parse_witnesses(keys: tuple[str, ...], threshold: int) -> tuple[str, ...]:
    """Validate the witness vkeys and threshold; return the vkeys.

    Raises:
        SigningKeysUnconfigured: a key that is not a C2SP 0x04 cosignature
            vkey, or a threshold outside ``0..len(keys)``.
    """
    for vkey in keys:
        try:
            parsed = NoteVerifier.from_vkey(vkey)
        except MeterproofError as exc:
            raise SigningKeysUnconfigured(
                f"MP_BILLING_LOG_WITNESS_KEYS: {exc.message}"
            ) from exc
        if parsed.key_type != COSIGNATURE_TYPE:
            raise SigningKeysUnconfigured(
                "MP_BILLING_LOG_WITNESS_KEYS must be C2SP 0x04 cosignature vkeys"
            )
    if not 0 <= threshold <= len(keys):
        raise SigningKeysUnconfigured(
            f"MP_BILLING_LOG_WITNESS_THRESHOLD is {threshold}, expected 0..{len(keys)}"
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


def get_keyring() -> Keyring:
    """Return the keyring for the current settings.

    Raises:
        SigningKeysUnconfigured: if a key is missing, malformed, or its
            configured kid is not its RFC 7638 thumbprint (run
            ``manage.py billing_keys``), or a witness, manifest-authority or
            circuit-artifact setting is malformed.
    """
    return _load(server_keys_get())


@functools.lru_cache(maxsize=8)
def _load(server: ServerKeys) -> Keyring:
    try:
        # Published manifest authorities: only the public trust anchor(s) in
        # VDI_MANIFEST_AUTHORITY_PUBLIC_JWK (default: the committed
        # circuits/apiBillingV2/manifest_authority.json, which verifies the
        # shipped manifest). VDI_MANIFEST_AUTHORITY_SIGNING_KEY never becomes
        # a trust anchor (kernel.keyring checks its format only).
        authorities: dict[str, TrustedKey] = {}
        if server.manifest_authority_jwk:
            for kid, vk in authority_keys_from_json(
                strict_loads(server.manifest_authority_jwk)
            ).items():
                authorities[kid] = TrustedKey(kid, "manifest_authority", vk)
        authority_list = list(authorities.values())
        authority = authority_list[0] if authority_list else None
    except (KeyFormatError, ManifestMalformed, ValueError) as exc:
        raise SigningKeysUnconfigured(f"malformed key: {exc}") from exc
    return Keyring(
        issuer=server.issuer,
        meter=server.meter,
        log_operator=server.log_operator,
        log_signer=log_signer_for(server),
        log_origin=server.log_origin,
        manifest_authority=authority,
        extra_manifest_authorities=tuple(authority_list[1:]),
        retired=server.retired,
        witnesses=parse_witnesses(server.witness_keys, server.witness_threshold),
        witness_threshold=server.witness_threshold,
        circuits=shipped_circuit_anchors(Path(server.circuit_artifacts_dir)),
    )
