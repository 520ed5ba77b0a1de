"""The monitor service, command, task and admin banner against a real log
(log_append) read through the HTTP API in-process; tampering is simulated by
rewriting rows in the test database or by a fetcher that forges responses."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from kernel.protocol.jcs import canonical_json
from tests.transparency.log_support import log_append
from transparency.fetchers import local_fetcher
from transparency.models import LogEntry, LogNode, MonitorAlert, MonitorState
from transparency.protocol.logapi import HEAD_PATH
from transparency.protocol.note import NoteSigner, generate_key
from transparency.services.monitor import monitor_run
from transparency.tasks import monitor_run_task

pytestmark = pytest.mark.django_db

ORIGIN = "test.example/log"


@pytest.fixture
def log(settings: Any) -> dict[str, Any]:
    """A real log of 5 leaves; the server's keys are not needed."""
    skey, vkey = generate_key(ORIGIN)
    signer = NoteSigner.from_skey(skey)
    settings.VDI_BILLING_LOG_ORIGIN = ORIGIN
    _append(signer, 0, 5)
    return {"signer": signer, "vkey": vkey}


def _append(signer: NoteSigner, start: int, end: int) -> None:
    log_append(
        entries=[canonical_json({"n": i}) for i in range(start, end)],
        signer=signer,
        origin=ORIGIN,
    )


def _run(log: dict[str, Any], **kw: Any) -> Any:
    kw.setdefault("fetch", local_fetcher())
    return monitor_run(origin=ORIGIN, log_verifier_keys=[log["vkey"]], **kw)


def test_good_log_advances_state_and_counters(log: dict[str, Any]) -> None:
    """Two runs around an append verify 5 then 3 new entries; no alert."""
    first = _run(log)
    assert first.result.ok and first.result.entries_checked == 5
    _append(log["signer"], 5, 8)
    second = _run(log)
    assert second.result.ok and second.result.entries_checked == 3
    state = MonitorState.objects.get(log="self")
    assert (state.tree_size, state.runs_total, state.alerts_total) == (8, 2, 0)
    assert len(state.frontier) == 1 and state.last_ok_at is not None
    assert not MonitorAlert.objects.exists()


def _alert_code(run: Any) -> str:
    assert not run.result.ok
    (alert,) = run.alerts
    return str(alert.code)


def test_rewritten_entry_data_is_detected(log: dict[str, Any], caplog: Any) -> None:
    """An entry's data rewritten in the database no longer hashes to its
    leaf_hash: an alert, an ERROR log line, alerts_total 1; a second run does
    not duplicate the open alert."""
    _run(log)
    _append(log["signer"], 5, 7)
    LogEntry.objects.filter(leaf_index=6).update(data='{"n":600}')
    with caplog.at_level(logging.ERROR, logger="meterproof.transparency.monitor"):
        run = _run(log)
    assert _alert_code(run) == "monitor_entry_hash_mismatch"
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    again = _run(log)
    assert not again.result.ok and again.alerts == []
    assert MonitorAlert.objects.count() == 1
    state = MonitorState.objects.get(log="self")
    assert state.tree_size == 5 and state.alerts_total == 2


def test_rewritten_entry_and_leaf_hash_do_not_hash_to_the_root(
    log: dict[str, Any],
) -> None:
    """Data and leaf_hash rewritten together: the recomputed root differs."""
    from transparency.protocol.merkle import leaf_hash

    data = canonical_json({"n": 400})
    LogEntry.objects.filter(leaf_index=4).update(
        data=data.decode(), leaf_hash=leaf_hash(data).hex()
    )
    assert _alert_code(_run(log)) == "monitor_root_mismatch"


def test_rewritten_tree_node_breaks_consistency(log: dict[str, Any]) -> None:
    """A stored subtree hash rewritten in the database makes the log's own
    consistency proof fail against the last verified checkpoint."""
    _run(log)
    _append(log["signer"], 5, 9)
    LogNode.objects.filter(level=2, index=0).update(hash=b"\x07" * 32)
    assert _alert_code(_run(log)) == "monitor_inconsistent"


def test_forged_checkpoint_signature_is_detected(log: dict[str, Any]) -> None:
    """A fetcher that serves a checkpoint re-signed by another key named like
    the log is caught (monitor_bad_signature)."""
    skey, _ = generate_key(ORIGIN)
    forger = NoteSigner.from_skey(skey)
    real = local_fetcher()

    def forged(path: str) -> bytes:
        body = real(path)
        if path == HEAD_PATH:
            from transparency.protocol.note import sign_note

            head = json.loads(body)
            text = head["checkpoint"].split("\n\n", 1)[0] + "\n"
            head["checkpoint"] = sign_note(text, forger)
            return json.dumps(head).encode()
        return body

    assert _alert_code(_run(log, fetch=forged)) == "monitor_bad_signature"


def test_banner_on_admin_pages_until_acknowledged(
    log: dict[str, Any], admin_client: Any
) -> None:
    """An open alert shows a banner on every admin page; the admin action
    acknowledges it (by the staff user) and the banner goes away."""
    assert "tlog-monitor-alerts" not in admin_client.get("/admin/").content.decode()
    LogEntry.objects.filter(leaf_index=0).update(data='{"n":-1}')
    _run(log)
    alert = MonitorAlert.objects.get()
    for url in ("/admin/", reverse("admin:transparency_logentry_changelist")):
        page = admin_client.get(url).content.decode()
        assert "tlog-monitor-alerts" in page and "monitor_entry_hash_mismatch" in page
    response = admin_client.post(
        reverse("admin:transparency_monitoralert_changelist"),
        {"action": "acknowledge", "_selected_action": [alert.pk]},
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None
    assert alert.acknowledged_by is not None and alert.acknowledged_by.is_staff
    assert "tlog-monitor-alerts" not in admin_client.get("/admin/").content.decode()


def test_command_and_task(
    log: dict[str, Any], settings: Any, signing_keys: Any
) -> None:
    """tlog_monitor --log self with the log key reports ok; after an old entry
    is rewritten, --full exits 1; the beat task runs the same service."""
    args = ["tlog_monitor", "--log", "self", "--log-key", log["vkey"]]
    call_command(*args)
    LogEntry.objects.filter(leaf_index=3).update(data='{"n":-3}')
    call_command(*args)  # an incremental run does not re-read entry 3 ...
    with pytest.raises(CommandError, match="problem"):
        call_command(*args, "--full")  # ... a full one does
    assert MonitorState.objects.get(log="self").tree_size == 5
    # The task uses the server's own keyring: the log above was signed by
    # another key, so the task (correctly) reports a bad signature.
    assert monitor_run_task() is False
    assert MonitorAlert.objects.filter(code="monitor_bad_signature").exists()
