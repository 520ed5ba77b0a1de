"""Bundles issued by earlier releases verify forever.

``tests/vectors/compat/vdi-billing-2/`` and ``.../vdi-billing-3/`` are frozen
corpora of ``vdi-billing/2`` and ``vdi-billing/3`` bundles (the latter
numbered 1..16 in one tenant's period), each made once by ``scripts/make_compat_corpus.py`` with the code of its
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

from billing.protocol.bundle import bundle_sequence
from billing.protocol.cli import main
from billing.protocol.trust import TrustAnchors
from billing.protocol.verify import PROFILE_STRICT, BundleVerifier
from revocation.protocol.snapshot import snapshot_open

from .check_names import STANDARD_CHECK_NAMES, STRICT_CHECK_NAMES

COMPAT = Path(__file__).resolve().parents[2] / "vectors" / "compat"
FORMATS = ("vdi-billing-2", "vdi-billing-3")
METAS: dict[str, dict[str, Any]] = {
    fmt: json.loads((COMPAT / fmt / "corpus.json").read_text("utf-8"))
    for fmt in FORMATS
}
CASES = [(fmt, name) for fmt in FORMATS for name in sorted(METAS[fmt]["bundles"])]


def _load(fmt: str, name: str) -> Any:
    return json.loads((COMPAT / fmt / name).read_bytes())


def _trust(fmt: str) -> TrustAnchors:
    return TrustAnchors.from_json(_load(fmt, "trust.json"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_corpus_covers_every_pricing_model_attachment_and_meter_key(
    fmt: str,
) -> None:
    """Each frozen corpus keeps its coverage (a file cannot silently vanish)."""
    meta = METAS[fmt]
    assert meta["format"] == fmt.replace("vdi-billing-", "vdi-billing/")
    entries = meta["bundles"].values()
    assert {e["model"] for e in entries} == {
        "per_unit",
        "package",
        "tiered_graduated",
        "tiered_volume",
    }
    assert {e["attachment"] for e in entries} == {"embedded", "detached"}
    assert {e["meter"] for e in entries} == {"gateway", "server"}
    files = sorted(p.name for p in (COMPAT / fmt / "bundles").glob("*.json"))
    assert files == sorted(meta["bundles"])


def test_v3_corpus_is_numbered_one_to_n_in_one_period() -> None:
    """The v3 bundles carry the sequence 1..16 of one period, as issued."""
    numbered = []
    for name, entry in METAS["vdi-billing-3"]["bundles"].items():
        bundle = _load("vdi-billing-3", f"bundles/{name}")
        assert bundle_sequence(bundle) == (
            entry["sequence"]["period"],
            entry["sequence"]["number"],
        )
        numbered.append(bundle_sequence(bundle))
    assert len({period for period, _ in numbered}) == 1
    assert sorted(n for _, n in numbered) == list(range(1, len(numbered) + 1))
    for name in METAS["vdi-billing-2"]["bundles"]:
        assert bundle_sequence(_load("vdi-billing-2", f"bundles/{name}")) is None


@pytest.mark.parametrize(("fmt", "name"), CASES)
def test_frozen_bundle_passes_every_standard_check(fmt: str, name: str) -> None:
    """Each frozen bundle passes every standard check, with its frozen charge."""
    trust = _trust(fmt)
    report = BundleVerifier(trust).verify(_load(fmt, f"bundles/{name}")).to_json()
    assert [(c["name"], c["status"]) for c in report["checks"]] == [
        (check, "pass") for check in STANDARD_CHECK_NAMES
    ]
    assert report["ok"] is True
    expected = METAS[fmt]["bundles"][name]
    assert report["billing_check"]["amount_minor"] == expected["amount_minor"]
    assert report["receipt_id"] == expected["receipt_id"]
    attachment = report["incircuit_binding_verification"]["attachment"]
    assert attachment == expected["attachment"]


@pytest.mark.parametrize(("fmt", "name"), CASES)
def test_frozen_bundle_passes_every_strict_check(fmt: str, name: str) -> None:
    """Each frozen bundle passes the strict profile at the corpus's ``now``."""
    trust = _trust(fmt)
    meta = METAS[fmt]
    issuers = {k.kid: k.verify_key for k in trust.keys_for("issuer")}
    snapshot = snapshot_open((COMPAT / fmt / "revocation.json").read_bytes(), issuers)
    verifier = BundleVerifier(
        trust,
        profile=PROFILE_STRICT,
        revocation=snapshot,
        now=meta["now"],
        max_snapshot_age_seconds=meta["max_snapshot_age_seconds"],
    )
    report = verifier.verify(_load(fmt, f"bundles/{name}")).to_json()
    assert [(c["name"], c["status"]) for c in report["checks"]] == [
        (check, "pass") for check in STRICT_CHECK_NAMES
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_cli_verifies_the_whole_corpus_strictly(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``meterproof verify --profile strict`` reads the files and accepts all."""
    corpus, meta = COMPAT / fmt, METAS[fmt]
    code = main(
        [
            "verify",
            str(corpus / "bundles"),
            "--trust",
            str(corpus / "trust.json"),
            "--profile",
            "strict",
            "--revocation",
            str(corpus / "revocation.json"),
            "--now",
            str(meta["now"]),
            "--jobs",
            "1",
            "--compact",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (out["bundles"], out["valid"], out["failed_checks"]) == (
        len(meta["bundles"]),
        len(meta["bundles"]),
        {},
    )
