"""Auditor web UI (/audit/): access control, every page on a real log built
through the attest service, search, bad input, and verdicts that turn to
failures when the stored log is tampered with."""

from __future__ import annotations

import html
import json
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.auditor.selectors_bundles import entry_audit_get
from billing.auditor.selectors_trust import audit_trust_get
from billing.models import Bundle
from billing.services.attest import meter_events_attest
from tests.billing.support import attest_demo_events, bare_event
from tests.transparency.factories import QueuedEntryFactory
from transparency.errors import LeafHashMismatch
from transparency.models import (
    Checkpoint,
    Cosignature,
    LogEntry,
    LogNode,
    QueuedEntry,
)
from transparency.protocol.note import generate_key, sign_cosignature
from transparency.selectors_audit.checkpoints import checkpoint_audit, head_audit_get
from transparency.selectors_audit.checks import LogTrust
from transparency.selectors_audit.entries import entry_log_audit_get
from transparency.services.auditors import AUDITORS_GROUP, auditor_account_create
from transparency.services.witness import cosignature_submit

pytestmark = pytest.mark.django_db

PAGES = ["audit:head", "audit:checkpoints", "audit:entries", "audit:consistency"]


@pytest.fixture
def log(signing_keys: Any) -> list[Bundle]:
    """Two attest calls of the demo tenant: 3 + 4 leaves, two checkpoints."""
    attest_demo_events()
    outcomes = meter_events_attest(
        payloads=[bare_event(f"evt-b{i}", quantity=i + 1, day=18) for i in range(4)],
        backfill=True,
    )
    assert [o.status for o in outcomes] == ["attested"] * 4
    assert LogEntry.objects.count() == 7
    assert Checkpoint.objects.values("tree_size").distinct().count() >= 2
    return list(Bundle.objects.order_by("id"))


@pytest.fixture
def auditor(db: Any) -> Client:
    """A client signed in as a member of ``auditors`` (not staff)."""
    user, _ = auditor_account_create(username="alice")
    assert not user.is_staff
    client = Client()
    client.force_login(user)
    return client


def _body(response: Any) -> str:
    return html.unescape(response.content.decode())


def _leaf_index(bundle: Bundle) -> int:
    return LogEntry.objects.get(leaf_hash=bundle.leaf_hash).leaf_index


# -- access -----------------------------------------------------------------


def test_migration_created_the_auditors_group_with_view_permissions() -> None:
    """Migration 0005 creates ``auditors`` holding view_logentry."""
    group = Group.objects.get(name=AUDITORS_GROUP)
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"view_logentry", "view_checkpoint"} <= codenames


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_is_sent_to_the_auditor_login(client: Client, name: str) -> None:
    """Anonymous visitors are redirected to /audit/login/?next=..."""
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("audit:login") + "?next=")


@pytest.mark.parametrize("name", PAGES)
def test_plain_user_gets_403(client: Client, name: str) -> None:
    """A signed-in user outside ``auditors`` and not staff gets a 403 page."""
    client.force_login(User.objects.create_user("bob", password="pw-123456789"))
    response = client.get(reverse(name))
    assert response.status_code == 403
    assert "not an auditor" in _body(response)


@pytest.mark.parametrize("name", PAGES)
def test_auditor_and_staff_get_200(
    log: list[Bundle], auditor: Client, admin_client: Client, name: str
) -> None:
    """Auditors and staff both see every page."""
    assert auditor.get(reverse(name)).status_code == 200
    assert admin_client.get(reverse(name)).status_code == 200


