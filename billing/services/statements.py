"""Close a tenant's billing period and issue its signed statement.

:func:`statement_close`, in **one transaction**: takes the row lock on the
period's ``BillingPeriod`` (the lock attest takes to number a bundle, so no
number above N is issued once it is held), refuses a closed period, sums the
period's bundles with one grouped query, streams their leaf hashes in number
order into the receipts root, signs the statement
(:func:`billing.protocol.statement.build_statement`), queues it as a
transparency-log leaf, sets ``closed_at`` and stores the row. After the
commit it sequences the leaf (like attest; should that fail the leaf stays
queued for ``log_tick`` and the ``log`` member appears on a later read).

Lines price each ``(metric, tariff version)`` once over its total quantity
(design D1): ``compute_charge(tariff, Σ quantity)``; ``events_amount_minor``
keeps Σ of the bundles' stand-alone charges.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from audittrail.services import audit_record
from billing.errors import (
    StatementCurrencyMixed,
    StatementPeriodClosed,
    StatementPeriodInvalid,
    StatementPeriodOpen,
    StatementSequenceGap,
    StatementTooLarge,
    UnknownTenant,
)
from billing.keyring import Keyring, get_keyring
from billing.models import (
    BillingPeriod,
    Bundle,
    MeterEvent,
    Statement,
    Subscription,
    Tariff,
    TariffVersion,
    Tenant,
)
from billing.protocol.statement import (
    ReceiptsRoot,
    build_statement,
    period_lines,
    statement_leaf_data,
)
from billing.protocol.statement.document import PERIOD_RE
from billing.protocol.tariff import TariffDocument
from billing.selectors_credit_notes import credit_notes_for_period
from billing.services.periods import billing_period_lock
from billing.settings import billing_settings
from transparency.protocol.tiles import MAX_ENTRY_SIZE_BYTES
from transparency.services import log_enqueue, log_sequence

logger = logging.getLogger(__name__)

#: Currency of an empty period when the tenant has no tariff at all (ISO
#: 4217 "no currency").
NO_CURRENCY = "XXX"
#: Rows fetched per round trip while streaming leaf hashes.
_CHUNK_ROWS = 10_000


def period_end(period: str) -> datetime:
    """Return the first instant (UTC) after the month ``period`` (``YYYY-MM``).

    Raises:
        StatementPeriodInvalid: ``period`` is not ``YYYY-MM``.
    """
    if not isinstance(period, str) or not PERIOD_RE.fullmatch(period):
        raise StatementPeriodInvalid(
            f"period must be a billing month YYYY-MM, found {period!r}",
            field="period",
        )
    year, month = int(period[:4]), int(period[5:])
    if month == 12:
        return datetime(year + 1, 1, 1, tzinfo=UTC)
    return datetime(year, month + 1, 1, tzinfo=UTC)


def _tenant(tenant: Tenant | str) -> Tenant:
    if isinstance(tenant, Tenant):
        return tenant
    found = Tenant.objects.filter(slug=tenant).first()
    if found is None:
        raise UnknownTenant(f"no tenant {tenant!r}", field="tenant")
    return found


def _empty_currency(tenant: Tenant) -> str:
    """Return the currency of a period without bundles: the tenant's first
    subscribed tariff's, else the default tariff's, else ``XXX``."""
    sub = (
        Subscription.objects.filter(tenant=tenant)
        .order_by("starts_at")
        .values_list("tariff__currency", flat=True)
        .first()
    )
    if sub:
        return str(sub)
    default = (
        Tariff.objects.filter(tariff_id=billing_settings.default_tariff_id)
        .values_list("currency", flat=True)
        .first()
    )
    return str(default) if default else NO_CURRENCY


def _receipts_root(tenant: Tenant, period: str, count: int) -> bytes:
    """Return the receipts root over the period's numbered bundles 1..count,
    streamed in number order.

    Raises:
        StatementSequenceGap: the stored numbers are not exactly 1..count.
    """
    root = ReceiptsRoot()
    rows = (
        Bundle.objects.filter(tenant=tenant, period=period)
        .exclude(sequence_number=None)
        .order_by("sequence_number")
        .values_list("sequence_number", "leaf_hash")
    )
    for number, leaf in rows.iterator(chunk_size=_CHUNK_ROWS):
        if number != root.count + 1 or leaf is None:
            raise StatementSequenceGap(
                f"bundle number {number} of {tenant.slug}/{period} follows "
                f"{root.count} (or has no leaf hash); the period stays open",
                field="period",
            )
        root.add(bytes.fromhex(leaf))
    if root.count != count:
        raise StatementSequenceGap(
            f"{tenant.slug}/{period} has {root.count} numbered bundles, its "
            f"last number is {count}; the period stays open",
            field="period",
        )
    return root.root()


def statement_close(
    *,
    tenant: Tenant | str,
    period: str,
    actor: object | None = None,
    now: datetime | None = None,
    keyring: Keyring | None = None,
) -> Statement:
    """Close ``tenant``'s ``period`` and return its stored statement.

    The statement lists the credit notes that net into the period
    (:func:`~billing.selectors_credit_notes.credit_notes_for_period`, read
    under the period lock ``credit_note_issue`` also takes, so a credit note
    is either listed here or nets into a later open period) and its
    ``amount_minor`` is Σ lines + Σ credit notes. ``statement.close`` is
    written to the staff audit trail in the same transaction.

    Args:
        tenant: a tenant or its slug.
        period: ``YYYY-MM``; its month must have ended (UTC).
        actor: who closes, for the audit trail: a staff user (the admin
            action), a label (``"system:statement_close"`` from the command,
            ``"system:beat"`` from the Celery job) or ``None`` (``system``).
        now: the closing time (``closed_at``), default the clock.
        keyring: the server keys (default :func:`get_keyring`).

    Raises:
        UnknownTenant: (404) no tenant with that slug.
        StatementPeriodInvalid: (400) ``period`` is not ``YYYY-MM``.
        StatementPeriodOpen: (422) the month has not ended at ``now``.
        StatementPeriodClosed: (409) already closed; nothing changed.
        StatementCurrencyMixed: (422) bundles or credit notes in several
            currencies.
        StatementSequenceGap: (409) stored numbers not exactly 1..N.
        StatementTooLarge: (422) the statement would not fit one log entry
            (too many ``vdi-billing/2`` receipts to list).
        SigningKeysUnconfigured: (503) the server has no keys.
    """
    now = now or timezone.now()
    end = period_end(period)
    row = _tenant(tenant)
    if now < end:
        raise StatementPeriodOpen(
            f"period {period} ends at {end.isoformat()}; it can be closed only "
            "after its month has ended",
            field="period",
        )
    keyring = keyring or get_keyring()
    with transaction.atomic():
        locked = billing_period_lock(tenant=row, period=period)
        if (
            locked.closed_at is not None
            or Statement.objects.filter(tenant=row, period=period).exists()
        ):
            raise StatementPeriodClosed(
                f"period {period} of tenant {row.slug} is already closed",
                field="period",
            )
        document = _statement_document(row, period, locked.last_number, now, keyring)
        data = statement_leaf_data(document)
        if len(data) > MAX_ENTRY_SIZE_BYTES:
            raise StatementTooLarge(
                f"the signed statement is {len(data)} bytes, at most "
                f"{MAX_ENTRY_SIZE_BYTES} fit one log entry: the period lists "
                f"{len(document['unsequenced'])} vdi-billing/2 receipts",
                field="period",
            )
        leaf = log_enqueue(entries=[data])[0]
        locked.closed_at = now
        locked.save(update_fields=["closed_at"])
        statement = Statement(
            statement_id=document["statement_id"],
            tenant=row,
            billing_period=locked,
            period=period,
            currency=document["currency"],
            amount_minor=document["amount_minor"],
            receipts_count=document["receipts"]["count"],
            leaf_hash=leaf,
            document=json.dumps(document, separators=(",", ":"), ensure_ascii=False),
            closed_at=now,
        )
        statement.full_clean()
        statement.save()
        audit_record(
            actor=actor,
            action="statement.close",
            obj_type="statement",
            obj_id=statement.statement_id,
            before=None,
            after={
                "statement_id": statement.statement_id,
                "tenant": row.slug,
                "period": period,
                "currency": statement.currency,
                "amount_minor": statement.amount_minor,
                "receipts_count": statement.receipts_count,
                "credit_notes": [
                    note["credit_note_id"] for note in document["credit_notes"]
                ],
                "leaf_hash": leaf,
            },
        )
    try:
        log_sequence(
            leaf_hashes=[leaf], signer=keyring.log_signer, origin=keyring.log_origin
        )
    except Exception:
        logger.exception("sequencing statement %s failed; left queued", leaf)
    return statement


def _statement_document(
    tenant: Tenant, period: str, count: int, now: datetime, keyring: Keyring
) -> dict[str, Any]:
    """Return the signed statement object of ``(tenant, period)`` (one
    grouped query for the lines, one stream for the root, one for the
    unsequenced receipts, one for the credit notes that net into the
    period). Call under the period's row lock.

    Raises:
        StatementCurrencyMixed, StatementSequenceGap.
    """
    bundles = Bundle.objects.filter(tenant=tenant, meter_event__window=period)
    groups = list(
        bundles.values("tariff_version_id", "currency")
        .annotate(
            events=Count("id"),
            quantity=Sum("meter_event__quantity"),
            amount=Sum("amount_minor"),
        )
        .order_by("tariff_version_id", "currency")
    )
    credits = list(
        credit_notes_for_period(tenant=tenant, period=period).values_list(
            "credit_note_id", "leaf_hash", "amount_minor", "currency"
        )
    )
    currencies = sorted({g["currency"] for g in groups} | {row[3] for row in credits})
    if len(currencies) > 1:
        raise StatementCurrencyMixed(
            f"the bundles and credit notes of {tenant.slug}/{period} are in "
            f"{', '.join(currencies)}; a statement has one currency",
            field="period",
        )
    currency = currencies[0] if currencies else _empty_currency(tenant)
    documents = dict(
        TariffVersion.objects.filter(
            pk__in=[g["tariff_version_id"] for g in groups]
        ).values_list("pk", "document")
    )
    lines = period_lines(
        (
            TariffDocument.from_json(documents[g["tariff_version_id"]]),
            g["events"],
            g["quantity"],
            g["amount"],
        )
        for g in groups
    )
    unsequenced = list(
        bundles.filter(sequence_number=None)
        .order_by("receipt_id")
        .values_list("receipt_id", "leaf_hash")
    )
    return build_statement(
        tenant=tenant.slug,
        period=period,
        currency=currency,
        closed_at=now,
        issuer=keyring.issuer,
        lines=lines,
        receipts_count=count,
        receipts_root=_receipts_root(tenant, period, count),
        unsequenced=[(r, leaf or "") for r, leaf in unsequenced],
        credit_notes=[
            {
                "credit_note_id": credit_note_id,
                "leaf_hash": leaf,
                "amount_minor": int(amount),
            }
            for credit_note_id, leaf, amount, _ in credits
        ],
    )


def statements_close_due(
    *, now: datetime | None = None, actor: object = "system:beat"
) -> list[str]:
    """Close every tenant's periods whose month ended more than
    ``MP_STATEMENT_CLOSE_GRACE_DAYS`` days before ``now`` (the late-event
    window) and that have events or a ``BillingPeriod`` row but no
    statement; return the closed statement ids. A period that fails to
    close is logged and skipped (the next run retries it). ``actor`` is the
    audit trail's actor of each close (the Celery beat job's label by
    default).
    """
    now = now or timezone.now()
    grace = timedelta(days=billing_settings.statement_close_grace_days)
    closed = set(
        BillingPeriod.objects.exclude(closed_at=None).values_list("tenant_id", "period")
    )
    candidates = set(
        MeterEvent.objects.values_list("tenant_id", "window").distinct()
    ) | set(
        BillingPeriod.objects.filter(closed_at=None).values_list("tenant_id", "period")
    )
    issued: list[str] = []
    for tenant_id, period in sorted(candidates - closed):
        try:
            if period_end(period) + grace > now:
                continue
            statement = statement_close(
                tenant=Tenant.objects.get(pk=tenant_id),
                period=period,
                now=now,
                actor=actor,
            )
        except Exception:
            logger.exception("closing period %s of tenant %s failed", period, tenant_id)
            continue
        issued.append(statement.statement_id)
    return issued
