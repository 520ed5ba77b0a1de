"""The signed artifact manifest (``ARTIFACT_MANIFEST.json``) and its checks.

The manifest pins every file of a circuit's artifact set by SHA-256 and is
signed (Ed25519) by the offline manifest authority. Format
``vdi-artifact-manifest/1`` (docs/PROTOCOL.md "Artifact manifest")::

    {"format": "vdi-artifact-manifest/1", "circuit": "apiBillingV2",
     "binding_version": "bn128-poseidon8-v1", "protocol": "groth16",
     "curve": "bn128",
     "artifacts": {"<relative POSIX path>": "<sha256 hex>", ...},
     "roles": {"source"|"r1cs"|"wasm"|"witness_calculator"|"zkey"|
               "verification_key"|"transcript"|"ptau": "<relative path>"},
     "circuit_hash": "<sha256 hex of the r1cs file bytes>",
     "vkey_hash": "<sha256 hex of JCS(verification_key.json)>",
     "transcript_hash": "<sha256 hex of the transcript file bytes>",
     "r1cs": {"constraints", "wires", "public_outputs", "public_inputs",
              "private_inputs", "labels"},
     "toolchain": {...}, "created_at": "<RFC 3339 UTC>",
     "signature": {"kid": "<RFC 7638>", "alg": "EdDSA", "sig": "<b64url>"}}

Definitions used by bundles and the Groth16 backends:

- ``vkey_hash = sha256_hex(JCS(verification_key_json))`` (RFC 8785), so it
  does not depend on the file's whitespace;
- ``circuit_hash = sha256_hex(r1cs file bytes)``: the R1CS is what the
  ceremony's keys are specialised to (snarkjs ``groth16 setup`` input).

The signature is over ``CONTEXT || 0x00 || JCS(manifest without
"signature")`` with ``CONTEXT = "meterproof/artifact-manifest/v1"``
(DESIGN.md "Keys"). Nothing here reads settings or the network: trust
anchors come in as arguments.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import nacl.signing

from circuits.protocol.errors import (
    ManifestMalformed,
    ManifestMissing,
    ManifestSignatureInvalid,
    ManifestUnknownAuthority,
    R1csFormatError,
)
from circuits.protocol.r1cs import read_r1cs_header
from kernel.protocol.ed25519 import (
    key_id,
    public_jwk,
    sign_object,
    signed_message,
    verify_key_from_jwk,
    verify_object,
)
from kernel.protocol.errors import (
    CanonicalizationError,
    JsonInputError,
    KeyFormatError,
    SignatureError,
)
from kernel.protocol.jcs import canonical_hash, sha256_hex
from kernel.protocol.shape import require_hex, require_instance
from kernel.protocol.strictjson import loads as strict_loads

__all__ = [
    "CONTEXT_ARTIFACT_MANIFEST",
    "MANIFEST_FORMAT",
    "REQUIRED_ROLES",
    "ArtifactCheck",
    "authority_jwk",
    "authority_keys_from_json",
    "build_manifest",
    "file_sha256",
    "load_manifest",
    "manifest_signing_payload",
    "sign_manifest",
    "summarize_checks",
    "validate_artifacts",
    "verify_manifest_signature",
    "vkey_hash",
]

#: The ``format`` member of every manifest this module reads and writes.
MANIFEST_FORMAT = "vdi-artifact-manifest/1"
#: Domain-separation context of the manifest signature.
CONTEXT_ARTIFACT_MANIFEST = "meterproof/artifact-manifest/v1"
#: Roles every manifest names (each a key of ``artifacts``).
REQUIRED_ROLES = ("r1cs", "zkey", "verification_key", "transcript")

_R1CS_COUNTS = (
    "constraints",
    "wires",
    "public_outputs",
    "public_inputs",
    "private_inputs",
    "labels",
)


@dataclass(frozen=True)
class ArtifactCheck:
    """One line of :func:`validate_artifacts`' verdict.

    ``name`` is an artifact's relative path, or a derived value
    (``circuit_hash``, ``vkey_hash``, ``transcript_hash``,
    ``r1cs.constraints``, ``r1cs.wires``); ``kind`` is ``"file"`` or
    ``"derived"``. ``expected`` is the manifest's value, ``actual`` what the
    files give (``None`` when the file is missing or unreadable, with the
    reason in ``detail``).
    """

    name: str
    kind: str
    expected: str
    actual: str | None
    ok: bool
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """Return the check as a JSON object."""
        return {
            "name": self.name,
            "kind": self.kind,
            "expected": self.expected,
            "actual": self.actual,
            "ok": self.ok,
            "detail": self.detail,
        }


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the SHA-256 of a file's bytes as 64 lowercase hex characters.

    Raises:
        OSError: the file cannot be read.
    """
    return sha256_hex(Path(path).read_bytes())


