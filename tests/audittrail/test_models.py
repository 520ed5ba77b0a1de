"""Audit records are append-only at the model and queryset level, and the
admin shows them read-only."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.test import Client
from django.urls import reverse

from audittrail.errors import AuditAppendOnly
from audittrail.models import AuditRecord
from tests.audittrail.factories import AuditRecordFactory

pytestmark = pytest.mark.django_db


def test_saving_a_stored_record_is_refused() -> None:
    """``save()`` on a stored row raises ``audit_append_only``; the row is
    unchanged."""
    record = AuditRecordFactory()
    record.actor = "mallory"
    with pytest.raises(AuditAppendOnly) as info:
        record.save()
    assert info.value.code == "audit_append_only"
    assert AuditRecord.objects.get(pk=record.pk).actor == "system:test"


def test_deleting_a_record_is_refused() -> None:
    """``delete()`` raises; the row stays."""
    record = AuditRecordFactory()
    with pytest.raises(AuditAppendOnly):
        record.delete()
    assert AuditRecord.objects.filter(pk=record.pk).exists()


@pytest.mark.parametrize(
    "write",
    [
        lambda qs: qs.update(actor="mallory"),
        lambda qs: qs.delete(),
        lambda qs: qs.bulk_update(list(qs), ["actor"]),
        lambda qs: qs.bulk_create([AuditRecord(seq=99)]),
    ],
    ids=["update", "delete", "bulk_update", "bulk_create"],
)
def test_bulk_writes_are_refused(write: Any) -> None:
    """Queryset update, delete, bulk_update and bulk_create raise; nothing
    changes."""
    AuditRecordFactory.create_batch(2)
    with pytest.raises(AuditAppendOnly):
        write(AuditRecord.objects.all())
    assert sorted(AuditRecord.objects.values_list("actor", flat=True)) == [
        "system:test",
        "system:test",
    ]


def test_admin_is_read_only(admin_client: Client, rf: Any, admin_user: Any) -> None:
    """The admin lists and shows records but has no add, change or delete."""
    record = AuditRecordFactory()
    model_admin = site._registry[AuditRecord]
    request = rf.get("/")
    request.user = admin_user
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, record)
    assert not model_admin.has_delete_permission(request, record)
    listing = admin_client.get(reverse("admin:audittrail_auditrecord_changelist"))
    assert listing.status_code == 200 and b"tariff.publish" in listing.content
    page = admin_client.get(
        reverse("admin:audittrail_auditrecord_change", args=[record.pk])
    )
    assert page.status_code == 200 and record.record_hash.encode() in page.content
