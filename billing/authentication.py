"""DRF authentication: tenant API keys (``Authorization: Bearer mp_...``)."""

from __future__ import annotations

import hmac
from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from billing.models import ApiKey
from billing.services.tenants import api_key_authenticate
from billing.settings import billing_settings


class TenantApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticate a tenant by API key; ``request.user`` is the Tenant.

    Errors (401): ``api_key_missing``, ``api_key_invalid``.
    """

    def authenticate(self, request: Request) -> tuple[Any, ApiKey]:
        """Return ``(tenant, api_key)`` or raise ``AuthenticationFailed``."""
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise exceptions.AuthenticationFailed(
                "send the tenant API key as 'Authorization: Bearer mp_...'",
                code="api_key_missing",
            )
        api_key = api_key_authenticate(secret=token.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed(
                "API key is invalid or revoked", code="api_key_invalid"
            )
        return api_key.tenant, api_key

    def authenticate_header(self, request: Request) -> str:
        """Return the ``WWW-Authenticate`` challenge."""
        return 'Bearer realm="api"'


def check_attest_secret(request: Request) -> None:
    """When ``VDI_ATTEST_SECRET`` is set, require it in ``X-VDI-Attest-Secret``.

    Raises:
        AuthenticationFailed: ``attest_secret_missing`` / ``attest_secret_invalid``.
    """
    expected = billing_settings.attest_secret
    if not expected:
        return
    given = request.headers.get("X-VDI-Attest-Secret")
    if not given:
        raise exceptions.AuthenticationFailed(
            "header X-VDI-Attest-Secret is required", code="attest_secret_missing"
        )
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise exceptions.AuthenticationFailed(
            "X-VDI-Attest-Secret is wrong", code="attest_secret_invalid"
        )
