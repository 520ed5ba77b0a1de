"""A statement's credit notes over the API: ``.../statements/<id>/credit-notes``
(JSON, ``.json``, ``.csv``) and the printable ``.html`` show one credit line
per note (id, original receipt id, reason, amount); the statement file
lists them; another tenant's statement is a 404."""

from __future__ import annotations

import csv
import html
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from billing.models import Bundle, CreditNote
from billing.protocol.statement import statement_id_for
from billing.services.credit_notes import credit_note_issue
from billing.services.statements import statement_close
from tests.billing.support import tenant_client
from tests.billing.support_statements import (
    CLOSED_AT,
    PERIOD,
    attest_period,
    graduated_tenant,
)
from tests.support.keys import TestKeys

STATEMENTS = "/api/vdi/billing/statements"
pytestmark = pytest.mark.django_db


@pytest.fixture
def credited(signing_keys: TestKeys) -> tuple[CreditNote, Bundle, str]:
    """``acme``'s 2015-05: 3 events, one credit note (reason correction) of
    2 minor units issued while it is open, then closed; returns the credit
    note, its bundle and the statement id."""
    tenant = graduated_tenant()
    attest_period(tenant, 3)
    bundle = Bundle.objects.filter(tenant=tenant).order_by("sequence_number").first()
    assert bundle is not None
    note = credit_note_issue(
        bundle=bundle,
        amount_minor=-2,
        reason_code="correction",
        reason_text="rate applied twice",
        now=datetime(2015, 6, 3, tzinfo=UTC),
    )
    statement_close(tenant=tenant, period=PERIOD, now=CLOSED_AT)
    return note, bundle, statement_id_for("acme", PERIOD)


def test_json_lists_each_credit_note(credited: Any) -> None:
    """JSON (with or without ``.json``): id, original receipt id, reason,
    amount, leaf hash and the credit-note file's URL."""
    note, bundle, sid = credited
    client = tenant_client("acme")
    response = client.get(f"{STATEMENTS}/{sid}/credit-notes")
    assert response.status_code == 200, response.content
    body = response.json()
    assert client.get(f"{STATEMENTS}/{sid}/credit-notes.json").json() == body
    assert body["statement_id"] == sid and body["currency"] == bundle.currency
    (item,) = body["credit_notes"]
    assert {k: v for k, v in item.items() if k != "url"} == {
        "credit_note_id": note.credit_note_id,
        "receipt_id": bundle.receipt_id,
        "reason_code": "correction",
        "reason_text": "rate applied twice",
        "amount_minor": -2,
        "leaf_hash": note.leaf_hash,
    }
    fetched = client.get(item["url"])
    assert fetched.status_code == 200
    assert fetched.json()["credit_note"]["credit_note_id"] == note.credit_note_id
    signed = client.get(f"{STATEMENTS}/{sid}.json").json()["statement"]
    assert [n["credit_note_id"] for n in signed["credit_notes"]] == [
        note.credit_note_id
    ]


def test_csv_has_a_row_per_credit_note(credited: Any) -> None:
    """``.csv``: the header and one row per credit note."""
    note, bundle, sid = credited
    response = tenant_client("acme").get(f"{STATEMENTS}/{sid}/credit-notes.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        [
            "credit_note_id",
            "receipt_id",
            "reason_code",
            "reason_text",
            "amount_minor",
            "leaf_hash",
        ],
        [
            note.credit_note_id,
            bundle.receipt_id,
            "correction",
            "rate applied twice",
            "-2",
            note.leaf_hash,
        ],
    ]


def test_html_shows_the_credit_line(credited: Any) -> None:
    """The printable page has the credit line: id, original receipt id and
    reason."""
    note, bundle, sid = credited
    page = html.unescape(
        tenant_client("acme").get(f"{STATEMENTS}/{sid}.html").content.decode()
    )
    assert note.credit_note_id in page and bundle.receipt_id in page
    assert "correction: rate applied twice" in page


def test_another_tenants_statement_is_404(credited: Any) -> None:
    """Another tenant gets 404 ``statement_not_found``, JSON and CSV."""
    _, _, sid = credited
    client = tenant_client("other")
    for suffix in ("", ".json", ".csv"):
        response = client.get(f"{STATEMENTS}/{sid}/credit-notes{suffix}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "statement_not_found"
