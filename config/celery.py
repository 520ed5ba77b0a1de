"""The Celery application of meterproof.

Broker: ``CELERY_BROKER_URL`` (Redis in production); the development default is
``memory://`` so a fresh machine needs no server. Beat schedule entries live
here, one crontab comment per entry (CONVENTIONS.md §2).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("meterproof")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # every minute: expire stale replay reservations left by crashed workers
    "billing-reclaim-expired-reservations": {
        "task": "billing.tasks.reservations_reclaim_expired_task",
        "schedule": 60.0,
    },
    # every 10 s: sequence leaves left queued (a crashed attest) and re-sign the
    # checkpoint once VDI_BILLING_LOG_CHECKPOINT_INTERVAL_SEC has passed
    "billing-log-tick": {
        "task": "billing.tasks.log_tick_task",
        "schedule": 10.0,
    },
    # every 30 s: attach async Groth16 proofs to bundles still pending after
    # 60 s (a lost broker message or a crashed worker); no-op when none pending
    "billing-proofs-sweep": {
        "task": "billing.tasks.billing_proofs_attach_task",
        "schedule": 30.0,
        "kwargs": {"older_than_seconds": 60},
    },
    # every hour: close each tenant's periods whose month ended more than
    # MP_STATEMENT_CLOSE_GRACE_DAYS ago and issue their signed statements
    "billing-statements-close-due": {
        "task": "billing.tasks.statements_close_due_task",
        "schedule": 3600.0,
    },
    # every 5 minutes: monitor the transparency log (consistency + entries -> root)
    "transparency-monitor-run": {
        "task": "transparency.tasks.monitor_run_task",
        "schedule": 300.0,
    },
    # every 30 s: poll VDI_BILLING_REVOCATION_URL (no-op when unset; skips until
    # VDI_BILLING_REVOCATION_CACHE_SEC has passed since the last good poll)
    "revocation-feed-poll": {
        "task": "revocation.tasks.revocation_feed_poll_task",
        "schedule": 30.0,
    },
    # every 5 minutes: re-sign our snapshot once half of
    # VDI_BILLING_REVOCATION_MAX_AGE_SEC has passed, so it never goes stale
    "revocation-snapshot-refresh": {
        "task": "revocation.tasks.revocation_snapshot_refresh_task",
        "schedule": 300.0,
    },
}
