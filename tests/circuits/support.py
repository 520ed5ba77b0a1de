"""Circuits test helpers: the shipped artifacts and a re-signed copy of them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.signing

#: The artifacts the repository ships (circom, r1cs, wasm, zkey, vkey, manifest).
SHIPPED = Path(__file__).resolve().parents[2] / "circuits" / "apiBillingV2"
#: The signed manifest's file name inside an artifact directory.
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
