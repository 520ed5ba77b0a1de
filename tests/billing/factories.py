"""factory_boy factories for billing rows, in pypi/warehouse's style.

Rows whose state matters are built through the real services, with real
algorithms: a published tariff is sealed by ``tariff_version_publish``
(RFC 8785 document and ``tariff_hash``), an API key is issued by
``api_key_issue`` (only its hash stored), a meter key is a fresh Ed25519 key
registered by ``meter_key_register`` (RFC 7638 kid), and a bundle is a real
signed, logged attestation from ``meter_events_attest``. States are traits:
``TariffVersionFactory(published=True)``, ``ApiKeyFactory(revoked=True)``,
``MeterKeyFactory(retired=True)`` / ``(revoked=True)``,
``BundleFactory(revoked=True)``, ``DisputeFactory(under_review=True)``. A
subscription is made by
``subscription_create`` (``SubscriptionFactory``, or
``TenantFactory(subscribe=tariff)``). Bundles need the server's keys
(the ``signing_keys`` fixture).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import factory
from factory.django import DjangoModelFactory

from billing.models import (
    ApiKey,
    Bundle,
    Dispute,
    MeterKey,
    Subscription,
    Tariff,
    TariffVersion,
    Tenant,
)
from billing.services.attest import meter_events_attest
from billing.services.disputes import dispute_open, dispute_review_start
from billing.services.subscriptions import subscription_create
from billing.services.tariffs import tariff_version_publish
from billing.services.tenants import (
    api_key_issue,
    api_key_revoke,
    meter_key_register,
    meter_key_retire,
    meter_key_revoke,
)
from kernel.protocol.ed25519 import KeyPair, b64url_encode
from revocation.services.revocations import revocation_attestation_add


class TariffFactory(DjangoModelFactory):
    """A USD ``api_requests`` tariff."""

    class Meta:
        model = Tariff
        django_get_or_create = ("tariff_id",)

    tariff_id = "api-requests"
    name = "API requests"
    metric = "api_requests"
    currency = "USD"


def _publish(obj: TariffVersion, create: bool, extracted: Any, **kwargs: Any) -> None:
    """Seal ``obj`` through the publishing service (post-generation)."""
    if create:
        tariff_version_publish(version=obj)
        obj.refresh_from_db()


class TariffVersionFactory(DjangoModelFactory):
    """A draft version at 2 cents per request; trait ``published`` seals it
    through ``tariff_version_publish`` (document and ``tariff_hash``)."""

    class Meta:
        model = TariffVersion
        skip_postgeneration_save = True

    class Params:
        published = factory.Trait(seal=factory.PostGeneration(_publish))

    tariff = factory.SubFactory(TariffFactory)
    version = factory.Sequence(lambda n: n + 1)
    pricing = factory.LazyFunction(
        lambda: {"model": "per_unit", "unit_amount_decimal": "2"}
    )
    rounding = "half_up"
    effective_from = datetime(2015, 1, 1, tzinfo=UTC)
    effective_to = None
    seal = factory.PostGeneration(lambda obj, create, extracted, **kwargs: None)


def default_tariff() -> Tariff:
    """Return the ``api-requests`` tariff with a published version 1 (made
    through the factories on first use)."""
    tariff = TariffFactory()
    if not tariff.versions.filter(status=TariffVersion.Status.PUBLISHED).exists():
        TariffVersionFactory(tariff=tariff, version=1, published=True)
    return tariff


#: Start of the subscriptions the factories make unless told otherwise.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _subscribe(obj: Tenant, create: bool, extracted: Any, **kwargs: Any) -> None:
    """Subscribe ``obj`` to the tariff ``extracted`` from :data:`EPOCH`, open
    ended, through ``subscription_create`` (post-generation; skipped when it
    is already subscribed to that tariff)."""
    if create and extracted is not None:
        if not obj.subscriptions.filter(tariff=extracted).exists():
            subscription_create(tenant=obj, tariff=extracted, starts_at=EPOCH)


class TenantFactory(DjangoModelFactory):
    """An active tenant, on the default plan (no subscription) unless given
    ``subscribe=<Tariff>``: then subscribed to it since :data:`EPOCH`."""

    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda o: o.slug)
    subscribe = factory.PostGeneration(_subscribe)


class SubscriptionFactory(DjangoModelFactory):
    """A subscription made by ``subscription_create``: the tenant subscribed
    to the ``api-requests`` tariff from :data:`EPOCH`, open-ended."""

    class Meta:
        model = Subscription

    tenant = factory.SubFactory(TenantFactory)
    tariff = factory.SubFactory(TariffFactory)
    starts_at = EPOCH
    ends_at = None

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> Subscription:
        return subscription_create(
            tenant=kwargs["tenant"],
            tariff=kwargs["tariff"],
            starts_at=kwargs["starts_at"],
            ends_at=kwargs["ends_at"],
        )


class ApiKeyFactory(DjangoModelFactory):
    """An API key issued by ``api_key_issue`` (the row stores only its hash;
    the one-time secret is on ``.secret``); trait ``revoked`` revokes it
    through ``api_key_revoke``."""

    class Meta:
        model = ApiKey

    class Params:
        revoked = factory.Trait(state="revoked")

    tenant = factory.SubFactory(TenantFactory)
    name = "test"
    state = "active"

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> ApiKey:
        issued = api_key_issue(tenant=kwargs["tenant"], name=kwargs["name"])
        api_key = issued.api_key
        if kwargs["state"] == "revoked":
            api_key = api_key_revoke(api_key=api_key)
        api_key.secret = issued.secret  # type: ignore[attr-defined]
        return api_key


class MeterKeyFactory(DjangoModelFactory):
    """A tenant gateway's fresh Ed25519 meter key, registered by
    ``meter_key_register`` (kid: RFC 7638 thumbprint); the key pair is on
    ``.key_pair``. Traits: ``retired`` ends its window now
    (``meter_key_retire``); ``revoked`` revokes it as the tenant
    (``meter_key_revoke``: listed in a new signed revocation snapshot, which
    needs the server's keys)."""

    class Meta:
        model = MeterKey

    class Params:
        retired = factory.Trait(state="retired")
        revoked = factory.Trait(state="revoked")

    tenant = factory.SubFactory(TenantFactory)
    key_pair = factory.LazyFunction(KeyPair.generate)
    not_before = None
    not_after = None
    state = "active"

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> MeterKey:
        key_pair: KeyPair = kwargs["key_pair"]
        meter_key = meter_key_register(
            tenant=kwargs["tenant"],
            public_key_b64url=b64url_encode(bytes(key_pair.verify_key)),
            not_before=kwargs["not_before"],
            not_after=kwargs["not_after"],
        )
        if kwargs["state"] == "retired":
            meter_key = meter_key_retire(meter_key=meter_key)
        elif kwargs["state"] == "revoked":
            meter_key_revoke(
                tenant=kwargs["tenant"], meter_key=meter_key, reason="factory"
            )
            meter_key.refresh_from_db()
        meter_key.key_pair = key_pair  # type: ignore[attr-defined]
        return meter_key


class BundleFactory(DjangoModelFactory):
    """A real bundle: a bare meter event attested by ``meter_events_attest``
    (server-signed, logged; no proof). ``tenant`` needs a published tariff in
    force (the default tenant is subscribed to the default one). Trait ``revoked`` revokes
    the attestation by receipt id (``revocation_attestation_add``, a new
    signed revocation snapshot)."""

    class Meta:
        model = Bundle

    class Params:
        revoked = factory.Trait(revocation_reason="revoked by the factory")

    tenant = factory.SubFactory(
        TenantFactory, subscribe=factory.LazyFunction(lambda: default_tariff())
    )
    event_id = factory.Sequence(lambda n: f"evt-f{n}")
    quantity = 3
    occurred_at = "2015-05-17T10:00:00Z"
    revocation_reason = ""

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> Bundle:
        tenant: Tenant = kwargs["tenant"]
        occurred_at: str = kwargs["occurred_at"]
        event = {
            "tenant": tenant.slug,
            "event_id": kwargs["event_id"],
            "window": occurred_at[:7],
            "metric": "api_requests",
            "quantity": kwargs["quantity"],
            "occurred_at": occurred_at,
            "attributes": {"path": "/v1/things"},
        }
        (outcome,) = meter_events_attest(
            payloads=[event], tenant=tenant, backfill=True, prove=False
        )
        if outcome.status != "attested":
            raise AssertionError(f"attest refused the factory's event: {outcome}")
        bundle = model_class.objects.get(
            tenant=tenant, meter_event__event_id=event["event_id"]
        )
        if kwargs["revocation_reason"]:
            revocation_attestation_add(
                receipt_id=bundle.receipt_id, reason=kwargs["revocation_reason"]
            )
        return bundle


class DisputeFactory(DjangoModelFactory):
    """A real dispute opened by ``dispute_open`` on a real bundle (its
    verification report recorded). Traits: ``under_review`` (review
    started by ``dispute_review_start``)."""

    class Meta:
        model = Dispute

    class Params:
        under_review = factory.Trait(state="under_review")

    bundle = factory.SubFactory(BundleFactory)
    reason = "duplicate"
    evidence_text = "charged twice for one request"
    state = "needs_response"

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> Dispute:
        bundle: Bundle = kwargs["bundle"]
        dispute = dispute_open(
            tenant=bundle.tenant,
            receipt_id=bundle.receipt_id,
            reason=kwargs["reason"],
            evidence_text=kwargs["evidence_text"],
        )
        if kwargs["state"] == "under_review":
            dispute = dispute_review_start(dispute=dispute)
        return dispute
