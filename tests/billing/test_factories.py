"""The billing factories build rows through the real services: every trait
yields the state the services would have produced."""

from __future__ import annotations

import json
from typing import Any

import pytest

from billing.models import TariffVersion
from billing.protocol.verify import verify_bundle
from billing.selectors import trust_anchors_get
from billing.services.tenants import api_key_authenticate
from kernel.protocol.jcs import canonical_json
from revocation.models import RevokedAttestation, RevokedKey
from tests.billing.factories import (
    ApiKeyFactory,
    BundleFactory,
    MeterKeyFactory,
    SubscriptionFactory,
    TariffFactory,
    TariffVersionFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db


def test_tariff_version_is_a_draft_unless_published() -> None:
    """Default: a draft without document; ``published``: sealed with the
    document's hash."""
    draft = TariffVersionFactory()
    assert draft.status == TariffVersion.Status.DRAFT
    assert draft.document is None
    published = TariffVersionFactory(published=True)
    assert published.status == TariffVersion.Status.PUBLISHED
    assert published.published_at is not None
    assert published.tariff_hash and len(published.tariff_hash) == 64
    assert canonical_json(published.document)


def test_api_key_secret_authenticates_until_revoked() -> None:
    """The issued secret authenticates its key; a ``revoked`` key's does not."""
    active = ApiKeyFactory()
    assert api_key_authenticate(secret=active.secret) == active
    revoked = ApiKeyFactory(revoked=True)
    assert revoked.revoked_at is not None
    assert api_key_authenticate(secret=revoked.secret) is None


def test_meter_key_traits(signing_keys: Any) -> None:
    """A fresh key has the RFC 7638 kid of its pair and an open window;
    ``retired`` closes the window; ``revoked`` lists the kid as revoked."""
    active = MeterKeyFactory()
    assert active.kid == active.key_pair.kid
    assert active.not_after is None
    retired = MeterKeyFactory(retired=True)
    assert retired.not_after is not None
    revoked = MeterKeyFactory(revoked=True)
    assert RevokedKey.objects.filter(kid=revoked.kid, lifted_at__isnull=True).exists()


def test_bundle_verifies_and_revoked_trait_revokes_it(signing_keys: Any) -> None:
    """A factory bundle is a real attestation that verifies against the
    server's trust anchors; ``revoked`` records its receipt as revoked."""
    bundle = BundleFactory()
    report = verify_bundle(json.loads(bundle.document), trust_anchors_get())
    assert report.ok, report
    other = BundleFactory(revoked=True)
    assert other.tariff_version == bundle.tariff_version  # one default tariff
    assert RevokedAttestation.objects.filter(receipt_id=other.receipt_id).exists()


def test_subscriptions_are_made_by_the_service() -> None:
    """``TenantFactory(subscribe=...)`` subscribes once from the epoch, even
    when the tenant is fetched again; ``SubscriptionFactory`` stores one
    open-ended subscription; a bundle's default tenant is subscribed to the
    default tariff."""
    tariff = TariffFactory(tariff_id="gold")
    tenant = TenantFactory(slug="acme", subscribe=tariff)
    TenantFactory(slug="acme", subscribe=tariff)
    assert list(tenant.subscriptions.values_list("tariff__tariff_id", "ends_at")) == [
        ("gold", None)
    ]
    assert TenantFactory(slug="plain").subscriptions.count() == 0
    subscription = SubscriptionFactory()
    assert subscription.pk is not None and subscription.ends_at is None


def test_bundle_tenant_is_subscribed_to_the_default_tariff(signing_keys: Any) -> None:
    """The bundle factory's tenant is priced by its subscription."""
    bundle = BundleFactory()
    (subscription,) = bundle.tenant.subscriptions.all()
    assert subscription.tariff == bundle.tariff_version.tariff
