"""Transparency-log admin: view-only pages for leaves, checkpoints and the head."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.contrib import admin
from django.urls import reverse

from billing.models import Bundle
from tests.billing.support import attest_demo_events
from transparency.models import Checkpoint, LogEntry, LogNode, LogState

pytestmark = pytest.mark.django_db

MODELS = [LogEntry, Checkpoint, LogState]


@pytest.fixture
def attested(signing_keys: Any) -> list[Bundle]:
    """Three attested events: three leaves, checkpoints and the log head."""
    return attest_demo_events()


def test_log_models_registered_but_not_lognode() -> None:
    """Leaves, checkpoints and the head are shown; subtree nodes are not."""
    for model in MODELS:
        assert admin.site.is_registered(model)
    assert not admin.site.is_registered(LogNode)


@pytest.mark.parametrize("model", MODELS)
def test_changelist_and_change_pages_render(
    admin_client: Any,
    attested: list[Bundle],
    model: Any,
) -> None:
    """Each changelist and row page opens (200) and lists the rows."""
    meta = model._meta
    prefix = f"admin:{meta.app_label}_{meta.model_name}"
    response = admin_client.get(reverse(f"{prefix}_changelist"))
    assert response.status_code == 200
    rows = list(model.objects.all())
    assert rows
    body = response.content.decode()
    for row in rows[:3]:
        assert reverse(f"{prefix}_change", args=[row.pk]) in body
        page = admin_client.get(reverse(f"{prefix}_change", args=[row.pk]))
        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()


def test_log_entry_links_its_bundle_and_shows_data(
    admin_client: Any,
    attested: list[Bundle],
) -> None:
    """A leaf page shows its leaf_hash, its receipt (linked to the bundle
    search) and the attestation JSON."""
    bundle = attested[0]
    entry = LogEntry.objects.get(leaf_hash=bundle.leaf_hash)
    page = admin_client.get(
        reverse("admin:transparency_logentry_change", args=[entry.pk])
    )
    body = html.unescape(page.content.decode())
    assert entry.leaf_hash in body
    assert (
        reverse("admin:billing_bundle_changelist") + f"?q={bundle.receipt_id}" in body
    )
    assert '"attestation"' in body or '"receipt_id"' in body
    found = admin_client.get(
        reverse("admin:transparency_logentry_changelist"), {"q": entry.leaf_hash}
    )
    assert "1 result" in found.content.decode()


def test_checkpoint_page_shows_the_signed_note(
    admin_client: Any,
    attested: list[Bundle],
) -> None:
    """The checkpoint page has the exact signed note inside a <pre>."""
    checkpoint = Checkpoint.objects.first()
    page = admin_client.get(
        reverse("admin:transparency_checkpoint_change", args=[checkpoint.pk])
    )
    body = html.unescape(page.content.decode())
    start = body.index("<pre")
    assert checkpoint.note.rstrip("\n") in body[start : body.index("</pre>", start)]


@pytest.mark.parametrize("model", MODELS)
def test_log_models_refuse_add_change_and_delete(
    admin_client: Any,
    attested: list[Bundle],
    model: Any,
) -> None:
    """Nothing in the append-only log can be added, edited or deleted."""
    meta = model._meta
    prefix = f"admin:{meta.app_label}_{meta.model_name}"
    row = model.objects.first()
    count = model.objects.count()
    assert admin_client.get(reverse(f"{prefix}_add")).status_code == 403
    assert admin_client.post(reverse(f"{prefix}_add"), {}).status_code == 403
    delete = reverse(f"{prefix}_delete", args=[row.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    change = reverse(f"{prefix}_change", args=[row.pk])
    assert admin_client.post(change, {}).status_code == 403
    assert model.objects.count() == count
    assert LogState.objects.get().tree_size == LogEntry.objects.count()
