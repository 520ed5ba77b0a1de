"""Fixtures: a signed copy of the shipped artifacts under a test authority."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from circuits.protocol.manifest import authority_jwk, load_manifest, sign_manifest
from tests.circuits.support import MANIFEST, SHIPPED, ArtifactCopy


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
