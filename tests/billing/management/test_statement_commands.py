"""The documented path: ``manage.py statement_close``, ``manage.py
export_bundles --tenant --period``, then ``meterproof verify-statement``
(exit 0 valid, 1 invalid, 2 unusable input)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import Statement
from tests.billing.support_statements import PERIOD, attest_period, graduated_tenant
from tests.support.cli import meterproof
from tests.support.keys import TestKeys

pytestmark = pytest.mark.django_db


def _close_and_export(tmp_path: Path, count: int = 20) -> Path:
    """Attest ``count`` events of ``acme`` in 2015-05, close the period and
    export it to ``tmp_path/audit``; return that folder."""
    attest_period(graduated_tenant(), count)
    out = StringIO()
    call_command("statement_close", tenant="acme", period=PERIOD, stdout=out)
    printed = json.loads(out.getvalue())
    assert printed["statement"]["receipts"]["count"] == count
    audit = tmp_path / "audit"
    call_command(
        "export_bundles",
        out=str(audit),
        tenant="acme",
        period=PERIOD,
        stdout=StringIO(),
    )
    assert json.loads((audit / "statement.json").read_text()) == printed
    return audit


def _verify(audit: Path, *extra: str) -> tuple[int, str, str]:
    done = meterproof(
        "verify-statement",
        str(audit / "statement.json"),
        "--bundles",
        str(audit / "bundles"),
        "--trust",
        str(audit / "trust.json"),
        *extra,
    )
    return done.returncode, done.stdout, done.stderr


def test_close_export_verify_passes(signing_keys: TestKeys, tmp_path: Path) -> None:
    """With documented commands only, the exported statement verifies:
    exit 0, every named check passes."""
    audit = _close_and_export(tmp_path)
    names = sorted(p.name for p in (audit / "bundles").iterdir())
    assert names[0].startswith("000000000001-rcpt_")
    code, stdout, stderr = _verify(audit, "--json")
    assert code == 0, stdout + stderr
    report = json.loads(stdout)
    assert report["ok"] and report["bundles"]["valid"] == 20
    code, stdout, _ = _verify(audit, "--jobs", "2")
    assert code == 0 and stdout.endswith("OK\n")


def test_changed_missing_and_foreign_bundles_exit_1(
    signing_keys: TestKeys, tmp_path: Path
) -> None:
    """A changed amount, a missing bundle and a foreign bundle each exit 1
    with their named check."""
    audit = _close_and_export(tmp_path)
    bundles = sorted((audit / "bundles").iterdir())
    # A changed amount.
    original = bundles[0].read_text()
    changed = json.loads(original)
    changed["attestation"]["charge"]["amount_minor"] = 0
    bundles[0].write_text(json.dumps(changed))
    code, stdout, _ = _verify(audit, "--json")
    failed = {c["name"]: c["code"] for c in json.loads(stdout)["checks"] if not c["ok"]}
    assert code == 1 and failed["statement_bundles"] == "statement_bundle_invalid"
    bundles[0].write_text(original)
    # A missing bundle.
    held = bundles[4].read_text()
    bundles[4].unlink()
    code, stdout, _ = _verify(audit, "--json")
    failed = {c["name"]: c["code"] for c in json.loads(stdout)["checks"] if not c["ok"]}
    assert code == 1 and failed["statement_completeness"] == "statement_bundle_missing"
    bundles[4].write_text(held)
    # A foreign bundle: another period of the same tenant.
    attest_period(graduated_tenant(), 1, period="2015-04", prefix="apr")
    call_command("statement_close", tenant="acme", period="2015-04", stdout=StringIO())
    other = tmp_path / "april"
    call_command(
        "export_bundles",
        out=str(other),
        tenant="acme",
        period="2015-04",
        stdout=StringIO(),
    )
    for path in (other / "bundles").iterdir():
        (audit / "bundles" / f"x-{path.name}").write_text(path.read_text())
    code, stdout, _ = _verify(audit)
    assert code == 1
    assert "statement_bundle_foreign" in stdout and stdout.endswith("INVALID\n")


def test_jsonl_bundles_verify(signing_keys: TestKeys, tmp_path: Path) -> None:
    """The bundles may also come as one ``.jsonl`` file."""
    audit = _close_and_export(tmp_path, count=5)
    jsonl = tmp_path / "bundles.jsonl"
    jsonl.write_text(
        "".join(p.read_text() for p in sorted((audit / "bundles").iterdir()))
    )
    done = meterproof(
        "verify-statement",
        str(audit / "statement.json"),
        "--bundles",
        str(jsonl),
        "--trust",
        str(audit / "trust.json"),
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_unusable_input_exits_2(signing_keys: TestKeys, tmp_path: Path) -> None:
    """A missing statement file, bundle folder or trust file, or a trust
    file that is not JSON, exits 2 with one line on stderr."""
    audit = _close_and_export(tmp_path, count=2)
    cases = [
        ("nope.json", "bundles", "trust.json"),
        ("statement.json", "missing-dir", "trust.json"),
        ("statement.json", "bundles", "missing.json"),
        ("statement.json", "bundles", "statement.json"),
    ]
    for statement, bundles, trust in cases:
        done = meterproof(
            "verify-statement",
            str(audit / statement),
            "--bundles",
            str(audit / bundles),
            "--trust",
            str(audit / trust),
        )
        assert done.returncode == 2, (statement, bundles, trust, done.stdout)
        assert done.stderr.startswith("meterproof: ")


def test_statement_close_errors_are_one_line(signing_keys: TestKeys) -> None:
    """Unknown tenant, malformed or open period, closing twice: a one-line
    ``CommandError`` naming the code; nothing changes."""
    graduated_tenant()
    for tenant, period, code in [
        ("nobody", PERIOD, "unknown_tenant"),
        ("acme", "2015-5", "statement_period_invalid"),
        ("acme", "2999-01", "statement_period_open"),
    ]:
        with pytest.raises(CommandError, match=f"^{code}: "):
            call_command("statement_close", tenant=tenant, period=period)
    assert not Statement.objects.exists()
    call_command("statement_close", tenant="acme", period=PERIOD, stdout=StringIO())
    with pytest.raises(CommandError, match="^statement_period_closed: "):
        call_command("statement_close", tenant="acme", period=PERIOD)
    assert Statement.objects.count() == 1


def test_statement_close_out_writes_the_file(
    signing_keys: TestKeys, tmp_path: Path
) -> None:
    """``--out FILE`` writes the statement file and prints a summary line."""
    graduated_tenant()
    target = tmp_path / "statement.json"
    out = StringIO()
    call_command(
        "statement_close", tenant="acme", period=PERIOD, out=str(target), stdout=out
    )
    assert json.loads(target.read_text())["format"] == "vdi-billing-statement/1"
    assert out.getvalue().startswith("closed acme/2015-05: statement stmt_")
