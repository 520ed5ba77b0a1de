"""The log monitor's writes: run one check, persist its state, raise alerts.

:func:`monitor_run` is what ``manage.py tlog_monitor`` and the Celery beat task
``transparency.tasks.monitor_run_task`` call. The checking itself is
:func:`transparency.protocol.monitor.monitor_check` (Django-free); this module
loads and saves :class:`~transparency.models.MonitorState`, and for every
problem found:

* logs at ERROR on the ``meterproof.transparency.monitor`` logger,
* increments ``MonitorState.alerts_total`` (the metric; ``runs_total`` counts
  runs, ``last_ok_at`` tells when the log last checked out),
* opens a :class:`~transparency.models.MonitorAlert`, which puts a banner on
  every admin page until staff acknowledge it. An identical open alert
  (same log, code and sizes) is not duplicated on later runs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from kernel.keyring import server_keys_get
from transparency import fetchers
from transparency.models import MonitorAlert, MonitorState
from transparency.protocol.errors import MerkleError
from transparency.protocol.logapi import Fetcher
from transparency.protocol.monitor import (
    MonitorResult,
    VerifiedTreeState,
    monitor_check,
)
from transparency.settings import transparency_settings
from transparency.signer import log_signer_for

logger = logging.getLogger("meterproof.transparency.monitor")

SELF = "self"
"""``MonitorState.log`` of this server's own log."""


@dataclass(frozen=True)
class MonitorRunResult:
    """One run: the protocol result and the alerts it opened (new ones only)."""

    result: MonitorResult
    alerts: list[MonitorAlert]


def _load_state(row: MonitorState) -> tuple[VerifiedTreeState | None, str | None]:
    if row.tree_size == 0 and not row.root_hash:
        return None, None
    try:
        return (
            VerifiedTreeState.from_json(
                {
                    "tree_size": row.tree_size,
                    "root_hash": row.root_hash,
                    "frontier": row.frontier,
                }
            ),
            None,
        )
    except MerkleError as exc:
        return None, exc.message


def monitor_run(
    *,
    fetch: Fetcher | None = None,
    log: str | None = None,
    origin: str | None = None,
    log_verifier_keys: Sequence[str] | None = None,
    full: bool = False,
) -> MonitorRunResult:
    """Check the log once and record the outcome.

    Args:
        fetch: how to read the log; default: ``VDI_BILLING_MONITOR_LOG_URL``
            over HTTP(S), or this server in-process when that is empty.
        log: the ``MonitorState`` key; default: the URL, or ``"self"``.
        origin: the log's origin; default ``VDI_BILLING_LOG_ORIGIN``.
        log_verifier_keys: the log's 0x01 vkeys; default: this server's
            log-operator key (from the keyring).
        full: first re-read every entry from index 0 and recompute the root
            (catches rewritten *old* entries, which an incremental run never
            re-reads); then run the usual incremental check.

    Returns:
        :class:`MonitorRunResult`; problems are recorded, never raised.

    Raises:
        SigningKeysUnconfigured: no keys given and the server has none.
    """
    url = transparency_settings.monitor_log_url
    if fetch is None:
        fetch = fetchers.http_fetcher(url) if url else fetchers.local_fetcher()
    if log is None:
        log = url or SELF
    if origin is None or log_verifier_keys is None:
        keys = server_keys_get()
        origin = origin if origin is not None else keys.log_origin
        if log_verifier_keys is None:
            log_verifier_keys = [log_signer_for(keys).verifier_key()]
    row, _ = MonitorState.objects.get_or_create(log=log)
    state, state_problem = _load_state(row)
    if state_problem is not None:
        result = MonitorResult(
            ok=False,
            problems=[("monitor_state_corrupt", state_problem)],
            state=VerifiedTreeState(),
            previous_size=row.tree_size,
        )
    else:
        result = monitor_check(
            fetch=fetch,
            origin=origin,
            log_verifier_keys=log_verifier_keys,
            state=None if full else state,
        )
        if full and result.ok:
            result = monitor_check(
                fetch=fetch,
                origin=origin,
                log_verifier_keys=log_verifier_keys,
                state=state,
            )
        elif full:
            # Report against the stored state; never advance from a failure.
            result = MonitorResult(
                ok=False,
                problems=result.problems,
                state=state or VerifiedTreeState(),
                previous_size=row.tree_size,
                checkpoint=result.checkpoint,
                entries_checked=result.entries_checked,
            )
    return _record(row, result)


@transaction.atomic
def _record(row: MonitorState, result: MonitorResult) -> MonitorRunResult:
    now = timezone.now()
    updates: dict[str, Any] = {
        "last_run_at": now,
        "runs_total": F("runs_total") + 1,
    }
    alerts: list[MonitorAlert] = []
    if result.ok:
        updates.update(
            tree_size=result.state.tree_size,
            root_hash=result.state.root_hash.hex(),
            frontier=[h.hex() for h in result.state.frontier],
            last_ok_at=now,
        )
    else:
        size = result.checkpoint.tree_size if result.checkpoint else None
        for code, message in result.problems:
            logger.error(
                "transparency monitor alert %s on log %s (verified size %d, "
                "checkpoint size %s): %s",
                code,
                row.log,
                result.previous_size,
                size,
                message,
            )
            duplicate = MonitorAlert.objects.filter(
                log=row.log,
                code=code,
                verified_tree_size=result.previous_size,
                checkpoint_tree_size=size,
                acknowledged_at__isnull=True,
            ).exists()
            if not duplicate:
                alerts.append(
                    MonitorAlert.objects.create(
                        log=row.log,
                        created_at=now,
                        code=code,
                        message=message,
                        verified_tree_size=result.previous_size,
                        checkpoint_tree_size=size,
                    )
                )
        updates["alerts_total"] = F("alerts_total") + len(result.problems)
    MonitorState.objects.filter(pk=row.pk).update(**updates)
    return MonitorRunResult(result=result, alerts=alerts)


def monitor_alerts_acknowledge(*, alert_ids: Sequence[int], user: Any) -> int:
    """Mark open alerts acknowledged by ``user`` (a staff ``User``) now.

    Returns:
        How many alerts were newly acknowledged (already acknowledged ones
        keep their original time and user).
    """
    return MonitorAlert.objects.filter(
        pk__in=list(alert_ids), acknowledged_at__isnull=True
    ).update(acknowledged_at=timezone.now(), acknowledged_by=user)
