"""The artifact manifest: format, signature, artifact checks, r1cs counts."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nacl.signing
import pytest
import rfc8785

from circuits.protocol.errors import (
    ManifestMalformed,
    ManifestMissing,
    ManifestSignatureInvalid,
    ManifestUnknownAuthority,
    R1csFormatError,
)
from circuits.protocol.manifest import (
    CONTEXT_ARTIFACT_MANIFEST,
    authority_jwk,
    authority_keys_from_json,
    load_manifest,
    manifest_signing_payload,
    sign_manifest,
    summarize_checks,
    validate_artifacts,
    verify_manifest_signature,
    vkey_hash,
)
from circuits.protocol.r1cs import read_r1cs_header
from kernel.protocol.ed25519 import key_id

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "circuits" / "apiBillingV2"


@pytest.fixture(scope="module")
def shipped_manifest() -> dict[str, Any]:
    """The committed ARTIFACT_MANIFEST.json."""
    return json.loads((SHIPPED / "ARTIFACT_MANIFEST.json").read_text())


@pytest.fixture
def authority() -> nacl.signing.SigningKey:
    """A fresh manifest authority key for this test."""
    return nacl.signing.SigningKey.generate()


def test_shipped_manifest_verifies_against_committed_trust_anchor(
    shipped_manifest: dict[str, Any],
) -> None:
    """The shipped manifest is signed by the key in manifest_authority.json."""
    keys = authority_keys_from_json(
        json.loads((SHIPPED / "manifest_authority.json").read_text())
    )
    verify_manifest_signature(shipped_manifest, keys)
    assert shipped_manifest["signature"]["kid"] in keys


def test_shipped_artifacts_all_match(shipped_manifest: dict[str, Any]) -> None:
    """Every shipped file and derived value matches: "N/N manifest match"."""
    checks = validate_artifacts(shipped_manifest, SHIPPED)
    assert all(check.ok for check in checks), [c for c in checks if not c.ok]
    n = len(checks)
    assert summarize_checks(checks) == f"{n}/{n} manifest match"
    assert len(shipped_manifest["artifacts"]) == 9


def test_shipped_counts_match_the_issue(shipped_manifest: dict[str, Any]) -> None:
    """402 non-linear constraints, 411 wires, one public signal (8 private)."""
    header = read_r1cs_header((SHIPPED / "apiBillingV2.r1cs").read_bytes())
    assert (header.constraints, header.wires) == (402, 411)
    assert (header.public_outputs, header.public_inputs, header.private_inputs) == (
        1,
        0,
        8,
    )
    assert shipped_manifest["r1cs"]["constraints"] == 402
    assert shipped_manifest["r1cs"]["wires"] == 411
    assert shipped_manifest["binding_version"] == "bn128-poseidon8-v1"


def test_vkey_hash_definition_is_sha256_of_jcs(
    shipped_manifest: dict[str, Any],
) -> None:
    """vkey_hash = SHA-256(RFC 8785(verification_key.json)), computed
    independently with hashlib and rfc8785; circuit_hash = SHA-256(r1cs)."""
    vkey = json.loads((SHIPPED / "verification_key.json").read_text())
    expected = hashlib.sha256(rfc8785.dumps(vkey)).hexdigest()
    assert vkey_hash(vkey) == expected == shipped_manifest["vkey_hash"]
    r1cs = (SHIPPED / "apiBillingV2.r1cs").read_bytes()
    assert shipped_manifest["circuit_hash"] == hashlib.sha256(r1cs).hexdigest()
    assert vkey["nPublic"] == 1 and vkey["protocol"] == "groth16"


def test_sign_then_verify_round_trip(
    shipped_manifest: dict[str, Any], authority: nacl.signing.SigningKey
) -> None:
    """A manifest signed by a key verifies under that key's kid."""
    signed = sign_manifest(shipped_manifest, authority)
    kid = key_id(authority.verify_key)
    assert signed["signature"]["kid"] == kid
    assert signed["signature"]["alg"] == "EdDSA"
    verify_manifest_signature(signed, {kid: authority.verify_key})


