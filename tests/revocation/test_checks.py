"""The start-up system checks of the revocation settings (revocation.checks)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from kernel.protocol.ed25519 import KeyPair
from revocation.checks import check_revocation_source
from tests.revocation.support import inline

pytestmark = pytest.mark.django_db


def ids(results: list[Any]) -> list[str]:
    """The check IDs returned."""
    return sorted(item.id for item in results)


def test_check_passes_without_sources_and_with_a_valid_inline(
    signing_keys: Any, no_sources: Any
) -> None:
    """Defaults and a fresh, trusted inline snapshot: no findings."""
    assert check_revocation_source() == []
    no_sources.VDI_BILLING_REVOCATION_JSON = inline(signing_keys.issuer.signing_key)
    assert check_revocation_source() == []


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("not json", "revocation_feed_malformed"),
        ('{"revokedKids": []}', "revocation_signature_invalid"),
        ("untrusted", "revocation_unknown_issuer"),
    ],
)
def test_check_e001_invalid_inline(
    signing_keys: Any, no_sources: Any, value: str, code: str
) -> None:
    """revocation.E001 names the protocol code and gives a hint."""
    if value == "untrusted":
        value = inline(KeyPair.generate().signing_key)
    no_sources.VDI_BILLING_REVOCATION_JSON = value
    results = check_revocation_source()
    assert ids(results) == ["revocation.E001"]
    assert f"[{code}]" in results[0].msg and results[0].hint


def test_check_e001_when_keys_are_missing(settings: Any, no_sources: Any) -> None:
    """An inline snapshot cannot be verified without trust anchors: E001."""
    settings.VDI_SIGNING_KEY = ""
    no_sources.VDI_BILLING_REVOCATION_JSON = inline(KeyPair.generate().signing_key)
    assert ids(check_revocation_source()) == ["revocation.E001"]


def test_check_w001_stale_inline(signing_keys: Any, no_sources: Any) -> None:
    """An inline snapshot older than the maximum age is a warning at start-up."""
    no_sources.VDI_BILLING_REVOCATION_MAX_AGE_SEC = 3600
    no_sources.VDI_BILLING_REVOCATION_JSON = inline(
        signing_keys.issuer.signing_key, time_s=int(time.time()) - 7200
    )
    results = check_revocation_source()
    assert ids(results) == ["revocation.W001"]
    assert "maximum is 3600 s" in results[0].msg


def test_check_e002_e003_e004(signing_keys: Any, no_sources: Any) -> None:
    """Both sources (E002), a non-http URL (E003), non-positive seconds (E004)."""
    no_sources.VDI_BILLING_REVOCATION_JSON = inline(signing_keys.issuer.signing_key)
    no_sources.VDI_BILLING_REVOCATION_URL = "ftp://example.com/feed.json"
    no_sources.VDI_BILLING_REVOCATION_CACHE_SEC = 0
    assert ids(check_revocation_source()) == [
        "revocation.E002",
        "revocation.E003",
        "revocation.E004",
    ]
