"""Bundles issued by earlier releases verify forever.

``tests/vectors/compat/vdi-billing-2/`` is a frozen corpus of ``vdi-billing/2``
bundles made once by ``scripts/make_compat_corpus.py`` with the code of its
release (every pricing model, embedded and detached Groth16 proofs, gateway
and server meter keys, log evidence with a witness cosignature), with its
trust anchors and a signed revocation snapshot. The files are never
regenerated: a change that makes one of them fail is a format break, which
must be a new format version accepted beside this one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from billing.protocol.cli import main
from billing.protocol.trust import TrustAnchors
from billing.protocol.verify import PROFILE_STRICT, BundleVerifier
from revocation.protocol.snapshot import snapshot_open

from .check_names import STANDARD_CHECK_NAMES, STRICT_CHECK_NAMES

CORPUS = Path(__file__).resolve().parents[2] / "vectors" / "compat" / "vdi-billing-2"
META: dict[str, Any] = json.loads((CORPUS / "corpus.json").read_text("utf-8"))
FILES = sorted(META["bundles"])


def _load(name: str) -> Any:
    return json.loads((CORPUS / name).read_bytes())


@pytest.fixture(scope="module")
def trust() -> TrustAnchors:
    """The corpus's trust anchors."""
    return TrustAnchors.from_json(_load("trust.json"))


def test_corpus_covers_every_pricing_model_attachment_and_meter_key() -> None:
    """The frozen corpus keeps its coverage (a file cannot silently vanish)."""
    entries = META["bundles"].values()
    assert {e["model"] for e in entries} == {
        "per_unit",
        "package",
        "tiered_graduated",
        "tiered_volume",
    }
    assert {e["attachment"] for e in entries} == {"embedded", "detached"}
    assert {e["meter"] for e in entries} == {"gateway", "server"}
    assert sorted(p.name for p in (CORPUS / "bundles").glob("*.json")) == FILES


@pytest.mark.parametrize("name", FILES)
def test_frozen_bundle_passes_every_standard_check(
    name: str, trust: TrustAnchors
) -> None:
    """Each frozen bundle passes every standard check, with its frozen charge."""
    report = BundleVerifier(trust).verify(_load(f"bundles/{name}")).to_json()
    assert [(c["name"], c["status"]) for c in report["checks"]] == [
        (check, "pass") for check in STANDARD_CHECK_NAMES
    ]
    assert report["ok"] is True
    expected = META["bundles"][name]
    assert report["billing_check"]["amount_minor"] == expected["amount_minor"]
    assert report["receipt_id"] == expected["receipt_id"]
    attachment = report["incircuit_binding_verification"]["attachment"]
    assert attachment == expected["attachment"]


@pytest.mark.parametrize("name", FILES)
def test_frozen_bundle_passes_every_strict_check(
    name: str, trust: TrustAnchors
) -> None:
    """Each frozen bundle passes the strict profile at the corpus's ``now``."""
    issuers = {k.kid: k.verify_key for k in trust.keys_for("issuer")}
    snapshot = snapshot_open((CORPUS / "revocation.json").read_bytes(), issuers)
    verifier = BundleVerifier(
        trust,
        profile=PROFILE_STRICT,
        revocation=snapshot,
        now=META["now"],
        max_snapshot_age_seconds=META["max_snapshot_age_seconds"],
    )
    report = verifier.verify(_load(f"bundles/{name}")).to_json()
    assert [(c["name"], c["status"]) for c in report["checks"]] == [
        (check, "pass") for check in STRICT_CHECK_NAMES
    ]


def test_cli_verifies_the_whole_corpus_strictly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``meterproof verify --profile strict`` reads the files and accepts all."""
    code = main(
        [
            "verify",
            str(CORPUS / "bundles"),
            "--trust",
            str(CORPUS / "trust.json"),
            "--profile",
            "strict",
            "--revocation",
            str(CORPUS / "revocation.json"),
            "--now",
            str(META["now"]),
            "--jobs",
            "1",
            "--compact",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (out["bundles"], out["valid"], out["failed_checks"]) == (
        len(FILES),
        len(FILES),
        {},
    )
