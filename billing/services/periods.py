"""Billing periods: the row lock that numbers ``vdi-billing/3`` bundles.

Each ``(tenant, period)`` has one :class:`billing.models.BillingPeriod` row.
Attest takes its row lock in the commit transaction and assigns
``last_number + 1, + 2, ...`` (docs/PROTOCOL.md §10), so a rolled-back attest
consumes no number and numbers run 1..N without gaps across metrics. Closing
a period (the statement, design D3) takes the same lock and sets
``closed_at``: no number above N is issued afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from billing.models import BillingPeriod, Tenant


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
