"""Shared fixtures: fresh Ed25519 keys per session, applied through settings."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import py_ecc  # noqa: F401 - imported once here so its recursion-limit bump is undone
import pytest

from kernel.protocol.ed25519 import KeyPair, signing_key_to_pem

# py_ecc sets the recursion limit to 100000 at first import; tests that import
# it directly must not change how the code under test fails on deep JSON
# (a RecursionError, not a C stack overflow).
sys.setrecursionlimit(1000)


@dataclass(frozen=True)
class TestKeys:
    """The server keys the tests run with (generated, never from .env)."""

    issuer: KeyPair
    meter: KeyPair
    log_operator: KeyPair
    authority: KeyPair

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


@pytest.fixture(scope="session")
def test_keys() -> TestKeys:
    """Fresh keys for the whole test session."""
    return TestKeys(*(KeyPair.generate() for _ in range(4)))


@pytest.fixture
def signing_keys(settings: Any, test_keys: TestKeys) -> TestKeys:
    """Configure the server with the session's keys; return them."""
    for name, value in test_keys.settings_values().items():
        setattr(settings, name, value)
    settings.VDI_ATTEST_SECRET = ""
    return test_keys
