"""Revocation admin: staff add and lift through services (recorded, with
request.user), rows are read-only and never deleted; pages render."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from revocation.errors import RevocationInputInvalid
from revocation.models import (
    RevocationFetch,
    RevocationSnapshot,
    RevokedAttestation,
    RevokedKey,
)
from revocation.services.revocations import (
    revocation_key_add,
)
from tests.revocation.factories import RevokedAttestationFactory, RevokedKeyFactory

pytestmark = pytest.mark.django_db

KID = "m" * 43


@pytest.fixture
def admin_client(client: Any, staff: Any, signing_keys: Any) -> Any:
    """A client logged in as the superuser ``alice`` (keys configured)."""
    client.force_login(staff)
    return client


def messages_of(response: Any) -> list[str]:
    """The flash messages of a response."""
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def known_kid(signing_keys: Any) -> str:
    """A kid the server publishes (its meter key): one the add form offers."""
    return str(signing_keys.meter.kid)


def test_add_key_revocation_through_the_form(
    admin_client: Any, staff: Any, known_kid: str
) -> None:
    """The add form calls revocation_key_add: actor alice, snapshot published."""
    url = reverse("admin:revocation_revokedkey_add")
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(
        url, {"kid": known_kid, "reason": "key leaked in CI log"}
    )
    assert response.status_code == 302
    row = RevokedKey.objects.get()
    assert (row.kid, row.revoked_by, row.revoked_by_label) == (
        known_kid,
        staff,
        "alice",
    )
    assert RevocationSnapshot.objects.get().sequence == 0


def test_duplicate_revocation_is_an_error_message(
    admin_client: Any, known_kid: str
) -> None:
    """A second revocation of the same kid is refused with a message, no row."""
    RevokedKeyFactory(kid=known_kid, reason="r")
    url = reverse("admin:revocation_revokedkey_add")
    response = admin_client.post(
        url, {"kid": known_kid, "reason": "again"}, follow=True
    )
    assert any("already_revoked" in m for m in messages_of(response))
    assert RevokedKey.objects.count() == 1 and RevocationSnapshot.objects.count() == 1


def test_rows_are_read_only_and_not_deletable(admin_client: Any) -> None:
    """The change page is view-only; POSTs to change or delete are refused."""
    row = RevokedKeyFactory(kid=KID, reason="r")
    change = reverse("admin:revocation_revokedkey_change", args=[row.pk])
    page = admin_client.get(change)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert (
        admin_client.post(change, {"kid": "x" * 43, "reason": "edit"}).status_code
        == 403
    )
    delete = reverse("admin:revocation_revokedkey_delete", args=[row.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    row.refresh_from_db()
    assert row.kid == KID and row.reason == "r"


def test_lift_action_asks_a_reason_then_records_it(admin_client: Any) -> None:
    """Step 1 shows the reason form; an empty reason re-asks; step 2 lifts
    through the service (alice, reason, time) and publishes a snapshot."""
    row = RevokedKeyFactory(kid=KID, reason="r")
    url = reverse("admin:revocation_revokedkey_changelist")
    data = {"action": "lift", "_selected_action": [row.pk]}
    page = admin_client.post(url, data)
    assert page.status_code == 200 and b"lift_reason" in page.content
    again = admin_client.post(url, {**data, "apply": "1", "lift_reason": ""})
    assert again.status_code == 200 and b"This field is required" in again.content
    row.refresh_from_db()
    assert row.lifted_at is None
    done = admin_client.post(
        url, {**data, "apply": "1", "lift_reason": "rotated, not leaked"}, follow=True
    )
    assert done.status_code == 200
    row.refresh_from_db()
    assert row.lifted_by_label == "alice" and row.lift_reason == "rotated, not leaked"
    assert row.lifted_at is not None
    assert RevocationSnapshot.objects.order_by("-sequence").first().sequence == 1  # type: ignore[union-attr]
    assert any("Lifted 1" in m for m in messages_of(done))
    # lifting again: nothing to lift
    repeat = admin_client.post(url, data, follow=True)
    assert any("Nothing to lift" in m for m in messages_of(repeat))


def test_attestation_add_and_lift(admin_client: Any, staff: Any) -> None:
    """Attestations by receipt id via the form; both identifiers is a form error."""
    url = reverse("admin:revocation_revokedattestation_add")
    both = admin_client.post(
        url, {"receipt_id": "rcpt_1", "bundle_hash": "ab" * 32, "reason": "r"}
    )
    assert both.status_code == 200 and b"exactly one" in both.content
    response = admin_client.post(
        url, {"receipt_id": "rcpt_1", "bundle_hash": "", "reason": "r"}
    )
    assert response.status_code == 302
    row = RevokedAttestation.objects.get()
    assert row.revoked_by == staff
    changelist = reverse("admin:revocation_revokedattestation_changelist")
    admin_client.post(
        changelist,
        {
            "action": "lift",
            "_selected_action": [row.pk],
            "apply": "1",
            "lift_reason": "x",
        },
    )
    row.refresh_from_db()
    assert row.lift_reason == "x" and row.lifted_by == staff


def test_snapshot_and_fetch_pages_render_read_only(admin_client: Any) -> None:
    """Snapshots and fetches: lists and detail pages render; no add."""
    RevokedAttestationFactory(receipt_id="", bundle_hash="cd" * 32, reason="r")
    fetch = RevocationFetch.objects.create(
        url="http://x", fetched_at=RevocationSnapshot.objects.get().created_at,
        outcome="refused", code="revocation_rollback", message="m",
    )  # fmt: skip
    snap = RevocationSnapshot.objects.get()
    for name, pk in (("revocationsnapshot", snap.pk), ("revocationfetch", fetch.pk)):
        assert (
            admin_client.get(reverse(f"admin:revocation_{name}_changelist")).status_code
            == 200
        )
        page = admin_client.get(reverse(f"admin:revocation_{name}_change", args=[pk]))
        assert page.status_code == 200
        assert (
            admin_client.get(reverse(f"admin:revocation_{name}_add")).status_code == 403
        )
    for name in ("revokedkey", "revokedattestation"):
        assert (
            admin_client.get(reverse(f"admin:revocation_{name}_changelist")).status_code
            == 200
        )


def test_add_form_refuses_an_unknown_kid_and_offers_known_keys(
    admin_client: Any, signing_keys: Any
) -> None:
    """The add form offers the published keys (server roles and tenant meter
    keys) to pick from; a kid that is not one (``not-a-real-kid``, or a
    well-formed but unknown thumbprint) is a form error and nothing is
    revoked or published."""
    url = reverse("admin:revocation_revokedkey_add")
    page = admin_client.get(url).content.decode()
    for key in (signing_keys.issuer, signing_keys.meter, signing_keys.log_operator):
        assert f'value="{key.kid}"' in page
    for kid in ("not-a-real-kid", "u" * 43):
        response = admin_client.post(url, {"kid": kid, "reason": "typo"})
        assert response.status_code == 200
        assert b"Select a valid choice" in response.content
    assert not RevokedKey.objects.exists()
    assert not RevocationSnapshot.objects.exists()


@pytest.mark.parametrize("kid", ["not-a-real-kid", "m" * 42, "m" * 44, "m" * 42 + "!"])
def test_service_refuses_a_kid_that_is_no_thumbprint(
    signing_keys: Any, kid: str
) -> None:
    """revocation_key_add takes only an RFC 7638 SHA-256 thumbprint shape
    (43 base64url characters): RevocationInputInvalid on kid, nothing stored."""
    with pytest.raises(RevocationInputInvalid) as caught:
        revocation_key_add(kid=kid, reason="r")
    assert (caught.value.code, caught.value.field) == (
        "revocation_input_invalid",
        "kid",
    )
    assert not RevokedKey.objects.exists()
    assert not RevocationSnapshot.objects.exists()
