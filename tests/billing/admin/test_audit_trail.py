"""Staff actions in the admin are audited with the staff user as actor;
commands record ``system:<command>``."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from audittrail.models import AuditRecord
from billing.services.tariffs import tariff_version_create
from tests.billing.admin.test_subscription_inline import _form, _new_row
from tests.billing.factories import (
    ApiKeyFactory,
    TariffFactory,
    TenantFactory,
    default_tariff,
)

pytestmark = pytest.mark.django_db


def _actions() -> list[tuple[str, str, int | None]]:
    return list(
        AuditRecord.objects.order_by("seq").values_list(
            "action", "actor", "actor_user_id"
        )
    )


def test_publish_action_is_audited_as_the_staff_user(
    admin_client: Any, admin_user: Any
) -> None:
    """Publishing a draft from the changelist records ``tariff.publish`` by
    the signed-in admin."""
    draft = tariff_version_create(
        tariff=default_tariff(),
        pricing={"model": "per_unit", "unit_amount_decimal": "3"},
        effective_from=datetime(2030, 1, 1, tzinfo=UTC),
    )
    before = AuditRecord.objects.count()
    admin_client.post(
        reverse("admin:billing_tariffversion_changelist"),
        {"action": "publish_drafts", "_selected_action": [draft.pk]},
    )
    assert _actions()[before:] == [("tariff.publish", "admin", admin_user.pk)]


def test_api_key_revoke_action_is_audited(admin_client: Any, admin_user: Any) -> None:
    """Revoking a key from the changelist records ``api_key.revoke``."""
    key = ApiKeyFactory(tenant=TenantFactory(slug="acme"))
    before = AuditRecord.objects.count()
    admin_client.post(
        reverse("admin:billing_apikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    assert _actions()[before:] == [("api_key.revoke", "admin", admin_user.pk)]


def test_subscription_inline_is_audited(admin_client: Any, admin_user: Any) -> None:
    """A subscription added in the tenant's inline records
    ``subscription.create`` by the admin."""
    tenant = TenantFactory(slug="acme")
    gold = TariffFactory(tariff_id="gold")
    response = admin_client.post(
        reverse("admin:billing_tenant_change", args=[tenant.pk]),
        _form(tenant, [_new_row(gold, "2026-01-01")]),
    )
    assert response.status_code == 302
    assert ("subscription.create", "admin", admin_user.pk) in _actions()


def test_tenant_create_command_is_audited_as_system() -> None:
    """``tenant_create --subscribe`` records ``tenant.create`` and
    ``subscription.create`` as ``system:tenant_create``."""
    TariffFactory(tariff_id="gold")
    call_command("tenant_create", "newco", "--subscribe", "gold", stdout=StringIO())
    assert _actions() == [
        ("tenant.create", "system:tenant_create", None),
        ("subscription.create", "system:tenant_create", None),
    ]
