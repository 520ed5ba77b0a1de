"""The audit record hash and the chain verifier (docs/PROTOCOL.md §14): a
changed, deleted or reordered record each fails a named check naming the
first bad sequence number; deleting the last record needs a pinned head."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from audittrail.protocol.chain import (
    AUDIT_CHECKS,
    GENESIS_HASH,
    AuditHead,
    parse_audit_head,
    parse_audit_record,
    record_hash,
    verify_audit_chain,
)
from audittrail.protocol.errors import AuditHeadFormatError, AuditRecordFormatError
from tests.audittrail.support import chain_of, rehash_from

ROOT = Path(__file__).resolve().parents[3]


def _checks(report: Any) -> dict[str, tuple[str, str | None]]:
    return {c.name: (c.status, c.code) for c in report.checks}


def test_record_hash_is_sha256_of_the_sorted_compact_json() -> None:
    """For ASCII strings and small integers RFC 8785 is sorted, compact JSON:
    an independent spelling of the hash gives the same digest."""
    record = chain_of(1)[0]
    body = {k: v for k, v in record.items() if k != "record_hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    assert record["record_hash"] == hashlib.sha256(text.encode()).hexdigest()
    assert record["prev_hash"] == GENESIS_HASH == "0" * 64


def test_record_hash_ignores_a_stored_record_hash() -> None:
    """``record_hash`` covers every member but ``record_hash`` itself."""
    record = chain_of(1)[0]
    assert record_hash({**record, "record_hash": "f" * 64}) == record["record_hash"]


def test_a_valid_chain_passes_and_names_its_head() -> None:
    """Five linked records: every check but ``head`` passes, ``head`` is
    skipped (nothing pinned), the head is ``5:<hash>``."""
    records = chain_of(5)
    report = verify_audit_chain(records)
    assert report.ok and report.count == 5 and report.first_bad_seq is None
    assert report.head == AuditHead(5, records[-1]["record_hash"])
    assert [c.name for c in report.checks] == list(AUDIT_CHECKS)
    assert _checks(report)["head"] == ("skip", "audit_head_not_pinned")
    assert report.to_json()["head"] == f"5:{records[-1]['record_hash']}"


def test_a_pinned_head_that_is_still_there_passes() -> None:
    """Pinning record 3 of a chain that has grown to 5 passes ``head``."""
    records = chain_of(5)
    report = verify_audit_chain(records, expect_head=f"3:{records[2]['record_hash']}")
    assert report.ok
    assert _checks(report)["head"] == ("pass", None)


def test_an_empty_chain_is_valid_unless_a_head_was_pinned() -> None:
    """No records: valid (nothing to check); with a pinned head: missing."""
    assert verify_audit_chain([]).ok
    report = verify_audit_chain([], expect_head=AuditHead(1, "a" * 64))
    assert not report.ok and report.first_bad_seq == 1
    assert _checks(report)["head"] == ("fail", "audit_head_missing")


def test_one_changed_field_fails_record_hash_at_its_seq() -> None:
    """Record 3's ``after`` changed: ``record_hash`` fails naming seq 3."""
    records = chain_of(5)
    records[2]["after"] = {"status": "published", "version": 99}
    report = verify_audit_chain(records)
    assert not report.ok and report.first_bad_seq == 3
    assert _checks(report)["record_hash"] == ("fail", "audit_record_hash_mismatch")
    assert "record 3" in (report.checks[0].message or "")


def test_a_changed_record_with_its_hash_recomputed_breaks_the_next_link() -> None:
    """A forger recomputes record 3's hash: record 4's ``prev_hash`` no
    longer matches (``chain_link`` at seq 4); the first bad seq is 4."""
    records = chain_of(5)
    records[2]["actor"] = "mallory"
    records[2]["record_hash"] = record_hash(records[2])
    report = verify_audit_chain(records)
    assert _checks(report)["record_hash"] == ("pass", None)
    assert _checks(report)["chain_link"] == ("fail", "audit_chain_broken")
    assert report.first_bad_seq == 4


def test_a_rewritten_tail_is_caught_only_by_the_pinned_head() -> None:
    """Records 3..5 rewritten with every hash and link recomputed: the chain
    is consistent, but the pinned head 4 has another hash."""
    records = chain_of(5)
    pinned = f"4:{records[3]['record_hash']}"
    records[2]["actor"] = "mallory"
    forged = rehash_from(records, 2)
    assert verify_audit_chain(forged).ok
    report = verify_audit_chain(forged, expect_head=pinned)
    assert not report.ok and report.first_bad_seq == 4
    assert _checks(report)["head"] == ("fail", "audit_head_mismatch")


