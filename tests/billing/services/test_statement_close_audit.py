"""``statement_close`` writes ``statement.close`` to the staff audit trail
in its own transaction, with the actor of the path that closed: the staff
user (admin action), ``system:statement_close`` (the command),
``system:beat`` (the Celery job); a refused close records nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from audittrail.models import AuditRecord
from billing.errors import StatementPeriodClosed
from billing.models import Statement
from billing.services.statements import statement_close, statements_close_due
from billing.tasks import statements_close_due_task
from tests.billing.support_statements import (
    CLOSED_AT,
    PERIOD,
    attest_period,
    graduated_tenant,
)
from tests.support.keys import TestKeys

pytestmark = pytest.mark.django_db


def _closes() -> list[tuple[str, str, dict[str, object]]]:
    return [
        (r.actor, r.object_id, r.after)
        for r in AuditRecord.objects.filter(action="statement.close").order_by("seq")
    ]


def test_service_records_the_staff_user_and_the_statement(
    signing_keys: TestKeys,
) -> None:
    """The record names the user, the statement and what it states; a
    second (refused) close adds none."""
    tenant = graduated_tenant()
    attest_period(tenant, 2)
    staff = get_user_model().objects.create_user("closer", is_staff=True)
    statement = statement_close(
        tenant=tenant, period=PERIOD, now=CLOSED_AT, actor=staff
    )
    ((actor, object_id, after),) = _closes()
    assert (actor, object_id) == ("closer", statement.statement_id)
    assert after == {
        "statement_id": statement.statement_id,
        "tenant": "acme",
        "period": PERIOD,
        "currency": statement.currency,
        "amount_minor": statement.amount_minor,
        "receipts_count": 2,
        "credit_notes": [],
        "leaf_hash": statement.leaf_hash,
    }
    record = AuditRecord.objects.get(action="statement.close")
    assert record.actor_user_id == staff.pk
    with pytest.raises(StatementPeriodClosed):
        statement_close(tenant=tenant, period=PERIOD, now=CLOSED_AT, actor=staff)
    assert len(_closes()) == 1


def test_command_and_beat_record_their_labels(
    signing_keys: TestKeys, settings: object
) -> None:
    """``manage.py statement_close`` records ``system:statement_close``; the
    Celery task (beat) records ``system:beat``."""
    tenant = graduated_tenant()
    attest_period(tenant, 1)
    attest_period(tenant, 1, period="2015-04", prefix="apr")
    call_command("statement_close", tenant="acme", period="2015-04", stdout=StringIO())
    assert statements_close_due_task() != []  # the real clock: 2015-05 is due
    actors = {object_id: actor for actor, object_id, _ in _closes()}
    statements = dict(Statement.objects.values_list("period", "statement_id"))
    assert actors == {
        statements["2015-04"]: "system:statement_close",
        statements[PERIOD]: "system:beat",
    }


def test_admin_action_records_the_admin_user(
    signing_keys: TestKeys, admin_client: Client, admin_user: object
) -> None:
    """The tenant admin action records the logged-in admin user."""
    tenant = graduated_tenant()
    url = reverse("admin:billing_tenant_changelist")
    data = {"action": "tenants_close_previous_period", "_selected_action": [tenant.pk]}
    admin_client.post(url, data, follow=True)
    ((actor, object_id, _),) = _closes()
    assert actor == admin_user.get_username()  # type: ignore[attr-defined]
    assert object_id == Statement.objects.get().statement_id


def test_close_due_can_be_given_an_actor(signing_keys: TestKeys) -> None:
    """``statements_close_due(actor=...)`` records that actor."""
    tenant = graduated_tenant()
    attest_period(tenant, 1)
    later = datetime(2015, 6, 1, tzinfo=UTC) + timedelta(days=40)
    assert len(statements_close_due(now=later, actor="system:test")) == 1
    assert [actor for actor, _, _ in _closes()] == ["system:test"]
