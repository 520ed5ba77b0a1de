"""Every JSON POST endpoint reads its body with the strict I-JSON reader:
hostile JSON is a 400 with the standard error body, never a 500 or a silently
chosen value, and nothing is stored."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import MeterEvent, MeterKey, ReplayReservation
from tests.billing.support import TenantSetup, make_event

pytestmark = pytest.mark.django_db

#: (path, needs the tenant's API key)
ENDPOINTS = [
    ("/api/vdi/billing/attest", True),
    ("/api/vdi/billing/attest/batch", True),
    ("/api/vdi/billing/verify", False),
    ("/api/vdi/billing/meter-keys", True),
    ("/api/vdi/billing/transparency/cosignatures", False),
]
DEEP = b'{"event":' * 990 + b"1" + b"}" * 990


@pytest.fixture
def raised_recursion_limit() -> Iterator[None]:
    """The interpreter's recursion limit as py_ecc leaves it (100000)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    yield
    sys.setrecursionlimit(limit)


def _post(setup: TenantSetup, path: str, auth: bool, body: bytes) -> Any:
    client = setup.client if auth else APIClient()
    return client.post(path, body, content_type="application/json")


def _stored() -> tuple[int, int, int]:
    return (
        MeterEvent.objects.count(),
        ReplayReservation.objects.count(),
        MeterKey.objects.count(),
    )


@pytest.mark.parametrize(("path", "auth"), ENDPOINTS)
def test_deeply_nested_json_is_a_400_on_every_post_endpoint(
    tenant_setup: TenantSetup, raised_recursion_limit: None, path: str, auth: bool
) -> None:
    """Regression (audit 12): 990 levels answer 400 ``json_too_deep``."""
    response = _post(tenant_setup, path, auth, DEEP)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "json_too_deep"
    assert _stored() == (0, 0, 0)


@pytest.mark.parametrize(("path", "auth"), ENDPOINTS)
def test_duplicate_member_names_are_a_400_on_every_post_endpoint(
    tenant_setup: TenantSetup, path: str, auth: bool
) -> None:
    """Regression (audit 6): a repeated member name is 400 ``duplicate_member``
    with the member's path, whatever the endpoint."""
    body = b'{"a": {"b": 1, "b": 2}}'
    response = _post(tenant_setup, path, auth, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("duplicate_member", "a.b")


def test_attest_with_a_second_quantity_stores_nothing(
    tenant_setup: TenantSetup,
) -> None:
    """Regression (audit 6): an event naming ``quantity`` twice is refused, so
    no reader can price a different quantity from the one signed."""
    text = json.dumps(make_event(quantity=3))
    body = text.replace('"quantity": 3', '"quantity": 3, "quantity": 999999')
    assert body != text
    response = _post(tenant_setup, "/api/vdi/billing/attest", True, body.encode())
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("duplicate_member", "quantity")
    assert _stored() == (0, 0, 0)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"tenant": "\xff"}', "invalid_unicode"),
        (b'{"tenant": "\\ud800"}', "invalid_unicode"),
        (b'{"quantity": NaN}', "malformed_json"),
        (b'{"quantity": Infinity}', "malformed_json"),
    ],
)
def test_non_i_json_bodies_are_a_400(
    tenant_setup: TenantSetup, body: bytes, code: str
) -> None:
    """RFC 7493 §2.1 text and RFC 8259 numbers only: 400 with a stable code."""
    response = _post(tenant_setup, "/api/vdi/billing/attest", True, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert _stored() == (0, 0, 0)