def test_login_page_signs_an_auditor_in(client: Client) -> None:
    """The auditor login (not the admin's, which needs is_staff) admits a
    non-staff auditor and lands on the head page."""
    auditor_account_create(username="carol", password="a-long-password-1")
    assert client.get(reverse("audit:login")).status_code == 200
    response = client.post(
        reverse("audit:login"), {"username": "carol", "password": "a-long-password-1"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("audit:head")
    assert client.get(reverse("audit:head")).status_code == 200
    bad = Client().post(
        reverse("audit:login"), {"username": "carol", "password": "wrong"}
    )
    assert bad.status_code == 200 and "did not match" in _body(bad)


def test_audit_user_command_prints_a_working_one_time_password(
    client: Client, capsys: Any
) -> None:
    """``manage.py audit_user`` makes an auditor whose printed password works."""
    call_command("audit_user", "--username", "dave")
    out = capsys.readouterr().out
    password = re.search(r"one-time password: (\S+)", out)
    assert password
    # Through the sign-in form (the lockout backend needs the request).
    signed_in = client.post(
        reverse("audit:login"), {"username": "dave", "password": password.group(1)}
    )
    assert signed_in.status_code == 302
    assert User.objects.get(username="dave").groups.filter(name=AUDITORS_GROUP).exists()
    assert client.get(reverse("audit:head")).status_code == 200


# -- pages --------------------------------------------------------------------


def test_head_shows_size_root_note_and_verified_signature(
    log: list[Bundle], auditor: Client
) -> None:
    """The head page shows the latest checkpoint (hex and base64 root, the
    note) and the log signature verifies."""
    latest = Checkpoint.objects.order_by("-tree_size", "-id").first()
    assert latest is not None
    body = _body(auditor.get(reverse("audit:head")))
    assert latest.root_hash in body
    assert latest.note.split("\n")[2] in body  # base64 root line
    assert latest.origin in body
    assert "The latest checkpoint is signed by the trusted log key" in body
    assert "Stale head" not in body


def test_head_warns_when_stale(
    log: list[Bundle], auditor: Client, settings: Any
) -> None:
    """With Celery beat (production), a newest checkpoint older than twice
    the interval shows a warning: the signer stopped."""
    settings.VDI_CELERY_BEAT = True
    settings.VDI_BILLING_LOG_CHECKPOINT_INTERVAL_SEC = 60
    Checkpoint.objects.update(signed_at=timezone.now() - timedelta(minutes=5))
    assert "Stale head" in _body(auditor.get(reverse("audit:head")))


def test_idle_head_without_beat_is_not_stale(
    log: list[Bundle], auditor: Client, settings: Any
) -> None:
    """Without Celery beat (development), an idle log whose every leaf is
    signed is not stale however old its checkpoint (default interval: ten
    minutes pass twice over)."""
    settings.VDI_CELERY_BEAT = False
    Checkpoint.objects.update(signed_at=timezone.now() - timedelta(minutes=25))
    body = _body(auditor.get(reverse("audit:head")))
    assert "Stale head" not in body and 'badge pass">fresh' in body


def test_head_without_beat_is_stale_when_a_leaf_waits_too_long(
    log: list[Bundle], auditor: Client, settings: Any
) -> None:
    """Without Celery beat, a leaf left queued longer than twice the interval
    (sequencing stopped) still shows the stale warning."""
    settings.VDI_CELERY_BEAT = False
    settings.VDI_BILLING_LOG_CHECKPOINT_INTERVAL_SEC = 60
    waiting = QueuedEntryFactory()
    QueuedEntry.objects.filter(pk=waiting.pk).update(
        queued_at=timezone.now() - timedelta(minutes=5)
    )
    body = _body(auditor.get(reverse("audit:head")))
    assert "Stale head" in body and "1 queued leaves" in body


def test_head_stale_bound_uses_the_settings_default_not_60(
    log: list[Bundle], settings: Any
) -> None:
    """Regression: the head read the checkpoint interval with a private
    default of 60 s; it reads the setting, whose one default (300 s in
    config/settings.py) makes the head stale after 600 s."""
    import config.settings as project_settings

    assert project_settings.VDI_BILLING_LOG_CHECKPOINT_INTERVAL_SEC == 300
    settings.VDI_CELERY_BEAT = True
    head = head_audit_get(trust=audit_trust_get())
    assert head.stale_after == timedelta(seconds=600)
    assert head.latest is not None
    signed_at = head.latest.checkpoint.signed_at
    assert not head_audit_get(
        trust=audit_trust_get(), now=signed_at + timedelta(seconds=300)
    ).stale
    assert head_audit_get(
        trust=audit_trust_get(), now=signed_at + timedelta(seconds=601)
    ).stale


def test_head_lists_witness_cosignatures_with_verdicts(
    log: list[Bundle], auditor: Client, settings: Any
) -> None:
    """A stored witness cosignature is listed as verified (name, key ID, time);
    once the witness key is no longer trusted it shows as an unknown key."""
    skey, vkey = generate_key("witness.example/w1", 0x04)
    settings.VDI_BILLING_LOG_WITNESS_KEYS = [vkey]
    latest = Checkpoint.objects.order_by("-tree_size", "-id").first()
    assert latest is not None
    text = latest.note[: latest.note.rfind("\n\n") + 1]
    now = int(time.time())
    cosignature_submit(cosignature=sign_cosignature(text, skey, now), checkpoint=text)
    row = Cosignature.objects.get()
    body = _body(auditor.get(reverse("audit:head")))
    assert "witness.example/w1" in body and row.key_id in body
    assert re.search(r"witness</td>\s*<td class=\"mono\">" + row.key_id, body)
    assert body.count('badge pass">verified') == 2  # the log's and the witness's
    settings.VDI_BILLING_LOG_WITNESS_KEYS = []
    body = _body(auditor.get(reverse("audit:head")))
    assert "unknown key" in body


def test_checkpoint_history_is_newest_first(log: list[Bundle], auditor: Client) -> None:
    """The history lists every checkpoint, newest (largest) first."""
    body = _body(auditor.get(reverse("audit:checkpoints")))
    roots = [c.root_hash for c in Checkpoint.objects.order_by("-signed_at", "-id")]
    positions = [body.index(r) for r in dict.fromkeys(roots)]
    assert positions == sorted(positions)


def test_entries_browser_lists_newest_first_and_paginates(
    log: list[Bundle], auditor: Client, monkeypatch: Any
) -> None:
    """Entries are listed by descending leaf index; page 2 holds the older ones."""
    monkeypatch.setattr("billing.auditor.views.ENTRIES_PER_PAGE", 5)
    body = _body(auditor.get(reverse("audit:entries")))
    hashes = list(
        LogEntry.objects.order_by("-leaf_index").values_list("leaf_hash", flat=True)
    )
    assert all(h in body for h in hashes[:5]) and hashes[5] not in body
    assert "Page 1 of 2" in body
    page2 = _body(auditor.get(reverse("audit:entries"), {"page": 2}))
    assert hashes[5] in page2 and hashes[6] in page2 and hashes[0] not in page2


@pytest.mark.parametrize("kind", ["leaf_hash", "receipt_id", "leaf_index", "tenant"])
def test_search_by_each_kind(log: list[Bundle], auditor: Client, kind: str) -> None:
    """Each kind of query finds the right entries."""
    bundle = log[2]
    query = {
        "leaf_hash": (bundle.leaf_hash or "").upper(),
        "receipt_id": bundle.receipt_id,
        "leaf_index": str(_leaf_index(bundle)),
        "tenant": "demo",
    }[kind]
    response = auditor.get(reverse("audit:entries"), {"q": query})
    assert response.status_code == 200
    body = _body(response)
    if kind == "tenant":
        assert all(b.leaf_hash in body for b in log)
        assert "7 entries matching" in body
    else:
        assert bundle.leaf_hash in body and bundle.receipt_id in body
        assert "1 entry matching" in body


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("0" * 64, 200, "No log entry has leaf hash"),
        ("rcpt_" + "0" * 24, 200, "No bundle has receipt id"),
        ("rcpt_NOT-HEX", 400, "A receipt id is 'rcpt_' followed by"),
        ("nosuchtenant", 200, "No tenant has the slug"),
        ("99999", 200, "No signed entry has leaf index 99999"),
        ("<script>alert(1)</script>", 400, "Search for a leaf hash"),
        ("x" * 500, 400, "too long"),
    ],
)
def test_search_messages_for_no_result_and_malformed_input(
    log: list[Bundle], auditor: Client, query: str, status: int, message: str
) -> None:
    """No match and malformed input give a clear message, never a 500; the
    query is escaped when echoed."""
    response = auditor.get(reverse("audit:entries"), {"q": query})
    assert response.status_code == status
    assert message in _body(response)
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_entry_detail_shows_bundle_proof_and_passing_verdicts(
    log: list[Bundle], auditor: Client
) -> None:
    """An untouched entry: its bundle, its inclusion proof against the latest
    checkpoint, and every log check and verify_bundle check passing."""
    bundle = log[1]
    index = _leaf_index(bundle)
    response = auditor.get(reverse("audit:entry", args=[index]))
    assert response.status_code == 200
    body = _body(response)
    assert "Verified: the entry is in the log" in body
    assert bundle.receipt_id in body and bundle.leaf_hash in body
    served = json.loads(body.split("<pre>")[2].split("</pre>")[0])  # the bundle
    assert served["log"]["leaf_index"] == index
    for h in served["log"]["inclusion_proof"]:
        assert h in body
    assert "verify_bundle: ok" in body
    for name in ("leaf_hash_matches_data", "checkpoint_signature", "inclusion_proof"):
        assert re.search(rf"{name}</td>\s*<td><span class=\"badge pass\"", body), name
    assert "badge fail" not in body


