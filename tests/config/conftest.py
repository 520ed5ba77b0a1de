"""Fixtures of the API-wide tests: the billing tenant setup."""

from tests.billing.conftest import tariff_version, tenant_setup  # noqa: F401
