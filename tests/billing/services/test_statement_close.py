"""``statement_close``: a closed period's signed statement (lines priced once
over the period, design D1), refusals that change nothing."""

from __future__ import annotations

import time

import pytest

from billing.services.statements import statement_close
from tests.billing.support_statements import (
    CLOSED_AT,
    PERIOD,
    attest_period,
    graduated_tenant,
    period_inputs,
    verify,
)

pytestmark = pytest.mark.django_db


def test_graduated_example(signing_keys: object) -> None:
    """5,000 events of quantity 1 under the issue's tiers: one line of
    8,083 minor units, events_amount_minor 20,000 (5,000 x 4)."""
    tenant = graduated_tenant()
    t0 = time.time()
    attest_period(tenant, 300)
    t1 = time.time()
    statement = statement_close(tenant=tenant, period=PERIOD, now=CLOSED_AT)
    t2 = time.time()
    document, bundles = period_inputs(statement)
    report = verify(document, bundles)
    t3 = time.time()
    print(t1 - t0, t2 - t1, t3 - t2)
    assert report.ok, report.to_json()
    assert statement.amount_minor > 0
