"""One check-result type and one fail-closed verdict (kernel.protocol.verdict)."""

from __future__ import annotations

import billing.protocol.verify
from kernel.protocol.verdict import CheckResult, verdict_ok


def test_the_bundle_report_and_the_log_verdicts_share_one_class() -> None:
    """``billing.protocol.verify.CheckResult`` is the kernel's class."""
    assert billing.protocol.verify.CheckResult is CheckResult


def test_verdict_is_fail_closed() -> None:
    """No check, or only skips, is not a success; one fail is a failure."""
    passed = CheckResult("a", "pass")
    skipped = CheckResult("b", "skip", "skipped", "not applicable")
    failed = CheckResult("c", "fail", "inclusion_proof_invalid", "bad proof")
    assert not verdict_ok([])
    assert not verdict_ok([skipped])
    assert verdict_ok([passed, skipped])
    assert not verdict_ok([passed, failed])
    assert (passed.ok, skipped.ok, failed.ok) == (True, None, False)


def test_to_json_is_the_report_wire_form() -> None:
    """``to_json`` gives name, status, ok, code and message (PROTOCOL.md §5.1)."""
    assert CheckResult("x", "fail", "c", "m").to_json() == {
        "name": "x",
        "status": "fail",
        "ok": False,
        "code": "c",
        "message": "m",
    }