def test_signing_payload_is_context_zero_jcs(
    shipped_manifest: dict[str, Any], authority: nacl.signing.SigningKey
) -> None:
    """The signed bytes are context || 0x00 || JCS(manifest minus signature),
    checked with PyNaCl and rfc8785 directly."""
    signed = sign_manifest(shipped_manifest, authority)
    unsigned = {k: v for k, v in signed.items() if k != "signature"}
    payload = CONTEXT_ARTIFACT_MANIFEST.encode() + b"\x00" + rfc8785.dumps(unsigned)
    assert manifest_signing_payload(signed) == payload
    import base64

    sig = base64.urlsafe_b64decode(signed["signature"]["sig"] + "==")
    authority.verify_key.verify(payload, sig)


@pytest.mark.parametrize(
    "path, value",
    [
        (("artifacts", "apiBillingV2.r1cs"), "00" * 32),
        (("vkey_hash",), "11" * 32),
        (("r1cs", "constraints"), 401),
        (("created_at",), "2030-01-01T00:00:00Z"),
    ],
)
def test_any_change_after_signing_is_caught(
    shipped_manifest: dict[str, Any],
    authority: nacl.signing.SigningKey,
    path: tuple[str, ...],
    value: Any,
) -> None:
    """Changing any signed member invalidates the signature."""
    signed = sign_manifest(shipped_manifest, authority)
    tampered = copy.deepcopy(signed)
    target = tampered
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(ManifestSignatureInvalid) as info:
        verify_manifest_signature(
            tampered, {key_id(authority.verify_key): authority.verify_key}
        )
    assert info.value.code == "manifest_signature_invalid"


def test_unknown_authority(
    shipped_manifest: dict[str, Any], authority: nacl.signing.SigningKey
) -> None:
    """A valid signature by an untrusted kid is refused."""
    other = nacl.signing.SigningKey.generate()
    signed = sign_manifest(shipped_manifest, authority)
    with pytest.raises(ManifestUnknownAuthority) as info:
        verify_manifest_signature(signed, {key_id(other.verify_key): other.verify_key})
    assert info.value.code == "manifest_unknown_authority"


def test_kid_pointing_at_other_key_fails(
    shipped_manifest: dict[str, Any], authority: nacl.signing.SigningKey
) -> None:
    """A signature claiming a trusted kid but made by another key fails."""
    trusted = nacl.signing.SigningKey.generate()
    forged = sign_manifest(shipped_manifest, authority)
    forged["signature"]["kid"] = key_id(trusted.verify_key)
    with pytest.raises(ManifestSignatureInvalid):
        verify_manifest_signature(
            forged, {key_id(trusted.verify_key): trusted.verify_key}
        )


@pytest.mark.parametrize(
    "mutate",
    [
        lambda m: m.update(format="vdi-artifact-manifest/0"),
        lambda m: m.pop("artifacts"),
        lambda m: m["artifacts"].update({"../etc/passwd": "00" * 32}),
        lambda m: m["artifacts"].update({"/abs": "00" * 32}),
        lambda m: m["artifacts"].update({"apiBillingV2.r1cs": "XYZ"}),
        lambda m: m["roles"].update(r1cs="not-listed.r1cs"),
        lambda m: m["roles"].pop("zkey"),
        lambda m: m["r1cs"].update(constraints="402"),
        lambda m: m["signature"].pop("sig"),
        lambda m: m["signature"].update(alg="RS256"),
    ],
)
def test_malformed_manifests(shipped_manifest: dict[str, Any], mutate: Any) -> None:
    """Malformed manifests raise ManifestMalformed (manifest_malformed)."""
    manifest = copy.deepcopy(shipped_manifest)
    mutate(manifest)
    with pytest.raises(ManifestMalformed) as info:
        verify_manifest_signature(manifest, {})
    assert info.value.code == "manifest_malformed"


