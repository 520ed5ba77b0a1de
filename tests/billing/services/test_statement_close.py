"""``statement_close``: a closed period's signed, logged statement (lines
priced once over the period, design D1); refusals that change nothing; the
beat job that closes due periods."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from billing.errors import (
    StatementCurrencyMixed,
    StatementImmutable,
    StatementPeriodClosed,
    StatementPeriodInvalid,
    StatementPeriodOpen,
    UnknownTenant,
)
from billing.models import BillingPeriod, Statement
from billing.protocol.statement import EMPTY_RECEIPTS_ROOT, statement_id_for
from billing.services.attest import meter_events_attest
from billing.services.statements import statement_close, statements_close_due
from tests.billing.factories import TariffFactory, TariffVersionFactory, TenantFactory
from tests.billing.support_statements import (
    ATTESTED_AT,
    CLOSED_AT,
    PERIOD,
    attest_period,
    graduated_tenant,
    period_inputs,
    verify,
)
from tests.support.keys import TestKeys
from transparency.models import LogEntry, QueuedEntry

pytestmark = pytest.mark.django_db


def test_graduated_example(signing_keys: TestKeys) -> None:
    """Issue 12's example: 5,000 events of quantity 1 under the graduated
    tiers are one line of 8,083 minor units (the tariff applied once to
    5,000 and rounded once), events_amount_minor 20,000 (5,000 x 4 alone);
    the statement verifies offline against the 5,000 bundles."""
    tenant = graduated_tenant()
    attest_period(tenant, 5000)
    statement = statement_close(tenant=tenant, period=PERIOD, now=CLOSED_AT)
    signed = json.loads(statement.document)
    assert signed["lines"] == [
        {
            "metric": "api_requests",
            "tariff_id": "api-requests-graduated",
            "tariff_version": 1,
            "tariff_hash": signed["lines"][0]["tariff_hash"],
            "events": 5000,
            "quantity": 5000,
            "amount_minor": 8083,
            "events_amount_minor": 20000,
        }
    ]
    assert signed["amount_minor"] == statement.amount_minor == 8083
    assert signed["receipts"]["count"] == statement.receipts_count == 5000
    document, bundles = period_inputs(statement)
    report = verify(document, bundles)
    assert report.ok, report.to_json()


def test_statement_is_signed_logged_and_closes_the_period(
    signing_keys: TestKeys,
) -> None:
    """The stored statement is the issuer-signed document; its leaf is
    sequenced; the period row is closed at the statement's ``closed_at``;
    the statement's log evidence verifies (``statement_log``)."""
    tenant = graduated_tenant()
    attest_period(tenant, 3)
    statement = statement_close(tenant=tenant, period=PERIOD, now=CLOSED_AT)
    assert statement.statement_id == statement_id_for("acme", PERIOD)
    assert LogEntry.objects.filter(leaf_hash=statement.leaf_hash).exists()
    assert not QueuedEntry.objects.exists()
    period = BillingPeriod.objects.get(tenant=tenant, period=PERIOD)
    assert period.closed_at == CLOSED_AT == statement.closed_at
    document, bundles = period_inputs(statement)
    assert document["log"]["leaf_hash"] == statement.leaf_hash
    report = verify(document, bundles)
    assert {c.name: c.status for c in report.checks}["statement_log"] == "pass"


def test_attest_after_close_is_refused(signing_keys: TestKeys) -> None:
    """Once closed, the period refuses new events (``period_closed``): no
    number above N is ever issued."""
    tenant = graduated_tenant()
    attest_period(tenant, 2)
    statement_close(tenant=tenant, period=PERIOD, now=CLOSED_AT)
    outcomes = meter_events_attest(
        payloads=[
            {
                "tenant": "acme",
                "event_id": "late",
                "window": PERIOD,
                "metric": "api_requests",
                "quantity": 1,
                "occurred_at": f"{PERIOD}-30T10:00:00Z",
                "attributes": {},
            }
        ],
        tenant=tenant,
        backfill=True,
        prove=False,
        now=ATTESTED_AT,
    )
    assert outcomes[0].status == "rejected"
    assert outcomes[0].error.code == "period_closed"  # type: ignore[union-attr]


def test_closing_twice_is_refused_and_changes_nothing(signing_keys: TestKeys) -> None:
    """A second close answers ``statement_period_closed``; the statement, the
    period row and the log are unchanged."""
    tenant = graduated_tenant()
    attest_period(tenant, 2)
    first = statement_close(tenant=tenant, period=PERIOD, now=CLOSED_AT)
    entries = LogEntry.objects.count()
    with pytest.raises(StatementPeriodClosed) as caught:
        statement_close(tenant=tenant, period=PERIOD, now=CLOSED_AT + timedelta(days=1))
    assert caught.value.code == "statement_period_closed"
    assert list(Statement.objects.values_list("pk", "document")) == [
        (first.pk, first.document)
    ]
    assert BillingPeriod.objects.get(tenant=tenant).closed_at == CLOSED_AT
    assert LogEntry.objects.count() == entries