def vkey_hash(verification_key: Any) -> str:
    """Return ``sha256_hex(JCS(verification_key))`` (64 lowercase hex).

    ``verification_key`` is the parsed snarkjs ``verification_key.json``
    (strings and integers only).

    Raises:
        ManifestMalformed: the key cannot be canonicalised (floats, ...).
    """
    try:
        return canonical_hash(verification_key)
    except CanonicalizationError as exc:
        raise ManifestMalformed(
            f"verification key cannot be canonicalised: {exc.message}",
            field="verification_key",
        ) from exc


def _require(obj: Mapping[str, Any], name: str, kind: type, path: str = "") -> Any:
    return require_instance(
        obj.get(name),
        kind,
        error=ManifestMalformed,
        field=f"{path}{name}",
        message="{field} is {type}, expected {expected}",
    )


def _require_hex(obj: Mapping[str, Any], name: str, path: str = "") -> str:
    value = _require(obj, name, str, path)
    return require_hex(
        value,
        error=ManifestMalformed,
        field=f"{path}{name}",
        message="{field} is {short!r}, expected {length} lowercase hex characters",
        short=value[:80],
    )


def _check_relative(path: str) -> None:
    pure = PurePosixPath(path)
    if (
        not path
        or pure.is_absolute()
        or "\\" in path
        or any(part in ("..", ".", "") for part in path.split("/"))
    ):
        raise ManifestMalformed(
            f"artifact path {path!r} is not a plain relative POSIX path",
            field="artifacts",
        )


