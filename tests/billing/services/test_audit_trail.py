"""Billing's staff actions each append one audit record (issue 12): tariffs
(create, version create/update, publish; ``tariff_import`` as
``system:tariff_import``), tenants, API keys (never their hash), meter keys,
subscriptions; with the object's state before and after."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from audittrail.models import AuditRecord
from audittrail.selectors import audit_trail_verify
from billing.services.subscriptions import subscription_create, subscription_end
from billing.services.tariffs import (
    tariff_create,
    tariff_version_create,
    tariff_version_publish,
    tariff_version_update,
)
from billing.services.tenants import (
    api_key_issue,
    api_key_revoke,
    meter_key_register,
    meter_key_retire,
    tenant_create,
    tenant_update,
)
from kernel.protocol.ed25519 import KeyPair, b64url_encode
from tests.billing.factories import TariffFactory, TenantFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 1, tzinfo=UTC)
PRICING = {"model": "per_unit", "unit_amount_decimal": "2"}


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    """The staff user who acts."""
    return django_user_model.objects.create_user(
        username="alice", password="pw-alice-123", is_staff=True
    )


def _records() -> list[AuditRecord]:
    return list(AuditRecord.objects.order_by("seq"))


def _last() -> AuditRecord:
    record = AuditRecord.objects.order_by("-seq").first()
    assert record is not None
    return record


def test_tariff_create_and_version_lifecycle(staff: Any) -> None:
    """create, version create, update, publish: four records by alice, each
    with the right before/after; the trail verifies."""
    tariff = tariff_create(
        tariff_id="plan", metric="api_requests", currency="USD", actor=staff
    )
    version = tariff_version_create(
        tariff=tariff, pricing=PRICING, effective_from=START, actor=staff
    )
    tariff_version_update(
        version, actor=staff, pricing={"model": "per_unit", "unit_amount_decimal": "3"}
    )
    published = tariff_version_publish(version=version, actor=staff)
    records = _records()
    assert [r.action for r in records] == [
        "tariff.create",
        "tariff.version_create",
        "tariff.version_update",
        "tariff.publish",
    ]
    assert {(r.actor, r.actor_user_id) for r in records} == {("alice", staff.pk)}
    create, draft, update, publish = records
    assert (create.object_type, create.object_id, create.before) == (
        "tariff",
        "plan",
        None,
    )
    assert create.after == {
        "tariff_id": "plan",
        "name": "",
        "metric": "api_requests",
        "currency": "USD",
    }
    assert (draft.object_type, draft.object_id) == ("tariff_version", "plan@1")
    assert draft.after["status"] == "draft"
    assert draft.after["effective_from"] == "2026-01-01T00:00:00Z"
    assert update.before["pricing"]["unit_amount_decimal"] == "2"
    assert update.after["pricing"]["unit_amount_decimal"] == "3"
    assert (publish.before["status"], publish.before["tariff_hash"]) == ("draft", "")
    assert publish.after["status"] == "published"
    assert publish.after["tariff_hash"] == published.tariff_hash
    assert audit_trail_verify().ok


def test_tariff_import_command_records_system_actor(tmp_path: Path) -> None:
    """``tariff_import --publish`` records create, version create and publish
    as ``system:tariff_import``; importing the same document again records
    nothing."""
    document = {
        "tariff_id": "imported",
        "version": 1,
        "currency": "USD",
        "metric": "api_requests",
        "pricing": PRICING,
        "rounding": "half_up",
        "effective_from": "2015-01-01T00:00:00Z",
        "effective_to": None,
    }
    path = tmp_path / "tariff.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    for _ in range(2):
        call_command(
            "tariff_import",
            str(path),
            publish=True,
            stdout=StringIO(),
            stderr=StringIO(),
        )
    records = _records()
    assert [r.action for r in records] == [
        "tariff.create",
        "tariff.version_create",
        "tariff.publish",
    ]
    assert {(r.actor, r.actor_user_id) for r in records} == {
        ("system:tariff_import", None)
    }
    assert records[-1].object_id == "imported@1"


def test_tenant_create_and_update(staff: Any) -> None:
    """``tenant.create`` then ``tenant.update`` with the stored state before."""
    tenant = tenant_create(slug="acme", name="Acme", actor=staff)
    tenant_update(tenant=tenant, changes={"is_active": False}, actor=staff)
    create, update = _records()
    assert (create.action, create.object_id, create.before) == (
        "tenant.create",
        "acme",
        None,
    )
    assert update.action == "tenant.update"
    assert (update.before["is_active"], update.after["is_active"]) == (True, False)


def test_api_key_create_and_revoke_never_record_the_hash(staff: Any) -> None:
    """``api_key.create`` and ``api_key.revoke`` (once: revoking again is a
    no-op); neither the secret nor its hash is in the trail."""
    tenant = TenantFactory(slug="acme")
    issued = api_key_issue(tenant=tenant, name="ci", actor=staff)
    api_key_revoke(api_key=issued.api_key, actor=staff)
    api_key_revoke(api_key=issued.api_key, actor=staff)
    create, revoke = _records()
    prefix = issued.api_key.prefix
    assert (create.action, create.object_type, create.object_id) == (
        "api_key.create",
        "api_key",
        prefix,
    )
    assert create.after == {
        "prefix": prefix,
        "tenant": "acme",
        "name": "ci",
        "created_at": create.after["created_at"],
        "revoked_at": None,
    }
    assert revoke.action == "api_key.revoke"
    assert revoke.before["revoked_at"] is None and revoke.after["revoked_at"]
    text = json.dumps([create.after, revoke.before, revoke.after])
    assert issued.secret not in text and issued.api_key.key_hash not in text


def test_meter_key_create_and_retire(signing_keys: Any) -> None:
    """``meter_key.create`` (public key only) and ``meter_key.retire`` (the
    new ``not_after``) by the tenant's label."""
    tenant = TenantFactory(slug="acme")
    public = b64url_encode(bytes(KeyPair.generate().verify_key))
    row = meter_key_register(
        tenant=tenant, public_key_b64url=public, actor="tenant:acme"
    )
    retired_at = datetime(2026, 6, 1, tzinfo=UTC)
    meter_key_retire(meter_key=row, at=retired_at, actor="tenant:acme")
    create, retire = _records()
    assert (create.action, create.object_id, create.actor) == (
        "meter_key.create",
        row.kid,
        "tenant:acme",
    )
    assert create.after["public_key_b64url"] == public
    assert create.after["tenant"] == "acme"
    assert retire.action == "meter_key.retire"
    assert (retire.before["not_after"], retire.after["not_after"]) == (
        None,
        "2026-06-01T00:00:00Z",
    )


def test_subscription_create_and_end(staff: Any) -> None:
    """``subscription.create`` and ``subscription.end`` with slug, tariff and
    times."""
    tenant = TenantFactory(slug="acme")
    tariff = TariffFactory(tariff_id="plan")
    subscription = subscription_create(
        tenant=tenant, tariff=tariff, starts_at=START, actor=staff
    )
    subscription_end(
        subscription=subscription,
        ends_at=datetime(2026, 7, 1, tzinfo=UTC),
        actor=staff,
    )
    create, end = _records()
    assert (create.action, create.object_id) == (
        "subscription.create",
        str(subscription.pk),
    )
    assert create.after == {
        "tenant": "acme",
        "tariff_id": "plan",
        "metric": "api_requests",
        "starts_at": "2026-01-01T00:00:00Z",
        "ends_at": None,
    }
    assert end.action == "subscription.end"
    assert (end.before["ends_at"], end.after["ends_at"]) == (
        None,
        "2026-07-01T00:00:00Z",
    )
