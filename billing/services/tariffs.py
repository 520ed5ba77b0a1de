"""Tariffs: drafts, publishing (immutable from then on), new versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from billing.errors import TariffImmutable, TariffStateError
from billing.models import Tariff, TariffVersion
from billing.protocol.tariff import TariffDocument
from kernel.protocol.timefmt import format_rfc3339_utc


def tariff_create(
    *, tariff_id: str, metric: str, currency: str, name: str = ""
) -> Tariff:
    """Create a tariff (the product; prices live in its versions).

    Raises:
        django.core.exceptions.ValidationError: duplicate id or bad currency.
    """
    tariff = Tariff(tariff_id=tariff_id, metric=metric, currency=currency, name=name)
    tariff.full_clean()
    tariff.save()
    return tariff


def tariff_document(version: TariffVersion) -> dict[str, Any]:
    """Return the DESIGN.md tariff JSON of ``version`` (its published form).

    Raises:
        TariffError: if the version's fields do not make a valid tariff.
    """
    doc = {
        "tariff_id": version.tariff.tariff_id,
        "version": version.version,
        "currency": version.tariff.currency,
        "metric": version.tariff.metric,
        "pricing": version.pricing,
        "rounding": version.rounding,
        "effective_from": format_rfc3339_utc(version.effective_from),
        "effective_to": format_rfc3339_utc(version.effective_to)
        if version.effective_to
        else None,
    }
    return TariffDocument.from_json(doc).to_json()


@transaction.atomic
def tariff_version_create(
    *,
    tariff: Tariff,
    pricing: dict[str, Any],
    effective_from: datetime,
    effective_to: datetime | None = None,
    rounding: str = "half_up",
) -> TariffVersion:
    """Create the next draft version (``max(version) + 1``) of ``tariff``.

    Raises:
        TariffError: if the pricing is not valid (checked now, not at publish).
    """
    Tariff.objects.select_for_update().get(pk=tariff.pk)
    latest = tariff.versions.aggregate(m=Max("version"))["m"] or 0
    version = TariffVersion(
        tariff=tariff,
        version=latest + 1,
        pricing=pricing,
        rounding=rounding,
        effective_from=effective_from,
        effective_to=effective_to,
    )
    tariff_document(version)
    version.full_clean()
    version.save()
    return version


@transaction.atomic
def tariff_version_update(version: TariffVersion, **changes: Any) -> TariffVersion:
    """Change a draft version's pricing, rounding or window.

    Raises:
        TariffImmutable: if the version is published.
        TariffError: if the result is not a valid tariff.
    """
    locked = TariffVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != TariffVersion.Status.DRAFT:
        raise TariffImmutable(
            f"{locked} is published and immutable; create a new version", field="status"
        )
    for name in ("pricing", "rounding", "effective_from", "effective_to"):
        if name in changes:
            setattr(locked, name, changes.pop(name))
    if changes:
        raise TariffStateError(
            f"cannot change {sorted(changes)}", field=sorted(changes)[0]
        )
    tariff_document(locked)
    locked.full_clean()
    locked.save()
    return locked


@transaction.atomic
def tariff_version_publish(*, version: TariffVersion) -> TariffVersion:
    """Publish a draft: seal its document and ``tariff_hash``; immutable afterwards.

    Raises:
        TariffStateError: if it is not a draft.
        TariffError: if it is not a valid tariff.
    """
    locked = (
        TariffVersion.objects.select_for_update()
        .select_related("tariff")
        .get(pk=version.pk)
    )
    if locked.status != TariffVersion.Status.DRAFT:
        raise TariffStateError(f"{locked} is already published", field="status")
    document = tariff_document(locked)
    locked.document = document
    locked.tariff_hash = TariffDocument.from_json(document).tariff_hash
    locked.status = TariffVersion.Status.PUBLISHED
    locked.published_at = timezone.now()
    locked.full_clean()
    locked.save()
    return locked


def tariff_version_new_from(
    *, version: TariffVersion, effective_from: datetime
) -> TariffVersion:
    """Start a new draft version copying ``version``'s pricing (the way to change
    a published tariff)."""
    return tariff_version_create(
        tariff=version.tariff,
        pricing=version.pricing,
        rounding=version.rounding,
        effective_from=effective_from,
        effective_to=None,
    )
