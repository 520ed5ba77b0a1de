"""The snapshot in force for verification (local / inline sources) and the
start-up system checks of the revocation settings."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from kernel.protocol.ed25519 import KeyPair
from revocation.checks import check_revocation_source
from revocation.protocol.snapshot import snapshot_sign
from revocation.selectors import revocation_snapshot_for_verification
from tests.revocation.factories import RevokedKeyFactory

pytestmark = pytest.mark.django_db

KID = "z" * 43


def inline(
    key: Any, *, time_s: int | None = None, kids: list[str] | None = None
) -> str:
    """An inline snapshot signed by ``key`` (a PyNaCl signing key)."""
    return json.dumps(
        snapshot_sign(
            revoked_kids=kids or [KID],
            revoked_attestations=[],
            snapshot_time=int(time.time()) if time_s is None else time_s,
            sequence=3,
            signing_key=key,
        )
    )


@pytest.fixture
def no_sources(settings: Any) -> Any:
    """Neither inline nor URL configured."""
    settings.VDI_BILLING_REVOCATION_JSON = ""
    settings.VDI_BILLING_REVOCATION_URL = ""
    return settings


def test_local_source_first_use_then_published(
    signing_keys: Any, no_sources: Any
) -> None:
    """Local: the first use publishes sequence 0 (as the feed does, so a fresh
    install's first strict verify has a snapshot), then our latest snapshot."""
    snap, meta = revocation_snapshot_for_verification()
    assert snap is not None and meta["source"] == "local"
    assert snap.sequence == 0 and meta["last_error"] is None
    assert meta["max_age_seconds"] == no_sources.VDI_BILLING_REVOCATION_MAX_AGE_SEC
    RevokedKeyFactory(kid=KID, reason="r")
    snap, meta = revocation_snapshot_for_verification()
    assert snap is not None and snap.is_kid_revoked(KID)
    assert meta["last_error"] is None and meta["fetched_at"]


def test_inline_source(signing_keys: Any, no_sources: Any) -> None:
    """Inline: parsed and verified against the trust anchors' issuer keys."""
    no_sources.VDI_BILLING_REVOCATION_JSON = inline(signing_keys.issuer.signing_key)
    snap, meta = revocation_snapshot_for_verification()
    assert snap is not None and snap.sequence == 3 and meta["source"] == "inline"


def test_inline_by_an_untrusted_issuer_is_none(
    signing_keys: Any, no_sources: Any
) -> None:
    """An inline snapshot by another key yields None and the error code."""
    no_sources.VDI_BILLING_REVOCATION_JSON = inline(KeyPair.generate().signing_key)
    snap, meta = revocation_snapshot_for_verification()
    assert snap is None
    assert meta["last_error"]["code"] == "revocation_unknown_issuer"


def test_without_keys_there_is_no_snapshot(settings: Any, no_sources: Any) -> None:
    """No trust anchors: None (fail closed), error signing_keys_unconfigured."""
    settings.VDI_SIGNING_KEY = ""
    snap, meta = revocation_snapshot_for_verification()
    assert snap is None and meta["last_error"]["code"] == "signing_keys_unconfigured"


# -- checks ---------------------------------------------------------------------


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
