"""Fixtures for the Groth16 tests: one prover per session on the shipped
ceremony artifacts (``circuits/apiBillingV2/``), its key cached in a
session temp dir (the first import compiles the circuit: a few seconds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from circuits.prover import Groth16Prover

ARTIFACT_DIR = Path(__file__).resolve().parents[2] / "circuits" / "apiBillingV2"
VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors" / "groth16"


@pytest.fixture(scope="session")
def groth16_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session-wide proving-key cache directory."""
    return tmp_path_factory.mktemp("groth16-cache")


@pytest.fixture(scope="session")
def groth16_prover(groth16_cache_dir: Path) -> Groth16Prover:
    """The prover on the shipped ceremony artifacts."""
    return Groth16Prover(ARTIFACT_DIR, cache_dir=groth16_cache_dir)


@pytest.fixture(scope="session")
def shipped_vkey() -> dict[str, Any]:
    """The shipped ``verification_key.json``."""
    return json.loads((ARTIFACT_DIR / "verification_key.json").read_text())


@pytest.fixture(scope="session")
def snarkjs_vector() -> dict[str, Any]:
    """The committed snarkjs proof (``tests/vectors/groth16``)."""
    return {
        name: json.loads((VECTOR_DIR / f"{name}.json").read_text())
        for name in ("input", "proof", "public", "verification_key")
    }