def test_load_manifest_missing_and_not_json(tmp_path: Path) -> None:
    """A missing file is manifest_missing; non-JSON is manifest_malformed."""
    with pytest.raises(ManifestMissing):
        load_manifest(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ManifestMalformed):
        load_manifest(tmp_path / "bad.json")


def test_load_manifest_refuses_duplicate_member_names(
    tmp_path: Path, shipped_manifest: dict[str, Any]
) -> None:
    """Regression (audit 6): a manifest file naming ``vkey_hash`` twice is
    manifest_malformed with the member's path, not last-wins."""
    text = json.dumps(shipped_manifest)
    forged = text.replace(
        '"vkey_hash": ', '"vkey_hash": "' + "0" * 64 + '", "vkey_hash": ', 1
    )
    (tmp_path / "dup.json").write_text(forged)
    with pytest.raises(ManifestMalformed) as info:
        load_manifest(tmp_path / "dup.json")
    assert (info.value.code, info.value.field) == ("manifest_malformed", "vkey_hash")


def test_authority_keys_from_json_shapes(authority: nacl.signing.SigningKey) -> None:
    """One JWK, a list, or a JWKS; a stated kid must be the thumbprint."""
    jwk = authority_jwk(authority.verify_key)
    kid = key_id(authority.verify_key)
    for shape in (jwk, [jwk], {"keys": [jwk]}):
        assert list(authority_keys_from_json(shape)) == [kid]
    with pytest.raises(ManifestMalformed):
        authority_keys_from_json({**jwk, "kid": "wrong"})
    with pytest.raises(ManifestMalformed):
        authority_keys_from_json({"kty": "RSA"})


def test_validate_reports_each_mismatch_without_raising(
    tmp_path: Path, shipped_manifest: dict[str, Any]
) -> None:
    """A flipped byte fails exactly that file's check; a missing file has
    actual None; validate_artifacts never raises for either."""
    base = tmp_path / "a"
    shutil.copytree(SHIPPED, base)
    zkey = base / "apiBillingV2_final.zkey"
    data = bytearray(zkey.read_bytes())
    data[len(data) // 2] ^= 0x01
    zkey.write_bytes(bytes(data))
    (base / "pot9_final.ptau").unlink()
    checks = {c.name: c for c in validate_artifacts(shipped_manifest, base)}
    failed = sorted(name for name, c in checks.items() if not c.ok)
    assert failed == ["apiBillingV2_final.zkey", "pot9_final.ptau"]
    assert checks["pot9_final.ptau"].actual is None
    assert (
        checks["apiBillingV2_final.zkey"].actual
        != checks["apiBillingV2_final.zkey"].expected
    )


def test_r1cs_header_errors() -> None:
    """Bad magic, truncation and a lying constraint count are rejected."""
    data = (SHIPPED / "apiBillingV2.r1cs").read_bytes()
    with pytest.raises(R1csFormatError):
        read_r1cs_header(b"r1cx" + data[4:])
    with pytest.raises(R1csFormatError):
        read_r1cs_header(data[:100])
    # The header's m_constraints is the last u32 of the header section; find
    # it by value right after n_labels and bump it.
    header = read_r1cs_header(data)
    needle = header.labels.to_bytes(8, "little") + (402).to_bytes(4, "little")
    at = data.index(needle) + 8
    lying = data[:at] + (403).to_bytes(4, "little") + data[at + 4 :]
    with pytest.raises(R1csFormatError) as info:
        read_r1cs_header(lying)
    assert info.value.code == "r1cs_malformed"


def test_circuits_protocol_does_not_import_django() -> None:
    """circuits.protocol.manifest and r1cs import without Django."""
    code = (
        "import sys\nimport circuits.protocol.manifest, circuits.protocol.r1cs\n"
        "import circuits.ceremony\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'billing')]\n"
        "assert not bad, bad\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