def load_manifest(source: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Return a validated manifest (a deep copy) from a path or a parsed object.

    The signature member is optional here (an unsigned manifest is loaded to
    be signed); :func:`verify_manifest_signature` requires it.

    Raises:
        ManifestMissing: (``manifest_missing``) ``source`` is a path that
            cannot be read.
        ManifestMalformed: (``manifest_malformed``) not JSON, wrong
            ``format``, or a required member missing or of the wrong type:
            ``artifacts`` must map plain relative paths to SHA-256 hex,
            ``roles`` must name ``r1cs``, ``zkey``, ``verification_key`` and
            ``transcript`` among them, hashes are 64 lowercase hex,
            ``r1cs`` counts are non-negative ints.
    """
    if isinstance(source, Mapping):
        manifest: Any = copy.deepcopy(dict(source))
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise ManifestMissing(f"cannot read manifest {source}: {exc}") from exc
        try:
            manifest = strict_loads(data)
        except JsonInputError as exc:
            raise ManifestMalformed(
                f"manifest {source} is not I-JSON ({exc.code}): {exc.message}",
                field=exc.field,
            ) from exc
    if not isinstance(manifest, dict):
        raise ManifestMalformed(
            f"manifest is a {type(manifest).__name__}, expected a JSON object"
        )
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ManifestMalformed(
            f"format is {manifest.get('format')!r}, expected {MANIFEST_FORMAT!r}",
            field="format",
        )
    for name in ("circuit", "binding_version"):
        _require(manifest, name, str)
    artifacts = _require(manifest, "artifacts", dict)
    if not artifacts:
        raise ManifestMalformed("artifacts is empty", field="artifacts")
    for path in artifacts:
        _check_relative(path)
        _require_hex(artifacts, path, "artifacts.")
    roles = _require(manifest, "roles", dict)
    for role, path in roles.items():
        if not isinstance(path, str) or path not in artifacts:
            raise ManifestMalformed(
                f"roles.{role} is {path!r}, expected one of the artifacts",
                field=f"roles.{role}",
            )
    for role in REQUIRED_ROLES:
        if role not in roles:
            raise ManifestMalformed(f"roles.{role} is missing", field=f"roles.{role}")
    for name in ("circuit_hash", "vkey_hash", "transcript_hash"):
        _require_hex(manifest, name)
    counts = _require(manifest, "r1cs", dict)
    for name in _R1CS_COUNTS:
        if _require(counts, name, int, "r1cs.") < 0:
            raise ManifestMalformed(f"r1cs.{name} is negative", field=f"r1cs.{name}")
    if "signature" in manifest:
        signature = _require(manifest, "signature", dict)
        for name in ("kid", "alg", "sig"):
            _require(signature, name, str, "signature.")
    return manifest


def manifest_signing_payload(manifest: Mapping[str, Any]) -> bytes:
    """Return the bytes the authority signs: context, 0x00, JCS(unsigned).

    The ``signature`` member, if any, is left out; every other member is
    covered.

    Raises:
        ManifestMalformed: the manifest cannot be canonicalised.
    """
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    try:
        return signed_message(CONTEXT_ARTIFACT_MANIFEST, unsigned)
    except CanonicalizationError as exc:
        raise ManifestMalformed(
            f"manifest cannot be canonicalised: {exc.message}"
        ) from exc


def sign_manifest(
    manifest: Mapping[str, Any], signing_key: nacl.signing.SigningKey
) -> dict[str, Any]:
    """Return a copy of ``manifest`` signed by ``signing_key``.

    Any previous ``signature`` is replaced by ``{"kid": <RFC 7638 of the
    key>, "alg": "EdDSA", "sig": <base64url Ed25519 signature>}``.

    Raises:
        ManifestMalformed: as :func:`load_manifest`.
    """
    unsigned = {k: v for k, v in load_manifest(manifest).items() if k != "signature"}
    try:
        sig = sign_object(signing_key, CONTEXT_ARTIFACT_MANIFEST, unsigned)
    except CanonicalizationError as exc:
        raise ManifestMalformed(
            f"manifest cannot be canonicalised: {exc.message}"
        ) from exc
    unsigned["signature"] = {
        "kid": key_id(signing_key.verify_key),
        "alg": "EdDSA",
        "sig": sig,
    }
    return unsigned


def verify_manifest_signature(
    manifest: Mapping[str, Any],
    authority_public_keys: Mapping[str, nacl.signing.VerifyKey],
) -> None:
    """Check the manifest's signature against the trusted authority keys.

    ``authority_public_keys`` maps RFC 7638 kids to Ed25519 verify keys (see
    :func:`authority_keys_from_json`). Returns ``None`` on success.

    Raises:
        ManifestMalformed: the manifest is malformed, unsigned, or its
            ``alg`` is not ``EdDSA``.
        ManifestUnknownAuthority: (``manifest_unknown_authority``) the
            signature's kid is not in ``authority_public_keys``.
        ManifestSignatureInvalid: (``manifest_signature_invalid``) the
            signature is not base64url of 64 bytes or does not verify.
    """
    checked = load_manifest(manifest)
    signature = checked.get("signature")
    if signature is None:
        raise ManifestMalformed("manifest is not signed", field="signature")
    if signature["alg"] != "EdDSA":
        raise ManifestMalformed(
            f"signature.alg is {signature['alg']!r}, expected 'EdDSA'",
            field="signature.alg",
        )
    verify_key = authority_public_keys.get(signature["kid"])
    if verify_key is None:
        trusted = ", ".join(sorted(authority_public_keys)) or "none"
        raise ManifestUnknownAuthority(
            f"manifest is signed by kid {signature['kid']}, trusted authorities: "
            f"{trusted}",
            field="signature.kid",
        )
    unsigned = {k: v for k, v in checked.items() if k != "signature"}
    try:
        verify_object(
            verify_key,
            CONTEXT_ARTIFACT_MANIFEST,
            unsigned,
            signature["sig"],
            field="signature.sig",
        )
    except SignatureError as exc:
        raise ManifestSignatureInvalid(
            f"manifest signature by kid {signature['kid']} does not verify: "
            f"{exc.message}",
            field="signature.sig",
        ) from exc


def authority_keys_from_json(obj: Any) -> dict[str, nacl.signing.VerifyKey]:
    """Return ``{kid: verify_key}`` from a JWK, a list of JWKs or a JWKS.

    Accepts one OKP Ed25519 JWK (RFC 8037), a JSON list of them, or
    ``{"keys": [...]}`` (RFC 7517 §5). A JWK's ``kid`` member, if present,
    must equal its RFC 7638 thumbprint.

    Raises:
        ManifestMalformed: a member is not an Ed25519 JWK, or a stated kid is
            not the key's thumbprint.
    """
    if isinstance(obj, dict) and "keys" in obj:
        obj = obj["keys"]
    items = obj if isinstance(obj, list) else [obj]
    keys: dict[str, nacl.signing.VerifyKey] = {}
    for index, jwk in enumerate(items):
        try:
            verify_key = verify_key_from_jwk(jwk, field=f"keys[{index}]")
        except KeyFormatError as exc:
            raise ManifestMalformed(
                f"authority key {index}: {exc.message}", field=f"keys[{index}]"
            ) from exc
        kid = key_id(verify_key)
        stated = jwk.get("kid")
        if stated is not None and stated != kid:
            raise ManifestMalformed(
                f"authority key {index} states kid {stated}, its RFC 7638 "
                f"thumbprint is {kid}",
                field=f"keys[{index}].kid",
            )
        keys[kid] = verify_key
    return keys


def authority_jwk(verify_key: nacl.signing.VerifyKey) -> dict[str, str]:
    """Return the public JWK of an authority key with its ``kid``, ``alg``, ``use``."""
    return {
        **public_jwk(verify_key),
        "kid": key_id(verify_key),
        "alg": "EdDSA",
        "use": "sig",
    }


def _file_check(base: Path, name: str, expected: str) -> ArtifactCheck:
    try:
        actual = file_sha256(base / name)
    except OSError as exc:
        return ArtifactCheck(name, "file", expected, None, False, f"missing: {exc}")
    detail = "" if actual == expected else "SHA-256 differs from the manifest"
    return ArtifactCheck(name, "file", expected, actual, actual == expected, detail)


def _derived(name: str, expected: Any, compute: Any) -> ArtifactCheck:
    try:
        actual = str(compute())
    except (
        OSError,
        ValueError,
        JsonInputError,
        R1csFormatError,
        ManifestMalformed,
    ) as exc:
        return ArtifactCheck(name, "derived", str(expected), None, False, str(exc))
    ok = actual == str(expected)
    detail = "" if ok else "differs from the manifest"
    return ArtifactCheck(name, "derived", str(expected), actual, ok, detail)


def validate_artifacts(
    manifest: Mapping[str, Any], base_dir: str | os.PathLike[str]
) -> list[ArtifactCheck]:
    """Return one check per artifact file and per derived value.

    The seed's ``validateArtifacts()``: each file under ``base_dir`` named in
    ``artifacts`` is hashed and compared with the manifest; then
    ``circuit_hash`` (SHA-256 of the r1cs), ``vkey_hash`` (JCS of the
    verification key), ``transcript_hash`` and the r1cs constraint and wire
    counts (parsed from the r1cs header) are recomputed. Nothing raises for
    a mismatch or a missing file: it is a failed check.

    Raises:
        ManifestMalformed: the manifest itself is malformed.
    """
    checked = load_manifest(manifest)
    base = Path(base_dir)
    roles = checked["roles"]
    checks = [
        _file_check(base, name, expected)
        for name, expected in sorted(checked["artifacts"].items())
    ]
    r1cs_path = base / roles["r1cs"]

    def r1cs_header() -> Any:
        return read_r1cs_header(r1cs_path.read_bytes())

    def vkey() -> str:
        return vkey_hash(strict_loads((base / roles["verification_key"]).read_bytes()))

    checks.append(
        _derived(
            "circuit_hash", checked["circuit_hash"], lambda: file_sha256(r1cs_path)
        )
    )
    checks.append(_derived("vkey_hash", checked["vkey_hash"], vkey))
    checks.append(
        _derived(
            "transcript_hash",
            checked["transcript_hash"],
            lambda: file_sha256(base / roles["transcript"]),
        )
    )
    for name in ("constraints", "wires"):
        checks.append(
            _derived(
                f"r1cs.{name}",
                checked["r1cs"][name],
                lambda name=name: getattr(r1cs_header(), name),
            )
        )
    return checks


def summarize_checks(checks: list[ArtifactCheck]) -> str:
    """Return ``"N/M manifest match"`` (the seed's boot log line)."""
    return f"{sum(c.ok for c in checks)}/{len(checks)} manifest match"


def build_manifest(
    base_dir: str | os.PathLike[str],
    *,
    circuit: str,
    binding_version: str,
    roles: Mapping[str, str],
    toolchain: Mapping[str, Any],
    created_at: str,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return an unsigned manifest computed from the files under ``base_dir``.

    Every path in ``roles`` is hashed into ``artifacts``; ``circuit_hash``,
    ``vkey_hash``, ``transcript_hash`` and the ``r1cs`` counts are computed
    from the files (never copied from tool output). ``extra`` members (e.g.
    ``ceremony`` summary) are added as given.

    Raises:
        OSError: a file cannot be read.
        R1csFormatError: the r1cs is malformed.
        ManifestMalformed: the result does not validate.
    """
    base = Path(base_dir)
    artifacts = {path: file_sha256(base / path) for path in sorted(set(roles.values()))}
    header = read_r1cs_header((base / roles["r1cs"]).read_bytes())
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "circuit": circuit,
        "binding_version": binding_version,
        "protocol": "groth16",
        "curve": "bn128",
        "artifacts": artifacts,
        "roles": dict(roles),
        "circuit_hash": artifacts[roles["r1cs"]],
        "vkey_hash": vkey_hash(
            strict_loads((base / roles["verification_key"]).read_bytes())
        ),
        "transcript_hash": artifacts[roles["transcript"]],
        "r1cs": header.to_json(),
        "public_signals": header.public_signals,
        "toolchain": dict(toolchain),
        "created_at": created_at,
        **dict(extra or {}),
    }
    return load_manifest(manifest)
