"""Billing admin: pages render, actions call services, immutable rows stay so."""

from __future__ import annotations

import hashlib
import html
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.urls import reverse

from billing.models import (
    ApiKey,
    Bundle,
    CreditNote,
    MeterEvent,
    MeterKey,
    ReplayReservation,
    Tariff,
    TariffVersion,
    Tenant,
)
from billing.selectors import bundle_get, trust_anchors_get
from billing.services.tariffs import (
    tariff_version_create,
)
from revocation.models import RevokedKey
from tests.billing.factories import ApiKeyFactory, MeterKeyFactory, TenantFactory
from tests.billing.support import attest_demo_events
from transparency.models import LogNode

pytestmark = pytest.mark.django_db

DRAFT_PRICING = {"model": "per_unit", "unit_amount_decimal": "1.5"}


@pytest.fixture
def attested(signing_keys: Any) -> list[Bundle]:
    """Demo tenant and tariff plus three attested (backfilled) events."""
    return attest_demo_events()


@pytest.fixture
def catalogue(attested: list[Bundle]) -> dict[str, Any]:
    """Rows for every billing admin: tenants, keys, meter key, a draft."""
    tariff = Tariff.objects.get(tariff_id="api-requests")
    other = TenantFactory(slug="acme", name="Acme Corp", subscribe=tariff)
    api_key = ApiKeyFactory(tenant=other, name="ci")
    meter_key = MeterKeyFactory(tenant=other)
    draft = tariff_version_create(
        tariff=tariff,
        pricing=DRAFT_PRICING,
        effective_from=datetime(2030, 1, 1, tzinfo=UTC),
    )
    return {
        "tenant": other,
        "api_key": api_key,
        "meter_key": meter_key,
        "tariff": tariff,
        "draft": draft,
        "published": TariffVersion.objects.get(tariff=tariff, version=1),
        "bundle": attested[0],
    }


def messages_of(response: Any) -> list[tuple[str, str]]:
    """Return ``(level_tag, text)`` of the messages on ``response``."""
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def test_every_billing_model_is_registered_and_lognode_is_not() -> None:
    """The admin shows every billing model; LogNode stays internal."""
    for model in (
        Tenant,
        ApiKey,
        MeterKey,
        Tariff,
        TariffVersion,
        MeterEvent,
        ReplayReservation,
        Bundle,
        CreditNote,
    ):
        assert admin.site.is_registered(model), model
    assert not admin.site.is_registered(LogNode)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (Tenant, ["demo", "acme", "Acme Corp"]),
        (ApiKey, ["acme"]),
        (MeterKey, ["acme"]),
        (Tariff, ["api-requests", "USD"]),
        (TariffVersion, ["api-requests v1 (published)", "api-requests v2 (draft)"]),
        (MeterEvent, ["evt-0", "evt-1", "evt-2", "2015-05"]),
        (ReplayReservation, ["evt-0", "Committed"]),
        (Bundle, ["rcpt_", "0.02 USD", "0.04 USD", "0.06 USD"]),
    ],
)
def test_changelist_and_change_pages_render(
    admin_client: Any, catalogue: dict[str, Any], model: Any, expected: list[str]
) -> None:
    """Each changelist lists the rows and each row's page opens (200)."""
    meta = model._meta
    response = admin_client.get(
        reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    )
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    for text in expected:
        assert text in body, text
    rows = list(model.objects.all())
    assert rows
    for row in rows[:3]:
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[row.pk])
        assert admin_client.get(url).status_code == 200, row


def test_changelist_search_and_filters(
    admin_client: Any, catalogue: dict[str, Any]
) -> None:
    """Receipt id, tenant slug and event_id searches and the window filter work."""
    bundle = catalogue["bundle"]
    url = reverse("admin:billing_bundle_changelist")
    by_receipt = admin_client.get(url, {"q": bundle.receipt_id}).content.decode()
    assert bundle.receipt_id in by_receipt
    assert "1 result" in by_receipt
    by_tenant = admin_client.get(url, {"q": "demo"}).content.decode()
    assert all(row.receipt_id in by_tenant for row in Bundle.objects.all())
    assert "0 results" in admin_client.get(url, {"q": "nobody"}).content.decode()
    window = admin_client.get(url, {"meter_event__window": "2015-05"})
    assert window.status_code == 200
    events = reverse("admin:billing_meterevent_changelist")
    assert "1 result" in admin_client.get(events, {"q": "evt-2"}).content.decode()
    tenants = reverse("admin:billing_tenant_changelist")
    assert "1 result" in admin_client.get(tenants, {"q": "acme"}).content.decode()


