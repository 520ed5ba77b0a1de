"""``GET /api/vdi/billing/usage``: the tenant's usage of one metric summed per
hour, day or billing window; expected sums are computed here from the events
the test attests (the default tariff charges 2 minor units per unit)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import Bundle
from tests.billing.factories import (
    BundleFactory,
    SubscriptionFactory,
    TariffFactory,
    TariffVersionFactory,
)
from tests.billing.support import TenantSetup, tenant_client

USAGE = "/api/vdi/billing/usage"
#: The default tariff's unit price (per_unit, ``unit_amount_decimal`` "2").
UNIT_PRICE_MINOR = 2
pytestmark = pytest.mark.django_db


def _at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _attest(setup: TenantSetup, events: list[tuple[str, int]]) -> list[Bundle]:
    """Attest ``(occurred_at, quantity)`` events for the tenant; return the
    bundles."""
    return [
        BundleFactory(tenant=setup.tenant, occurred_at=at, quantity=quantity)
        for at, quantity in events
    ]


def _expected(
    events: list[tuple[str, int]],
    *,
    start: str,
    end: str,
    bucket: Any,
) -> list[dict[str, Any]]:
    """Group the in-range events by ``bucket(occurred_at) -> (start, end)``
    and sum them, independently of the code under test."""
    low, high = _at(start), _at(end)
    sums: dict[tuple[datetime, datetime], list[int]] = defaultdict(lambda: [0, 0, 0])
    for at, quantity in events:
        moment = _at(at)
        if low <= moment < high:
            group_start, group_end = bucket(moment)
            key = (max(group_start, low), min(group_end, high))
            sums[key][0] += quantity
            sums[key][1] += quantity * UNIT_PRICE_MINOR
            sums[key][2] += 1
    return [
        {
            "start": _z(s),
            "end": _z(e),
            "quantity": q,
            "amount_minor": a,
            "events": n,
            # No credit note in these tests: the net is the amount.
            "credit_amount_minor": 0,
            "net_amount_minor": a,
        }
        for (s, e), (q, a, n) in sorted(sums.items())
    ]


def _get(setup: TenantSetup, **params: str) -> Any:
    return setup.client.get(USAGE, params)


def _data_without_window(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in g.items() if k != "window"} for g in body["data"]]


def test_group_by_day_sums_and_day_boundaries(tenant_setup: TenantSetup) -> None:
    """Each event counts in the UTC day of its occurred_at: one at exactly
    00:00:00 opens its day, one at 23:59:59 closes the previous one; ``to``
    is exclusive and ``from`` inclusive."""
    events = [
        ("2015-05-16T00:00:00Z", 4),  # == from: included
        ("2015-05-16T23:59:59Z", 5),
        ("2015-05-17T00:00:00Z", 7),  # day boundary: day 17
        ("2015-05-17T12:30:00Z", 11),
        ("2015-05-19T08:00:00Z", 13),  # day 18 has no event: omitted
        ("2015-05-20T00:00:00Z", 17),  # == to: excluded
        ("2015-05-15T23:59:59Z", 19),  # before from: excluded
    ]
    bundles = _attest(tenant_setup, events)
    assert all(
        b.amount_minor == b.meter_event.quantity * UNIT_PRICE_MINOR for b in bundles
    )
    start, end = "2015-05-16T00:00:00Z", "2015-05-20T00:00:00Z"
    response = _get(
        tenant_setup,
        metric="api_requests",
        group_by="day",
        **{"from": start, "to": end},
    )
    assert response.status_code == 200, response.content
    body = response.json()

    def day(moment: datetime) -> tuple[datetime, datetime]:
        first = moment.replace(hour=0, minute=0, second=0)
        return first, first + timedelta(days=1)

    expected = _expected(events, start=start, end=end, bucket=day)
    assert body["data"] == expected
    assert [g["start"] for g in body["data"]] == [
        "2015-05-16T00:00:00Z",
        "2015-05-17T00:00:00Z",
        "2015-05-19T00:00:00Z",
    ]
    assert body["total"] == {
        "quantity": 4 + 5 + 7 + 11 + 13,
        "amount_minor": (4 + 5 + 7 + 11 + 13) * UNIT_PRICE_MINOR,
        "events": 5,
        "credit_amount_minor": 0,
        "net_amount_minor": (4 + 5 + 7 + 11 + 13) * UNIT_PRICE_MINOR,
    }
    assert body["metric"] == "api_requests"
    assert body["group_by"] == "day"
    assert (body["from"], body["to"]) == (start, end)
    assert body["currency"] == "USD"


def test_group_by_hour_boundaries_and_clipped_first_group(
    tenant_setup: TenantSetup,
) -> None:
    """Hours are UTC clock hours; an event at exactly HH:00:00 opens its hour;
    a ``from`` inside an hour clips that group's start to ``from``."""
    events = [
        ("2015-05-17T09:59:59Z", 1),  # before from
        ("2015-05-17T10:15:00Z", 2),  # == from
        ("2015-05-17T10:59:59Z", 3),
        ("2015-05-17T11:00:00Z", 5),  # hour boundary: hour 11
        ("2015-05-17T13:45:00Z", 8),
    ]
    _attest(tenant_setup, events)
    start, end = "2015-05-17T10:15:00Z", "2015-05-17T13:45:00Z"
    body = _get(
        tenant_setup,
        metric="api_requests",
        group_by="hour",
        **{"from": start, "to": end},
    ).json()

    def hour(moment: datetime) -> tuple[datetime, datetime]:
        first = moment.replace(minute=0, second=0)
        return first, first + timedelta(hours=1)

    assert body["data"] == _expected(events, start=start, end=end, bucket=hour)
    assert body["data"][0]["start"] == start
    assert [g["quantity"] for g in body["data"]] == [2 + 3, 5]
    assert body["total"]["events"] == 3


