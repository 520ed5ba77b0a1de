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

Credit notes net: a second grouped query sums the credit notes
(``billing.models_credit_notes.CreditNote``, negative amounts) of the
metric's bundles into ``credit_amount_minor``, by the credit note's
``issued_at`` for ``hour``/``day`` and by the ``period`` it nets into for
``window`` (the statement's netting); ``net_amount_minor`` is
``amount_minor + credit_amount_minor``. A revoked attestation is still
counted in ``amount_minor``; its credit note takes it out of the net.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDay, TruncHour

from billing.errors import UsageCurrencyMixed, UsageQueryInvalid, UsageRangeTooLarge
from billing.models import Bundle, CreditNote, Tenant
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
    units of the summary's currency, stand-alone charges); ``events``: how
    many events; ``credit_amount_minor``: sum of the credit notes placed in
    the group (``<= 0``); ``net_amount_minor``: ``amount_minor +
    credit_amount_minor``.
    """

    quantity: int
    amount_minor: int
    events: int
    credit_amount_minor: int = 0

    @property
    def net_amount_minor(self) -> int:
        """``amount_minor + credit_amount_minor`` (integer minor units)."""
        return self.amount_minor + self.credit_amount_minor

    def to_json(self) -> dict[str, int]:
        """Return ``{"quantity", "amount_minor", "events",
        "credit_amount_minor", "net_amount_minor"}`` (integers)."""
        return {
            "quantity": self.quantity,
            "amount_minor": self.amount_minor,
            "events": self.events,
            "credit_amount_minor": self.credit_amount_minor,
            "net_amount_minor": self.net_amount_minor,
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
        "events", "credit_amount_minor", "net_amount_minor"}`` (RFC 3339 UTC
        strings, integers)."""
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


def _windows_overlapping(from_at: datetime, to_at: datetime) -> list[str]:
    """Return the billing windows (``YYYY-MM``) whose month overlaps
    ``[from_at, to_at)`` (aware UTC datetimes, ``from_at < to_at``)."""
    windows = []
    month = from_at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while month < to_at:
        windows.append(month.strftime("%Y-%m"))
        month = _next_month(month)
    return windows


def _credit_rows(
    *,
    tenant: Tenant,
    metric: str,
    from_at: datetime,
    to_at: datetime,
    group_by: GroupBy,
) -> Any:
    """Return the credit notes of ``tenant``'s bundles of ``metric`` summed
    per ``(bucket, currency)`` (``credit_sum``, negative minor units): by
    truncated ``issued_at`` in ``[from_at, to_at)`` for ``hour``/``day``, by
    ``period`` among the windows the range overlaps for ``window``."""
    credits = CreditNote.objects.filter(
        tenant=tenant, bundle__meter_event__metric=metric
    )
    if group_by == "window":
        credits = credits.filter(period__in=_windows_overlapping(from_at, to_at))
        bucket: Any = F("period")
    else:
        credits = credits.filter(issued_at__gte=from_at, issued_at__lt=to_at)
        trunc = TruncHour if group_by == "hour" else TruncDay
        bucket = trunc("issued_at", tzinfo=UTC)
    return (
        credits.annotate(bucket=bucket)
        .values("bucket", "currency")
        .annotate(credit_sum=Sum("amount_minor"))
        .order_by("bucket")
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
    the groups tile ``[from_at, to_at)`` where events or credits exist.
    Events of every state count, revoked attestations included; their credit
    notes net them out (``credit_amount_minor``, ``net_amount_minor``: by
    ``issued_at`` for hour/day, by the credit's ``period`` for window).

    Raises:
        UsageQueryInvalid: ``from_at >= to_at`` (``field`` ``"to"``).
        UsageRangeTooLarge: the range exceeds :data:`MAX_RANGE_BY_GROUP`
            for ``group_by`` (``field`` ``"to"``).
        UsageCurrencyMixed: the events (and credits) in range are in more
            than one currency (``field`` ``"metric"``).
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
    sums: dict[Any, dict[str, int]] = {}
    currencies: set[str] = set()
    for row in rows:
        currencies.add(row["currency"])
        # SUM of a bigint is numeric on PostgreSQL (a Decimal): exact; int().
        sums[row["bucket"]] = {
            "quantity": int(row["quantity_sum"]),
            "amount_minor": int(row["amount_sum"]),
            "events": int(row["events"]),
            "credit_amount_minor": 0,
        }
    for row in _credit_rows(
        tenant=tenant, metric=metric, from_at=from_at, to_at=to_at, group_by=group_by
    ):
        currencies.add(row["currency"])
        entry = sums.setdefault(
            row["bucket"],
            {"quantity": 0, "amount_minor": 0, "events": 0, "credit_amount_minor": 0},
        )
        entry["credit_amount_minor"] += int(row["credit_sum"])
    groups: list[UsageGroup] = []
    for bucket in sorted(sums):
        if group_by == "window":
            window: str | None = bucket
            start = _month_start(bucket)
            end = _next_month(start)
        else:
            window = None
            start = bucket.astimezone(UTC)
            end = start + (timedelta(hours=1) if group_by == "hour" else timedelta(1))
        groups.append(
            UsageGroup(
                start=max(start, from_at),
                end=min(end, to_at),
                window=window,
                totals=UsageTotals(**sums[bucket]),
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
        credit_amount_minor=sum(g.totals.credit_amount_minor for g in groups),
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
