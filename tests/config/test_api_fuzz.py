"""Quick fuzz of every JSON endpoint: a few hundred hostile requests through
the Django test client, none answered 5xx, every error in the documented body
shape. The long run (thousands of requests, in-process or against a server)
is ``scripts/fuzz_api.py``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.billing.support import TenantSetup
from tests.config.hostile_requests import (
    HostileRequest,
    Templates,
    answer_problem,
    build_templates,
    django_client_sender,
    hostile_requests,
)

pytestmark = pytest.mark.django_db

#: Hypothesis examples of the quick run (the script runs thousands).
QUICK_EXAMPLES = 300


@pytest.fixture
def send_and_templates(tenant_setup: TenantSetup) -> tuple[Any, Templates]:
    """A sender with the tenant's API key and templates made through the API."""
    client = Client(raise_request_exception=False)
    send = django_client_sender(client, tenant_setup.secret)
    return send, build_templates(send, tenant_setup.tenant.slug)


@settings(
    max_examples=QUICK_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_hostile_requests_never_get_a_5xx(
    send_and_templates: tuple[Any, Templates], data: st.DataObject
) -> None:
    """No hostile request answers 5xx; every error is
    ``{"error": {"code", "message", "field"}}`` JSON."""
    send, templates = send_and_templates
    request = data.draw(hostile_requests(templates), label="request")
    status, content_type, body = send(request)
    problem = answer_problem(status, content_type, body)
    assert problem is None, (request, problem)


DEEP = b"[" * 5000 + b"]" * 5000


@pytest.mark.parametrize(
    "path",
    [
        "/api/vdi/billing/attest",
        "/api/vdi/billing/attest/batch",
        "/api/vdi/billing/verify",
        "/api/vdi/billing/meter-keys",
        "/api/vdi/billing/transparency/cosignatures",
    ],
)
def test_deeply_nested_body_is_not_a_5xx(
    send_and_templates: tuple[Any, Templates], path: str
) -> None:
    """A body nested 5000 levels deep is a 400 ``json_too_deep`` JSON error
    (audit item 12), not a 500."""
    send, _ = send_and_templates
    request = HostileRequest("deep", "POST", path, DEEP, "application/json")
    status, content_type, body = send(request)
    assert answer_problem(status, content_type, body) is None
    assert status == 400
    assert json.loads(body)["error"]["code"] == "json_too_deep"