def test_group_by_window_month_boundary(tenant_setup: TenantSetup) -> None:
    """``group_by=window`` groups by billing window YYYY-MM: an event at
    exactly 00:00:00 on the 1st belongs to the new month; groups are the
    months clipped to the range and name their window."""
    events = [
        ("2015-04-20T08:00:00Z", 3),
        ("2015-04-30T23:59:59Z", 4),
        ("2015-05-01T00:00:00Z", 6),  # month boundary: window 2015-05
        ("2015-05-31T23:59:59Z", 10),
    ]
    _attest(tenant_setup, events)
    start, end = "2015-04-15T00:00:00Z", "2015-06-01T00:00:00Z"
    body = _get(
        tenant_setup,
        metric="api_requests",
        group_by="window",
        **{"from": start, "to": end},
    ).json()

    def month(moment: datetime) -> tuple[datetime, datetime]:
        first = moment.replace(day=1, hour=0, minute=0, second=0)
        return first, (first + timedelta(days=32)).replace(day=1)

    assert _data_without_window(body) == _expected(
        events, start=start, end=end, bucket=month
    )
    assert [g["window"] for g in body["data"]] == ["2015-04", "2015-05"]
    assert [(g["start"], g["end"]) for g in body["data"]] == [
        ("2015-04-15T00:00:00Z", "2015-05-01T00:00:00Z"),
        ("2015-05-01T00:00:00Z", "2015-06-01T00:00:00Z"),
    ]
    assert body["total"]["amount_minor"] == 23 * UNIT_PRICE_MINOR


def test_other_tenants_events_are_not_counted(tenant_setup: TenantSetup) -> None:
    """A tenant sees only its own events; another tenant's key sees only its
    own usage over the same range."""
    _attest(tenant_setup, [("2015-05-17T10:00:00Z", 3)])
    other = BundleFactory(occurred_at="2015-05-17T10:30:00Z", quantity=40)
    params = {
        "metric": "api_requests",
        "group_by": "day",
        "from": "2015-05-01T00:00:00Z",
        "to": "2015-06-01T00:00:00Z",
    }
    mine = tenant_setup.client.get(USAGE, params).json()
    assert mine["total"] == {
        "quantity": 3,
        "amount_minor": 6,
        "events": 1,
        "credit_amount_minor": 0,
        "net_amount_minor": 6,
    }
    theirs = tenant_client(other.tenant.slug).get(USAGE, params).json()
    assert theirs["total"] == {
        "quantity": 40,
        "amount_minor": 80,
        "events": 1,
        "credit_amount_minor": 0,
        "net_amount_minor": 80,
    }


def test_empty_range_answers_no_groups(tenant_setup: TenantSetup) -> None:
    """No event in range (or an unknown metric): 200, no groups, zero totals,
    no currency."""
    _attest(tenant_setup, [("2015-05-17T10:00:00Z", 3)])
    for metric, start in (
        ("api_requests", "2015-06-01T00:00:00Z"),
        ("storage_bytes", "2015-05-01T00:00:00Z"),
    ):
        body = _get(
            tenant_setup,
            metric=metric,
            group_by="hour",
            **{"from": start, "to": _z(_at(start) + timedelta(days=31))},
        ).json()
        assert body["data"] == []
        assert body["total"] == {
            "quantity": 0,
            "amount_minor": 0,
            "events": 0,
            "credit_amount_minor": 0,
            "net_amount_minor": 0,
        }
        assert body["currency"] is None


