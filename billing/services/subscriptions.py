"""Subscriptions: which tariff prices a tenant's events of a metric, when.

A tenant subscribes to one tariff per metric at a time (the metric is the
tariff's ``metric``): two subscriptions of one tenant to tariffs of the same
metric never overlap in ``[starts_at, ends_at)``. The database cannot express
that portably (PostgreSQL's exclusion constraints are not SQLite's), so the
services check it with the tenant's row locked (``SELECT ... FOR UPDATE``;
SQLite serialises writers anyway). The database still enforces what it can:
``ends_at > starts_at`` and one row per ``(tenant, tariff, starts_at)``.

Each change is audited in its transaction (``subscription.create``,
``subscription.end``; :func:`audittrail.services.audit_record`) with
``actor``: the staff user, a label (``system:tenant_create``) or ``None``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audittrail.services import audit_record
from billing.errors import SubscriptionInvalid, SubscriptionOverlap
from billing.models import Subscription, Tariff, Tenant
from kernel.protocol.timefmt import format_rfc3339_utc

__all__ = ["subscription_create", "subscription_end"]


def _state(subscription: Subscription) -> dict[str, Any]:
    """The audit trail's view of a subscription (slugs and ids, times as
    Timestamps)."""
    return {
        "tenant": subscription.tenant.slug,
        "tariff_id": subscription.tariff.tariff_id,
        "metric": subscription.tariff.metric,
        "starts_at": format_rfc3339_utc(subscription.starts_at),
        "ends_at": format_rfc3339_utc(subscription.ends_at)
        if subscription.ends_at
        else None,
    }


def _audit(
    subscription: Subscription,
    *,
    action: str,
    actor: Any,
    before: dict[str, Any] | None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        obj_type="subscription",
        obj_id=subscription.pk,
        before=before,
        after=_state(subscription),
    )


def _stamp(value: datetime | None) -> str:
    return "no end" if value is None else format_rfc3339_utc(value)


def _require_aware(value: datetime, field: str) -> None:
    if timezone.is_naive(value):
        raise SubscriptionInvalid(
            f"{field} must be an aware datetime (UTC), found naive {value}",
            field=field,
        )


def _check_window(starts_at: datetime, ends_at: datetime | None) -> None:
    _require_aware(starts_at, "starts_at")
    if ends_at is not None:
        _require_aware(ends_at, "ends_at")
        if ends_at <= starts_at:
            raise SubscriptionInvalid(
                f"ends_at {_stamp(ends_at)} must be after starts_at "
                f"{_stamp(starts_at)}",
                field="ends_at",
            )


def _check_no_overlap(
    *,
    tenant: Tenant,
    metric: str,
    starts_at: datetime,
    ends_at: datetime | None,
    exclude_pk: int | None = None,
) -> None:
    """Raise :class:`SubscriptionOverlap` if ``[starts_at, ends_at)`` meets
    another subscription of ``tenant`` to a tariff of ``metric``."""
    others = Subscription.objects.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=starts_at),
        tenant=tenant,
        tariff__metric=metric,
    ).select_related("tariff")
    if ends_at is not None:
        others = others.filter(starts_at__lt=ends_at)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    clash = others.order_by("starts_at").first()
    if clash is not None:
        raise SubscriptionOverlap(
            f"tenant {tenant.slug} is already subscribed to {clash.tariff.tariff_id} "
            f"for metric {metric!r} from {_stamp(clash.starts_at)} to "
            f"{_stamp(clash.ends_at)}, which overlaps {_stamp(starts_at)} to "
            f"{_stamp(ends_at)}",
            field="starts_at",
        )


def _lock_tenant(tenant: Tenant) -> None:
    # Serialises every subscription change of this tenant, so two concurrent
    # creations cannot both pass the overlap check.
    Tenant.objects.select_for_update().filter(pk=tenant.pk).values_list("pk").get()


@transaction.atomic
def subscription_create(
    *,
    tenant: Tenant,
    tariff: Tariff,
    starts_at: datetime,
    ends_at: datetime | None = None,
    actor: Any = None,
) -> Subscription:
    """Subscribe ``tenant`` to ``tariff`` from ``starts_at`` until ``ends_at``
    (exclusive; ``None``: no end); return the new row.

    Times are aware datetimes. From ``starts_at`` on, the tenant's events of
    ``tariff.metric`` are priced by the tariff's published version in force
    at their ``occurred_at``, and the tenant leaves the default plan.
    Audited as ``subscription.create`` by ``actor``.

    Raises:
        SubscriptionInvalid: a naive time, or ``ends_at`` not after
            ``starts_at``.
        SubscriptionOverlap: another subscription of the tenant to a tariff
            of the same metric overlaps ``[starts_at, ends_at)``.
        django.core.exceptions.ValidationError: any other invalid value.
    """
    _check_window(starts_at, ends_at)
    _lock_tenant(tenant)
    _check_no_overlap(
        tenant=tenant, metric=tariff.metric, starts_at=starts_at, ends_at=ends_at
    )
    subscription = Subscription(
        tenant=tenant, tariff=tariff, starts_at=starts_at, ends_at=ends_at
    )
    subscription.full_clean()
    subscription.save()
    _audit(subscription, action="subscription.create", actor=actor, before=None)
    return subscription


@transaction.atomic
def subscription_end(
    *, subscription: Subscription, ends_at: datetime, actor: Any = None
) -> Subscription:
    """End ``subscription`` at ``ends_at`` (exclusive, aware); return it.
    A change is audited as ``subscription.end`` by ``actor``.

    Events that occur from ``ends_at`` on are no longer priced by it.
    Idempotent for the same ``ends_at``; an open subscription may be ended at
    any time after its start, an ended one only earlier (never extended,
    which could reach into a later subscription of the same metric).

    Raises:
        SubscriptionInvalid: a naive ``ends_at``, one not after
            ``starts_at``, or one later than the subscription's current end.
    """
    _lock_tenant(subscription.tenant)
    subscription.refresh_from_db()
    _check_window(subscription.starts_at, ends_at)
    current = subscription.ends_at
    if current == ends_at:
        return subscription
    if current is not None and ends_at > current:
        raise SubscriptionInvalid(
            f"subscription already ends at {_stamp(current)}; it can only end "
            f"earlier, not at {_stamp(ends_at)}",
            field="ends_at",
        )
    before = _state(subscription)
    subscription.ends_at = ends_at
    subscription.full_clean()
    subscription.save(update_fields=["ends_at"])
    _audit(subscription, action="subscription.end", actor=actor, before=before)
    return subscription
