"""Fixtures: a signed copy of the shipped artifacts under a test authority."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from circuits.protocol.manifest import authority_jwk, load_manifest, sign_manifest

SHIPPED = Path(__file__).resolve().parents[2] / "circuits" / "apiBillingV2"
MANIFEST = "ARTIFACT_MANIFEST.json"


@dataclass(frozen=True)
class ArtifactCopy:
    """A copy of circuits/apiBillingV2 re-signed by a fresh authority key."""

    base: Path
    authority: nacl.signing.SigningKey

    @property
    def manifest(self) -> dict[str, Any]:
        """The copy's manifest as parsed JSON."""
        return json.loads((self.base / MANIFEST).read_text())

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Replace the copy's manifest file."""
        (self.base / MANIFEST).write_text(json.dumps(manifest, indent=2))

    def flip_byte(self, name: str) -> None:
        """XOR one byte in the middle of an artifact."""
        path = self.base / name
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))


@pytest.fixture
def artifact_copy(tmp_path: Path, settings: Any) -> ArtifactCopy:
    """Copy the shipped artifacts to tmp_path, sign with a test authority,
    point the settings at them and turn in-circuit binding on."""
    base = tmp_path / "apiBillingV2"
    shutil.copytree(SHIPPED, base)
    authority = nacl.signing.SigningKey.generate()
    signed = sign_manifest(load_manifest(base / MANIFEST), authority)
    (base / MANIFEST).write_text(json.dumps(signed, indent=2))
    settings.VDI_CIRCUIT_ARTIFACTS_DIR = base
    settings.VDI_MANIFEST_AUTHORITY_PUBLIC_JWK = json.dumps(
        authority_jwk(authority.verify_key)
    )
    settings.VDI_BILLING_INCIRCUIT_BINDING = True
    return ArtifactCopy(base=base, authority=authority)
