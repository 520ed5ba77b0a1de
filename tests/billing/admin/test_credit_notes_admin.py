"""Credit notes in the admin: the bundle action asks for amount and reason
(the confirmation) and issues through the service; a refusal is a message
and stores nothing; the bundle, tenant and credit-note pages show credits."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from billing.models import Bundle, CreditNote
from billing.services.credit_notes import credit_note_issue
from tests.billing.admin.test_admin import messages_of
from tests.billing.support import attest_demo_events

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:billing_bundle_changelist"


@pytest.fixture
def bundle(signing_keys: Any) -> Bundle:
    """The demo tenant's first bundle (0.02 USD: 2 minor units)."""
    row = attest_demo_events()[1]
    assert row.amount_minor == 4
    return row


def _action(client: Any, bundle: Bundle, **form: str) -> Any:
    data = {"action": "credit_note_issue_action", "_selected_action": [bundle.pk]}
    data.update(form)
    return client.post(reverse(CHANGELIST), data, follow=True)


def test_action_shows_the_confirmation_with_what_is_left(
    admin_client: Any, bundle: Bundle
) -> None:
    """The first post shows the bundle, what is left and the form."""
    response = _action(admin_client, bundle)
    page = response.content.decode()
    assert response.status_code == 200
    assert bundle.receipt_id in page
    assert "Yes, issue the credit note" in page
    assert "(4 minor units)" in page
    assert not CreditNote.objects.exists()


def test_action_issues_the_credit_note_as_the_staff_user(
    admin_client: Any, admin_user: Any, bundle: Bundle
) -> None:
    """Confirming issues one credit note through the service, recorded with
    the user; the bundle and tenant pages then show it and the net."""
    response = _action(
        admin_client,
        bundle,
        apply="1",
        credit_minor="3",
        reason_code="correction",
        reason_text="double count",
    )
    note = CreditNote.objects.get()
    assert (note.amount_minor, note.reason_code, note.issued_by) == (
        -3,
        "correction",
        admin_user,
    )
    assert any(note.credit_note_id in text for _, text in messages_of(response))
    page = admin_client.get(
        reverse("admin:billing_bundle_change", args=[bundle.pk])
    ).content.decode()
    assert note.credit_note_id in page and "net after credits: 0.01 USD" in page
    tenant_page = admin_client.get(
        reverse("admin:billing_tenant_change", args=[bundle.tenant.pk])
    ).content.decode()
    assert "credited -0.03 USD (1 credit note(s))" in tenant_page
    note_page = admin_client.get(
        reverse("admin:billing_creditnote_change", args=[note.pk])
    ).content.decode()
    assert "vdi-billing-credit-note/1" in note_page and bundle.receipt_id in note_page


def test_action_refusal_is_a_message_and_stores_nothing(
    admin_client: Any, bundle: Bundle
) -> None:
    """A credit above what is left is refused with its code; nothing stored."""
    credit_note_issue(
        bundle=bundle, amount_minor=-2, reason_code="correction", reason_text="x"
    )
    response = _action(
        admin_client,
        bundle,
        apply="1",
        credit_minor="3",
        reason_code="dispute",
        reason_text="too much",
    )
    assert any(
        level == "error" and "credit_note_exceeds_original" in text
        for level, text in messages_of(response)
    )
    assert CreditNote.objects.count() == 1


def test_credit_note_admin_is_read_only(admin_client: Any, bundle: Bundle) -> None:
    """No add, change or delete of credit notes from the admin."""
    credit_note_issue(
        bundle=bundle, amount_minor=-1, reason_code="correction", reason_text="x"
    )
    assert admin_client.get(reverse("admin:billing_creditnote_add")).status_code == 403
    listing = admin_client.get(reverse("admin:billing_creditnote_changelist"))
    assert listing.status_code == 200 and "cn_" in listing.content.decode()
