"""Billing periods: the row lock that numbers ``vdi-billing/3`` bundles.

Each ``(tenant, period)`` has one :class:`billing.models.BillingPeriod` row.
Attest takes its row lock in the commit transaction and assigns
``last_number + 1, + 2, ...`` (docs/PROTOCOL.md §10), so a rolled-back attest
consumes no number and numbers run 1..N without gaps across metrics. Closing
a period (the statement, design D3) takes the same lock and sets
``closed_at``: no number above N is issued afterwards.

The attest side (:mod:`billing.services.issuance`) numbers and signs its
items with :func:`bundles_number` inside its commit transaction and refuses
the items of closed periods with :func:`periods_closed_refuse`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db import transaction

from billing.errors import PeriodClosed
from billing.models import BillingPeriod, Tenant
from billing.services.replay import AttestOutcome, PendingAttest
from kernel.protocol.jcs import canonical_json


def billing_periods_lock(
    *, keys: Iterable[tuple[Tenant, str]]
) -> dict[tuple[int, str], BillingPeriod]:
    """Create the missing ``BillingPeriod`` rows of ``keys`` (``(tenant,
    "YYYY-MM")``) and lock them all (``SELECT ... FOR UPDATE``); return them
    by ``(tenant primary key, period)``.

    Must run inside a transaction (the locks last until it ends). Rows are
    locked in ``(tenant primary key, period)`` order, so two transactions
    locking overlapping sets never deadlock. The insert ignores conflicts
    (``INSERT ... ON CONFLICT DO NOTHING``), so concurrent first attests of a
    period both end up locking the one row. On SQLite, which has no row
    locks, the database serialises writers instead.

    Raises:
        TransactionManagementError: called outside a transaction.
    """
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError(
            "billing periods are locked inside a transaction (transaction.atomic)"
        )
    keys = list(keys)
    tenants = {tenant.pk: tenant for tenant, _ in keys}
    wanted = sorted({(tenant.pk, period) for tenant, period in keys})
    if not wanted:
        return {}
    BillingPeriod.objects.bulk_create(
        [BillingPeriod(tenant=tenants[t], period=p) for t, p in wanted],
        ignore_conflicts=True,
    )
    locked: dict[tuple[int, str], BillingPeriod] = {}
    for tenant_pk, period in wanted:
        # One locking read per period, in a fixed order (a batch spans one or
        # two periods of one tenant in practice).
        row = BillingPeriod.objects.select_for_update().get(
            tenant_id=tenant_pk, period=period
        )
        row.tenant = tenants[tenant_pk]
        locked[(tenant_pk, period)] = row
    return locked


def billing_period_lock(*, tenant: Tenant, period: str) -> BillingPeriod:
    """Return the tenant's ``BillingPeriod`` of ``period`` (``YYYY-MM``),
    created if missing (``last_number`` 0, open), under its row lock.

    Call inside a transaction: the lock lasts until it ends. Closing a
    period (the statement) sets ``closed_at`` under this lock, so no attest
    numbers a bundle of the period afterwards; attest takes the same lock
    (:func:`billing_periods_lock`).

    Raises:
        TransactionManagementError: called outside a transaction.
    """
    return billing_periods_lock(keys=[(tenant, period)])[(tenant.pk, period)]


def _period_closed_error(item: PendingAttest) -> PeriodClosed:
    return PeriodClosed(
        f"billing period {item.key[2]} of tenant {item.key[0]!r} is closed; "
        "no bundle can be added to it",
        field="event.window",
    )


def periods_closed_refuse(
    *,
    owned: list[PendingAttest],
    closed: frozenset[tuple[int, str]],
    outcomes: list[AttestOutcome | None],
) -> list[PendingAttest]:
    """Reject, each alone, the items whose ``(tenant pk, window)`` is in
    ``closed`` with :class:`PeriodClosed`; remove them from ``owned`` (in
    place) and return them. Releases nothing (the caller does)."""
    dropped = [i for i in owned if (i.tenant.pk, i.key[2]) in closed]
    if not dropped:
        return []
    for item in dropped:
        outcomes[item.index] = AttestOutcome(
            "rejected", error=_period_closed_error(item)
        )
    owned[:] = [i for i in owned if (i.tenant.pk, i.key[2]) not in closed]
    return dropped


def bundles_number(
    *,
    owned: list[PendingAttest],
    signers: Mapping[int, Callable[[int], dict[str, Any]]],
    outcomes: list[AttestOutcome | None],
    refused: list[PendingAttest],
) -> None:
    """Under the period row locks: refuse the items of a closed period
    (appended to ``refused``, removed from ``owned``), number the others
    ``last_number + 1, + 2, ...`` per ``(tenant, window)`` in batch order,
    sign their attestations (``item.attestation``, ``item.leaf_data``) and
    save the new ``last_number``; call inside the commit transaction.

    ``signers`` maps an item's ``index`` to a function that returns its signed
    ``vdi-billing/3`` attestation for a given number."""
    periods = billing_periods_lock(keys=[(i.tenant, i.key[2]) for i in owned])
    closed = {key for key, row in periods.items() if row.closed_at is not None}
    refused.extend(
        periods_closed_refuse(owned=owned, closed=frozenset(closed), outcomes=outcomes)
    )
    touched: dict[tuple[int, str], BillingPeriod] = {}
    for item in owned:
        row = touched[(item.tenant.pk, item.key[2])] = periods[
            (item.tenant.pk, item.key[2])
        ]
        row.last_number += 1
        item.attestation = signers[item.index](row.last_number)
        item.leaf_data = canonical_json(item.attestation)
    for row in touched.values():
        BillingPeriod.objects.filter(pk=row.pk).update(last_number=row.last_number)
