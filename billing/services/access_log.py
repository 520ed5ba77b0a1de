"""Backfill meter events from an Apache access log (staff operation)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from billing.access_log import (
    LogLineError,
    event_id_for,
    parse_line,
    record_to_event,
    tenant_surrogate,
)
from billing.errors import UnknownTenant
from billing.models import Tenant
from billing.services.attest import meter_events_attest
from billing.settings import billing_settings
from kernel.protocol.errors import MeterproofError


class SurrogateKeyMissing(MeterproofError):
    """``--tenant-by ip`` needs ``MP_TENANT_SURROGATE_KEY`` (run billing_keys)."""

    code = "surrogate_key_missing"


@dataclass
class ImportSummary:
    """``{lines, attested, duplicates, rejected: [{line, reason}], tenants,
    amount_minor_total, periods}``; ``lines == attested + duplicates +
    len(rejected)``; ``periods`` maps each billing period (the events'
    ``window``, their UTC month ``YYYY-MM``) to its attested and duplicate
    events: the periods a statement can be closed for."""

    lines: int = 0
    attested: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    tenants: set[str] = field(default_factory=set)
    amount_minor_total: int = 0
    periods: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the JSON summary (``tenants`` is the count of distinct tenants;
        ``amount_minor_total`` sums the charges attested by this run;
        ``periods`` is ``{"YYYY-MM": events}``, sorted by period)."""
        return {
            "lines": self.lines,
            "attested": self.attested,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "tenants": len(self.tenants),
            "amount_minor_total": self.amount_minor_total,
            "periods": dict(sorted(self.periods.items())),
        }


def _ensure_tenants(slugs: set[str]) -> None:
    existing = set(Tenant.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    missing = sorted(slugs - existing)
    if missing:
        Tenant.objects.bulk_create(
            [Tenant(slug=s, name=s, is_surrogate=True) for s in missing],
            ignore_conflicts=True,
        )


def access_log_import(
    *,
    lines: Iterable[str],
    tenant_by: str = "ip",
    tenant_slug: str = "demo",
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
    prove_first: int | None = None,
) -> ImportSummary:
    """Attest every line of an access log as a backfilled meter event.

    Args:
        lines: the file's lines (newline stripped or not); numbered from 1.
        tenant_by: ``ip`` (surrogate tenant per client address, created on the
            default tariff as needed) or ``none`` (all lines to ``tenant_slug``).
        batch_size: events per attest batch (one log append, one checkpoint).
        progress: called with the number of lines handled after each batch.
        prove_first: attach Groth16 proofs to the first ``prove_first``
            batches' events only, whatever ``VDI_BILLING_INCIRCUIT_BINDING``
            says (``None``: follow the binding for every event). Proving costs
            ~25-80 ms per event, so the demo proves a documented sample, the
            bundles the strict profile can verify.

    Raises:
        SurrogateKeyMissing: ``tenant_by="ip"`` without a surrogate key.
        UnknownTenant: ``tenant_by="none"`` and ``tenant_slug`` does not exist.
        ValueError: unknown ``tenant_by``.
    """
    if tenant_by not in ("ip", "none"):
        raise ValueError(f"tenant_by must be 'ip' or 'none', not {tenant_by!r}")
    key = billing_settings.tenant_surrogate_key.encode("utf-8")
    if tenant_by == "ip" and not key:
        raise SurrogateKeyMissing(
            "MP_TENANT_SURROGATE_KEY is empty: run manage.py billing_keys"
        )
    if tenant_by == "none" and not Tenant.objects.filter(slug=tenant_slug).exists():
        raise UnknownTenant(f"no tenant {tenant_slug!r}", field="tenant")
    summary = ImportSummary()
    batch: list[tuple[int, dict[str, Any]]] = []
    flushed = [0]

    def flush() -> None:
        if not batch:
            return
        if tenant_by == "ip":
            _ensure_tenants({event["tenant"] for _, event in batch})
        prove = None
        if prove_first is not None:
            prove = flushed[0] < prove_first
        flushed[0] += 1
        outcomes = meter_events_attest(
            payloads=[e for _, e in batch], backfill=True, prove=prove
        )
        for (number, event), outcome in zip(batch, outcomes, strict=True):
            summary.tenants.add(event["tenant"])
            if outcome.status in ("attested", "replayed"):
                window = event["window"]
                summary.periods[window] = summary.periods.get(window, 0) + 1
            if outcome.status == "attested":
                summary.attested += 1
                summary.amount_minor_total += outcome.bundle["attestation"]["charge"][
                    "amount_minor"
                ]  # type: ignore[index]
            elif outcome.status == "replayed":
                summary.duplicates += 1
            else:
                assert outcome.error is not None
                summary.rejected.append(
                    {
                        "line": number,
                        "reason": f"{outcome.error.code}: {outcome.error.message}",
                    }
                )
        if progress:
            progress(len(batch))
        batch.clear()

    for number, raw in enumerate(lines, start=1):
        summary.lines += 1
        line = raw.rstrip("\n")
        try:
            record = parse_line(line)
        except LogLineError as exc:
            summary.rejected.append(
                {"line": number, "reason": f"malformed_line: {exc}"}
            )
            if progress:
                progress(1)
            continue
        tenant = (
            tenant_surrogate(record.client, key) if tenant_by == "ip" else tenant_slug
        )
        batch.append(
            (
                number,
                record_to_event(
                    record, tenant=tenant, event_id=event_id_for(number, line)
                ),
            )
        )
        if len(batch) >= batch_size:
            flush()
    flush()
    summary.rejected.sort(key=lambda r: r["line"])
    return summary
