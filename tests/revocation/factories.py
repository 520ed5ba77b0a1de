"""factory_boy factories for revocation rows, built through the services.

Each revocation (and each lift) publishes a new revocation snapshot signed by
the server's issuer key, so these need the ``signing_keys`` fixture. Trait
``lifted`` lifts the revocation through the lift service.
"""

from __future__ import annotations

import secrets
from typing import Any

import factory
from factory.django import DjangoModelFactory

from kernel.protocol.ed25519 import KeyPair
from revocation.models import RevokedAttestation, RevokedKey
from revocation.services.revocations import (
    revocation_attestation_add,
    revocation_attestation_lift,
    revocation_key_add,
    revocation_key_lift,
)


class RevokedKeyFactory(DjangoModelFactory):
    """The revocation of a fresh Ed25519 key's kid (RFC 7638 thumbprint)."""

    class Meta:
        model = RevokedKey

    class Params:
        lifted = factory.Trait(lift_reason="lifted by the factory")

    kid = factory.LazyFunction(lambda: KeyPair.generate().kid)
    reason = "key compromised"
    lift_reason = ""

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> RevokedKey:
        row = revocation_key_add(kid=kwargs["kid"], reason=kwargs["reason"])
        if kwargs["lift_reason"]:
            row = revocation_key_lift(revoked_key=row, reason=kwargs["lift_reason"])
        return row


class RevokedAttestationFactory(DjangoModelFactory):
    """The revocation of an attestation by a (random) receipt id, or by
    ``bundle_hash`` when given with ``receipt_id=""``."""

    class Meta:
        model = RevokedAttestation

    class Params:
        lifted = factory.Trait(lift_reason="lifted by the factory")

    receipt_id = factory.LazyFunction(lambda: f"rcpt_{secrets.token_hex(12)}")
    bundle_hash = ""
    reason = "charged twice"
    lift_reason = ""

    @classmethod
    def _create(
        cls, model_class: type, *args: Any, **kwargs: Any
    ) -> RevokedAttestation:
        row = revocation_attestation_add(
            receipt_id=kwargs["receipt_id"],
            bundle_hash=kwargs["bundle_hash"],
            reason=kwargs["reason"],
        )
        if kwargs["lift_reason"]:
            row = revocation_attestation_lift(
                revoked_attestation=row, reason=kwargs["lift_reason"]
            )
        return row