def test_entry_detail_unknown_index_is_a_404_page(
    log: list[Bundle], auditor: Client
) -> None:
    """An index beyond the log is a friendly 404 page."""
    response = auditor.get(reverse("audit:entry", args=[10_000]))
    assert response.status_code == 404
    assert "no sequenced log entry with leaf_index 10000" in _body(response)


def test_tampered_leaf_data_fails_the_inclusion_check(
    log: list[Bundle], auditor: Client
) -> None:
    """A changed LogEntry.data no longer hashes to its leaf, so inclusion in
    the signed tree fails."""
    index = _leaf_index(log[0])
    entry = LogEntry.objects.get(leaf_index=index)
    LogEntry.objects.filter(leaf_index=index).update(
        data=entry.data.replace('"quantity":1', '"quantity":9')
    )
    body = _body(auditor.get(reverse("audit:entry", args=[index])))
    assert "Verification failed" in body
    assert re.search(
        r"leaf_hash_matches_data</td>\s*<td><span class=\"badge fail\"", body
    )
    assert re.search(r"inclusion_proof</td>\s*<td><span class=\"badge fail\"", body)
    assert "differs" in body


def test_tampered_leaf_is_reported_with_leaf_hash_mismatch_not_runtime_error(
    log: list[Bundle], auditor: Client
) -> None:
    """Regression: a changed LogEntry.data was reported with the code
    "RuntimeError"; it is reported with LeafHashMismatch's stable code."""
    index = _leaf_index(log[0])
    entry = LogEntry.objects.get(leaf_index=index)
    LogEntry.objects.filter(leaf_index=index).update(
        data=entry.data.replace('"quantity":1', '"quantity":9')
    )
    audit = entry_audit_get(leaf_index=index)
    check = next(c for c in audit.checks if c.name == "leaf_hash_matches_data")
    assert (check.status, check.code) == ("fail", LeafHashMismatch.code)
    assert LeafHashMismatch.code == "leaf_hash_mismatch"
    body = _body(auditor.get(reverse("audit:entry", args=[index])))
    assert "<code>leaf_hash_mismatch</code>" in body
    assert "RuntimeError" not in body