def test_revoked_attestation_counts_and_its_credit_note_nets_it(
    tenant_setup: TenantSetup,
) -> None:
    """A revoked attestation stays counted in ``amount_minor``; the credit
    note its revocation issued nets it out (``net_amount_minor`` 0)."""
    BundleFactory(
        tenant=tenant_setup.tenant,
        occurred_at="2015-05-17T10:00:00Z",
        quantity=5,
        revoked=True,
    )
    body = _get(
        tenant_setup,
        metric="api_requests",
        group_by="window",
        **{"from": "2015-05-01T00:00:00Z", "to": "2015-06-01T00:00:00Z"},
    ).json()
    assert body["total"] == {
        "quantity": 5,
        "amount_minor": 10,
        "events": 1,
        "credit_amount_minor": -10,
        "net_amount_minor": 0,
    }


def test_two_currencies_in_range_are_refused(tenant_setup: TenantSetup) -> None:
    """Amounts in two currencies are never summed: 422 usage_currency_mixed
    naming ``metric``; a range holding one currency answers."""
    _attest(tenant_setup, [("2015-05-17T10:00:00Z", 3)])
    eur = TariffFactory(tariff_id="api-requests-eur", currency="EUR")
    TariffVersionFactory(tariff=eur, version=1, published=True)
    # From the 18th the tenant (on the default plan until then) subscribes
    # to the EUR tariff of the same metric.
    SubscriptionFactory(
        tenant=tenant_setup.tenant,
        tariff=eur,
        starts_at=datetime(2015, 5, 18, tzinfo=UTC),
    )
    _attest(tenant_setup, [("2015-05-20T10:00:00Z", 4)])
    response = _get(
        tenant_setup,
        metric="api_requests",
        group_by="day",
        **{"from": "2015-05-01T00:00:00Z", "to": "2015-06-01T00:00:00Z"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "usage_currency_mixed"
    assert response.json()["error"]["field"] == "metric"
    narrow = _get(
        tenant_setup,
        metric="api_requests",
        group_by="day",
        **{"from": "2015-05-18T00:00:00Z", "to": "2015-06-01T00:00:00Z"},
    ).json()
    assert narrow["currency"] == "EUR"
    assert narrow["total"]["quantity"] == 4


GOOD = {
    "metric": "api_requests",
    "group_by": "day",
    "from": "2015-05-01T00:00:00Z",
    "to": "2015-06-01T00:00:00Z",
}


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"metric": None}, "required", "metric"),
        ({"group_by": None}, "required", "group_by"),
        ({"group_by": "week"}, "invalid_choice", "group_by"),
        ({"from": None}, "required", "from"),
        ({"from": "2015-05-01"}, "timestamp_invalid", "from"),
        ({"from": "2015-05-01T00:00:00+02:00"}, "timestamp_invalid", "from"),
        ({"to": "2015-02-30T00:00:00Z"}, "timestamp_invalid", "to"),
        ({"to": "yesterday"}, "timestamp_invalid", "to"),
        ({"to": "2015-05-01T00:00:00Z"}, "usage_query_invalid", "to"),
        ({"to": "2015-04-30T00:00:00Z"}, "usage_query_invalid", "to"),
        (
            {"group_by": "hour", "to": "2015-06-01T00:00:01Z"},
            "usage_range_too_large",
            "to",
        ),
        (
            {"from": "2015-01-01T00:00:00Z", "to": "2016-01-02T00:00:01Z"},
            "usage_range_too_large",
            "to",
        ),
    ],
)
def test_bad_parameters_answer_400_naming_the_field(
    tenant_setup: TenantSetup, change: dict[str, str | None], code: str, field: str
) -> None:
    """Every bad parameter is a 400 error object with a stable code and the
    parameter's name, never a 500."""
    params = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    response = tenant_setup.client.get(USAGE, params)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == field


def test_range_caps_are_inclusive(tenant_setup: TenantSetup) -> None:
    """Exactly 31 days by hour and 366 days by day are allowed; window has
    no cap."""
    for group_by, days in (("hour", 31), ("day", 366), ("window", 3650)):
        start = _at("2015-05-01T00:00:00Z")
        response = _get(
            tenant_setup,
            metric="api_requests",
            group_by=group_by,
            **{"from": _z(start), "to": _z(start + timedelta(days=days))},
        )
        assert response.status_code == 200, (group_by, response.content)


def test_requires_an_api_key(db: Any) -> None:
    """Without a tenant API key: 401."""
    assert APIClient().get(USAGE, GOOD).status_code == 401
