"""The server keys a test session runs with: generated, never read from .env."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.protocol.ed25519 import KeyPair, signing_key_to_pem


@dataclass(frozen=True)
class TestKeys:
    """The server keys the tests run with (generated, never from .env)."""

    __test__ = False  # a helper, not a test class for pytest to collect

    issuer: KeyPair
    meter: KeyPair
    log_operator: KeyPair
    authority: KeyPair

    @classmethod
    def generate(cls) -> TestKeys:
        """Return four fresh Ed25519 key pairs (issuer, meter, log, authority)."""
        return cls(*(KeyPair.generate() for _ in range(4)))

    def settings_values(self) -> dict[str, str]:
        """Return the settings that load these keys."""
        return {
            "VDI_SIGNING_KEY": bytes(self.issuer.signing_key).hex(),
            "VDI_BILLING_METER_PRIVATE_KEY_PEM": signing_key_to_pem(
                self.meter.signing_key
            ),
            "VDI_BILLING_METER_KID": self.meter.kid,
            "VDI_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM": signing_key_to_pem(
                self.log_operator.signing_key
            ),
            "VDI_BILLING_LOG_OPERATOR_KID": self.log_operator.kid,
            "VDI_MANIFEST_AUTHORITY_SIGNING_KEY": bytes(
                self.authority.signing_key
            ).hex(),
            "VDI_TENANT_SURROGATE_KEY": "11" * 32,
        }
