"""``manage.py audit_verify`` and ``audit_export`` + ``meterproof
verify-audit``: a changed field, a deleted middle record, a deleted last
record (with ``--expect-head``) and a reordered pair each exit 1 naming the
first bad sequence number; the offline check of the export agrees."""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from audittrail.selectors import audit_head_get
from billing.protocol.cli import main as meterproof
from tests.audittrail.factories import AuditRecordFactory
from tests.audittrail.support import delete_record, swap_records, tamper

pytestmark = pytest.mark.django_db


def _verify(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("audit_verify", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def _offline(tmp_path: Path, *args: str) -> int:
    """Export, then verify the file with ``meterproof verify-audit --json``
    (the report goes to stdout); return the exit code."""
    export = tmp_path / "audit.jsonl"
    call_command("audit_export", "--out", str(export), stdout=StringIO())
    return meterproof(["verify-audit", str(export), "--json", *args])


@pytest.fixture
def five() -> str:
    """Five records; returns the head ``5:<hash>`` an auditor pinned."""
    AuditRecordFactory.create_batch(5)
    return str(audit_head_get())


def test_a_valid_trail_exits_0(five: str, tmp_path: Path, capsys: Any) -> None:
    """Valid, with or without the pinned head; the offline check agrees."""
    code, out = _verify("--expect-head", five)
    assert code == 0 and "valid: 5 records" in out and five in out
    assert _offline(tmp_path, "--expect-head", five) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["head"] == five


def test_json_report(five: str) -> None:
    """``--json`` prints the report with the named checks."""
    code, out = _verify("--json")
    report = json.loads(out)
    assert code == 0 and report["count"] == 5
    assert [c["name"] for c in report["checks"]] == [
        "record_hash",
        "chain_link",
        "sequence",
        "head",
    ]


#: (tampering, expected first bad seq, a failed check's code).
CASES: dict[str, tuple[Callable[[], None], int, str]] = {
    "changed_field": (
        lambda: tamper(3, object_id="forged"),
        3,
        "audit_record_hash_mismatch",
    ),
    "changed_actor": (
        lambda: tamper(2, actor="mallory"),
        2,
        "audit_record_hash_mismatch",
    ),
    "deleted_middle": (lambda: delete_record(3), 3, "audit_sequence_gap"),
    "deleted_last": (lambda: delete_record(5), 5, "audit_head_missing"),
    "reordered_pair": (lambda: swap_records(2, 3), 2, "audit_chain_broken"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampering_exits_1_naming_the_first_bad_seq(
    case: str, five: str, tmp_path: Path, capsys: Any
) -> None:
    """Each tampering is detected (with the head pinned before it), the
    first bad seq named; ``meterproof verify-audit`` on the export gives the
    same exit code, first bad seq and failed checks."""
    damage, bad_seq, code_expected = CASES[case]
    damage()
    code, out = _verify("--expect-head", five)
    assert code == 1, out
    assert f"invalid at seq {bad_seq}" in out and code_expected in out
    _, json_out = _verify("--expect-head", five, "--json")
    report = json.loads(json_out[: json_out.rindex("}") + 1])
    capsys.readouterr()
    offline_code = _offline(tmp_path, "--expect-head", five)
    offline = json.loads(capsys.readouterr().out)
    assert offline_code == 1
    assert offline == report


def test_a_deleted_last_record_is_unseen_without_a_pinned_head(five: str) -> None:
    """Without ``--expect-head`` the shorter chain is valid (the command
    says ``head`` was skipped): pin the head."""
    delete_record(5)
    code, out = _verify()
    assert code == 0 and "audit_head_not_pinned" in out


def test_a_malformed_expect_head_exits_2(five: str) -> None:
    """``--expect-head 5`` is not SEQ:HASH."""
    code, out = _verify("--expect-head", "5")
    assert code == 2 and "audit_head_invalid" in out


def test_export_writes_json_lines_and_prints_the_head(
    five: str, tmp_path: Path
) -> None:
    """One record per line in seq order; stdout gives count and head."""
    export = tmp_path / "audit.jsonl"
    out = StringIO()
    call_command("audit_export", "--out", str(export), stdout=out)
    lines = export.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3, 4, 5]
    assert json.loads(out.getvalue()) == {"count": 5, "head": five}
    assert not (tmp_path / "audit.jsonl.partial").exists()


def test_verify_audit_refuses_unusable_files(tmp_path: Path) -> None:
    """A missing file or a line that is not JSON: exit 2."""
    assert meterproof(["verify-audit", str(tmp_path / "missing.jsonl")]) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"seq": 1}\nnot json\n', encoding="utf-8")
    assert meterproof(["verify-audit", str(bad)]) == 2
    assert meterproof(["verify-audit", str(bad), "--expect-head", "x"]) == 2