def test_log_verdicts_without_trust_fail_with_stable_codes(
    log: list[Bundle],
) -> None:
    """Without trust, the checkpoint signature fails with
    log_trust_unavailable and the checks that depend on it with
    prerequisite_check_failed (never a Python class name)."""
    latest = Checkpoint.objects.order_by("-tree_size", "-id").first()
    assert latest is not None
    trust = LogTrust(problem="no keys")
    codes = {c.name: c.code for c in checkpoint_audit(latest, trust).checks}
    assert codes == {
        "checkpoint_signature": "log_trust_unavailable",
        "checkpoint_matches_row": "prerequisite_check_failed",
    }
    entry = entry_log_audit_get(leaf_index=_leaf_index(log[0]), trust=trust)
    codes = {c.name: c.code for c in entry.checks}
    assert codes == {
        "leaf_hash_matches_data": None,
        "checkpoint_signature": "log_trust_unavailable",
        "inclusion_proof": "prerequisite_check_failed",
    }


def test_checkpoint_row_mismatch_has_its_code(log: list[Bundle]) -> None:
    """A stored row whose size differs from its signed note fails
    checkpoint_matches_row with checkpoint_row_mismatch."""
    latest = Checkpoint.objects.order_by("-tree_size", "-id").first()
    assert latest is not None
    Checkpoint.objects.filter(id=latest.id).update(root_hash="00" * 32)
    latest.refresh_from_db()
    checks = checkpoint_audit(latest, audit_trust_get()).checks
    assert [(c.name, c.status, c.code) for c in checks] == [
        ("checkpoint_signature", "pass", None),
        ("checkpoint_matches_row", "fail", "checkpoint_row_mismatch"),
    ]


