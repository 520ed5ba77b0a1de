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
}
