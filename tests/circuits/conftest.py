"""Fixtures: a signed copy of the shipped artifacts under a test authority,
and the process-wide Groth16 prover on the shipped ones with its vectors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from circuits.protocol.manifest import authority_jwk, load_manifest, sign_manifest
from circuits.prover import Groth16Prover
from tests.circuits import groth16_support
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


@pytest.fixture(scope="session")
def groth16_prover() -> Groth16Prover:
    """The process-wide prover on the shipped artifacts."""
    return groth16_support.shared_prover()


@pytest.fixture(scope="session")
def groth16_cache_dir() -> Path:
    """Its proving-key cache directory."""
    return groth16_support.cache_dir()


@pytest.fixture(scope="session")
def shipped_vkey() -> dict[str, Any]:
    """The shipped verification key."""
    return groth16_support.shipped_vkey()


@pytest.fixture(scope="session")
def snarkjs_vector() -> dict[str, Any]:
    """The committed snarkjs proof, input and key."""
    return groth16_support.snarkjs_vector()
