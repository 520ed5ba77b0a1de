"""Revocation wherever a verdict is shown: the auditor entry page and the
bundle admin page never say a revoked attestation, or one signed by a revoked
key, "passes every check"; they name the revocation (the strict profile's
``not_revoked`` check against the revocation snapshot in force)."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import Bundle
from tests.billing.support import attest_demo_events
from tests.revocation.factories import RevokedAttestationFactory, RevokedKeyFactory
from transparency.models import LogEntry
from transparency.services.auditors import auditor_account_create

pytestmark = pytest.mark.django_db

PASSES = "passes every check"


@pytest.fixture
def bundles(signing_keys: Any, settings: Any) -> list[Bundle]:
    """Three attested demo bundles in the log; our own published snapshots
    are the revocation source."""
    settings.VDI_BILLING_REVOCATION_JSON = ""
    settings.VDI_BILLING_REVOCATION_URL = ""
    return attest_demo_events()


@pytest.fixture
def auditor(db: Any) -> Client:
    """A client signed in as a member of ``auditors``."""
    user, _ = auditor_account_create(username="alice")
    client = Client()
    client.force_login(user)
    return client


def entry_page(client: Client, bundle: Bundle) -> str:
    """The auditor entry page of ``bundle``'s leaf, unescaped."""
    index = LogEntry.objects.get(leaf_hash=bundle.leaf_hash).leaf_index
    response = client.get(reverse("audit:entry", args=[index]))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def admin_page(client: Client, bundle: Bundle) -> str:
    """The admin change page of ``bundle``, unescaped."""
    response = client.get(reverse("admin:billing_bundle_change", args=[bundle.pk]))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_revoked_attestation_is_shown_revoked(
    bundles: list[Bundle], auditor: Client, admin_client: Client
) -> None:
    """Staff revoked one attestation: its entry page fails with
    attestation_revoked and says Revoked; its admin page says REVOKED; a
    sibling bundle still passes every check and is shown not revoked."""
    revoked, other = bundles[1], bundles[2]
    RevokedAttestationFactory(receipt_id=revoked.receipt_id, reason="disputed")

    page = entry_page(auditor, revoked)
    assert PASSES not in page
    assert "Revoked" in page and "attestation_revoked" in page
    assert "Verification failed" in page

    page = entry_page(auditor, other)
    assert PASSES in page and "not revoked" in page

    assert "REVOKED" in admin_page(admin_client, revoked)
    assert "attestation_revoked" in admin_page(admin_client, revoked)
    shown = admin_page(admin_client, other)
    assert "not revoked" in shown and "REVOKED" not in shown


def test_bundle_signed_by_a_revoked_key_is_shown_revoked(
    bundles: list[Bundle], auditor: Client, admin_client: Client, signing_keys: Any
) -> None:
    """Staff revoked the meter kid that signed the bundles: every entry page
    fails with kid_revoked, never "passes every check"; the admin page says
    REVOKED."""
    RevokedKeyFactory(kid=signing_keys.meter.kid, reason="meter host compromised")
    page = entry_page(auditor, bundles[0])
    assert PASSES not in page
    assert "Revoked" in page and "kid_revoked" in page
    assert "REVOKED" in admin_page(admin_client, bundles[0])


def test_without_a_snapshot_revocation_is_shown_unchecked(
    bundles: list[Bundle], auditor: Client, admin_client: Client, settings: Any
) -> None:
    """No revocation snapshot available (a configured feed never fetched; the
    local source would publish one on first use): the page does not claim
    "every check" and says revocation was not checked."""
    settings.VDI_BILLING_REVOCATION_JSON = ""
    settings.VDI_BILLING_REVOCATION_URL = "https://revocation.invalid/feed.json"
    page = entry_page(auditor, bundles[0])
    assert PASSES not in page
    assert "revocation not checked" in page
    assert "revocation not checked" in admin_page(admin_client, bundles[0])