def test_bundle_page_shows_amount_and_whole_json(
    admin_client: Any, attested: list[Bundle]
) -> None:
    """The bundle page shows format_amount and the full indented bundle JSON."""
    bundle = attested[1]
    response = admin_client.get(
        reverse("admin:billing_bundle_change", args=[bundle.pk])
    )
    body = html.unescape(response.content.decode())
    assert "0.04 USD" in body
    document = bundle_get(receipt_id=bundle.receipt_id)
    assert document["log"]["leaf_index"] == 1
    assert json.dumps(document, indent=2, ensure_ascii=False) in body
    assert "#1</a>" in body
    assert 'name="_save"' not in body


def test_issue_api_key_shows_secret_once_and_stores_only_its_hash(
    admin_client: Any, catalogue: dict[str, Any]
) -> None:
    """The action warns with the secret once; the DB holds only SHA-256."""
    tenant = catalogue["tenant"]
    url = reverse("admin:billing_tenant_changelist")
    before = set(ApiKey.objects.values_list("pk", flat=True))
    response = admin_client.post(
        url,
        {"action": "issue_api_key", "_selected_action": [tenant.pk]},
        follow=True,
    )
    assert response.status_code == 200
    shown = messages_of(response)
    assert len(shown) == 1
    level, text = shown[0]
    assert level == "warning"
    assert "store it now" in text
    secret = next(word for word in text.split() if word.startswith("mp_"))
    assert secret in response.content.decode()
    key = ApiKey.objects.exclude(pk__in=before).get()
    assert key.tenant == tenant
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    for row in ApiKey.objects.values():
        assert secret not in json.dumps(row, default=str)
    again = admin_client.get(url)
    assert secret not in again.content.decode()
    detail = admin_client.get(reverse("admin:billing_tenant_change", args=[tenant.pk]))
    assert secret not in detail.content.decode()
    assert key.prefix in detail.content.decode()


def test_revoke_action_revokes_through_the_service(
    admin_client: Any, catalogue: dict[str, Any]
) -> None:
    """Revoking sets revoked_at; a second revoke leaves it unchanged."""
    key = catalogue["api_key"]
    url = reverse("admin:billing_apikey_changelist")
    data = {"action": "revoke", "_selected_action": [key.pk]}
    first = admin_client.post(url, data, follow=True)
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert any("Revoked 1" in text for _, text in messages_of(first))
    revoked_at = key.revoked_at
    second = admin_client.post(url, data, follow=True)
    key.refresh_from_db()
    assert key.revoked_at == revoked_at
    assert any("already revoked" in text for _, text in messages_of(second))


def test_tenant_add_form_creates_through_service(admin_client: Any) -> None:
    """The add form creates the tenant (name defaults to the slug)."""
    response = admin_client.post(
        reverse("admin:billing_tenant_add"), {"slug": "newco", "name": ""}
    )
    assert response.status_code == 302
    tenant = Tenant.objects.get(slug="newco")
    assert tenant.name == "newco"
    assert tenant.is_active
    duplicate = admin_client.post(
        reverse("admin:billing_tenant_add"), {"slug": "newco", "name": "x"}
    )
    assert duplicate.status_code == 200
    assert "already exists" in duplicate.content.decode()


