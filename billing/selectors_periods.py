"""Reads of billing periods (:class:`billing.models.BillingPeriod`)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from billing.models import BillingPeriod


def billing_periods_closed(
    *, keys: Iterable[tuple[int, str]]
) -> frozenset[tuple[int, str]]:
    """Return those ``(tenant primary key, period "YYYY-MM")`` of ``keys``
    whose billing period is closed (``closed_at`` set), in one query.

    A cheap early check without a lock: the authoritative one is made under
    the period's row lock (:func:`billing.services.periods.billing_periods_lock`).
    """
    wanted = set(keys)
    if not wanted:
        return frozenset()
    rows = BillingPeriod.objects.filter(
        Q(*[Q(tenant_id=t, period=p) for t, p in sorted(wanted)], _connector=Q.OR),
        closed_at__isnull=False,
    ).values_list("tenant_id", "period")
    return frozenset((t, p) for t, p in rows)
