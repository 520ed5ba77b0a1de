"""Start-up validation: system checks, the cached status and require_artifacts."""

from __future__ import annotations

import json
import os
from typing import Any

import nacl.signing
import pytest

from circuits.artifacts import artifact_status, require_artifacts
from circuits.checks import check_circuit_artifacts
from circuits.errors import ArtifactManifestMismatch
from circuits.protocol.manifest import authority_jwk, sign_manifest
from config.exception_handler import STATUS_BY_ERROR
from tests.circuits.support import SHIPPED, ArtifactCopy

ARTIFACTS = sorted(
    json.loads((SHIPPED / "ARTIFACT_MANIFEST.json").read_text())["artifacts"]
)


def _ids(messages: list[Any]) -> list[str]:
    return sorted({m.id for m in messages})


def test_shipped_artifacts_pass_with_binding_on(settings: Any) -> None:
    """The repository's own artifacts and trust anchor pass every check."""
    settings.VDI_BILLING_INCIRCUIT_BINDING = True
    assert check_circuit_artifacts() == []
    status = require_artifacts()
    assert status.ok and status.proving_allowed and status.signature_ok
    assert status.summary == f"{len(status.checks)}/{len(status.checks)} manifest match"


def test_copy_passes(artifact_copy: ArtifactCopy) -> None:
    """A re-signed copy under a test authority passes."""
    assert check_circuit_artifacts() == []
    assert require_artifacts().proving_allowed


@pytest.mark.parametrize("name", ARTIFACTS)
def test_each_flipped_byte_is_caught(artifact_copy: ArtifactCopy, name: str) -> None:
    """Swapping one byte in any artifact is circuits.E005 naming that file,
    and require_artifacts refuses with artifact_manifest_mismatch."""
    artifact_copy.flip_byte(name)
    messages = check_circuit_artifacts()
    assert "circuits.E005" in _ids(messages)
    assert name in [m.obj for m in messages if m.id == "circuits.E005"]
    assert all(m.hint for m in messages)
    with pytest.raises(ArtifactManifestMismatch) as info:
        require_artifacts()
    assert info.value.code == "artifact_manifest_mismatch"
    assert info.value.status.code == "artifact_hash_mismatch"
    assert name in info.value.message


@pytest.mark.parametrize("name", ARTIFACTS)
def test_each_missing_file_is_caught(artifact_copy: ArtifactCopy, name: str) -> None:
    """A missing artifact is circuits.E006 and refuses proving."""
    (artifact_copy.base / name).unlink()
    messages = check_circuit_artifacts()
    assert "circuits.E006" in _ids(messages)
    assert name in [m.obj for m in messages if m.id == "circuits.E006"]
    with pytest.raises(ArtifactManifestMismatch) as info:
        require_artifacts()
    assert info.value.status.code == "artifact_missing"


def test_missing_manifest_is_e001(artifact_copy: ArtifactCopy) -> None:
    """No manifest: circuits.E001."""
    (artifact_copy.base / "ARTIFACT_MANIFEST.json").unlink()
    assert _ids(check_circuit_artifacts()) == ["circuits.E001"]
    with pytest.raises(ArtifactManifestMismatch):
        require_artifacts()


def test_malformed_manifest_is_e002(artifact_copy: ArtifactCopy) -> None:
    """Unparseable manifest: circuits.E002."""
    (artifact_copy.base / "ARTIFACT_MANIFEST.json").write_text("{")
    assert _ids(check_circuit_artifacts()) == ["circuits.E002"]
    with pytest.raises(ArtifactManifestMismatch):
        require_artifacts()


def test_manifest_edited_after_signing_is_e003(artifact_copy: ArtifactCopy) -> None:
    """A manifest whose hashes were updated to match swapped files, without the
    authority's signature, is circuits.E003: nothing is silently accepted."""
    artifact_copy.flip_byte("apiBillingV2_final.zkey")
    manifest = artifact_copy.manifest
    import hashlib

    manifest["artifacts"]["apiBillingV2_final.zkey"] = hashlib.sha256(
        (artifact_copy.base / "apiBillingV2_final.zkey").read_bytes()
    ).hexdigest()
    artifact_copy.write_manifest(manifest)
    assert _ids(check_circuit_artifacts()) == ["circuits.E003"]
    with pytest.raises(ArtifactManifestMismatch) as info:
        require_artifacts()
    assert info.value.status.code == "manifest_signature_invalid"


def test_unknown_authority_is_e004(artifact_copy: ArtifactCopy, settings: Any) -> None:
    """A manifest re-signed by an untrusted key is circuits.E004."""
    rogue = nacl.signing.SigningKey.generate()
    artifact_copy.write_manifest(sign_manifest(artifact_copy.manifest, rogue))
    assert _ids(check_circuit_artifacts()) == ["circuits.E004"]
    settings.VDI_MANIFEST_AUTHORITY_PUBLIC_JWK = ""
    assert _ids(check_circuit_artifacts()) == ["circuits.E004"]
    settings.VDI_MANIFEST_AUTHORITY_PUBLIC_JWK = json.dumps(
        authority_jwk(rogue.verify_key)
    )
    assert check_circuit_artifacts() == []


def test_binding_off_is_only_a_warning(
    artifact_copy: ArtifactCopy, settings: Any
) -> None:
    """With binding off a mismatch is circuits.W001 and nothing raises."""
    settings.VDI_BILLING_INCIRCUIT_BINDING = False
    artifact_copy.flip_byte("apiBillingV2.r1cs")
    assert _ids(check_circuit_artifacts()) == ["circuits.W001"]
    status = require_artifacts()
    assert not status.ok and not status.proving_allowed


def test_status_is_cached_until_a_file_changes(artifact_copy: ArtifactCopy) -> None:
    """artifact_status() is cached by file mtimes and sees an edit at once."""
    first = artifact_status()
    assert artifact_status() is first
    path = artifact_copy.base / "verification_key.json"
    artifact_copy.flip_byte("verification_key.json")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = artifact_status()
    assert second is not first and not second.ok


def test_mismatch_maps_to_503() -> None:
    """artifact_manifest_mismatch is an HTTP 503 in the error table."""
    assert STATUS_BY_ERROR[ArtifactManifestMismatch] == 503


def test_exception_handler_body(artifact_copy: ArtifactCopy) -> None:
    """The DRF handler renders the refusal as {"error": {"code", ...}} 503."""
    from config.exception_handler import exception_handler

    artifact_copy.flip_byte("apiBillingV2.r1cs")
    with pytest.raises(ArtifactManifestMismatch) as info:
        require_artifacts()
    response = exception_handler(info.value, {})
    assert response is not None
    assert response.status_code == 503
    assert response.data["error"]["code"] == "artifact_manifest_mismatch"
