"""Statement test helpers: the issue's graduated tariff, a tenant subscribed
to it, a period of attested events, and reading a closed period back as the
offline verifier's inputs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from billing.models import Statement, Tariff, Tenant
from billing.protocol.contexts import CONTEXT_STATEMENT
from billing.protocol.statement import (
    StatementReport,
    unsigned_statement,
    verify_statement,
)
from billing.protocol.trust import TrustAnchors
from billing.selectors import trust_anchors_get
from billing.selectors_statements import statement_bundle_documents, statement_file_get
from billing.services.attest import meter_events_attest
from kernel.protocol.ed25519 import sign_object
from tests.billing.factories import TariffFactory, TariffVersionFactory, TenantFactory
from tests.support.keys import TestKeys

#: Issue 12's graduated tiers (minor units, half_even): 5,000 events of
#: quantity 1 cost 8,083 over the period, 4 each alone.
GRADUATED_PRICING: dict[str, Any] = {
    "model": "tiered_graduated",
    "tiers": [
        {"up_to": 1000, "unit_amount_decimal": "3.5", "flat_amount": 0},
        {"up_to": 4000, "unit_amount_decimal": "1.25", "flat_amount": 500},
        {"up_to": None, "unit_amount_decimal": "0.3333333", "flat_amount": 0},
    ],
}
#: The attestation clock: every event of the test period is attested then.
ATTESTED_AT = datetime(2015, 6, 2, 12, 0, tzinfo=UTC)
#: A clock after the test period (2015-05) ended.
CLOSED_AT = datetime(2015, 7, 1, 9, 0, tzinfo=UTC)
PERIOD = "2015-05"


def graduated_tariff(tariff_id: str = "api-requests-graduated") -> Tariff:
    """Return a tariff with a published version 1 on :data:`GRADUATED_PRICING`
    (made on first use)."""
    tariff = TariffFactory(tariff_id=tariff_id)
    if tariff.versions.exists():
        return tariff
    TariffVersionFactory(
        tariff=tariff,
        version=1,
        pricing=GRADUATED_PRICING,
        rounding="half_even",
        published=True,
    )
    return tariff


def graduated_tenant(slug: str = "acme") -> Tenant:
    """Return tenant ``slug`` subscribed to :func:`graduated_tariff`."""
    return TenantFactory(slug=slug, subscribe=graduated_tariff())


def attest_period(
    tenant: Tenant,
    count: int,
    *,
    period: str = PERIOD,
    quantity: int = 1,
    prefix: str = "evt",
    metric: str = "api_requests",
) -> None:
    """Attest ``count`` events of ``tenant`` in ``period`` (day 17), in
    batches of 100, with the clock at :data:`ATTESTED_AT` (backfill)."""
    for start in range(0, count, 100):
        events = [
            {
                "tenant": tenant.slug,
                "event_id": f"{prefix}-{i}",
                "window": period,
                "metric": metric,
                "quantity": quantity,
                "occurred_at": f"{period}-17T10:00:00Z",
                "attributes": {},
            }
            for i in range(start, min(count, start + 100))
        ]
        outcomes = meter_events_attest(
            payloads=events, tenant=tenant, backfill=True, prove=False, now=ATTESTED_AT
        )
        assert {o.status for o in outcomes} == {"attested"}, outcomes


def trust() -> TrustAnchors:
    """Return the published trust anchors (what an auditor downloads)."""
    return TrustAnchors.from_json(trust_anchors_get().to_json())


def period_inputs(
    statement: Statement,
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """Return the statement file and its bundles as the export writes them
    (``(file name, bundle)``, in number order)."""
    tenant = statement.tenant
    return statement_file_get(statement=statement), list(
        statement_bundle_documents(tenant=tenant, period=statement.period)
    )


def verify(
    document: dict[str, Any], bundles: list[tuple[str, Any]], **options: Any
) -> StatementReport:
    """Run :func:`verify_statement` on in-memory inputs (parsed bundles are
    serialised to bytes, as a ``.jsonl`` line would be)."""
    items = [
        (name, json.dumps(b).encode() if isinstance(b, dict) else b)
        for name, b in bundles
    ]
    return verify_statement(document, items, trust(), **options)


def resign(document: dict[str, Any], keys: TestKeys) -> dict[str, Any]:
    """Return ``document`` with its statement signed again by the issuer
    (what a lying issuer could do; the log evidence no longer matches)."""
    statement = document["statement"]
    statement["sig"] = sign_object(
        keys.issuer.signing_key, CONTEXT_STATEMENT, unsigned_statement(statement)
    )
    return document
