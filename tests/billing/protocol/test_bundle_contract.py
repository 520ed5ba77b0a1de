"""The verification contract where the spec used to be silent (audit 6-9).

A JavaScript verifier written from docs/PROTOCOL.md disagreed with ours on
duplicate member names, an unchecked ``receipt_id`` and ``null`` optional
members; these pin the behaviour the spec now states.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from billing.protocol.bundle import Bundle
from billing.protocol.cli import main
from billing.protocol.errors import BundleFormatError, TrustAnchorError
from billing.protocol.trust import TrustAnchors
from billing.protocol.verify import BundleVerifier, verify_bundle
from kernel.protocol.errors import DuplicateMemberError

from .builders import Keys, StrictKit, event_json, log_bundles, make_bundle, resign


@pytest.fixture(scope="module")
def keys() -> Keys:
    """Fresh keys for this module."""
    return Keys.generate()


@pytest.fixture(scope="module")
def valid(keys: Keys) -> dict[str, Any]:
    """A valid logged bundle (no billing proof)."""
    return make_bundle(keys)


def _failed(report: Any) -> list[tuple[str, str | None]]:
    return [(c.name, c.code) for c in report.checks if c.status == "fail"]


def _with_duplicate_amount(bundle: dict[str, Any]) -> bytes:
    """The bundle's JSON text with a second ``amount_minor`` after the real
    one (a last-wins reader sees 999999, a first-wins reader the real one)."""
    text = json.dumps(bundle)
    amount = bundle["attestation"]["charge"]["amount_minor"]
    needle = f'"amount_minor": {amount}'
    assert text.count(needle) == 1
    return text.replace(needle, f'{needle}, "amount_minor": 999999').encode()


# -- 6: duplicate member names -------------------------------------------------


def test_duplicate_member_in_bundle_bytes_fails_bundle_format(
    keys: Keys, valid: dict[str, Any]
) -> None:
    """Regression (audit 6): a second ``amount_minor`` fails ``bundle_format``
    with ``duplicate_member`` and nothing else runs."""
    report = BundleVerifier(keys.trust()).verify(_with_duplicate_amount(valid))
    assert report.ok is False
    assert _failed(report) == [("bundle_format", "duplicate_member")]
    assert [c.name for c in report.checks] == ["bundle_format"]


def test_bundle_from_bytes_names_the_duplicated_member(valid: dict[str, Any]) -> None:
    """``Bundle.from_bytes`` raises the reader's error with the member's path."""
    with pytest.raises(DuplicateMemberError) as info:
        Bundle.from_bytes(_with_duplicate_amount(valid))
    assert info.value.code == "duplicate_member"
    assert info.value.field == "attestation.charge.amount_minor"


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return path


def test_cli_reports_duplicate_member_in_a_bundle_file(
    tmp_path: Path, keys: Keys, valid: dict[str, Any], capsys: Any
) -> None:
    """Regression (audit 6): the CLI fails such a bundle (exit 1), not last-wins."""
    trust = _write(tmp_path / "trust.json", json.dumps(keys.trust().to_json()))
    bundle = _write(tmp_path / "b" / "dup.json", _with_duplicate_amount(valid))
    code = main(["verify", str(bundle), "--trust", str(trust), "--jobs", "1", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["failed_checks"] == {"bundle_format": 1}
    assert out["reports"][0]["checks"][0]["code"] == "duplicate_member"


def test_cli_reports_too_deep_bundle_file_as_json_too_deep(
    tmp_path: Path, keys: Keys, capsys: Any
) -> None:
    """Regression (audit 12): 990 levels fail ``bundle_format`` with
    ``json_too_deep`` even with py_ecc's recursion limit."""
    trust = _write(tmp_path / "trust.json", json.dumps(keys.trust().to_json()))
    bundle = _write(tmp_path / "deep.json", '{"a":' * 990 + "1" + "}" * 990)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    try:
        code = main(
            ["verify", str(bundle), "--trust", str(trust), "--jobs", "1", "--json"]
        )
    finally:
        sys.setrecursionlimit(limit)
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["reports"][0]["checks"][0]["code"] == "json_too_deep"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            '{"format": "vdi-billing-trust/1", "keys": [], "keys": [], "log": {}}',
            "duplicate_member",
        ),
        ('{"format": "vdi-billing-trust/1", "keys": ' + "[" * 990, "json_too_deep"),
    ],
)
def test_cli_refuses_a_hostile_trust_file_as_unusable(
    tmp_path: Path, keys: Keys, valid: dict[str, Any], text: str, code: str, capsys: Any
) -> None:
    """Regression (audit 6, 12): such a trust file is unusable as a whole:
    exit 2 with the reader's code on stderr."""
    trust = _write(tmp_path / "trust.json", text)
    bundle = _write(tmp_path / "b.json", json.dumps(valid))
    assert main(["verify", str(bundle), "--trust", str(trust)]) == 2
    assert code in capsys.readouterr().err


