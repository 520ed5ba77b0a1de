"""A credit note's leaf in the transparency log: the auditor UI's entry list
and entry page, the log admin and the log API show it like any entry (its
log verdicts pass; no bundle is named)."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import CreditNote
from billing.services.credit_notes import credit_note_issue
from tests.billing.support import attest_demo_events
from transparency.models import LogEntry
from transparency.services.auditors import auditor_account_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def note(signing_keys: Any, django_capture_on_commit_callbacks: Any) -> CreditNote:
    """A sequenced credit note of the demo tenant's first bundle."""
    bundle = attest_demo_events()[0]
    with django_capture_on_commit_callbacks(execute=True):
        return credit_note_issue(
            bundle=bundle, amount_minor=-1, reason_code="correction", reason_text="x"
        )


def test_auditor_entry_pages_show_a_credit_note_leaf(note: CreditNote) -> None:
    """The entries list and the entry page render the credit-note leaf with
    passing log verdicts and no bundle."""
    user, _ = auditor_account_create(username="alice")
    client = Client()
    client.force_login(user)
    index = LogEntry.objects.get(leaf_hash=note.leaf_hash).leaf_index
    assert client.get(reverse("audit:entries")).status_code == 200
    response = client.get(reverse("audit:entry", args=[index]))
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    assert note.credit_note_id in body


def test_log_admin_and_api_show_a_credit_note_leaf(
    note: CreditNote, admin_client: Any, client: Client
) -> None:
    """The log entry admin page and the entries API serve the leaf."""
    entry = LogEntry.objects.get(leaf_hash=note.leaf_hash)
    page = admin_client.get(
        reverse("admin:transparency_logentry_change", args=[entry.pk])
    )
    assert page.status_code == 200 and note.credit_note_id in page.content.decode()
    assert (
        admin_client.get(reverse("admin:transparency_logentry_changelist")).status_code
        == 200
    )
    api = client.get(
        "/api/vdi/billing/transparency/entries",
        {"start": entry.leaf_index, "end": entry.leaf_index + 1},
    )
    assert api.status_code == 200, api.content
    assert note.credit_note_id in api.content.decode()
