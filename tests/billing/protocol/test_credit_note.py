"""The ``vdi-billing-credit-note/1`` format and its offline verification
(docs/PROTOCOL.md §12), without Django: a built, logged credit note passes
every named check; each broken member fails its named check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from billing.protocol.bundle import attestation_leaf_hash
from billing.protocol.cli import main
from billing.protocol.credit_note import (
    CreditNote,
    build_credit_note,
    credit_note_id_new,
    credit_note_leaf_data,
    credit_note_leaf_hash,
)
from billing.protocol.errors import CreditNoteFormatError
from billing.protocol.verify.credit_note import (
    CREDIT_NOTE_CHECK_NAMES,
    verify_credit_note,
)
from tests.billing.protocol.builders import (
    ISSUED_AT,
    Keys,
    event_json,
    make_bundle,
    sign_checkpoint,
)
from transparency.protocol.merkle import MemoryNodeStore, leaf_hash


@pytest.fixture(scope="module")
def keys() -> Keys:
    """Fresh issuer, meter and log keys."""
    return Keys.generate()


@pytest.fixture(scope="module")
def original(keys: Keys) -> dict[str, Any]:
    """A valid logged bundle of 7 units (14 minor units under the test tariff)."""
    return make_bundle(keys, event=event_json(quantity=7))


def _note(keys: Keys, original: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A credit-note file of ``original``, logged between filler leaves."""
    att = original["attestation"]
    event = att["meter_envelope"]["event"]
    args: dict[str, Any] = {
        "credit_note_id": credit_note_id_new(bytes(range(12))),
        "tenant": event["tenant"],
        "period": event["window"],
        "currency": att["charge"]["currency"],
        "amount_minor": -3,
        "original": {
            "receipt_id": att["receipt"]["receipt_id"],
            "leaf_hash": attestation_leaf_hash(att).hex(),
            "period": event["window"],
            "amount_minor": att["charge"]["amount_minor"],
        },
        "reason_code": "correction",
        "reason_text": "double count",
        "issued_at": ISSUED_AT,
        "issuer": keys.issuer,
    }
    args.update(overrides)
    body = build_credit_note(**args)
    store = MemoryNodeStore()
    store.extend(leaf_hash(b"filler-%d" % i) for i in range(3))
    index = store.append(leaf_hash(credit_note_leaf_data(body)))
    store.extend(leaf_hash(b"after-%d" % i) for i in range(2))
    return {
        "format": "vdi-billing-credit-note/1",
        "credit_note": body,
        "log": {
            "leaf_index": index,
            "tree_size": store.tree_size,
            "leaf_hash": credit_note_leaf_hash(body),
            "inclusion_proof": [h.hex() for h in store.inclusion_proof(index)],
            "checkpoint": sign_checkpoint(keys.signer, store.tree_size, store.root()),
        },
    }


def _failed(report: Any) -> dict[str, str]:
    return {c.name: c.code for c in report.checks if c.status == "fail"}


def test_valid_credit_note_passes_every_check(
    keys: Keys, original: dict[str, Any]
) -> None:
    """Every named check passes, in report order, with the original given."""
    file = _note(keys, original)
    report = verify_credit_note(file, keys.trust(), original=original)
    assert [c.name for c in report.checks] == list(CREDIT_NOTE_CHECK_NAMES)
    assert report.ok and {c.status for c in report.checks} == {"pass"}
    assert report.to_json()["billing_check"] == {
        "amount_minor": -3,
        "currency": "USD",
        "period": "2026-11",
        "original_amount_minor": original["attestation"]["charge"]["amount_minor"],
    }


def test_round_trip_and_leaf_hash_of_file_body_and_bytes(
    keys: Keys, original: dict[str, Any]
) -> None:
    """Parsing keeps the body as received; the leaf hash is the same from
    the file, its bytes and the signed body, and is the log's."""
    file = _note(keys, original)
    text = json.dumps(file).encode()
    note = CreditNote.from_bytes(text)
    assert note.body == file["credit_note"] and note.amount_minor == -3
    assert (
        credit_note_leaf_hash(file)
        == credit_note_leaf_hash(text)
        == credit_note_leaf_hash(file["credit_note"])
        == file["log"]["leaf_hash"]
    )


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("credit_note", "credit_note_id"), "cn_XYZ", "credit_note.credit_note_id"),
        (("credit_note", "period"), "2026-13", "credit_note.period"),
        (("credit_note", "amount_minor"), -1.5, "credit_note.amount_minor"),
        (("credit_note", "amount_minor"), True, "credit_note.amount_minor"),
        (("credit_note", "original", "leaf_hash"), "AB" * 32, None),
        (("credit_note", "reason", "code"), "Bad Code", "credit_note.reason.code"),
        (("credit_note", "extra"), 1, "credit_note.extra"),
        (("log",), None, "log"),
        (("format",), "vdi-billing/2", "format"),
    ],
)
def test_shape_violation_fails_credit_note_format_alone(
    keys: Keys, original: dict[str, Any], path: tuple[str, ...], value: Any, field: Any
) -> None:
    """A malformed member fails ``credit_note_format`` (and no other check
    runs) with the member's path as ``field``."""
    file = _note(keys, original)
    target = file
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = value
    report = verify_credit_note(file, keys.trust())
    assert [c.name for c in report.checks] == ["credit_note_format"]
    assert report.checks[0].code == "credit_note_format_invalid"
    if field is not None:
        with pytest.raises(CreditNoteFormatError) as err:
            CreditNote.from_json(file)
        assert err.value.field == field


