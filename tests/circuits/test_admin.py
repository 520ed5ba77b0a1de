"""The staff "Artifact status" admin page."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from billing.models import Bundle
from billing.services.attest import meter_events_attest
from tests.billing.support import TenantSetup, make_event
from tests.circuits.support import ArtifactCopy

pytestmark = pytest.mark.django_db

URL_NAME = "admin:circuits_artifactstatuspage_changelist"


@pytest.fixture
def staff_client(client: Client) -> Client:
    """A client logged in as staff without any model permission."""
    user = get_user_model().objects.create_user(
        "staff", password="pw-staff-123", is_staff=True
    )
    client.force_login(user)
    return client


def test_index_links_the_page(staff_client: Client) -> None:
    """The admin index lists "Artifact status" for plain staff."""
    response = staff_client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert reverse(URL_NAME) in response.content.decode()
    assert "Artifact status" in response.content.decode()


def test_page_shows_verdicts(staff_client: Client, artifact_copy: ArtifactCopy) -> None:
    """Each file with expected/actual hash and verdict, counts, contributors,
    beacon, signature verdict and whether attest may prove."""
    response = staff_client.get(reverse(URL_NAME))
    assert response.status_code == 200
    html = response.content.decode()
    manifest = artifact_copy.manifest
    for name, digest in manifest["artifacts"].items():
        assert name in html
        assert html.count(digest) >= 2  # expected and actual
    n = response.context["status"].checks.__len__()
    assert f"{n}/{n} manifest match" in html
    assert "MISMATCH" not in html
    assert "402" in html and "411" in html
    for contributor in (
        "p1-alice",
        "p1-bob",
        "p1-carol",
        "p2-dave",
        "p2-erin",
        "p2-frank",
    ):
        assert contributor in html
    assert manifest["ceremony"]["beacon"]["value"] in html
    assert "Attest may prove" in html
    assert response.context["status"].proving_allowed
    assert "signed by trusted authority" in html


def test_page_shows_mismatch(staff_client: Client, artifact_copy: ArtifactCopy) -> None:
    """A swapped byte shows MISMATCH and that attest may not prove."""
    artifact_copy.flip_byte("apiBillingV2_final.zkey")
    html = staff_client.get(reverse(URL_NAME)).content.decode()
    assert "MISMATCH" in html
    assert "artifact_hash_mismatch" in html
    assert "refused with 503 artifact_manifest_mismatch" in html


def test_non_staff_is_redirected(client: Client, settings: Any) -> None:
    """Anonymous and non-staff users get the admin login, not the page."""
    response = client.get(reverse(URL_NAME))
    assert response.status_code == 302
    user = get_user_model().objects.create_user("joe", password="pw-joe-12345")
    client.force_login(user)
    response = client.get(reverse(URL_NAME))
    assert response.status_code == 302


def test_page_counts_bundles_by_proof_status(
    staff_client: Client, settings: Any, tenant_setup: TenantSetup
) -> None:
    """The page names the proof mode and counts bundles per proof status,
    each linking to the bundle list filtered by it."""
    outcomes = meter_events_attest(
        payloads=[make_event(event_id=f"evt_{i}") for i in range(3)],
        tenant=tenant_setup.tenant,
        prove=False,
    )
    assert [o.status for o in outcomes] == ["attested"] * 3
    rows = list(Bundle.objects.order_by("id"))
    Bundle.objects.filter(pk__in=[rows[0].pk, rows[1].pk]).update(proof_status="failed")
    Bundle.objects.filter(pk=rows[2].pk).update(proof_status="embedded")
    settings.VDI_BILLING_PROOF_MODE = "async"
    response = staff_client.get(reverse(URL_NAME))
    counts = dict(response.context["proof_counts"])
    assert counts == {
        "none": 0,
        "embedded": 1,
        "pending": 0,
        "attached": 0,
        "failed": 2,
    }
    html = response.content.decode()
    assert "async" in html
    changelist = reverse("admin:billing_bundle_changelist")
    assert f'href="{changelist}?proof_status=failed"' in html
