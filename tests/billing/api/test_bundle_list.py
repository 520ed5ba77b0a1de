"""``GET /api/vdi/billing/bundles``: the tenant's own bundles, newest first,
cursor-paginated, filtered; every bad parameter a 400 naming it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import Bundle, Tenant
from billing.pagination import BundleCursor
from billing.services.attest import meter_events_attest
from tests.billing.factories import (
    SubscriptionFactory,
    TariffFactory,
    TariffVersionFactory,
)
from tests.billing.support import TenantSetup, tenant_client
from transparency.models import LogEntry

BUNDLES = "/api/vdi/billing/bundles"
pytestmark = pytest.mark.django_db

#: The attestation clock of the tests: issued_at values are exact and tie.
T0 = datetime(2015, 6, 1, 12, 0, 0, 250000, tzinfo=UTC)


def _attest(
    tenant: Tenant,
    prefix: str,
    count: int,
    *,
    now: datetime,
    day: int = 17,
    month: int = 5,
    metric: str = "api_requests",
) -> None:
    """Attest ``count`` events of ``tenant`` in one call, so they share
    ``issued_at`` = ``now`` (ties)."""
    events = [
        {
            "tenant": tenant.slug,
            "event_id": f"{prefix}-{i}",
            "window": f"2015-{month:02d}",
            "metric": metric,
            "quantity": i + 1,
            "occurred_at": f"2015-{month:02d}-{day:02d}T10:00:00Z",
            "attributes": {},
        }
        for i in range(count)
    ]
    outcomes = meter_events_attest(
        payloads=events, tenant=tenant, backfill=True, prove=False, now=now
    )
    assert [o.status for o in outcomes] == ["attested"] * count, outcomes


def _newest_first(tenant: Tenant) -> list[str]:
    return list(
        Bundle.objects.filter(tenant=tenant)
        .order_by("-issued_at", "-id")
        .values_list("receipt_id", flat=True)
    )


def _walk(client: APIClient, **query: Any) -> tuple[list[dict[str, Any]], int]:
    """Follow ``next_cursor`` to the end; return the items and page count."""
    items: list[dict[str, Any]] = []
    pages = 0
    cursor = None
    while True:
        params = {**query, **({"cursor": cursor} if cursor else {})}
        response = client.get(BUNDLES, params)
        assert response.status_code == 200, response.content
        body = response.json()
        pages += 1
        items += body["data"]
        assert body["has_more"] is (body["next_cursor"] is not None)
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 100


def _get(client: APIClient, **query: Any) -> Any:
    return client.get(BUNDLES, query)


def test_pagination_walks_every_bundle_once_across_ties(
    tenant_setup: TenantSetup,
) -> None:
    """Batches share ``issued_at``; pages of 2 cut inside those ties, and the
    walk still yields every bundle exactly once, newest first by
    ``(issued_at, id)``."""
    tenant = tenant_setup.tenant
    _attest(tenant, "a", 3, now=T0)
    _attest(tenant, "b", 1, now=T0 + timedelta(seconds=1))
    _attest(tenant, "c", 4, now=T0 + timedelta(seconds=2))
    items, pages = _walk(tenant_setup.client, limit="2")
    assert [i["receipt_id"] for i in items] == _newest_first(tenant)
    assert len(items) == 8 and pages == 4
    issued = [i["issued_at"] for i in items]
    assert issued == sorted(issued, reverse=True)
    assert issued[0] == "2015-06-01T12:00:02.25Z"  # microseconds kept
    # the same walk with another page size gives the same sequence
    assert [i["receipt_id"] for i in _walk(tenant_setup.client, limit="3")[0]] == [
        i["receipt_id"] for i in items
    ]


def test_item_shape_and_url(tenant_setup: TenantSetup) -> None:
    """Each item carries the charge, the tariff version, the leaf index of
    its sequenced log entry and the URL of the full stored bundle."""
    _attest(tenant_setup.tenant, "x", 1, now=T0)
    (item,) = _get(tenant_setup.client).json()["data"]
    bundle = Bundle.objects.select_related("meter_event", "tariff_version").get()
    leaf = LogEntry.objects.get(leaf_hash=bundle.leaf_hash)
    assert item == {
        "receipt_id": bundle.receipt_id,
        "window": "2015-05",
        "metric": "api_requests",
        "quantity": 1,
        "amount_minor": bundle.amount_minor,
        "currency": "USD",
        "tariff_id": "api-requests",
        "tariff_version": 1,
        "occurred_at": "2015-05-17T10:00:00Z",
        "issued_at": "2015-06-01T12:00:00.25Z",
        "leaf_index": leaf.leaf_index,
        "url": f"http://testserver/api/vdi/billing/bundles/{bundle.receipt_id}",
    }
    assert bundle.amount_minor == 2  # 1 request at 2 cents
    full = tenant_setup.client.get(item["url"])
    assert full.status_code == 200
    assert full.json()["attestation"] == json.loads(bundle.document)["attestation"]


def test_leaf_index_is_left_out_while_queued(tenant_setup: TenantSetup) -> None:
    """A bundle whose leaf is not sequenced yet is listed without
    ``leaf_index`` (never null)."""
    _attest(tenant_setup.tenant, "q", 1, now=T0)
    LogEntry.objects.all().delete()
    (item,) = _get(tenant_setup.client).json()["data"]
    assert "leaf_index" not in item


def test_default_and_maximum_limit(tenant_setup: TenantSetup) -> None:
    """Without ``limit`` a page holds 50; ``limit=500`` takes the rest."""
    _attest(tenant_setup.tenant, "n", 51, now=T0)
    body = _get(tenant_setup.client).json()
    assert len(body["data"]) == 50 and body["has_more"] is True
    assert len(_get(tenant_setup.client, limit="500").json()["data"]) == 51


def test_filters_window_metric_and_occurred_range(tenant_setup: TenantSetup) -> None:
    """``window`` and ``metric`` select the event's; ``from`` is inclusive
    and ``to`` exclusive on ``occurred_at``; filters hold across pages."""
    tenant = tenant_setup.tenant
    _attest(tenant, "may10", 2, now=T0, day=10)
    _attest(tenant, "may17", 3, now=T0 + timedelta(seconds=1), day=17)
    _attest(tenant, "jun", 2, now=T0 + timedelta(seconds=2), month=6, day=1)
    bytes_tariff = TariffFactory(tariff_id="bytes", metric="bytes")
    TariffVersionFactory(tariff=bytes_tariff, version=1, published=True)
    SubscriptionFactory(tenant=tenant, tariff=bytes_tariff)
    _attest(tenant, "bytes", 2, now=T0 + timedelta(seconds=3), metric="bytes")

    def ids(**query: Any) -> list[str]:
        return sorted(i["receipt_id"] for i in _walk(tenant_setup.client, **query)[0])

    def expected(**lookup: Any) -> list[str]:
        return sorted(
            Bundle.objects.filter(**lookup).values_list("receipt_id", flat=True)
        )

    assert ids(window="2015-06") == expected(meter_event__window="2015-06")
    assert len(ids(window="2015-05", limit="1")) == 7
    assert ids(metric="bytes") == expected(meter_event__metric="bytes")
    assert ids(metric="nothing") == []
    may17 = expected(meter_event__event_id__startswith="may17")
    assert ids(
        **{"from": "2015-05-17T10:00:00Z", "to": "2015-05-17T10:00:01Z"}
    ) == sorted(may17 + expected(meter_event__event_id__startswith="bytes"))
    assert (
        ids(
            metric="api_requests",
            limit="2",
            **{"from": "2015-05-10T10:00:00.000001Z", "to": "2015-06-01T10:00:00Z"},
        )
        == may17
    )
    assert ids(**{"to": "2015-05-10T10:00:00Z"}) == []  # to is exclusive


def test_tenant_isolation(tenant_setup: TenantSetup) -> None:
    """A tenant lists only its own bundles, even with another tenant's
    cursor, and fetching another tenant's receipt is a 404 (not 403)."""
    _attest(tenant_setup.tenant, "mine", 3, now=T0)
    other = tenant_client("globex")
    globex = Tenant.objects.get(slug="globex")
    assert _get(other).json() == {"data": [], "has_more": False, "next_cursor": None}
    _attest(globex, "theirs", 2, now=T0 - timedelta(seconds=1))
    mine = _newest_first(tenant_setup.tenant)
    theirs = _newest_first(globex)
    assert [i["receipt_id"] for i in _walk(other, limit="1")[0]] == theirs
    # acme's cursor is only a position (T0, an id): older rows of globex's
    cursor = _get(tenant_setup.client, limit="1").json()["next_cursor"]
    assert [i["receipt_id"] for i in _get(other, cursor=cursor).json()["data"]] == (
        theirs
    )
    foreign = other.get(f"{BUNDLES}/{mine[0]}")
    assert foreign.status_code == 404
    assert foreign.json()["error"]["code"] == "bundle_not_found"
    assert APIClient().get(BUNDLES).status_code == 401


