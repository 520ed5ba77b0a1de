"""Shared Groth16 test helpers: one prover per test process on the shipped
ceremony artifacts (``circuits/apiBillingV2/``), its proving key cached in a
temp dir removed at exit (the first import compiles the circuit: seconds).

Plain functions rather than conftest fixtures, so the prover is built once
even though tests in ``tests/circuits`` and ``tests/circuits/protocol`` use it.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from circuits.prover import Groth16Prover

ARTIFACT_DIR = Path(__file__).resolve().parents[2] / "circuits" / "apiBillingV2"
VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors" / "groth16"


@cache
def cache_dir() -> Path:
    """A per-process proving-key cache directory, removed at exit."""
    path = Path(tempfile.mkdtemp(prefix="mp-groth16-cache-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@cache
def shared_prover() -> Groth16Prover:
    """The prover on the shipped ceremony artifacts."""
    return Groth16Prover(ARTIFACT_DIR, cache_dir=cache_dir())


def shipped_vkey() -> dict[str, Any]:
    """The shipped ``verification_key.json``."""
    return json.loads((ARTIFACT_DIR / "verification_key.json").read_text())


def snarkjs_vector() -> dict[str, Any]:
    """The committed snarkjs proof (``tests/vectors/groth16``)."""
    return {
        name: json.loads((VECTOR_DIR / f"{name}.json").read_text())
        for name in ("input", "proof", "public", "verification_key")
    }


def snarkjs_path() -> str | None:
    """The snarkjs executable for the live interop tests (``$SNARKJS`` or
    ``snarkjs`` on PATH), or ``None`` when it or ``node`` is missing."""
    candidate = os.environ.get("SNARKJS") or shutil.which("snarkjs")
    if not candidate or not shutil.which("node"):
        return None
    return candidate if os.access(candidate, os.X_OK) else None