def test_tenant_edit_keeps_slug(admin_client: Any, catalogue: dict[str, Any]) -> None:
    """Editing changes name and is_active; the slug cannot change."""
    tenant = catalogue["tenant"]
    response = admin_client.post(
        reverse("admin:billing_tenant_change", args=[tenant.pk]),
        {
            "slug": "renamed",
            "name": "Acme Inc",
            "subscriptions-TOTAL_FORMS": "0",
            "subscriptions-INITIAL_FORMS": "0",
            "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0",
            "meter_keys-TOTAL_FORMS": "0",
            "meter_keys-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    tenant.refresh_from_db()
    assert (tenant.slug, tenant.name, tenant.is_active) == ("acme", "Acme Inc", False)


def test_publish_action_then_second_attempt_reports_error(
    admin_client: Any, catalogue: dict[str, Any]
) -> None:
    """Publishing seals the draft; publishing it again is an error message."""
    draft = catalogue["draft"]
    url = reverse("admin:billing_tariffversion_changelist")
    data = {"action": "publish_drafts", "_selected_action": [draft.pk]}
    first = admin_client.post(url, data, follow=True)
    draft.refresh_from_db()
    assert draft.status == TariffVersion.Status.PUBLISHED
    assert len(draft.tariff_hash) == 64
    assert [level for level, _ in messages_of(first)] == ["success"]
    second = admin_client.post(url, data, follow=True)
    assert second.status_code == 200
    [(level, text)] = messages_of(second)
    assert level == "error"
    assert "[tariff_state_invalid]" in text


def test_publish_action_reports_each_failing_row(
    admin_client: Any, catalogue: dict[str, Any]
) -> None:
    """A draft clashing with a published start is reported with its code
    (``tariff_publish_conflict``); others publish."""
    tariff = catalogue["tariff"]
    clash = tariff_version_create(
        tariff=tariff,
        pricing=DRAFT_PRICING,
        effective_from=datetime(2015, 1, 1, tzinfo=UTC),
    )
    draft = catalogue["draft"]
    response = admin_client.post(
        reverse("admin:billing_tariffversion_changelist"),
        {"action": "publish_drafts", "_selected_action": [clash.pk, draft.pk]},
        follow=True,
    )
    assert response.status_code == 200
    shown = messages_of(response)
    assert (
        "success",
        f"Published api-requests v{draft.version}; now immutable.",
    ) in shown
    errors = [text for level, text in shown if level == "error"]
    assert len(errors) == 1 and f"v{clash.version}" in errors[0]
    assert "[tariff_publish_conflict]" in errors[0]
    clash.refresh_from_db()
    assert clash.status == TariffVersion.Status.DRAFT


def test_published_version_is_read_only(
    admin_client: Any, catalogue: dict[str, Any]
) -> None:
    """A published version's page has no inputs; a POST changes nothing."""
    published = catalogue["published"]
    url = reverse("admin:billing_tariffversion_change", args=[published.pk])
    page = admin_client.get(url)
    body = page.content.decode()
    assert page.status_code == 200
    for name in ("pricing", "rounding", "effective_from", "effective_to", "tariff"):
        assert f'name="{name}' not in body, name
    assert 'name="_save"' not in body
    assert published.tariff_hash in body
    assert "&quot;unit_amount_decimal&quot;: &quot;2&quot;" in body
    response = admin_client.post(
        url,
        {
            "tariff": published.tariff_id,
            "pricing": json.dumps({"model": "per_unit", "unit_amount_decimal": "9"}),
            "rounding": "up",
            "effective_from_0": "2016-01-01",
            "effective_from_1": "00:00:00",
        },
    )
    assert response.status_code == 403
    before = published.document, published.tariff_hash, published.pricing
    published.refresh_from_db()
    assert (published.document, published.tariff_hash, published.pricing) == before
    delete = admin_client.post(
        reverse("admin:billing_tariffversion_delete", args=[published.pk]),
        {"post": "yes"},
    )
    assert delete.status_code == 403
    assert TariffVersion.objects.filter(pk=published.pk).exists()


def test_price_preview_uses_price_breakdown(
    admin_client: Any, catalogue: dict[str, Any]
) -> None:
    """The preview prices 1, 10, 100 and 1000 units with format_amount."""
    url = reverse("admin:billing_tariffversion_change", args=[catalogue["draft"].pk])
    body = admin_client.get(url).content.decode()
    # 1.5 cents per unit, half_up: 1 -> 0.02, 10 -> 0.15, 100 -> 1.50, 1000 -> 15.00
    for amount in ("0.02 USD", "0.15 USD", "1.50 USD", "15.00 USD"):
        assert amount in body


def _draft_post(version: TariffVersion, **overrides: str) -> dict[str, str]:
    data = {
        "pricing": json.dumps(version.pricing),
        "rounding": version.rounding,
        "effective_from_0": version.effective_from.strftime("%Y-%m-%d"),
        "effective_from_1": version.effective_from.strftime("%H:%M:%S"),
        "effective_to_0": "",
        "effective_to_1": "",
    }
    data.update(overrides)
    return data


def test_draft_edit_goes_through_update_service(
    admin_client: Any, catalogue: dict[str, Any]
) -> None:
    """A valid edit of a draft is saved; an invalid one is a form error."""
    draft = catalogue["draft"]
    url = reverse("admin:billing_tariffversion_change", args=[draft.pk])
    ok = admin_client.post(
        url,
        _draft_post(draft, pricing='{"model": "per_unit", "unit_amount_decimal": "3"}'),
    )
    assert ok.status_code == 302
    draft.refresh_from_db()
    assert draft.pricing == {"model": "per_unit", "unit_amount_decimal": "3"}
    bad = admin_client.post(
        url,
        _draft_post(
            draft, pricing='{"model": "per_unit", "unit_amount_decimal": "-1"}'
        ),
    )
    assert bad.status_code == 200
    assert "[tariff_invalid]" in html.unescape(bad.content.decode())
    draft.refresh_from_db()
    assert draft.pricing == {"model": "per_unit", "unit_amount_decimal": "3"}


def test_draft_pricing_with_duplicate_member_is_a_form_error(
    admin_client: Any, catalogue: dict[str, Any]
) -> None:
    """Regression (audit 6): a pricing JSON naming ``unit_amount_decimal``
    twice is refused (the form is shown again), never saved last-wins."""
    draft = catalogue["draft"]
    before = draft.pricing
    url = reverse("admin:billing_tariffversion_change", args=[draft.pk])
    bad = admin_client.post(
        url,
        _draft_post(
            draft,
            pricing='{"model": "per_unit", "unit_amount_decimal": "3", '
            '"unit_amount_decimal": "300"}',
        ),
    )
    assert bad.status_code == 200
    assert "Enter a valid JSON" in html.unescape(bad.content.decode())
    draft.refresh_from_db()
    assert draft.pricing == before


def test_draft_add_form_creates_next_version(
    admin_client: Any, catalogue: dict[str, Any]
) -> None:
    """The add form creates version max+1 as a draft."""
    tariff = catalogue["tariff"]
    response = admin_client.post(
        reverse("admin:billing_tariffversion_add"),
        {
            "tariff": tariff.pk,
            "pricing": json.dumps(DRAFT_PRICING),
            "rounding": "half_even",
            "effective_from_0": "2031-01-01",
            "effective_from_1": "00:00:00",
        },
    )
    assert response.status_code == 302
    created = tariff.versions.order_by("-version").first()
    assert (created.version, created.status, created.rounding) == (
        3,
        "draft",
        "half_even",
    )


def test_new_draft_from_published_version(
    admin_client: Any, catalogue: dict[str, Any]
) -> None:
    """The action copies the pricing into a new draft effective from now."""
    published = catalogue["published"]
    response = admin_client.post(
        reverse("admin:billing_tariffversion_changelist"),
        {"action": "new_draft_from", "_selected_action": [published.pk]},
        follow=True,
    )
    assert response.status_code == 200
    new = published.tariff.versions.order_by("-version").first()
    assert new.version == 3
    assert new.status == TariffVersion.Status.DRAFT
    assert new.pricing == published.pricing
    assert new.effective_from.microsecond == 0
    assert [level for level, _ in messages_of(response)] == ["success"]


def test_tariff_add_form_and_view_only_afterwards(admin_client: Any) -> None:
    """A tariff is created through the form and is view-only afterwards."""
    response = admin_client.post(
        reverse("admin:billing_tariff_add"),
        {
            "tariff_id": "gpu-seconds",
            "name": "GPU",
            "metric": "gpu_seconds",
            "currency": "EUR",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    tariff = Tariff.objects.get(tariff_id="gpu-seconds")
    page = admin_client.get(reverse("admin:billing_tariff_change", args=[tariff.pk]))
    assert 'name="currency"' not in page.content.decode()
    assert "add a draft version" in page.content.decode()


@pytest.mark.parametrize(
    "model", [MeterEvent, ReplayReservation, Bundle, ApiKey, MeterKey]
)
def test_read_only_models_refuse_add_change_and_delete(
    admin_client: Any, catalogue: dict[str, Any], model: Any
) -> None:
    """Attested rows and keys cannot be added, edited or deleted by staff."""
    meta = model._meta
    prefix = f"admin:{meta.app_label}_{meta.model_name}"
    row = model.objects.first()
    count = model.objects.count()
    if model is not MeterKey:  # meter keys are registered via the add form
        assert admin_client.get(reverse(f"{prefix}_add")).status_code == 403
    assert (
        admin_client.get(reverse(f"{prefix}_delete", args=[row.pk])).status_code == 403
    )
    posted = admin_client.post(
        reverse(f"{prefix}_delete", args=[row.pk]), {"post": "yes"}
    )
    assert posted.status_code == 403
    change = admin_client.post(reverse(f"{prefix}_change", args=[row.pk]), {})
    assert change.status_code == 403
    assert model.objects.count() == count
    changelist = admin_client.get(reverse(f"{prefix}_changelist")).content.decode()
    assert "delete_selected" not in changelist


def test_meter_key_retire_and_revoke_actions(
    admin_client: Any, catalogue: dict[str, Any]
) -> None:
    """Staff retire a tenant meter key (window ends now, published as retired)
    and revoke it (listed in the revocation snapshot) through the services."""
    meter_key = catalogue["meter_key"]
    url = reverse("admin:billing_meterkey_changelist")
    data = {"action": "retire", "_selected_action": [meter_key.pk]}
    assert admin_client.post(url, data, follow=True).status_code == 200
    meter_key.refresh_from_db()
    assert meter_key.not_after is not None
    entry = next(
        k for k in trust_anchors_get().to_json()["keys"] if k["kid"] == meter_key.kid
    )
    assert entry["status"] == "retired"
    data = {"action": "revoke", "_selected_action": [meter_key.pk]}
    response = admin_client.post(url, data, follow=True)
    assert response.status_code == 200
    assert RevokedKey.objects.filter(kid=meter_key.kid).count() == 1
    again = admin_client.post(url, data, follow=True)
    assert any("already_revoked" in text for _, text in messages_of(again))
