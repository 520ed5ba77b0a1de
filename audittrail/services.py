"""Appending to the staff audit trail (writes).

Every staff action calls :func:`audit_record` inside its own transaction, so
the record and the change commit (or roll back) together::

    audit_record(
        actor=request.user,                # or "system:<command>", or None
        action="tariff.publish",
        obj_type="tariff_version",
        obj_id="api-calls@2",
        before=audit_snapshot(old, ("status",)),
        after=audit_snapshot(new, ("status", "tariff_hash")),
    )

:func:`audit_snapshot` turns a row's fields into the JSON ``before`` /
``after`` hold. Never pass secrets (key hashes, private keys, API key
secrets): the trail is readable by every auditor.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from audittrail.errors import AuditInputInvalid
from audittrail.models import AuditChainLock, AuditRecord
from audittrail.protocol.chain import ACTION_PATTERN, GENESIS_HASH, record_hash
from kernel.protocol.errors import CanonicalizationError
from kernel.protocol.jcs import canonical_json
from kernel.protocol.timefmt import format_rfc3339_utc

__all__ = ["SYSTEM_ACTOR", "audit_actor", "audit_record", "audit_snapshot"]

#: ``actor`` of a record made with no user and no label.
SYSTEM_ACTOR = "system"
#: The primary key of the one :class:`AuditChainLock` row.
_LOCK_PK = 1


def audit_actor(actor: Any) -> tuple[int | None, str]:
    """Return ``(actor_user_id, actor)`` for a record.

    ``actor`` is a user (``request.user``: its id and user name; an
    anonymous user gives ``(None, "anonymous")``), a label string such as
    ``"system:tariff_import"`` or ``"tenant:acme"`` (``(None, label)``), or
    ``None`` (``(None, "system")``).

    Raises:
        AuditInputInvalid: an empty label, or longer than 200 characters.
    """
    if actor is None:
        return None, SYSTEM_ACTOR
    if isinstance(actor, str):
        label = actor.strip()
        if not label or len(label) > 200:
            raise AuditInputInvalid(
                f"actor label must be 1 .. 200 characters, found {len(label)}",
                field="actor",
            )
        return None, label
    if not getattr(actor, "is_authenticated", False) or actor.pk is None:
        return None, "anonymous"
    return int(actor.pk), str(actor.get_username())


def _json_value(value: Any, path: str) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, datetime):
        return format_rfc3339_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, Mapping):
        return {str(k): _json_value(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise AuditInputInvalid(
        f"{path} is a {type(value).__name__}; audit values are JSON: strings, "
        "integers, booleans, null, lists, objects, datetimes, decimals",
        field=path,
    )


def audit_snapshot(
    instance: models.Model | None, fields: Iterable[str]
) -> dict[str, Any] | None:
    """Return ``{field: value}`` of ``instance`` as JSON for ``before`` /
    ``after`` (``None`` when ``instance`` is ``None``).

    Values: datetimes as Timestamps (RFC 3339 UTC), dates ISO 8601,
    ``Decimal`` and UUID as strings, a related row as its primary key (a
    string), mappings and lists converted member by member.

    Raises:
        AuditInputInvalid: a value of another type (a float, bytes ...).
    """
    if instance is None:
        return None
    return {name: _json_value(getattr(instance, name), name) for name in fields}


def _check_state(value: Any, name: str) -> Any:
    value = _json_value(value, name)
    try:
        canonical_json(value)
    except CanonicalizationError as exc:
        raise AuditInputInvalid(f"{name}: {exc.message}", field=name) from None
    return value


def _lock_chain() -> None:
    # Serialises appends: the head is read and extended by one transaction at
    # a time. get_or_create: a flushed test database has no lock row.
    AuditChainLock.objects.get_or_create(id=_LOCK_PK)
    AuditChainLock.objects.select_for_update().filter(id=_LOCK_PK).values_list(
        "id"
    ).get()


@transaction.atomic
def audit_record(
    *,
    actor: Any,
    action: str,
    obj_type: str,
    obj_id: Any,
    before: Any,
    after: Any,
    now: datetime | None = None,
) -> AuditRecord:
    """Append one record to the audit trail and return it.

    Call it inside the staff action's transaction: the record commits with
    the change, and a rolled-back action leaves no record (and no gap).

    Args:
        actor: see :func:`audit_actor` (a user, a label, or ``None``).
        action: dotted lowercase name, e.g. ``tariff.publish``,
            ``api_key.revoke`` (:data:`~audit.protocol.chain.ACTION_PATTERN`).
        obj_type: the object's kind, e.g. ``tariff_version``.
        obj_id: its stable identifier (stored as a string).
        before: the object's state before (JSON, see :func:`audit_snapshot`;
            ``None`` when it did not exist). Never secrets.
        after: its state after (``None`` when it no longer exists).
        now: the clock (default ``timezone.now()``; aware).

    Raises:
        AuditInputInvalid: a malformed action, an empty ``obj_type``, or a
            state JSON cannot hold (a float, an integer beyond 2**53 - 1).
    """
    if not isinstance(action, str) or not re.fullmatch(ACTION_PATTERN, action):
        raise AuditInputInvalid(
            f"action must be dotted lowercase words like tariff.publish, "
            f"found {action!r}",
            field="action",
        )
    if not obj_type or len(obj_type) > 64:
        raise AuditInputInvalid(
            "obj_type must be 1 .. 64 characters", field="object_type"
        )
    object_id = "" if obj_id is None else str(obj_id)
    if len(object_id) > 255:
        raise AuditInputInvalid(
            f"obj_id is {len(object_id)} characters, the limit is 255",
            field="object_id",
        )
    user_id, actor_name = audit_actor(actor)
    fields: dict[str, Any] = {
        "actor_user_id": user_id,
        "actor": actor_name,
        "action": action,
        "object_type": obj_type,
        "object_id": object_id,
        "before": _check_state(before, "before"),
        "after": _check_state(after, "after"),
    }
    _lock_chain()
    head = AuditRecord.objects.order_by("-seq").values("seq", "record_hash").first()
    at = now or timezone.now()
    seq = head["seq"] + 1 if head else 1
    prev_hash = head["record_hash"] if head else GENESIS_HASH
    document = {**fields, "seq": seq, "at": format_rfc3339_utc(at)}
    document["prev_hash"] = prev_hash
    row = AuditRecord(
        seq=seq,
        at=at,
        prev_hash=prev_hash,
        record_hash=record_hash(document),
        **fields,
    )
    row.save()
    return row
