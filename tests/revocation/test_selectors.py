"""The snapshot in force for verification (revocation.selectors): the local
source and an inline snapshot."""

from __future__ import annotations

from typing import Any

import pytest

from kernel.protocol.ed25519 import KeyPair
from revocation.selectors import revocation_snapshot_for_verification
from tests.revocation.factories import RevokedKeyFactory
from tests.revocation.support import KID, inline

pytestmark = pytest.mark.django_db


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
