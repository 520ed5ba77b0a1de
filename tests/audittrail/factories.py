"""Factories of the audit trail: records appended through the service
(``audit_record``), so every row is linked and hashed as in production."""

from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory

from audittrail.models import AuditRecord
from audittrail.services import audit_record


class AuditRecordFactory(DjangoModelFactory):
    """A ``tariff.publish`` of ``api-requests@<n>`` by ``system:test``,
    appended by ``audit_record`` (the next ``seq``, linked to the head)."""

    class Meta:
        model = AuditRecord

    actor = "system:test"
    action = "tariff.publish"
    object_type = "tariff_version"
    object_id = factory.Sequence(lambda n: f"api-requests@{n + 1}")
    before = factory.LazyFunction(lambda: {"status": "draft"})
    after = factory.LazyFunction(lambda: {"status": "published"})

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> AuditRecord:
        return audit_record(
            actor=kwargs["actor"],
            action=kwargs["action"],
            obj_type=kwargs["object_type"],
            obj_id=kwargs["object_id"],
            before=kwargs["before"],
            after=kwargs["after"],
        )
