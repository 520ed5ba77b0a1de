"""``meterproof verify --profile strict`` in-process, including the worker
pool path (>= 200 files), which must give the same verdicts as one process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from billing.protocol.cli import main
from kernel.protocol.ed25519 import KeyPair

from .builders import STRICT_NOW, StrictKit


@pytest.fixture(scope="module")
def kit() -> StrictKit:
    """Fresh strict kit."""
    return StrictKit.generate()


def run(capsys: Any, argv: list[str]) -> tuple[int, dict[str, Any]]:
    """Run the CLI; return the exit code and the parsed JSON report."""
    code = main([*argv, "--json"] if argv and argv[0] == "verify" else argv)
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def write_inputs(
    tmp_path: Path, kit: StrictKit, copies: int, snapshot: dict[str, Any]
) -> list[str]:
    """Write ``copies`` bundle files, the trust anchors and the snapshot."""
    bundles = tmp_path / "bundles"
    bundles.mkdir()
    text = json.dumps(kit.bundle())
    for i in range(copies):
        (bundles / f"b{i:04d}.json").write_text(text)
    (tmp_path / "trust.json").write_text(json.dumps(kit.trust().to_json()))
    (tmp_path / "rev.json").write_text(json.dumps(snapshot))
    return [
        str(bundles),
        "--trust",
        str(tmp_path / "trust.json"),
        "--profile",
        "strict",
        "--revocation",
        str(tmp_path / "rev.json"),
        "--now",
        str(STRICT_NOW),
        "--compact",
    ]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_strict_cli_valid_bundles(
    kit: StrictKit, tmp_path: Path, capsys: Any, jobs: str
) -> None:
    """200 valid bundles pass strict in one process and in a worker pool."""
    argv = ["verify", *write_inputs(tmp_path, kit, 200, kit.snapshot())]
    code, report = run(capsys, [*argv, "--jobs", jobs])
    assert code == 0, report.get("failed_checks")
    assert (report["profile"], report["valid"]) == ("VDI_VERIFY_STRICT_V1", 200)
    assert report["reports"][0]["revocation"]["age_seconds"] == 60


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_strict_cli_unopenable_snapshot(
    kit: StrictKit, tmp_path: Path, capsys: Any, jobs: str
) -> None:
    """A snapshot by an untrusted issuer fails every bundle's revocation checks
    with the snapshot's error code (also across worker processes)."""
    rogue = kit.snapshot(signer=KeyPair.generate())
    argv = ["verify", *write_inputs(tmp_path, kit, 200, rogue)]
    code, report = run(capsys, [*argv, "--jobs", jobs])
    assert code == 1
    assert report["failed_checks"] == {"revocation_snapshot": 200, "not_revoked": 200}
    codes = {
        c["code"]
        for r in report["reports"]
        for c in r["checks"]
        if c["name"] == "revocation_snapshot"
    }
    assert codes == {"revocation_unknown_issuer"}


def test_strict_cli_stale_snapshot_and_max_age(
    kit: StrictKit, tmp_path: Path, capsys: Any
) -> None:
    """--max-snapshot-age bounds the snapshot's age."""
    snapshot = kit.snapshot(snapshot_time=STRICT_NOW - 7200)
    argv = ["verify", *write_inputs(tmp_path, kit, 1, snapshot)]
    code, report = run(capsys, argv)
    assert code == 1 and report["failed_checks"] == {"revocation_snapshot": 1}
    code, report = run(capsys, [*argv, "--max-snapshot-age", "7200"])
    assert code == 0


def test_strict_cli_reference_backend(
    kit: StrictKit, tmp_path: Path, capsys: Any
) -> None:
    """--groth16-backend reference (py_ecc) gives the same verdict."""
    argv = ["verify", *write_inputs(tmp_path, kit, 1, kit.snapshot())]
    code, report = run(capsys, [*argv, "--groth16-backend", "reference"])
    assert code == 0
    binding = report["reports"][0]["incircuit_binding_verification"]
    assert binding["backend"] == "reference" and binding["ok"] is True


def test_strict_cli_unreadable_revocation_is_usage_error(
    kit: StrictKit, tmp_path: Path, capsys: Any
) -> None:
    """A missing snapshot file exits 2."""
    argv = ["verify", *write_inputs(tmp_path, kit, 1, kit.snapshot())]
    argv[argv.index("--revocation") + 1] = str(tmp_path / "absent.json")
    assert main(argv) == 2