def test_a_deleted_middle_record_fails_sequence_and_chain_link() -> None:
    """Record 3 of 5 deleted: ``sequence`` (gap) and ``chain_link`` fail;
    the first bad seq is 3, the missing number."""
    records = chain_of(5)
    del records[2]
    report = verify_audit_chain(records)
    assert not report.ok and report.first_bad_seq == 3
    assert _checks(report)["sequence"] == ("fail", "audit_sequence_gap")
    assert _checks(report)["chain_link"] == ("fail", "audit_chain_broken")


def test_a_deleted_last_record_needs_the_pinned_head() -> None:
    """Record 5 of 5 deleted: the shorter chain is consistent; the head
    pinned at 5 is missing (first bad seq 5)."""
    records = chain_of(5)
    pinned = AuditHead(5, records[-1]["record_hash"])
    records.pop()
    assert verify_audit_chain(records).ok
    report = verify_audit_chain(records, expect_head=pinned)
    assert not report.ok and report.first_bad_seq == 5
    assert _checks(report)["head"] == ("fail", "audit_head_missing")


def test_a_reordered_pair_fails_sequence_and_chain_link() -> None:
    """Records 2 and 3 swapped in the stream: ``sequence`` (disorder is
    reported where seq 2 was expected) and ``chain_link`` fail."""
    records = chain_of(5)
    records[1], records[2] = records[2], records[1]
    report = verify_audit_chain(records)
    assert not report.ok and report.first_bad_seq == 2
    assert _checks(report)["sequence"][0] == "fail"
    assert _checks(report)["chain_link"] == ("fail", "audit_chain_broken")


def test_a_repeated_record_fails_sequence_with_disorder() -> None:
    """Record 2 appears twice: the copy is out of order (where seq 3 was
    expected) and does not link to record 2; the first bad seq is 2, the
    repeated record's own."""
    records = chain_of(3)
    records.insert(2, copy.deepcopy(records[1]))
    report = verify_audit_chain(records)
    assert _checks(report)["sequence"] == ("fail", "audit_sequence_disorder")
    assert _checks(report)["chain_link"] == ("fail", "audit_chain_broken")
    assert report.first_bad_seq == 2


def test_a_malformed_record_fails_record_hash_with_its_code() -> None:
    """A record whose ``seq`` is a string is not a record: ``record_hash``
    fails with ``audit_record_invalid`` at its position."""
    records = chain_of(3)
    records[1]["seq"] = "2"
    report = verify_audit_chain(records)
    assert not report.ok and report.first_bad_seq == 2
    assert _checks(report)["record_hash"] == ("fail", "audit_record_invalid")


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("at", "2026-12-04 18:00:00Z"),
        ("action", "Tariff.Publish"),
        ("action", "publish"),
        ("prev_hash", "A" * 64),
        ("actor", ""),
        ("actor_user_id", 0),
        ("seq", True),
    ],
)
def test_parse_refuses_members_out_of_shape(member: str, value: Any) -> None:
    """Each member out of shape is refused with ``audit_record_invalid``
    naming it."""
    record = chain_of(1)[0]
    record[member] = value
    with pytest.raises(AuditRecordFormatError) as info:
        parse_audit_record(record)
    assert info.value.code == "audit_record_invalid"
    assert info.value.field == member


def test_parse_refuses_unknown_and_missing_members() -> None:
    """Exactly the documented members."""
    record = chain_of(1)[0]
    with pytest.raises(AuditRecordFormatError):
        parse_audit_record({**record, "extra": 1})
    del record["before"]
    with pytest.raises(AuditRecordFormatError):
        parse_audit_record(record)


@pytest.mark.parametrize(
    "text", ["", "5", "0:" + "a" * 64, "05:" + "a" * 64, "5:" + "A" * 64, 5]
)
def test_parse_audit_head_refuses_anything_but_seq_colon_hash(text: Any) -> None:
    """A head is ``<seq>:<64 lowercase hex>``, seq ≥ 1 without leading zero."""
    with pytest.raises(AuditHeadFormatError) as info:
        parse_audit_head(text)
    assert info.value.code == "audit_head_invalid"


def test_parse_audit_head_round_trips() -> None:
    """``str(parse(text)) == text``."""
    text = "42:" + "0123456789abcdef" * 4
    assert str(parse_audit_head(text)) == text


def test_the_protocol_package_imports_no_django() -> None:
    """``audittrail.protocol`` runs offline: importing it (and its CLI) loads
    no Django."""
    code = (
        "import sys\n"
        "import audittrail.protocol.chain, audittrail.protocol.cli\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'django')\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
