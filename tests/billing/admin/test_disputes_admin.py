"""The staff disputes queue: it renders ordered by due date with overdue
ones highlighted, filters by state and due date, the dispute page verifies
the bundle on a click, and each step asks for a confirmation, then calls the
service (Django test client, staff users)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from billing.models import Dispute
from billing.services.disputes import EvidenceFile, dispute_evidence_add
from tests.billing.factories import DisputeFactory
from tests.billing.protocol.check_names import STANDARD_CHECK_NAMES

pytestmark = pytest.mark.django_db
QUEUE = "/admin/billing/dispute/"


def _page(dispute: Dispute) -> str:
    return reverse("admin:billing_dispute_change", args=[dispute.pk])


def _step(dispute: Dispute, step: str) -> str:
    return reverse("admin:billing_dispute_step", args=[dispute.pk, step])


@pytest.fixture
def disputes(signing_keys: Any) -> dict[str, Dispute]:
    """An overdue dispute (deadline passed), one due within a day, a fresh
    one, one under review and a withdrawn one."""
    overdue = DisputeFactory()
    Dispute.objects.filter(pk=overdue.pk).update(
        evidence_due_by=overdue.opened_at - timedelta(days=1)
    )
    fresh = DisputeFactory()
    soon = DisputeFactory()
    Dispute.objects.filter(pk=soon.pk).update(
        evidence_due_by=soon.opened_at + timedelta(days=1)
    )
    reviewing = DisputeFactory(under_review=True)
    withdrawn = DisputeFactory()
    Dispute.objects.filter(pk=withdrawn.pk).update(
        state="withdrawn", withdrawn_at=withdrawn.opened_at
    )
    return {
        "overdue": overdue,
        "fresh": fresh,
        "soon": soon,
        "reviewing": reviewing,
        "withdrawn": withdrawn,
    }


def _ids(html: str, rows: dict[str, Dispute]) -> list[str]:
    found = [(html.find(d.dispute_id), name) for name, d in rows.items()]
    return [name for position, name in sorted(found) if position >= 0]


def test_queue_renders_by_due_date_with_overdue_highlighted(
    admin_client: Client, disputes: dict[str, Dispute]
) -> None:
    """Earliest deadline first; the open, past-due one says overdue."""
    response = admin_client.get(QUEUE)
    assert response.status_code == 200
    html = response.content.decode()
    assert _ids(html, disputes)[:2] == ["overdue", "soon"]
    assert html.count("overdue</strong>") == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state__exact": "under_review"}, ["reviewing"]),
        ({"state__exact": "withdrawn"}, ["withdrawn"]),
        ({"due": "overdue"}, ["overdue"]),
        ({"due": "soon"}, ["soon"]),
        ({"due": "later"}, ["fresh", "reviewing"]),
        ({"due": "closed"}, ["withdrawn"]),
    ],
)
def test_queue_filters_by_state_and_due_date(
    admin_client: Client,
    disputes: dict[str, Dispute],
    query: dict[str, str],
    expected: list[str],
) -> None:
    """Each filter lists exactly its disputes."""
    response = admin_client.get(QUEUE, query)
    assert response.status_code == 200
    assert sorted(_ids(response.content.decode(), disputes)) == expected


def test_dispute_page_shows_the_recorded_verification_and_its_steps(
    admin_client: Client, disputes: dict[str, Dispute]
) -> None:
    """The page shows the report recorded at opening and offers verify now
    and the steps the state allows."""
    fresh = disputes["fresh"]
    html = admin_client.get(_page(fresh)).content.decode()
    assert "Verification at opening" in html and "charge_recompute" in html
    assert "Verify the bundle now (standard)" in html
    assert _step(fresh, "start-review") in html
    assert _step(fresh, "decide-won") not in html
    html = admin_client.get(_page(disputes["reviewing"])).content.decode()
    assert _step(disputes["reviewing"], "decide-won") in html
    assert _step(disputes["reviewing"], "decide-lost") in html


def test_verify_now_runs_the_verifier(
    admin_client: Client, disputes: dict[str, Dispute]
) -> None:
    """One click verifies the bundle as served now, every check named."""
    url = reverse(
        "admin:billing_dispute_verify", args=[disputes["fresh"].pk, "standard"]
    )
    response = admin_client.get(url)
    assert response.status_code == 200
    report = response.context["report"]
    assert report["ok"] is True and report["profile"] == "standard"
    assert [c["name"] for c in report["checks"]] == list(STANDARD_CHECK_NAMES)
    assert "✓ valid" in response.content.decode()
    strict = reverse(
        "admin:billing_dispute_verify", args=[disputes["fresh"].pk, "strict"]
    )
    response = admin_client.get(strict)
    assert response.status_code == 200
    report = response.context["report"]
    if report is not None:  # a revocation snapshot is available
        assert report["profile"] == "VDI_VERIFY_STRICT_V1"
    else:
        assert response.context["problem"]["code"]
    bogus = reverse("admin:billing_dispute_verify", args=[disputes["fresh"].pk, "x"])
    assert admin_client.get(bogus).status_code == 404


def test_steps_ask_for_confirmation_then_apply(
    admin_client: Client, disputes: dict[str, Dispute]
) -> None:
    """GET shows the confirmation and changes nothing; POST starts the
    review, then decides won (the credit call site runs, no note needed)."""
    fresh = disputes["fresh"]
    response = admin_client.get(_step(fresh, "start-review"))
    assert response.status_code == 200
    assert "Starting the review closes the evidence" in response.content.decode()
    fresh.refresh_from_db()
    assert fresh.state == "needs_response"
    response = admin_client.post(_step(fresh, "start-review"), {"confirm": "1"})
    assert response.status_code == 302 and response["Location"] == _page(fresh)
    fresh.refresh_from_db()
    assert fresh.state == "under_review"
    response = admin_client.post(_step(fresh, "decide-won"), {"confirm": "1"})
    assert response.status_code == 302
    fresh.refresh_from_db()
    assert fresh.state == "won" and fresh.decided_by_label == "admin"
    text = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("now won" in m for m in text), text


def test_decide_lost_needs_a_note(
    admin_client: Client, disputes: dict[str, Dispute]
) -> None:
    """Without a note the decision is refused with a message and nothing
    changes; with one the dispute is lost and the note kept."""
    reviewing = disputes["reviewing"]
    url = _step(reviewing, "decide-lost")
    response = admin_client.post(url, {"confirm": "1", "note": ""})
    assert response.status_code == 302 and response["Location"] == url
    text = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("dispute_decision_invalid" in m for m in text), text
    reviewing.refresh_from_db()
    assert reviewing.state == "under_review"
    admin_client.post(url, {"confirm": "1", "note": "two distinct requests"})
    reviewing.refresh_from_db()
    assert reviewing.state == "lost"
    assert reviewing.decision_note == "two distinct requests"


def test_a_refused_step_is_a_message_not_a_500(
    admin_client: Client, disputes: dict[str, Dispute]
) -> None:
    """Deciding a withdrawn dispute answers with the 409 code as a message."""
    withdrawn = disputes["withdrawn"]
    response = admin_client.post(_step(withdrawn, "decide-won"), {"confirm": "1"})
    assert response.status_code == 302
    text = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("dispute_state_invalid" in m for m in text), text
    withdrawn.refresh_from_db()
    assert withdrawn.state == "withdrawn"


def test_view_only_staff_see_the_queue_but_cannot_step(
    client: Client, disputes: dict[str, Dispute]
) -> None:
    """A staff user with only the view permission reads the queue and the
    page (no step buttons) and gets 403 on a step."""
    user = User.objects.create_user("viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_dispute"))
    client.force_login(user)
    assert client.get(QUEUE).status_code == 200
    fresh = disputes["fresh"]
    html = client.get(_page(fresh)).content.decode()
    assert _step(fresh, "start-review") not in html
    assert (
        client.post(_step(fresh, "start-review"), {"confirm": "1"}).status_code == 403
    )
    fresh.refresh_from_db()
    assert fresh.state == "needs_response"


def test_evidence_files_download_as_sent(
    admin_client: Client, signing_keys: Any
) -> None:
    """The page links each file; the download is the exact bytes, as an
    attachment, with its SHA-256."""
    content = b"<script>alert(1)</script>"
    dispute = DisputeFactory()
    dispute_evidence_add(
        dispute=dispute,
        evidence_files=[
            EvidenceFile(
                name="page.html",
                sha256=hashlib.sha256(content).hexdigest(),
                content=content,
            )
        ],
    )
    (evidence,) = dispute.evidence_files.all()
    url = reverse("admin:billing_dispute_evidence", args=[dispute.pk, evidence.pk])
    assert url in admin_client.get(_page(dispute)).content.decode()
    response = admin_client.get(url)
    assert response.status_code == 200 and response.content == content
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Evidence-SHA256"] == evidence.sha256
    other = DisputeFactory()
    wrong = reverse("admin:billing_dispute_evidence", args=[other.pk, evidence.pk])
    assert admin_client.get(wrong).status_code == 404