def test_tampered_log_node_fails_inclusion_and_the_bundle(
    log: list[Bundle], auditor: Client
) -> None:
    """A changed stored node on the leaf's path breaks its inclusion proof
    against the signed root, and verify_bundle's log_inclusion check too."""
    index = _leaf_index(log[0])
    sibling = index ^ 1
    LogNode.objects.filter(level=0, index=sibling).update(hash=b"\x42" * 32)
    body = _body(auditor.get(reverse("audit:entry", args=[index])))
    assert "Verification failed" in body
    assert re.search(
        r"leaf_hash_matches_data</td>\s*<td><span class=\"badge pass\"", body
    )
    assert re.search(r"inclusion_proof</td>\s*<td><span class=\"badge fail\"", body)
    assert re.search(r"log_inclusion</td>\s*<td><span class=\"badge fail\"", body)
    assert "verify_bundle: failed" in body


def test_consistency_between_two_checkpoints_verifies(
    log: list[Bundle], auditor: Client
) -> None:
    """The proof from the first checkpoint to the latest verifies against both
    signed roots; the picker lists the history's sizes."""
    sizes = sorted(set(Checkpoint.objects.values_list("tree_size", flat=True)))
    response = auditor.get(
        reverse("audit:consistency"), {"first": sizes[0], "second": sizes[-1]}
    )
    assert response.status_code == 200
    body = _body(response)
    assert (
        f"Consistent: tree size {sizes[0]} is a prefix of tree size {sizes[-1]}" in body
    )
    for name in (
        "first_checkpoint_signature",
        "second_checkpoint_signature",
        "consistency_proof",
    ):
        assert re.search(rf"{name}</td>\s*<td><span class=\"badge pass\"", body), name
    for s in sizes:
        assert f'<option value="{s}"' in body
    # No parameters: a default pair is already checked.
    assert "Consistent:" in _body(auditor.get(reverse("audit:consistency")))


def test_consistency_fails_after_an_old_node_is_rewritten(
    log: list[Bundle], auditor: Client
) -> None:
    """Rewriting a stored node of the old tree makes the proof disagree with
    the signed roots: the verdict is a failure, not a 500."""
    sizes = sorted(set(Checkpoint.objects.values_list("tree_size", flat=True)))
    LogNode.objects.filter(level=0, index=2).update(hash=b"\x13" * 32)
    response = auditor.get(
        reverse("audit:consistency"), {"first": sizes[0], "second": sizes[-1]}
    )
    assert response.status_code == 200
    body = _body(response)
    assert "Not verified" in body
    assert re.search(r"consistency_proof</td>\s*<td><span class=\"badge fail\"", body)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"first": "abc"}, "first must be a tree size"),
        ({"first": "7", "second": "3"}, "first 7 is above second 3"),
        ({"first": "0"}, "first must be at least 1"),
        ({"first": "1", "second": "999"}, "beyond the latest checkpoint"),
        ({"first": "2"}, "no signed checkpoint has tree_size 2"),
    ],
)
def test_consistency_bad_input_messages(
    log: list[Bundle], auditor: Client, params: dict[str, str], message: str
) -> None:
    """Malformed or unsigned sizes give a 400 with a message, never a 500."""
    response = auditor.get(reverse("audit:consistency"), params)
    assert response.status_code == 400
    assert message in _body(response)


def test_pages_render_on_an_empty_log(auditor: Client) -> None:
    """Before anything is logged every page still renders."""
    for name in PAGES:
        response = auditor.get(reverse(name))
        assert response.status_code == 200, name
    assert "The log is empty" in _body(auditor.get(reverse("audit:head")))
