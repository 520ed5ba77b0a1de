"""Tariffs: drafts, publishing (immutable from then on), new versions, and
the import of a tariff document (``manage.py tariff_import``).

Every change appends one record to the staff audit trail in its own
transaction (:func:`audittrail.services.audit_record`): ``tariff.create``,
``tariff.version_create``, ``tariff.version_update``, ``tariff.publish``.
``actor`` is the staff user, a label (``system:tariff_import``) or ``None``
(``system``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audittrail.services import audit_record, audit_snapshot
from billing.errors import (
    TariffImmutable,
    TariffPublishConflict,
    TariffStateError,
    TariffVersionConflict,
)
from billing.models import Tariff, TariffVersion
from billing.protocol.tariff import TariffDocument
from kernel.protocol.timefmt import format_rfc3339_utc

#: The fields of a tariff the audit trail records.
TARIFF_AUDIT_FIELDS = ("tariff_id", "name", "metric", "currency")
#: The fields of a tariff version the audit trail records (never secrets:
#: tariffs have none; the document is the published JSON).
TARIFF_VERSION_AUDIT_FIELDS = (
    "version",
    "status",
    "pricing",
    "rounding",
    "effective_from",
    "effective_to",
    "tariff_hash",
    "published_at",
)


def _version_state(version: TariffVersion) -> dict[str, Any] | None:
    state = audit_snapshot(version, TARIFF_VERSION_AUDIT_FIELDS)
    if state is not None:
        state["tariff_id"] = version.tariff.tariff_id
    return state


def _version_audit(
    version: TariffVersion,
    *,
    action: str,
    actor: Any,
    before: dict[str, Any] | None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        obj_type="tariff_version",
        obj_id=f"{version.tariff.tariff_id}@{version.version}",
        before=before,
        after=_version_state(version),
    )


@transaction.atomic
def tariff_create(
    *, tariff_id: str, metric: str, currency: str, name: str = "", actor: Any = None
) -> Tariff:
    """Create a tariff (the product; prices live in its versions); audit
    ``tariff.create`` by ``actor``.

    Raises:
        django.core.exceptions.ValidationError: duplicate id or bad currency.
    """
    tariff = Tariff(tariff_id=tariff_id, metric=metric, currency=currency, name=name)
    tariff.full_clean()
    tariff.save()
    audit_record(
        actor=actor,
        action="tariff.create",
        obj_type="tariff",
        obj_id=tariff.tariff_id,
        before=None,
        after=audit_snapshot(tariff, TARIFF_AUDIT_FIELDS),
    )
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
    number: int | None = None,
    actor: Any = None,
) -> TariffVersion:
    """Create a draft version of ``tariff``: number ``number`` if given (an
    imported document keeps its own, so its ``tariff_hash`` is unchanged),
    else the next one (``max(version) + 1``); audit
    ``tariff.version_create`` by ``actor``.

    Raises:
        TariffError: if the pricing is not valid (checked now, not at publish).
        django.core.exceptions.ValidationError: ``number`` already exists.
    """
    Tariff.objects.select_for_update().get(pk=tariff.pk)
    if number is None:
        number = (tariff.versions.aggregate(m=Max("version"))["m"] or 0) + 1
    version = TariffVersion(
        tariff=tariff,
        version=number,
        pricing=pricing,
        rounding=rounding,
        effective_from=effective_from,
        effective_to=effective_to,
    )
    tariff_document(version)
    version.full_clean()
    version.save()
    _version_audit(version, action="tariff.version_create", actor=actor, before=None)
    return version


@transaction.atomic
def tariff_version_update(
    version: TariffVersion, *, actor: Any = None, **changes: Any
) -> TariffVersion:
    """Change a draft version's pricing, rounding or window; audit
    ``tariff.version_update`` by ``actor``.

    Raises:
        TariffImmutable: if the version is published.
        TariffError: if the result is not a valid tariff.
    """
    locked = TariffVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != TariffVersion.Status.DRAFT:
        raise TariffImmutable(
            f"{locked} is published and immutable; create a new version", field="status"
        )
    before = _version_state(locked)
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
    _version_audit(locked, action="tariff.version_update", actor=actor, before=before)
    return locked


@transaction.atomic
def tariff_version_publish(
    *, version: TariffVersion, actor: Any = None
) -> TariffVersion:
    """Publish a draft: seal its document and ``tariff_hash``; immutable
    afterwards. Audit ``tariff.publish`` by ``actor``.

    Raises:
        TariffStateError: if it is not a draft.
        TariffPublishConflict: if another version of the tariff is published
            with the same ``effective_from``.
        TariffError: if it is not a valid tariff.
    """
    locked = (
        TariffVersion.objects.select_for_update()
        .select_related("tariff")
        .get(pk=version.pk)
    )
    if locked.status != TariffVersion.Status.DRAFT:
        raise TariffStateError(f"{locked} is already published", field="status")
    clash = (
        TariffVersion.objects.filter(
            tariff_id=locked.tariff_id,
            status=TariffVersion.Status.PUBLISHED,
            effective_from=locked.effective_from,
        )
        .exclude(pk=locked.pk)
        .values_list("version", flat=True)
        .first()
    )
    if clash is not None:
        raise TariffPublishConflict(
            f"{locked.tariff.tariff_id} v{clash} is already published with "
            f"effective_from {format_rfc3339_utc(locked.effective_from)}; "
            f"v{locked.version} cannot be published with the same start",
            field="effective_from",
        )
    before = _version_state(locked)
    document = tariff_document(locked)
    locked.document = document
    locked.tariff_hash = TariffDocument.from_json(document).tariff_hash
    locked.status = TariffVersion.Status.PUBLISHED
    locked.published_at = timezone.now()
    locked.full_clean()
    locked.save()
    _version_audit(locked, action="tariff.publish", actor=actor, before=before)
    return locked


def tariff_version_new_from(
    *, version: TariffVersion, effective_from: datetime, actor: Any = None
) -> TariffVersion:
    """Start a new draft version copying ``version``'s pricing (the way to change
    a published tariff); audited as ``tariff.version_create``."""
    return tariff_version_create(
        tariff=version.tariff,
        pricing=version.pricing,
        rounding=version.rounding,
        effective_from=effective_from,
        effective_to=None,
        actor=actor,
    )


#: What :func:`tariff_import` did: ``created`` a draft, ``created`` and
#: ``published``, ``updated`` a draft of that number, or ``unchanged``.
TariffImportAction = Literal["created", "published", "updated", "unchanged"]


@dataclass(frozen=True)
class TariffImport:
    """The outcome of :func:`tariff_import`.

    Attributes:
        version: the stored version (draft or published).
        tariff_hash: SHA-256(JCS(document)), 64 lowercase hex characters;
            for a draft the hash it gets when published (the document names
            its version, so it is fixed).
        action: see :data:`TariffImportAction`.
    """

    version: TariffVersion
    tariff_hash: str
    action: TariffImportAction

    def to_json(self) -> dict[str, Any]:
        """Return ``{"tariff_id", "version", "tariff_hash", "status"}``
        (``status``: ``draft`` or ``published``)."""
        return {
            "tariff_id": self.version.tariff.tariff_id,
            "version": self.version.version,
            "tariff_hash": self.tariff_hash,
            "status": self.version.status,
        }


def _draft_hash(version: TariffVersion) -> str:
    """Return the ``tariff_hash`` of a version, sealed or not."""
    if version.tariff_hash:
        return version.tariff_hash
    return TariffDocument.from_json(tariff_document(version)).tariff_hash


@transaction.atomic
def tariff_import(
    *, document: Any, publish: bool = False, actor: Any = None
) -> TariffImport:
    """Store a tariff document (the JSON ``export_tariff`` writes,
    docs/PROTOCOL.md §4.5) as a draft version of its tariff, or published.

    The version keeps the document's ``version`` number, so a published
    import hashes to the document's ``tariff_hash``. The ``Tariff`` is made
    when new (``name`` empty). Idempotent: a version of that number with the
    same ``tariff_hash`` is reported (``unchanged``), or published when it
    is a draft and ``publish`` is set; a draft of that number with other
    content is replaced by the document (drafts are editable).

    Args:
        document: the decoded JSON object (every key required).
        publish: publish the version (``tariff_version_publish``).
        actor: who imports, for the audit trail (``manage.py tariff_import``
            gives ``system:tariff_import``); each change it makes is audited,
            an ``unchanged`` import writes no record.

    Raises:
        TariffError: (``tariff_invalid``) the document is not a valid tariff;
            ``field`` is the offending member.
        TariffVersionConflict: the tariff exists with another metric or
            currency, or the version number is published with another hash.
        TariffPublishConflict: ``publish`` and another version is published
            with the same ``effective_from``.
    """
    parsed = TariffDocument.from_json(document)
    tariff = (
        Tariff.objects.select_for_update().filter(tariff_id=parsed.tariff_id).first()
    )
    if tariff is None:
        tariff = tariff_create(
            tariff_id=parsed.tariff_id,
            metric=parsed.metric,
            currency=parsed.currency,
            actor=actor,
        )
    for name in ("metric", "currency"):
        stored, wanted = getattr(tariff, name), getattr(parsed, name)
        if stored != wanted:
            raise TariffVersionConflict(
                f"tariff {tariff.tariff_id} has {name} {stored!r}, the document "
                f"has {wanted!r}; a tariff's {name} never changes",
                field=name,
            )
    fields = {
        "pricing": parsed.pricing.to_json(),
        "rounding": parsed.rounding,
        "effective_from": parsed.effective_from,
        "effective_to": parsed.effective_to,
    }
    action: TariffImportAction
    version = tariff.versions.filter(version=parsed.version).first()
    if version is None:
        version = tariff_version_create(
            tariff=tariff, number=parsed.version, actor=actor, **fields
        )
        action = "created"
    elif _draft_hash(version) == parsed.tariff_hash:
        action = "unchanged"
    elif version.status == TariffVersion.Status.DRAFT:
        version = tariff_version_update(version, actor=actor, **fields)
        action = "updated"
    else:
        raise TariffVersionConflict(
            f"{tariff.tariff_id} v{version.version} is published with "
            f"tariff_hash {version.tariff_hash}, the document's is "
            f"{parsed.tariff_hash}; give the new prices a new version number",
            field="version",
        )
    if publish and version.status == TariffVersion.Status.DRAFT:
        version = tariff_version_publish(version=version, actor=actor)
        action = "published"
    return TariffImport(version=version, tariff_hash=parsed.tariff_hash, action=action)
