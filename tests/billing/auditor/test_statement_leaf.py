"""A statement is a leaf of the transparency log like a bundle: the auditor
UI, the log admin and the monitor take it in their stride."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import Statement
from billing.services.statements import statement_close
from tests.billing.support_statements import (
    CLOSED_AT,
    PERIOD,
    attest_period,
    graduated_tenant,
)
from transparency.models import LogEntry
from transparency.services.auditors import auditor_account_create
from transparency.services.monitor import monitor_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def statement(signing_keys: Any) -> Statement:
    """A closed period of 3 events: 3 bundle leaves, then the statement."""
    tenant = graduated_tenant()
    attest_period(tenant, 3)
    return statement_close(tenant=tenant, period=PERIOD, now=CLOSED_AT)


def test_auditor_pages_show_the_statement_leaf(statement: Statement) -> None:
    """The entries list and the statement leaf's page answer 200; the page
    verifies the leaf against the log and says no bundle is stored for it."""
    user, _ = auditor_account_create(username="alice")
    client = Client()
    client.force_login(user)
    index = LogEntry.objects.get(leaf_hash=statement.leaf_hash).leaf_index
    assert client.get(reverse("audit:entries")).status_code == 200
    response = client.get(reverse("audit:entry", args=[index]))
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    assert "Verified: the entry is in the log" in body
    assert "no bundle is stored for this leaf" in body
    assert statement.statement_id in body


def test_log_admin_names_the_statement(
    statement: Statement, admin_client: Client
) -> None:
    """The log-entry admin lists the statement leaf and names its statement."""
    entry = LogEntry.objects.get(leaf_hash=statement.leaf_hash)
    listing = admin_client.get(reverse("admin:transparency_logentry_changelist"))
    assert listing.status_code == 200
    assert statement.statement_id in listing.content.decode()
    page = admin_client.get(
        reverse("admin:transparency_logentry_change", args=[entry.pk])
    )
    assert page.status_code == 200


def test_statement_admin_is_read_only_with_a_printable_page(
    statement: Statement, admin_client: Client
) -> None:
    """The statement admin shows the row and its HTML page; it cannot add,
    change or delete."""
    change = reverse("admin:billing_statement_change", args=[statement.pk])
    assert admin_client.get(change).status_code == 200
    page = admin_client.get(
        reverse("admin:billing_statement_html", args=[statement.pk])
    )
    assert page.status_code == 200 and statement.statement_id in page.content.decode()
    assert admin_client.get(reverse("admin:billing_statement_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:billing_statement_delete", args=[statement.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert Statement.objects.filter(pk=statement.pk).exists()


def test_monitor_checks_a_log_with_a_statement_leaf(statement: Statement) -> None:
    """The log monitor recomputes every leaf, the statement's included."""
    run = monitor_run()
    assert run.result.ok, run.result
    assert run.result.entries_checked == LogEntry.objects.count() == 4


def test_tenant_admin_action_closes_the_previous_month(
    signing_keys: Any, admin_client: Client
) -> None:
    """The tenant action closes last month and reports the statement; a
    second run reports the refusal and changes nothing."""
    tenant = graduated_tenant()
    url = reverse("admin:billing_tenant_changelist")
    data = {"action": "tenants_close_previous_period", "_selected_action": [tenant.pk]}
    first = admin_client.post(url, data, follow=True)
    assert "statement stmt_" in first.content.decode()
    assert Statement.objects.count() == 1
    again = admin_client.post(url, data, follow=True)
    assert "statement_period_closed" in html.unescape(again.content.decode())
    assert Statement.objects.count() == 1