def test_positive_amount_fails_credit_note_amount(
    keys: Keys, original: dict[str, Any]
) -> None:
    """A signed positive amount parses (the sign is a check, not shape) and
    fails ``credit_note_amount`` with ``credit_note_amount_invalid``."""
    file = _note(keys, original, amount_minor=5)
    assert _failed(verify_credit_note(file, keys.trust())) == {
        "credit_note_amount": "credit_note_amount_invalid"
    }


def test_amount_above_the_original_fails_credit_note_amount(
    keys: Keys, original: dict[str, Any]
) -> None:
    """A signed credit larger than ``original.amount_minor`` fails."""
    too_much = -(original["attestation"]["charge"]["amount_minor"] + 1)
    file = _note(keys, original, amount_minor=too_much)
    assert _failed(verify_credit_note(file, keys.trust())) == {
        "credit_note_amount": "credit_note_exceeds_original"
    }


def test_other_bundle_as_original_fails_with_mismatch(
    keys: Keys, original: dict[str, Any]
) -> None:
    """The original given must be the bundle the credit note names."""
    other = make_bundle(keys, event=event_json(event_id="evt_other", quantity=7))
    file = _note(keys, original)
    assert _failed(verify_credit_note(file, keys.trust(), original=other)) == {
        "credit_note_amount": "credit_note_original_mismatch"
    }


def test_unknown_issuer_and_broken_log_fail_their_checks(
    keys: Keys, original: dict[str, Any]
) -> None:
    """Another issuer fails ``issuer_signature`` (``unknown_kid``); a wrong
    leaf hash fails ``log_inclusion``; without ``log`` the log checks skip
    (standard) or fail (strict)."""
    stranger = Keys.generate()
    file = _note(stranger, original)
    failed = _failed(verify_credit_note(file, keys.trust()))
    assert failed["issuer_signature"] == "unknown_kid"
    file = _note(keys, original)
    file["log"]["leaf_hash"] = "00" * 32
    assert _failed(verify_credit_note(file, keys.trust())) == {
        "log_inclusion": "leaf_hash_mismatch"
    }
    del file["log"]
    report = verify_credit_note(file, keys.trust())
    assert report.ok
    assert [c.status for c in report.checks][-2:] == ["skip", "skip"]
    strict = verify_credit_note(file, keys.trust(), profile="strict")
    assert _failed(strict) == {
        "checkpoint_signature": "log_evidence_missing",
        "log_inclusion": "log_evidence_missing",
    }


def test_cli_directory_of_bundle_and_credit_note_nets_the_total(
    keys: Keys, original: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    """``meterproof verify DIR`` verifies the bundle and the credit note (its
    original found as ``<receipt_id>.json`` beside it) and nets the total;
    a changed amount exits 1 naming ``issuer_signature``."""
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(keys.trust().to_json()))
    folder = tmp_path / "files"
    folder.mkdir()
    receipt_id = original["attestation"]["receipt"]["receipt_id"]
    (folder / f"{receipt_id}.json").write_text(json.dumps(original))
    file = _note(keys, original)
    (folder / "cn.json").write_text(json.dumps(file))
    code = main(["verify", str(folder), "--trust", str(trust), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    amount = original["attestation"]["charge"]["amount_minor"]
    assert out["amount_minor_total"] == amount - 3 and out["credit_notes"] == 1
    (note_report,) = [r for r in out["reports"] if r.get("kind") == "credit_note"]
    assert note_report["original_checked"] is True
    file["credit_note"]["amount_minor"] = -4
    (folder / "cn.json").write_text(json.dumps(file))
    assert main(["verify", str(folder), "--trust", str(trust)]) == 1
    summary = capsys.readouterr().out
    assert "issuer_signature" in summary and "credit notes" in summary


def test_cli_missing_original_file_is_unusable(
    keys: Keys, original: dict[str, Any], tmp_path: Path
) -> None:
    """``--original`` naming no file exits 2."""
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(keys.trust().to_json()))
    path = tmp_path / "cn.json"
    path.write_text(json.dumps(_note(keys, original)))
    code = main(
        ["verify", str(path), "--trust", str(trust), "--original", str(tmp_path / "x")]
    )
    assert code == 2
