"""manage.py artifacts build|sign|verify and ceremony contribute|verify|finalize.

The ceremony tests need node + snarkjs (``$SNARKJS``) and skip cleanly
without them; the server and the other tests never need node.
"""

from __future__ import annotations

import json
import re
import shutil
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from circuits.ceremony import snarkjs_version
from tests.circuits.support import ArtifactCopy


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_artifacts_verify_ok(artifact_copy: ArtifactCopy) -> None:
    """verify prints every check and the N/N summary."""
    output = _run("artifacts", "verify")
    assert re.search(r"(\d+)/\1 manifest match", output)
    assert "signature: ok" in output


def test_artifacts_verify_fails_non_zero(artifact_copy: ArtifactCopy) -> None:
    """A swapped byte makes verify exit non-zero, naming the code."""
    artifact_copy.flip_byte("apiBillingV2_js/apiBillingV2.wasm")
    with pytest.raises(CommandError, match="artifact_hash_mismatch"):
        _run("artifacts", "verify")


def test_artifacts_verify_json(artifact_copy: ArtifactCopy) -> None:
    """--json gives a machine-readable verdict."""
    data = json.loads(_run("artifacts", "verify", "--json"))
    assert data["ok"] is True and data["signature_ok"] is True
    assert all(check["ok"] for check in data["checks"])


def test_build_then_sign_with_env_key(
    artifact_copy: ArtifactCopy, settings: Any
) -> None:
    """build writes an unsigned manifest (verify fails); sign with the
    authority key from settings makes it verify again."""
    _run("artifacts", "build")
    assert "signature" not in artifact_copy.manifest
    with pytest.raises(CommandError, match="manifest_malformed"):
        _run("artifacts", "verify")
    settings.VDI_MANIFEST_AUTHORITY_SIGNING_KEY = bytes(artifact_copy.authority).hex()
    output = _run("artifacts", "sign")
    assert "signed" in output
    assert artifact_copy.manifest["r1cs"]["constraints"] == 402
    _run("artifacts", "verify")


def test_sign_refuses_mismatched_files(
    artifact_copy: ArtifactCopy, settings: Any
) -> None:
    """sign will not bless files that differ from the manifest."""
    settings.VDI_MANIFEST_AUTHORITY_SIGNING_KEY = bytes(artifact_copy.authority).hex()
    artifact_copy.flip_byte("transcript.json")
    with pytest.raises(CommandError, match="refusing to sign"):
        _run("artifacts", "sign")


def test_sign_without_key(artifact_copy: ArtifactCopy, settings: Any) -> None:
    """sign without VDI_MANIFEST_AUTHORITY_SIGNING_KEY is a clear error."""
    settings.VDI_MANIFEST_AUTHORITY_SIGNING_KEY = ""
    with pytest.raises(CommandError, match="MP_MANIFEST_AUTHORITY_SIGNING_KEY"):
        _run("artifacts", "sign")


def test_ceremony_reports_missing_snarkjs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without snarkjs the ceremony commands fail with a clear message."""
    monkeypatch.setenv("SNARKJS", str(tmp_path / "no-such-snarkjs"))
    with pytest.raises(CommandError, match="snarkjs_unavailable"):
        _run("ceremony", "verify")


needs_snarkjs = pytest.mark.skipif(
    snarkjs_version() == "unknown",
    reason="node/snarkjs not available (set SNARKJS=/path/to/.bin/snarkjs)",
)


@needs_snarkjs
def test_ceremony_verify_shipped(artifact_copy: ArtifactCopy) -> None:
    """snarkjs zkey verify passes on the shipped zkey and its contributions
    match transcript.json."""
    output = _run("ceremony", "verify")
    assert "ZKey Ok!" in output
    assert "contributions match transcript.json" in output
    assert output.count("contribution #") == 4


@needs_snarkjs
def test_ceremony_contribute_then_finalize(
    artifact_copy: ArtifactCopy, tmp_path: Path
) -> None:
    """A contribution prints a 128-hex hash; finalize applies a beacon,
    verifies, and rewrites the final zkey and verification key, which then
    no longer match the signed manifest until it is rebuilt and re-signed."""
    base = artifact_copy.base
    out = tmp_path / "contrib.zkey"
    output = _run(
        "ceremony",
        "contribute",
        str(base / "apiBillingV2_final.zkey"),
        str(out),
        "--name",
        "test-host",
    )
    digest = re.search(r"contribution hash \(publish this\): ([0-9a-f]{128})", output)
    assert digest and out.exists()
    shutil.copyfile(out, tmp_path / "in.zkey")
    output = _run(
        "ceremony", "finalize", str(tmp_path / "in.zkey"), "--beacon", "ab" * 32
    )
    assert "ZKey Ok!" in output
    verified = _run(
        "ceremony", "verify", "--zkey", str(base / "apiBillingV2_final.zkey")
    )
    assert "test-host" in verified
    with pytest.raises(CommandError):
        _run("artifacts", "verify")
