"""The tenant usage summary: sums of quantity and amount per hour, day or
billing window (``GET /api/vdi/billing/usage``; Stripe's meter event
summaries, OpenMeter's meter query).

One query: the tenant's meter events of one metric with ``from <=
occurred_at < to``, joined to their bundles for ``amount_minor`` and
``currency``, grouped by the truncated ``occurred_at`` (UTC) or by the event's
``window``. It reads two indexes (migration ``0012_usage_index``):
``meterevent_usage_idx`` ``(tenant, metric, occurred_at, quantity)`` for the
range and ``bundle_usage_idx`` ``(meter_event, amount_minor, currency)`` for
the amounts, so neither the meter event's attributes nor the bundle's JSON is
read. Nothing is kept beside the events (no aggregate table): attest writes
no extra row (see bench/ANALYSIS.md, "Usage query").

Revoked attestations are counted: revocation today changes no amount. Credit
notes (issue 12) will net them out when they exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDay, TruncHour

from billing.errors import UsageCurrencyMixed, UsageQueryInvalid, UsageRangeTooLarge
from billing.models import Bundle, Tenant
from kernel.protocol.timefmt import format_rfc3339_utc

#: The groupings of a usage query.
GroupBy = Literal["hour", "day", "window"]
GROUP_BY_CHOICES: tuple[GroupBy, ...] = ("hour", "day", "window")

#: Longest range per grouping (``to - from``): at most 744 hourly groups and
#: 366 daily groups per answer; ``window`` (at most one group a month) has no
#: cap.
MAX_RANGE_BY_GROUP: dict[str, timedelta] = {
    "hour": timedelta(days=31),
    "day": timedelta(days=366),
}


@dataclass(frozen=True)
class UsageTotals:
    """Sums over a set of meter events.

    ``quantity``: sum of the events' ``quantity`` (metric units);
    ``amount_minor``: sum of their bundles' ``amount_minor`` (integer minor
    units of the summary's currency); ``events``: how many events.
    """

    quantity: int
    amount_minor: int
    events: int

    def to_json(self) -> dict[str, int]:
        """Return ``{"quantity", "amount_minor", "events"}`` (integers)."""
        return {
            "quantity": self.quantity,
            "amount_minor": self.amount_minor,
            "events": self.events,
        }


@dataclass(frozen=True)
class UsageGroup:
    """One group of a usage summary: the events with ``start <= occurred_at <
    end`` (aware UTC datetimes; the hour, day or month clipped to the query's
    range). ``window`` is the billing window ``YYYY-MM`` for
    ``group_by=window``, else ``None``."""

    start: datetime
    end: datetime
    window: str | None
    totals: UsageTotals

    def to_json(self) -> dict[str, Any]:
        """Return ``{"start", "end", ["window"], "quantity", "amount_minor",
        "events"}`` (RFC 3339 UTC strings, integers)."""
        out: dict[str, Any] = {
            "start": format_rfc3339_utc(self.start),
            "end": format_rfc3339_utc(self.end),
        }
        if self.window is not None:
            out["window"] = self.window
        out.update(self.totals.to_json())
        return out


@dataclass(frozen=True)
class UsageSummary:
    """A tenant's usage of one metric over ``[from_at, to_at)``.

    ``groups`` are in time order and omit groups without events;
    ``currency`` is the ISO 4217 code of every amount (``None`` when no event
    is in range); ``total`` sums every group.
    """

    metric: str
    group_by: GroupBy
    from_at: datetime
    to_at: datetime
    currency: str | None
    groups: list[UsageGroup]
    total: UsageTotals

    def to_json(self) -> dict[str, Any]:
        """Return the API answer: ``{"metric", "group_by", "from", "to",
        "currency", "data": [groups], "total"}``."""
        return {
            "metric": self.metric,
            "group_by": self.group_by,
            "from": format_rfc3339_utc(self.from_at),
            "to": format_rfc3339_utc(self.to_at),
            "currency": self.currency,
            "data": [group.to_json() for group in self.groups],
            "total": self.total.to_json(),
        }


def _month_start(window: str) -> datetime:
    year, month = (int(part) for part in window.split("-"))
    return datetime(year, month, 1, tzinfo=UTC)


def _next_month(moment: datetime) -> datetime:
    if moment.month == 12:
        return moment.replace(year=moment.year + 1, month=1)
    return moment.replace(month=moment.month + 1)


def _check_range(*, from_at: datetime, to_at: datetime, group_by: str) -> None:
    if from_at >= to_at:
        raise UsageQueryInvalid(
            f"from must be before to, found from={format_rfc3339_utc(from_at)} "
            f"and to={format_rfc3339_utc(to_at)}",
            field="to",
        )
    cap = MAX_RANGE_BY_GROUP.get(group_by)
    if cap is not None and to_at - from_at > cap:
        raise UsageRangeTooLarge(
            f"group_by={group_by} allows a range of at most {cap.days} days, "
            f"found {(to_at - from_at).total_seconds() / 86400:.2f} days",
            field="to",
        )


def usage_summary_get(
    *,
    tenant: Tenant,
    metric: str,
    from_at: datetime,
    to_at: datetime,
    group_by: GroupBy,
) -> UsageSummary:
    """Return ``tenant``'s usage of ``metric`` with ``from_at <= occurred_at <
    to_at``, grouped by UTC hour, UTC day or billing window (``YYYY-MM``).

    ``from_at`` and ``to_at`` are aware datetimes (compared in UTC). A group's
    ``start``/``end`` are its hour, day or month, clipped to the range, so
    the groups tile ``[from_at, to_at)`` where events exist. Events of every
    state count, revoked attestations included (revocation changes no amount
    today; credit notes will net it).

    Raises:
        UsageQueryInvalid: ``from_at >= to_at`` (``field`` ``"to"``).
        UsageRangeTooLarge: the range exceeds :data:`MAX_RANGE_BY_GROUP`
            for ``group_by`` (``field`` ``"to"``).
        UsageCurrencyMixed: the events in range were charged in more than one
            currency (``field`` ``"metric"``).
        ValueError: ``group_by`` is not one of :data:`GROUP_BY_CHOICES`.
    """
    if group_by not in GROUP_BY_CHOICES:
        raise ValueError(f"group_by must be one of {GROUP_BY_CHOICES}")
    from_at, to_at = from_at.astimezone(UTC), to_at.astimezone(UTC)
    _check_range(from_at=from_at, to_at=to_at, group_by=group_by)
    # From the bundle side: the forward foreign key is an INNER JOIN with no
    # extra filter, so both sides can be read from their indexes alone.
    if group_by == "hour":
        bucket: Any = TruncHour("meter_event__occurred_at", tzinfo=UTC)
    elif group_by == "day":
        bucket = TruncDay("meter_event__occurred_at", tzinfo=UTC)
    else:
        bucket = F("meter_event__window")
    rows = (
        Bundle.objects.filter(
            meter_event__tenant=tenant,
            meter_event__metric=metric,
            meter_event__occurred_at__gte=from_at,
            meter_event__occurred_at__lt=to_at,
        )
        .annotate(bucket=bucket)
        .values("bucket", "currency")
        .annotate(
            quantity_sum=Sum("meter_event__quantity"),
            amount_sum=Sum("amount_minor"),
            events=Count("meter_event_id"),
        )
        .order_by("bucket")
    )
    groups: list[UsageGroup] = []
    currencies: set[str] = set()
    for row in rows:
        currencies.add(row["currency"])
        if group_by == "window":
            window: str | None = row["bucket"]
            start = _month_start(row["bucket"])
            end = _next_month(start)
        else:
            window = None
            start = row["bucket"].astimezone(UTC)
            end = start + (timedelta(hours=1) if group_by == "hour" else timedelta(1))
        # SUM of a bigint is numeric on PostgreSQL (a Decimal): exact; int().
        totals = UsageTotals(
            quantity=int(row["quantity_sum"]),
            amount_minor=int(row["amount_sum"]),
            events=int(row["events"]),
        )
        groups.append(
            UsageGroup(
                start=max(start, from_at),
                end=min(end, to_at),
                window=window,
                totals=totals,
            )
        )
    if len(currencies) > 1:
        raise UsageCurrencyMixed(
            f"metric {metric!r} was charged in {len(currencies)} currencies "
            f"({', '.join(sorted(currencies))}) in this range; amounts in "
            "different currencies are not summed, narrow from/to",
            field="metric",
        )
    total = UsageTotals(
        quantity=sum(g.totals.quantity for g in groups),
        amount_minor=sum(g.totals.amount_minor for g in groups),
        events=sum(g.totals.events for g in groups),
    )
    return UsageSummary(
        metric=metric,
        group_by=group_by,
        from_at=from_at,
        to_at=to_at,
        currency=next(iter(currencies), None),
        groups=groups,
        total=total,
    )
