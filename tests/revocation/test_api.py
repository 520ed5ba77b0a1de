"""GET /.well-known/vdi-billing-revocation.json: the latest signed snapshot,
with Cache-Control, ETag on the sequence, Last-Modified and 304s."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils.http import http_date

from billing.protocol.trust import TrustAnchors
from revocation.models import RevocationSnapshot
from revocation.protocol.snapshot import snapshot_open
from tests.revocation.factories import RevokedKeyFactory

pytestmark = pytest.mark.django_db

URL = "/.well-known/vdi-billing-revocation.json"
KID = "q" * 43


def issuer_keys_from_published_anchors(client: Any) -> dict[str, Any]:
    """Issuer keys as an auditor gets them: from the published trust anchors."""
    anchors = TrustAnchors.from_json(
        client.get("/.well-known/vdi-billing-trust.json").json()
    )
    return {key.kid: key.verify_key for key in anchors.keys_for("issuer")}


def test_empty_log_gets_sequence_zero(
    client: Any, signing_keys: Any, settings: Any
) -> None:
    """First request publishes sequence 0; headers as documented; the body
    verifies against the published trust anchors."""
    settings.VDI_BILLING_REVOCATION_CACHE_SEC = 45
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "public, max-age=45"
    assert response["ETag"] == '"0"'
    row = RevocationSnapshot.objects.get()
    assert response["Last-Modified"] == http_date(row.snapshot_time)
    assert response.content.decode() == row.document
    snap = snapshot_open(response.content, issuer_keys_from_published_anchors(client))
    assert snap.sequence == 0 and not snap.revoked_kids
    # a second request serves the same snapshot, nothing new published
    assert client.get(URL)["ETag"] == '"0"'
    assert RevocationSnapshot.objects.count() == 1


def test_change_is_served_and_etag_revalidates(client: Any, signing_keys: Any) -> None:
    """After a revocation the feed lists it under a new ETag; If-None-Match
    with the current ETag is 304, with an old one 200."""
    client.get(URL)
    RevokedKeyFactory(kid=KID, reason="compromised")
    response = client.get(URL)
    assert response["ETag"] == '"1"'
    keys = issuer_keys_from_published_anchors(client)
    assert snapshot_open(response.content, keys, previous_sequence=0).is_kid_revoked(
        KID
    )
    not_modified = client.get(URL, HTTP_IF_NONE_MATCH='"1"')
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified["ETag"] == '"1"'
    assert client.get(URL, HTTP_IF_NONE_MATCH='"0"').status_code == 200


def test_without_keys_the_feed_is_a_503_error(client: Any, settings: Any) -> None:
    """No issuer key and nothing published: JSON error, never a 500."""
    settings.VDI_SIGNING_KEY = ""
    response = client.get(URL)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "signing_keys_unconfigured"