def test_cli_price_refuses_a_tariff_with_duplicate_members(
    tmp_path: Path, capsys: Any
) -> None:
    """Regression (audit 6): ``meterproof price`` reads tariffs strictly."""
    tariff = _write(
        tmp_path / "tariff.json",
        '{"tariff_id": "a", "tariff_id": "b", "version": 1}',
    )
    assert main(["price", "--tariff", str(tariff), "--quantity", "1"]) == 2
    assert "duplicate_member" in capsys.readouterr().err


# -- 7: receipt_id derivation --------------------------------------------------


def test_receipt_id_not_derived_from_the_event_fails_meter_hash(keys: Keys) -> None:
    """Regression (audit 7): a trusted issuer that signs a receipt id other
    than rcpt_ + 24 hex of SHA-256(JCS([tenant, window, event_id])) fails
    ``meter_hash`` with ``receipt_id_mismatch``; every other check passes."""
    bundle = make_bundle(keys)
    att = copy.deepcopy(bundle["attestation"])
    att["receipt"]["receipt_id"] = "rcpt_" + "0" * 24
    forged = log_bundles(keys, [resign(keys, att)])[0]  # log for the new leaf
    report = verify_bundle(forged, keys.trust())
    assert report.ok is False
    assert _failed(report) == [("meter_hash", "receipt_id_mismatch")]
    failed = next(c for c in report.checks if c.status == "fail")
    assert failed.message and "rcpt_" in failed.message


def test_receipt_id_of_another_event_fails(keys: Keys) -> None:
    """A receipt id derived from another event id does not pass either."""
    other = make_bundle(keys, event=event_json(event_id="evt_other"))
    mine = make_bundle(keys)
    att = copy.deepcopy(mine["attestation"])
    att["receipt"]["receipt_id"] = other["attestation"]["receipt"]["receipt_id"]

    report = verify_bundle(log_bundles(keys, [resign(keys, att)])[0], keys.trust())
    assert _failed(report) == [("meter_hash", "receipt_id_mismatch")]


# -- 8, 9: null is never absent ------------------------------------------------


def test_null_log_fails_bundle_format(keys: Keys, valid: dict[str, Any]) -> None:
    """Regression (audit 8): ``"log": null`` is not a bundle without log."""
    bundle = copy.deepcopy(valid)
    bundle["log"] = None
    report = verify_bundle(bundle, keys.trust())
    assert _failed(report) == [("bundle_format", "bundle_format_invalid")]
    with pytest.raises(BundleFormatError) as info:
        Bundle.from_json(bundle)
    assert info.value.field == "log"


@pytest.fixture(scope="module")
def kit() -> StrictKit:
    """Keys and a trapdoor Groth16 key for bundles with proofs."""
    return StrictKit.generate()


def test_null_top_level_billing_proof_fails_bundle_format(kit: StrictKit) -> None:
    """Regression (audit 9): a top-level ``"billing_proof": null`` is refused,
    beside no proof and beside an embedded proof."""
    for with_proof in (False, True):
        bundle = kit.bundle(attestation=kit.attestation(with_proof=with_proof))
        bundle["billing_proof"] = None
        report = verify_bundle(bundle, kit.trust())
        assert _failed(report) == [("bundle_format", "bundle_format_invalid")]
        with pytest.raises(BundleFormatError) as info:
            Bundle.from_json(bundle)
        assert info.value.field == "billing_proof"


def test_signed_null_embedded_billing_proof_fails_bundle_format(
    kit: StrictKit,
) -> None:
    """An attestation signed with ``"billing_proof": null`` is malformed."""
    att = kit.attestation(with_proof=False)
    att["billing_proof"] = None
    bundle = kit.bundle(attestation=resign(kit.keys, att))
    with pytest.raises(BundleFormatError) as info:
        Bundle.from_json(bundle)
    assert info.value.field == "attestation.billing_proof"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("log",), "log"),
        (("circuits",), "circuits"),
        (("log", "verifier_keys"), "log.verifier_keys"),
        (("log", "witnesses"), "log.witnesses"),
        (("circuits", "manifests"), "circuits.manifests"),
    ],
)
def test_null_optional_trust_member_makes_the_trust_file_unusable(
    kit: StrictKit, path: tuple[str, ...], field: str
) -> None:
    """Null is never absent in the trust file either: a null optional member is
    ``trust_anchors_invalid`` naming it (the CLI exits 2)."""
    doc = kit.trust().to_json()
    target = doc
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = None
    with pytest.raises(TrustAnchorError) as info:
        TrustAnchors.from_json(doc)
    assert (info.value.code, info.value.field) == ("trust_anchors_invalid", field)
