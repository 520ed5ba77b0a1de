"""Issue 12's done-when, end to end: a tenant's bundle in period P; P is
closed; the tenant disputes the bundle by API; staff review it and decide
it won; the credit note nets into the next open period P+1; P+1 is closed,
exported and verified offline with ``meterproof verify-statement`` (which
lists the credit); a missing or changed credit-note file fails the named
check; the staff audit trail holds every step and verifies.

Closing needs the period's month to have ended, so the events are in a past
month (2015-05, as the other statement tests) and the staff decision is
given the clock of a day in 2015-06 (P+1), the month the credit nets into.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from audittrail.models import AuditRecord
from billing.models import Bundle, CreditNote, Dispute, Statement
from billing.protocol.cli import main
from billing.services.disputes import dispute_decide, dispute_review_start
from tests.billing.support import tenant_client
from tests.billing.support_statements import PERIOD, attest_period, graduated_tenant
from tests.support.cli import meterproof
from tests.support.keys import TestKeys

pytestmark = pytest.mark.django_db

NEXT_PERIOD = "2015-06"
#: The staff decision's clock: P (2015-05) is closed, P+1 (2015-06) open.
DECIDED_AT = datetime(2015, 6, 20, 15, 0, tzinfo=UTC)


def _verify(audit: Path, capsys: Any) -> tuple[int, dict[str, Any]]:
    """Run the CLI's ``main()`` on the export with ``--json``; return the
    exit code and the report."""
    capsys.readouterr()
    code = main(
        [
            "verify-statement",
            str(audit / "statement.json"),
            "--bundles",
            str(audit / "bundles"),
            "--trust",
            str(audit / "trust.json"),
            "--json",
        ]
    )
    return code, json.loads(capsys.readouterr().out)


def _failed(report: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["code"] for c in report["checks"] if not c["ok"]}


def test_won_dispute_credit_nets_into_the_next_statement(
    signing_keys: TestKeys, tmp_path: Path, capsys: Any
) -> None:
    """Dispute → credit note → next period's statement, verified offline;
    tampering with the credit fails ``statement_credit_notes``; the audit
    trail holds every step and ``audit_verify`` exits 0."""
    tenant = graduated_tenant()
    attest_period(tenant, 3)
    bundle = Bundle.objects.filter(tenant=tenant).order_by("sequence_number").first()
    assert bundle is not None and bundle.amount_minor > 0
    call_command("statement_close", tenant="acme", period=PERIOD, stdout=StringIO())

    # The tenant disputes the bundle by API.
    client = tenant_client("acme")
    response = client.post(
        "/api/vdi/billing/disputes",
        {"receipt_id": bundle.receipt_id, "reason": "duplicate"},
        format="json",
    )
    assert response.status_code == 201, response.content
    dispute = Dispute.objects.get(dispute_id=response.json()["dispute_id"])

    # Staff review it and decide it won: the credit note of the whole
    # charge nets into the next open period (P is closed).
    staff = get_user_model().objects.create_user(
        "reviewer", password="x", is_staff=True
    )
    dispute_review_start(dispute=dispute, actor=staff, now=DECIDED_AT)
    dispute = dispute_decide(
        dispute=dispute,
        outcome="won",
        note="charged twice",
        actor=staff,
        now=DECIDED_AT,
    )
    credit = CreditNote.objects.get(credit_note_id=dispute.credit_note_id)
    assert credit.period == NEXT_PERIOD
    assert credit.amount_minor == -bundle.amount_minor
    assert credit.reason_code == "dispute"
    closed_p = Statement.objects.get(tenant=tenant, period=PERIOD)
    assert json.loads(closed_p.document)["credit_notes"] == []

    # P+1 is closed: its statement lists the credit and nets it.
    call_command(
        "statement_close", tenant="acme", period=NEXT_PERIOD, stdout=StringIO()
    )
    statement = Statement.objects.get(tenant=tenant, period=NEXT_PERIOD)
    signed = json.loads(statement.document)
    assert signed["credit_notes"] == [
        {
            "credit_note_id": credit.credit_note_id,
            "leaf_hash": credit.leaf_hash,
            "amount_minor": credit.amount_minor,
        }
    ]
    assert statement.amount_minor == credit.amount_minor  # no bundles in P+1

    audit = tmp_path / "audit"
    call_command(
        "export_bundles",
        out=str(audit),
        tenant="acme",
        period=NEXT_PERIOD,
        stdout=StringIO(),
    )
    note_file = audit / "bundles" / "credit_notes" / f"{credit.credit_note_id}.json"
    assert "log" in json.loads(note_file.read_text())

    # meterproof verify-statement passes and lists the credit.
    code, report = _verify(audit, capsys)
    assert code == 0, report
    assert report["credit_notes"] == [{**signed["credit_notes"][0], "given": True}]
    done = meterproof(
        "verify-statement",
        str(audit / "statement.json"),
        "--bundles",
        str(audit / "bundles"),
        "--trust",
        str(audit / "trust.json"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"credit note {credit.credit_note_id}" in done.stdout
    assert done.stdout.endswith("OK\n")

    # Without the credit-note file: the missing credit is named.
    original = note_file.read_text()
    note_file.unlink()
    code, report = _verify(audit, capsys)
    assert code == 1
    assert _failed(report) == {
        "statement_credit_notes": "statement_credit_note_missing"
    }
    check = next(c for c in report["checks"] if c["name"] == "statement_credit_notes")
    assert credit.credit_note_id in check["message"]

    # With its amount changed: the credit note fails verification.
    changed = json.loads(original)
    changed["credit_note"]["amount_minor"] += 1
    note_file.write_text(json.dumps(changed))
    code, report = _verify(audit, capsys)
    assert code == 1
    assert _failed(report) == {
        "statement_credit_notes": "statement_credit_note_invalid"
    }
    note_file.write_text(original)
    assert _verify(audit, capsys)[0] == 0

    # The staff audit trail holds every step, with its actor, and verifies.
    records = {
        (r.action, r.object_id): r.actor
        for r in AuditRecord.objects.filter(
            action__in=[
                "dispute.open",
                "dispute.review_start",
                "dispute.decide_won",
                "credit_note.issue",
                "statement.close",
            ]
        )
    }
    assert records == {
        ("dispute.open", dispute.dispute_id): "tenant:acme",
        ("dispute.review_start", dispute.dispute_id): "reviewer",
        ("dispute.decide_won", dispute.dispute_id): "reviewer",
        ("credit_note.issue", credit.credit_note_id): "reviewer",
        ("statement.close", closed_p.statement_id): "system:statement_close",
        ("statement.close", statement.statement_id): "system:statement_close",
    }
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "valid" in out.getvalue()
