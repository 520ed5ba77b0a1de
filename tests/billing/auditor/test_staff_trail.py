"""The auditor UI's staff audit trail (/audit/trail/): newest first with
paging and the head, the chain verdict on request, and the JSON-lines
export that ``meterproof verify-audit`` checks."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from audittrail.selectors import audit_head_get
from billing.auditor.views import TRAIL_RECORDS_PER_PAGE
from billing.protocol.cli import main as meterproof
from tests.audittrail.factories import AuditRecordFactory
from tests.audittrail.support import tamper
from transparency.services.auditors import auditor_account_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(db: Any) -> Client:
    """A client signed in as a member of ``auditors`` (not staff)."""
    user, _ = auditor_account_create(username="carol")
    client = Client()
    client.force_login(user)
    return client


def _body(response: Any) -> str:
    return html.unescape(response.content.decode())


@pytest.mark.parametrize("name", ["audit:trail", "audit:trail_export"])
def test_anonymous_and_plain_users_are_kept_out(
    client: Client, django_user_model: Any, name: str
) -> None:
    """Anonymous: redirected to the auditor login; a plain user: 403."""
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/audit/login/" in response["Location"]
    client.force_login(django_user_model.objects.create_user(username="bob"))
    assert client.get(reverse(name)).status_code == 403


def test_trail_lists_newest_first_with_paging_and_the_head(auditor: Client) -> None:
    """One page holds the newest records; page 2 the oldest; the head is
    shown to pin."""
    total = TRAIL_RECORDS_PER_PAGE + 2
    for n in range(1, total + 1):
        AuditRecordFactory(object_id=f"plan@{n}")
    head = audit_head_get()
    first = _body(auditor.get(reverse("audit:trail")))
    assert str(head) in first
    assert f"tariff_version:plan@{total}<" in first
    assert "tariff_version:plan@1<" not in first
    second = _body(auditor.get(reverse("audit:trail") + "?page=2"))
    assert "tariff_version:plan@1<" in second


def test_verify_shows_a_valid_chain_and_then_the_tampered_record(
    auditor: Client,
) -> None:
    """``?verify=1`` shows the verdict; after record 2 is changed it names
    seq 2 and ``audit_record_hash_mismatch``."""
    AuditRecordFactory.create_batch(3)
    url = reverse("audit:trail") + "?verify=1&expect_head=" + str(audit_head_get())
    assert "Valid: 3 records." in _body(auditor.get(url))
    tamper(2, actor="mallory")
    body = _body(auditor.get(url))
    assert "Invalid: first bad seq 2." in body
    assert "audit_record_hash_mismatch" in body


def test_verify_with_a_malformed_head_is_a_400(auditor: Client) -> None:
    """A pinned head that is not SEQ:HASH is reported, not a 500."""
    response = auditor.get(reverse("audit:trail") + "?verify=1&expect_head=5")
    assert response.status_code == 400


def test_export_is_json_lines_that_verify_offline(
    auditor: Client, tmp_path: Path, capsys: Any
) -> None:
    """The export streams one record per line with the head in a header;
    ``meterproof verify-audit`` accepts it with that head pinned."""
    AuditRecordFactory.create_batch(3)
    response = auditor.get(reverse("audit:trail_export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/jsonl")
    text = b"".join(response.streaming_content).decode()
    assert [json.loads(line)["seq"] for line in text.splitlines()] == [1, 2, 3]
    head = response["X-Audit-Head"]
    assert head == str(audit_head_get())
    path = tmp_path / "audit.jsonl"
    path.write_text(text, encoding="utf-8")
    assert meterproof(["verify-audit", str(path), "--expect-head", head]) == 0
    assert "valid: 3 records" in capsys.readouterr().out