def test_unknown_tenant_is_refused(signing_keys: TestKeys) -> None:
    """An unknown slug answers ``unknown_tenant``; nothing is stored."""
    with pytest.raises(UnknownTenant):
        statement_close(tenant="nobody", period=PERIOD, now=CLOSED_AT)
    assert not BillingPeriod.objects.exists()


@pytest.mark.parametrize("period", ["2015-13", "2015-5", "", "2015-05-01"])
def test_malformed_period_is_refused(signing_keys: TestKeys, period: str) -> None:
    """A period that is not ``YYYY-MM`` answers ``statement_period_invalid``."""
    graduated_tenant()
    with pytest.raises(StatementPeriodInvalid):
        statement_close(tenant="acme", period=period, now=CLOSED_AT)
    assert not Statement.objects.exists()


def test_open_period_is_refused(signing_keys: TestKeys) -> None:
    """A month that has not ended (UTC) answers ``statement_period_open``;
    it stays open."""
    tenant = graduated_tenant()
    attest_period(tenant, 1)
    with pytest.raises(StatementPeriodOpen):
        statement_close(
            tenant=tenant, period=PERIOD, now=datetime(2015, 5, 31, 23, 59, tzinfo=UTC)
        )
    assert BillingPeriod.objects.get(tenant=tenant).closed_at is None
    assert not Statement.objects.exists()


def test_mixed_currencies_are_refused(signing_keys: TestKeys) -> None:
    """Bundles in two currencies answer ``statement_currency_mixed``; the
    period stays open."""
    tenant = graduated_tenant()
    eur = TariffFactory(tariff_id="storage-eur", metric="storage_gb", currency="EUR")
    TariffVersionFactory(tariff=eur, version=1, published=True)
    TenantFactory(slug="acme", subscribe=eur)
    attest_period(tenant, 1)
    attest_period(tenant, 1, metric="storage_gb", prefix="gb")
    with pytest.raises(StatementCurrencyMixed):
        statement_close(tenant=tenant, period=PERIOD, now=CLOSED_AT)
    assert BillingPeriod.objects.get(tenant=tenant).closed_at is None
    assert not Statement.objects.exists()


def test_two_metrics_make_two_lines(signing_keys: TestKeys) -> None:
    """One line per (metric, tariff version), sorted by metric; the total is
    their sum."""
    tenant = graduated_tenant()
    gb = TariffFactory(tariff_id="storage", metric="storage_gb", currency="USD")
    TariffVersionFactory(tariff=gb, version=1, published=True)
    TenantFactory(slug="acme", subscribe=gb)
    attest_period(tenant, 4, quantity=3)
    attest_period(tenant, 2, metric="storage_gb", prefix="gb", quantity=5)
    statement = statement_close(tenant=tenant, period=PERIOD, now=CLOSED_AT)
    lines = json.loads(statement.document)["lines"]
    assert [(x["metric"], x["events"], x["quantity"]) for x in lines] == [
        ("api_requests", 4, 12),
        ("storage_gb", 2, 10),
    ]
    assert statement.amount_minor == sum(x["amount_minor"] for x in lines) == 42 + 20
    document, bundles = period_inputs(statement)
    assert verify(document, bundles).ok


def test_empty_period_has_no_lines(signing_keys: TestKeys) -> None:
    """A period without events closes to N = 0, the empty root, no lines,
    amount 0 in the subscribed tariff's currency, and verifies with no
    bundle."""
    graduated_tenant()
    statement = statement_close(tenant="acme", period=PERIOD, now=CLOSED_AT)
    signed = json.loads(statement.document)
    assert signed["lines"] == [] and signed["amount_minor"] == 0
    assert signed["receipts"] == {"count": 0, "root": EMPTY_RECEIPTS_ROOT.hex()}
    assert signed["currency"] == "USD"
    document, bundles = period_inputs(statement)
    assert bundles == []
    assert verify(document, bundles).ok


def test_statement_row_is_never_edited(signing_keys: TestKeys) -> None:
    """Saving an issued statement raises ``statement_immutable``."""
    graduated_tenant()
    statement = statement_close(tenant="acme", period=PERIOD, now=CLOSED_AT)
    statement.amount_minor = 1
    with pytest.raises(StatementImmutable):
        statement.save()
    assert Statement.objects.get().amount_minor == 0


def test_beat_job_closes_periods_past_the_grace_days(
    signing_keys: TestKeys, settings: object
) -> None:
    """``statements_close_due`` closes a period once its month ended more
    than ``MP_STATEMENT_CLOSE_GRACE_DAYS`` ago, once; later periods wait."""
    tenant = graduated_tenant()
    attest_period(tenant, 1)
    attest_period(tenant, 1, period="2015-06", prefix="jun")
    grace = 35
    assert settings.MP_STATEMENT_CLOSE_GRACE_DAYS == grace  # type: ignore[attr-defined]
    before = datetime(2015, 6, 1, tzinfo=UTC) + timedelta(days=grace - 1)
    assert statements_close_due(now=before) == []
    after = datetime(2015, 6, 1, tzinfo=UTC) + timedelta(days=grace, hours=1)
    assert statements_close_due(now=after) == [statement_id_for("acme", PERIOD)]
    assert statements_close_due(now=after) == []
    assert list(Statement.objects.values_list("period", flat=True)) == [PERIOD]
