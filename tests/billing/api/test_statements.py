"""``GET /api/vdi/billing/statements`` and ``.../statements/<id>`` (``.json``,
``.csv``, ``.html``, ``/bundles.csv``): the tenant's own statements only."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import ApiKey, Tenant
from billing.protocol.statement import statement_id_for
from billing.services.statements import statement_close
from billing.services.tenants import api_key_issue
from tests.billing.support import tenant_client
from tests.billing.support_statements import (
    CLOSED_AT,
    PERIOD,
    attest_period,
    graduated_tenant,
    verify,
)
from tests.support.keys import TestKeys

STATEMENTS = "/api/vdi/billing/statements"
pytestmark = pytest.mark.django_db


def _client(tenant: Tenant) -> APIClient:
    client = APIClient()
    issued = api_key_issue(tenant=tenant)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    return client


@pytest.fixture
def acme(signing_keys: TestKeys) -> tuple[Tenant, APIClient]:
    """Tenant ``acme`` with closed statements for 2015-03, 2015-04 and
    2015-05 (5 events in May) and an API client."""
    tenant = graduated_tenant()
    attest_period(tenant, 5, quantity=2)
    for months, period in enumerate(["2015-03", "2015-04", PERIOD]):
        statement_close(
            tenant=tenant, period=period, now=CLOSED_AT + timedelta(hours=months)
        )
    return tenant, _client(tenant)


def test_list_is_newest_first_with_a_cursor(acme: Any) -> None:
    """The list pages by ``limit`` newest first; ``next_cursor`` continues."""
    _, client = acme
    first = client.get(STATEMENTS, {"limit": 2})
    assert first.status_code == 200, first.content
    body = first.json()
    assert [item["period"] for item in body["data"]] == [PERIOD, "2015-04"]
    assert body["has_more"] is True
    item = body["data"][0]
    assert item["statement_id"] == statement_id_for("acme", PERIOD)
    assert item["amount_minor"] == 35 and item["currency"] == "USD"
    assert item["receipts_count"] == 5
    assert item["url"].endswith(f"{STATEMENTS}/{item['statement_id']}")
    rest = client.get(STATEMENTS, {"limit": 2, "cursor": body["next_cursor"]}).json()
    assert [i["period"] for i in rest["data"]] == ["2015-03"]
    assert rest["has_more"] is False and rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [({"limit": "0"}, "limit"), ({"cursor": "x"}, "cursor"), ({"q": "1"}, "q")],
)
def test_list_bad_parameters_are_400(acme: Any, query: Any, field: str) -> None:
    """A bad parameter answers 400 naming it."""
    _, client = acme
    response = client.get(STATEMENTS, query)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_other_tenants_see_nothing(acme: Any) -> None:
    """Another tenant lists no statement and gets 404 for acme's."""
    client = tenant_client("globex")
    assert client.get(STATEMENTS).json()["data"] == []
    sid = statement_id_for("acme", PERIOD)
    response = client.get(f"{STATEMENTS}/{sid}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "statement_not_found"


def test_unauthenticated_is_401(acme: Any) -> None:
    """Without an API key the list answers 401."""
    assert APIClient().get(STATEMENTS).status_code == 401


@pytest.mark.parametrize(
    "statement_id",
    ["stmt_", "stmt_ABCDEF0123456789abcdef01", "rcpt_0123456789abcdef01234567", "x"],
)
def test_ids_outside_the_grammar_are_404(acme: Any, statement_id: str) -> None:
    """An id that is not ``stmt_`` + 24 lowercase hex answers 404."""
    _, client = acme
    for suffix in ("", ".json", ".csv", ".html", "/bundles.csv"):
        response = client.get(f"{STATEMENTS}/{statement_id}{suffix}")
        assert response.status_code == 404, (statement_id, suffix)
        assert response.json()["error"]["code"] == "statement_not_found"


def test_json_is_the_statement_file_and_verifies(acme: Any) -> None:
    """``.json`` (and no suffix) answer the statement file with its log
    evidence; it verifies against the tenant's bundles."""
    tenant, client = acme
    sid = statement_id_for("acme", PERIOD)
    document = client.get(f"{STATEMENTS}/{sid}.json").json()
    assert client.get(f"{STATEMENTS}/{sid}").json() == document
    assert document["format"] == "vdi-billing-statement/1"
    assert document["statement"]["statement_id"] == sid
    assert "log" in document
    bundles = [
        (row["receipt_id"], client.get(row["url"]).json())
        for row in client.get("/api/vdi/billing/bundles").json()["data"]
    ]
    assert verify(document, bundles).ok


def test_csv_lists_the_lines(acme: Any) -> None:
    """``.csv``: a header and one row per line."""
    _, client = acme
    sid = statement_id_for("acme", PERIOD)
    response = client.get(f"{STATEMENTS}/{sid}.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "metric",
        "tariff_id",
        "tariff_version",
        "tariff_hash",
        "events",
        "quantity",
        "amount_minor",
        "events_amount_minor",
    ]
    assert rows[1][:3] == ["api_requests", "api-requests-graduated", "1"]
    assert rows[1][4:] == ["5", "10", "35", "35"]


def test_bundles_csv_lists_every_bundle_in_number_order(acme: Any) -> None:
    """``/bundles.csv``: number, receipt_id, metric, quantity, amount_minor,
    leaf_hash, numbers 1..N."""
    _, client = acme
    sid = statement_id_for("acme", PERIOD)
    response = client.get(f"{STATEMENTS}/{sid}/bundles.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "number",
        "receipt_id",
        "metric",
        "quantity",
        "amount_minor",
        "leaf_hash",
    ]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4", "5"]
    assert all(r[1].startswith("rcpt_") and len(r[5]) == 64 for r in rows[1:])


def test_html_is_a_printable_page(acme: Any) -> None:
    """``.html``: a self-contained page with the lines and the total."""
    _, client = acme
    sid = statement_id_for("acme", PERIOD)
    response = client.get(f"{STATEMENTS}/{sid}.html", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert sid in page and "0.35 USD" in page and "api-requests-graduated" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_revoked_key_is_refused(acme: Any) -> None:
    """A revoked API key answers 401."""
    tenant, client = acme
    ApiKey.objects.filter(tenant=tenant).update(revoked_at=CLOSED_AT)
    assert client.get(STATEMENTS).status_code == 401