def _cursor_text(payload: Any) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


GOOD_CURSOR = BundleCursor(issued_at=T0, id=5).encode()


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ({"window": "2015-13"}, "invalid_parameter", "window"),
        ({"window": "2015-5"}, "invalid_parameter", "window"),
        ({"window": "２０１５-05"}, "invalid_parameter", "window"),
        ({"metric": "m" * 129}, "invalid_parameter", "metric"),
        ({"metric": ""}, "invalid_parameter", "metric"),
        ({"from": "2015-05-01"}, "invalid_parameter", "from"),
        ({"from": "2015-05-01T00:00:00+00:00"}, "invalid_parameter", "from"),
        ({"to": "2015-02-30T00:00:00Z"}, "invalid_parameter", "to"),
        (
            {"from": "2015-05-02T00:00:00Z", "to": "2015-05-02T00:00:00Z"},
            "invalid_parameter",
            "to",
        ),
        ({"limit": "0"}, "invalid_parameter", "limit"),
        ({"limit": "501"}, "invalid_parameter", "limit"),
        ({"limit": "01"}, "invalid_parameter", "limit"),
        ({"limit": "-1"}, "invalid_parameter", "limit"),
        ({"limit": "ten"}, "invalid_parameter", "limit"),
        ({"limit": ["2", "3"]}, "invalid_parameter", "limit"),
        ({"windw": "2015-05"}, "invalid_parameter", "windw"),
        ({"cursor": "garbage!"}, "invalid_cursor", "cursor"),
        ({"cursor": GOOD_CURSOR + "A"}, "invalid_cursor", "cursor"),
        ({"cursor": GOOD_CURSOR + "=="}, "invalid_cursor", "cursor"),
        ({"cursor": "x" * 300}, "invalid_cursor", "cursor"),
        ({"cursor": _cursor_text([1, 2])}, "invalid_cursor", "cursor"),
        (
            {"cursor": _cursor_text({"i": 0, "t": "2015-06-01T12:00:00Z"})},
            "invalid_cursor",
            "cursor",
        ),
        (
            {"cursor": _cursor_text({"i": "5", "t": "2015-06-01T12:00:00Z"})},
            "invalid_cursor",
            "cursor",
        ),
        (
            {"cursor": _cursor_text({"i": 5, "t": "2015-06-01T12:00:00.250Z"})},
            "invalid_cursor",
            "cursor",
        ),
        (
            {"cursor": _cursor_text({"t": "2015-06-01T12:00:00Z", "i": 5})},
            "invalid_cursor",
            "cursor",
        ),
    ],
)
def test_bad_parameters_are_400_naming_the_field(
    tenant_setup: TenantSetup, query: dict[str, Any], code: str, field: str
) -> None:
    """Each malformed, out-of-range, unknown or repeated parameter is a 400
    with the error object; a cursor not spelled as issued is refused."""
    response = tenant_setup.client.get(BUNDLES, query)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]


def test_cursor_round_trip() -> None:
    """``decode(encode(c)) == c`` for positions with and without
    microseconds."""
    for moment in (T0, T0.replace(microsecond=0)):
        cursor = BundleCursor(issued_at=moment, id=42)
        assert BundleCursor.decode(cursor.encode()) == cursor
